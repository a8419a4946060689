// Server settings from QDRANT__* environment variables and a YAML config file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
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
