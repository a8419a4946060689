// The write path under a disk fault, from outside: the real server with a
// preloaded shim (tests/shim/faultshim.c) that fails fdatasync with EIO
// while a trigger file exists (or hangs, then fails, see the second test). A write whose sync failed answers 500 and
// never comes back, not even after kill -9 and a restart; the collection
// refuses writes until restart and keeps serving reads; what readers saw
// before the crash is what they see after it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import path from 'node:path';
import { QUIVER_BIN, startServer, tempDir, req, expectOk, expectError } from './helpers.mjs';
import { api, expectLastRounds, roundVector } from './points_lib.mjs';

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

// Waits for a file the shim creates (a condition, polled; no fixed sleep).
async function until(file, what) {
  for (let i = 0; !existsSync(file); i++) {
    if (i > 30000) throw new Error(`${what} did not happen`);
    await delay(1);
  }
}

test('a failed fdatasync with the next write already appended behind it: neither is acknowledged or comes back', { skip: !existsSync(SHIM) && `no ${SHIM}` }, async () => {
  const storage = tempDir();
  const dir = tempDir('quiver-hold-');
  const env = {
    LD_PRELOAD: SHIM,
    QV_SHIM_HOLD_SYNC: dir,
    ASAN_OPTIONS: `${process.env.ASAN_OPTIONS ? `${process.env.ASAN_OPTIONS}:` : ''}verify_asan_link_order=0`,
  };
  // Two HTTP workers wait on the two writes: more serve the reads meanwhile.
  const s1 = await startServer({ storage, env, args: ['--workers', '4'] });
  const A = api(s1.url);
  await A.create('f', DOT2);
  await A.upsert('f', [{ id: 1, vector: [1, 0], payload: { v: 'before' } }]);
  const before = await A.snapshot('f', [1, 2, 3, 4]);

  // Write k reaches fdatasync, which hangs; write k+1 is appended behind it.
  writeFileSync(path.join(dir, 'hold'), '');
  const k = A.send('PUT', 'f', '/points', { points: [{ id: 2, vector: [0, 1] }, { id: 1, vector: [1, 1], payload: { v: 'lost' } }] });
  await until(path.join(dir, 'in-sync'), 'the sync of write k');
  const k1 = A.send('PUT', 'f', '/points', { points: [{ id: 3, vector: [2, 2], payload: { v: 'lost too' } }] });
  await until(path.join(dir, 'appended'), 'the append of write k+1 during the sync of write k');
  // Nothing of either is visible while the sync runs.
  assert.deepEqual(await A.snapshot('f', [1, 2, 3, 4]), before);
  writeFileSync(path.join(dir, 'release'), '');
  const [rk, rk1] = await Promise.all([k, k1]);
  assert.equal(rk.status, 500, rk.text);
  assert.match(rk.json.status.error, /^Service internal error: .*fdatasync: Input\/output error/);
  expectError(rk1, 500, 'Service internal error: the write-ahead log of collection `f` failed earlier (see the server log); writes are refused until the server restarts, reads go on');

  // Writes refused, reads go on and show neither.
  const refused = await A.send('PUT', 'f', '/points', { points: [{ id: 4, vector: [1, 1] }] });
  assert.equal(refused.status, 500, refused.text);
  assert.deepEqual(await A.snapshot('f', [1, 2, 3, 4]), before);

  await s1.stop('SIGKILL');
  const s2 = await startServer({ storage });
  const B = api(s2.url);
  assert.deepEqual(await B.snapshot('f', [1, 2, 3, 4]), before, 'a write answered 500 came back after restart');
  await B.upsert('f', [{ id: 4, vector: [1, 1] }]);
  assert.equal(await B.count('f'), 2);
  await s2.stop();
});

test('kill -9 with a checkpoint written but not landed (held in its last fsync): writes went on meanwhile, and every acknowledged one survives', { skip: !existsSync(SHIM) && `no ${SHIM}` }, async () => {
  const storage = tempDir();
  const dir = tempDir('quiver-hold-');
  const env = {
    LD_PRELOAD: SHIM,
    QV_SHIM_HOLD_SNAP: dir,
    ASAN_OPTIONS: `${process.env.ASAN_OPTIONS ? `${process.env.ASAN_OPTIONS}:` : ''}verify_asan_link_order=0`,
  };
  const DIM = 32;
  const vec = roundVector(DIM);
  const s1 = await startServer({ storage, env });
  const A = api(s1.url);
  await A.create('h', { vectors: { size: DIM, distance: 'Dot', on_disk: true }, wal_config: { wal_capacity_mb: 1 } });
  writeFileSync(path.join(dir, 'hold-snap'), '');
  const last = new Map(); // id -> the round of its last acknowledged write
  const write = async (round) => {
    const ids = Array.from({ length: 500 }, (_, k) => (round * 300 + k) % 3000);
    await A.upsert('h', ids.map((id) => ({ id, vector: vec(id, round), payload: { round } })));
    for (const id of ids) last.set(id, round);
  };
  let round = 0;
  // Write until a checkpoint hangs in its fsync of points.snap.tmp ...
  for (; !existsSync(path.join(dir, 'in-snap-sync')); round++) {
    assert.ok(round < 200, 'no checkpoint started');
    await write(round);
  }
  // ... then more: they are acknowledged while it hangs (it does not hold the writer)
  for (const end = round + 5; round < end; round++) await write(round);
  await s1.stop('SIGKILL');

  const s2 = await startServer({ storage });
  await expectLastRounds(api(s2.url), 'h', last, vec);
  assert.equal(await s2.stop(), 0, s2.stderr());
});
