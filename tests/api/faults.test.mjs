// The write path under a disk fault, from outside: the real server with a
// preloaded shim (tests/shim/faultshim.c) that fails fdatasync with EIO
// while a trigger file exists. A write whose sync failed answers 500 and
// never comes back, not even after kill -9 and a restart; the collection
// refuses writes until restart and keeps serving reads; what readers saw
// before the crash is what they see after it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { QUIVER_BIN, startServer, tempDir, req, expectOk, expectError } from './helpers.mjs';
import { api } from './points_lib.mjs';

const SHIM = path.join(path.dirname(QUIVER_BIN), 'libqv_faultshim.so');
const DOT2 = { vectors: { size: 2, distance: 'Dot' } };

test('a failed fdatasync: 500, writes refused, reads go on, and after kill -9 the write is gone', { skip: !existsSync(SHIM) && `no ${SHIM}` }, async () => {
  const storage = tempDir();
  const trigger = path.join(tempDir('quiver-trigger-'), 'fail-sync');
  const env = {
    LD_PRELOAD: SHIM,
    QV_SHIM_FAIL_SYNC: trigger,
    ASAN_OPTIONS: `${process.env.ASAN_OPTIONS ? `${process.env.ASAN_OPTIONS}:` : ''}verify_asan_link_order=0`,
  };
  const s1 = await startServer({ storage, env });
  const A = api(s1.url);
  await A.create('f', DOT2);
  await A.create('other', DOT2);
  await A.upsert('f', [{ id: 1, vector: [1, 0], payload: { v: 'before' } }]);
  const before = await A.snapshot('f', [1, 2, 3]);

  writeFileSync(trigger, '');
  const failed = await A.send('PUT', 'f', '/points', { points: [{ id: 2, vector: [0, 1] }, { id: 1, vector: [1, 1], payload: { v: 'lost' } }] });
  assert.equal(failed.status, 500, failed.text);
  assert.match(failed.json.status.error, /^Service internal error: .*fdatasync: Input\/output error/);
  rmSync(trigger);

  // The log is not trusted again: later writes are refused, with a clear reason.
  const refused = await A.send('PUT', 'f', '/points', { points: [{ id: 3, vector: [1, 1] }] });
  expectError(refused, 500, 'Service internal error: the write-ahead log of collection `f` failed earlier (see the server log); writes are refused until the server restarts, reads go on');
  // Reads go on, and show nothing of either write.
  assert.deepEqual(await A.snapshot('f', [1, 2, 3]), before);
  // Other collections are not affected.
  await A.upsert('other', [{ id: 7, vector: [1, 2] }]);

  await s1.stop('SIGKILL');
  const s2 = await startServer({ storage });
  const B = api(s2.url);
  assert.deepEqual(await B.snapshot('f', [1, 2, 3]), before, 'a write answered 500 came back after restart');
  assert.equal((await B.byId('other', [7])).size, 1);
  // Recovery is the truth: the collection takes writes again.
  await B.upsert('f', [{ id: 3, vector: [1, 1] }]);
  assert.equal(await B.count('f'), 2);
  expectOk(await req('GET', `${s2.url}/collections/f`));
  await s2.stop();
});
