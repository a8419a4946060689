// Service endpoints, the response envelope, routing errors, graceful stop.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, req, expectOk, expectError } from './helpers.mjs';

let srv;
before(async () => {
  srv = await startServer();
});
after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, srv.stderr());
});

test('GET / returns title, version and commit, not wrapped in an envelope', async () => {
  const res = await req('GET', `${srv.url}/`);
  assert.equal(res.status, 200, res.text);
  assert.match(res.headers.get('content-type'), /^application\/json\b/);
  assert.deepEqual(Object.keys(res.json).sort(), ['commit', 'title', 'version'], res.text);
  assert.equal(res.json.title, 'quiver - vector search engine');
  assert.equal(res.json.version, '1.19.0');
  assert.match(res.json.commit, /^[0-9a-f]{40}$/);
});

for (const [path, body] of [
  ['/healthz', 'healthz check passed'],
  ['/livez', 'healthz check passed'],
  ['/readyz', 'all shards are ready'],
]) {
  test(`GET ${path} answers 200 text/plain "${body}"`, async () => {
    const res = await req('GET', `${srv.url}${path}`);
    assert.equal(res.status, 200, res.text);
    assert.match(res.headers.get('content-type') || '', /^text\/plain\b/);
    assert.equal(res.text, body);
    assert.equal(res.json, undefined);
  });
}

test('success envelope: result, status "ok", numeric time; JSON content type', async () => {
  const res = await req('GET', `${srv.url}/collections`);
  const result = expectOk(res);
  assert.ok(Array.isArray(result.collections), res.text);
});

test('unknown path → 404 JSON error envelope', async () => {
  for (const path of ['/nope', '/collections/x/nope/deeper', '/healthzz']) {
    const res = await req('GET', `${srv.url}${path}`);
    expectError(res, 404);
  }
});

test('wrong method on a known path → 405 JSON error envelope', async () => {
  expectError(await req('POST', `${srv.url}/collections`, {}), 405);
  expectError(await req('DELETE', `${srv.url}/collections`), 405);
  expectError(await req('POST', `${srv.url}/healthz`), 405);
  // and the server is fine afterwards
  expectOk(await req('GET', `${srv.url}/collections`));
});

test('SIGTERM stops the server gracefully: exit code 0 and "stopped" logged', async () => {
  const s = await startServer();
  expectOk(await req('PUT', `${s.url}/collections/c`, { vectors: { size: 4, distance: 'Cosine' } }));
  assert.equal(await s.stop('SIGTERM'), 0, s.stderr());
  assert.match(s.stderr(), /stopped/);
});

test('SIGINT stops the server gracefully too', async () => {
  const s = await startServer();
  assert.equal(await s.stop('SIGINT'), 0, s.stderr());
  assert.match(s.stderr(), /stopped/);
});
