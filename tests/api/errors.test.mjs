// Request errors: status codes and exact Qdrant-style messages, and that a
// failed request leaves nothing behind.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, req, expectOk, expectError, defaultConfig, VEC4 } from './helpers.mjs';

let srv;
const col = (name, suffix = '') => `${srv.url}/collections/${name}${suffix}`;

/** PUT a collection that must fail with `status`/`message`; then it must not exist. */
async function createFails(name, body, status, message, { query = '', ...opts } = {}) {
  const res = await req('PUT', col(name) + query, body, opts);
  const msg = expectError(res, status, message);
  expectError(await req('GET', col(name)), 404, `Not found: Collection \`${name}\` doesn't exist!`);
  return msg;
}

before(async () => {
  srv = await startServer();
});
after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, srv.stderr());
});

test('malformed JSON → 400 Format error with line and column', async () => {
  const msg = await createFails('bad_json', undefined, 400,
    /^Format error in JSON body: .+ at line \d+ column \d+$/, { raw: '{"vectors": ' });
  assert.match(msg, / at line 1 column \d+$/);
});

test('malformed JSON on a later line reports that line', async () => {
  await createFails('bad_json2', undefined, 400,
    /^Format error in JSON body: .+ at line 3 column \d+$/, { raw: '{\n"vectors":\n  {"size": 4,, }}' });
});

test('trailing comma → 400 mentioning "trailing comma"', async () => {
  const msg = await createFails('trailing', undefined, 400, /^Format error in JSON body: /,
    { raw: '{"vectors":{"size":4,"distance":"Cosine"},}' });
  assert.match(msg, /trailing comma/);
  assert.match(msg, / at line 1 column \d+$/);
});

test('empty body on PUT → 400 EOF while parsing a value', async () => {
  await createFails('empty', undefined, 400,
    'Format error in JSON body: EOF while parsing a value at line 1 column 0', { raw: '' });
});

test('vector size out of range → 422 validation error', async () => {
  await createFails('size_big', { vectors: { size: 65537, distance: 'Cosine' } }, 422,
    'Validation error in JSON body: [vectors.size: value 65537 invalid, must be from 1 to 65536]');
  await createFails('size_zero', { vectors: { size: 0, distance: 'Cosine' } }, 422,
    'Validation error in JSON body: [vectors.size: value 0 invalid, must be from 1 to 65536]');
});

test('unknown distance → 400 unknown variant', async () => {
  await createFails('bad_dist', { vectors: { size: 4, distance: 'Foo' } }, 400,
    'Format error in JSON body: vectors.distance: unknown variant `Foo`, expected one of `Cosine`, `Euclid`, `Dot`, `Manhattan`');
});

test('distance names are case-sensitive', async () => {
  await createFails('lower_dist', { vectors: { size: 4, distance: 'cosine' } }, 400,
    /^Format error in JSON body: vectors\.distance: unknown variant `cosine`, expected one of `Cosine`, `Euclid`, `Dot`, `Manhattan`/);
});

test('wrong type for size → 400 invalid type', async () => {
  await createFails('str_size', { vectors: { size: '4', distance: 'Cosine' } }, 400,
    /^Format error in JSON body: vectors\.size: invalid type: string "4", expected u64/);
});

test('missing distance → 400 missing field', async () => {
  await createFails('no_dist', { vectors: { size: 4 } }, 400,
    'Format error in JSON body: vectors: missing field `distance`');
});

test('invalid config values → 422 with the field path', async () => {
  await createFails('bad_ef', { ...VEC4, hnsw_config: { ef_construct: 1 } }, 422,
    'Validation error in JSON body: [hnsw_config.ef_construct: value 1 invalid, must be 4 or larger]');
  await createFails('bad_dt', { ...VEC4, optimizers_config: { deleted_threshold: 1.5 } }, 422,
    'Validation error in JSON body: [optimizers_config.deleted_threshold: value 1.5 invalid, must be from 0.0 to 1.0]');
  await createFails('bad_shards', { ...VEC4, shard_number: 0 }, 422,
    'Validation error in JSON body: [shard_number: value 0 invalid, must be 1 or larger]');
  await createFails('bad_wal', { ...VEC4, wal_config: { wal_capacity_mb: 0 } }, 422,
    'Validation error in JSON body: [wal_config.wal_capacity_mb: value 0 invalid, must be 1 or larger]');
});

test('explicit nulls are accepted as "not given"', async () => {
  const body = {
    vectors: { size: 4, distance: 'Cosine' },
    hnsw_config: null,
    optimizers_config: null,
    wal_config: null,
    shard_number: null,
    quantization_config: null,
  };
  assert.equal(expectOk(await req('PUT', col('with_nulls'), body)), true);
  assert.deepEqual(expectOk(await req('GET', col('with_nulls'))).config, defaultConfig());
});

test('bad collection names → 422 path validation; the server keeps answering', async () => {
  const health = async () => {
    const res = await req('GET', `${srv.url}/healthz`);
    assert.equal(res.status, 200);
    assert.equal(res.text, 'healthz check passed');
  };
  expectError(await req('PUT', col('a%2Fb'), VEC4), 422,
    'Validation error in path parameters: [name: collection name cannot contain "/" char]');
  await health();
  expectError(await req('PUT', col('a%2Ab'), VEC4), 422,
    'Validation error in path parameters: [name: collection name cannot contain "*" char]');
  await health();
  expectError(await req('PUT', col('a'.repeat(256)), VEC4), 422,
    /^Validation error in path parameters: \[name: /);
  await health();
  // nothing was created
  const names = expectOk(await req('GET', `${srv.url}/collections`)).collections.map((c) => c.name);
  assert.ok(!names.some((n) => n.includes('/') || n.includes('*') || n.length > 255), names.join(','));
});

test('a 255-character name is fine', async () => {
  const name = 'b'.repeat(255);
  assert.equal(expectOk(await req('PUT', col(name), VEC4)), true);
  assert.deepEqual(expectOk(await req('GET', col(name, '/exists'))), { exists: true });
  assert.equal(expectOk(await req('DELETE', col(name))), true);
});

test('?timeout= query parameter is validated', async () => {
  await createFails('t0', VEC4, 422,
    'Validation error in query parameters: [timeout: value 0 invalid, must be 1 or larger]',
    { query: '?timeout=0' });
  await createFails('tabc', VEC4, 400,
    'Deserialize error in query parameters: invalid digit found in string', { query: '?timeout=abc' });
  assert.equal(expectOk(await req('PUT', col('t10', '?timeout=10'), VEC4)), true);
  assert.deepEqual(expectOk(await req('GET', col('t10', '/exists'))), { exists: true });
});

test('oversized body → 413; the server then serves a new connection', async () => {
  const small = await startServer({ args: ['--max-request-size-mb', '1'] });
  try {
    const size = 2 * 1024 * 1024;
    const head = '{"vectors":{"size":4,"distance":"Cosine"},"metadata":{"pad":"';
    const tail = '"}}';
    const raw = head + 'x'.repeat(size - head.length - tail.length) + tail;
    assert.equal(Buffer.byteLength(raw), size);
    let res;
    try {
      res = await req('PUT', `${small.url}/collections/big`, undefined, { raw });
    } catch (e) {
      // A server that answers and closes without reading the body makes the
      // kernel reset the connection, which can destroy the 413 before the
      // client reads it: the server must consume (discard) the body first.
      assert.fail(`no 413 response, the request failed: ${e.cause?.message || e.message}`);
    }
    expectError(res, 413,
      'Payload error: JSON payload (2097152 bytes) is larger than allowed (limit: 1048576 bytes).');
    const fresh = { fresh: true }; // a new TCP connection
    expectError(await req('GET', `${small.url}/collections/big`, undefined, fresh), 404,
      "Not found: Collection `big` doesn't exist!");
    assert.equal(expectOk(await req('PUT', `${small.url}/collections/small`, VEC4, fresh)), true);
    // a body just under the limit is accepted
    const under = head + 'y'.repeat(1000 * 1000) + tail;
    assert.equal(expectOk(await req('PUT', `${small.url}/collections/under`, undefined, { raw: under, fresh: true })), true);
  } finally {
    assert.equal(await small.stop(), 0, small.stderr());
  }
});
