// Server settings from QDRANT__* environment variables and a YAML config file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { startServer, tempDir, req, expectOk, VEC4 } from './helpers.mjs';

async function usesStorage(srv, dir) {
  assert.ok(srv.stderr().includes(dir), `the log should name the storage path ${dir}:\n${srv.stderr()}`);
  assert.equal(expectOk(await req('PUT', `${srv.url}/collections/cfg`, VEC4)), true);
  assert.ok(readdirSync(dir).length > 0, `nothing was written to ${dir}`);
  assert.equal(await srv.stop(), 0, srv.stderr());
  // the collection lives in that dir: a server started on it by flag sees it
  const again = await startServer({ storage: dir });
  assert.deepEqual(expectOk(await req('GET', `${again.url}/collections/cfg/exists`)), { exists: true });
  assert.equal(await again.stop(), 0, again.stderr());
}

test('QDRANT__SERVICE__HTTP_PORT and QDRANT__STORAGE__STORAGE_PATH', async () => {
  const dir = tempDir();
  const srv = await startServer({
    bare: true,
    env: {
      QDRANT__SERVICE__HTTP_PORT: '0',
      QDRANT__STORAGE__STORAGE_PATH: dir,
      QDRANT__SERVICE__HOST: '127.0.0.1',
    },
  });
  assert.ok(srv.port > 0);
  const root = await req('GET', `${srv.url}/`);
  assert.equal(root.status, 200);
  assert.equal(root.json.version, '1.19.0');
  await usesStorage(srv, dir);
});

test('YAML config file via --config', async () => {
  const dir = tempDir();
  const cfgDir = tempDir('quiver-cfg-');
  const file = `${cfgDir}/config.yaml`;
  writeFileSync(file, `service:\n  http_port: 0\nstorage:\n  storage_path: ${dir}\n`);
  const srv = await startServer({ bare: true, args: ['--config', file] });
  assert.ok(srv.port > 0);
  const res = await req('GET', `${srv.url}/healthz`);
  assert.equal(res.status, 200);
  assert.equal(res.text, 'healthz check passed');
  await usesStorage(srv, dir);
});

test('environment overrides the config file; flags override both', async () => {
  const fileDir = tempDir();
  const envDir = tempDir();
  const flagDir = tempDir();
  const cfgDir = tempDir('quiver-cfg-');
  const file = `${cfgDir}/config.yaml`;
  writeFileSync(file, `service:\n  http_port: 0\nstorage:\n  storage_path: ${fileDir}\n`);

  const viaEnv = await startServer({
    bare: true,
    args: ['--config', file],
    env: { QDRANT__STORAGE__STORAGE_PATH: envDir },
  });
  assert.ok(viaEnv.stderr().includes(envDir), viaEnv.stderr());
  assert.equal(await viaEnv.stop(), 0, viaEnv.stderr());

  const viaFlag = await startServer({
    bare: true,
    args: ['--config', file, '--storage', flagDir],
    env: { QDRANT__STORAGE__STORAGE_PATH: envDir },
  });
  assert.ok(viaFlag.stderr().includes(flagDir), viaFlag.stderr());
  assert.equal(await viaFlag.stop(), 0, viaFlag.stderr());
});

test('a bad setting makes the server exit non-zero with a message', async () => {
  const err = await startServer({ args: ['--port', 'notaport'] }).then(
    (s) => {
      s.stop('SIGKILL');
      assert.fail('started with --port notaport');
    },
    (e) => e,
  );
  assert.notEqual(err.exitCode, 0);
  assert.match(err.stderr, /notaport/);
});

// Each connection has a thread of its own that runs its handlers;
// service.max_workers caps how many run at once. With a cap of 1: many
// connections at once (writes waiting for their fsync among them) are all
// answered, and a client that sends half a body holds no handler: the
// others go on meanwhile, and it is answered once its body is complete.
test('--workers 1: concurrent connections all answered; a half-sent body holds no handler', { timeout: 30_000 }, async () => {
  const srv = await startServer({ args: ['--workers', '1'] });
  const url = (p) => `${srv.url}/collections/w${p}`;
  expectOk(await req('PUT', url(''), VEC4));
  const body = JSON.stringify({ points: [{ id: 1, vector: [1, 0, 0, 0] }] });
  const sock = net.connect(srv.port, '127.0.0.1');
  await new Promise((res, rej) => { sock.on('connect', res); sock.on('error', rej); });
  const answer = new Promise((res) => {
    let got = '';
    sock.on('data', (d) => { got += d.toString('utf8'); if (got.includes('"status":"ok"')) res(got); });
  });
  sock.write(`PUT /collections/w/points?wait=true HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`);
  const writes = Array.from({ length: 8 }, (_, i) => req('PUT', url('/points?wait=true'), {
    points: [{ id: 100 + i, vector: [0, 1, 0, i] }],
  }));
  const reads = Array.from({ length: 8 }, () => req('POST', url('/points/search'), { vector: [0, 1, 0, 0], limit: 3 }));
  for (const r of await Promise.all([...writes, ...reads])) expectOk(r);
  assert.equal(expectOk(await req('POST', url('/points/count'), { exact: true })).count, 8);
  sock.write(body.slice(10));
  assert.match(await answer, /^HTTP\/1\.1 200/);
  sock.destroy();
  assert.equal(expectOk(await req('POST', url('/points/count'), { exact: true })).count, 9);
  assert.equal(await srv.stop(), 0, srv.stderr());
});
