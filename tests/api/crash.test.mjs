// Durability of points: kill -9 with writes in flight, a torn tail of the
// write-ahead log, a clean restart, and checkpoints (points.snap) when the log
// outgrows wal_capacity_mb.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readdirSync, readFileSync, renameSync, statSync, truncateSync } from 'node:fs';
import { startServer, tempDir, req, expectOk } from './helpers.mjs';
import { api, expectUpdate, expectBatch, expectLastRounds, roundVector, stripTime } from './points_lib.mjs';

const DOT4 = { vectors: { size: 4, distance: 'Dot' } };
// The log's segments (wal-<first operation id>.log), oldest first; the newest takes the appends.
const walSegments = (storage, c) => {
  const dir = `${storage}/collections/${c}`;
  return readdirSync(dir).filter((n) => /^wal-\d+\.log$/.test(n))
    .sort((a, b) => Number(a.slice(4, -4)) - Number(b.slice(4, -4))).map((n) => `${dir}/${n}`);
};
const walPath = (storage, c) => walSegments(storage, c).at(-1);
const walBytes = (storage, c) => walSegments(storage, c).reduce((n, p) => n + statSync(p).size, 0);
const snapPath = (storage, c) => `${storage}/collections/${c}/points.snap`;

test('kill -9 with writes in flight: every completed write is there, every write is all or nothing', async () => {
  const storage = tempDir();
  const s1 = await startServer({ storage });
  const A = api(s1.url);
  const c = 'crash';
  await A.create(c, DOT4);
  const W = 300; // writes
  const SENTINEL = 100000; // batch i deletes point SENTINEL + i
  await A.upsert(c, Array.from({ length: W }, (_, i) => ({ id: SENTINEL + i, vector: [0, 0, 0, 1], payload: { sentinel: i } })));

  const ids = (i) => [0, 1, 2, 3, 4].map((j) => i * 5 + j);
  const point = (i, j) => ({ id: i * 5 + j, vector: [i, j, 0.5, -1], payload: { tag: i } });
  const request = (i) =>
    i % 2 === 0
      ? ['PUT', '/points', { points: [0, 1, 2, 3, 4].map((j) => point(i, j)) }]
      : ['POST', '/points/batch', {
        operations: [
          { upsert: { points: [0, 1, 2].map((j) => point(i, j)) } },
          { upsert: { batch: { ids: [i * 5 + 3, i * 5 + 4], vectors: [[i, 3, 0.5, -1], [i, 4, 0.5, -1]], payloads: [{ tag: i }, { tag: i }] } } },
          { set_payload: { payload: { odd: i }, points: ids(i) } },
          { delete: { points: [SENTINEL + i] } },
        ],
      }];

  const completed = new Set(); // writes answered "completed" before the kill
  let maxOp = -1;
  let acked = 0;
  let killed = false;
  let next = 0;
  const KILL_AT = 150;
  const CONCURRENCY = 8;

  async function lane() {
    while (!killed && next < W) {
      const i = next++;
      const [m, s, body] = request(i);
      let res;
      try {
        res = await A.send(m, c, s, body);
      } catch {
        continue; // the connection died with the server
      }
      if (killed) continue; // answered after the kill: not counted as acknowledged
      const r = expectOk(res);
      const results = Array.isArray(r) ? expectBatch(r, 4) : [expectUpdate(r)];
      completed.add(i);
      maxOp = Math.max(maxOp, results.at(-1).operation_id);
      if (++acked === KILL_AT) {
        killed = true;
        s1.proc.kill('SIGKILL'); // right now, with the other lanes' requests in flight
      }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  assert.equal(acked, KILL_AT);
  await s1.kill9(); // wait for the exit
  assert.doesNotMatch(s1.stderr(), /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:/);

  const s2 = await startServer({ storage });
  const B = api(s2.url);
  const all = [];
  for (let i = 0; i < W; i++) all.push(...ids(i), SENTINEL + i);
  const got = await B.byId(c, all);
  let present = 0;
  for (let i = 0; i < W; i++) {
    const pts = ids(i).map((id) => got.get(String(id)));
    const n = pts.filter(Boolean).length;
    assert.ok(n === 0 || n === 5, `write ${i}: ${n} of its 5 points survived`);
    if (completed.has(i)) assert.equal(n, 5, `write ${i} was acknowledged as completed but is missing`);
    if (n === 5) {
      present++;
      pts.forEach((p, j) => {
        assert.deepEqual(p.payload, i % 2 ? { tag: i, odd: i } : { tag: i }, `write ${i}`);
        assert.deepEqual(p.vector, [i, j, 0.5, -1], `write ${i}`);
      });
    }
    const sentinel = got.get(String(SENTINEL + i));
    if (i % 2) assert.equal(!sentinel, n === 5, `batch ${i}: its delete must go with its upserts`);
    else assert.deepEqual(sentinel?.payload, { sentinel: i });
  }
  assert.ok(present >= KILL_AT);
  const sentinels = [...Array(W).keys()].filter((i) => got.has(String(SENTINEL + i))).length;
  assert.equal(await B.count(c), present * 5 + sentinels, 'no other points');
  // new writes get higher operation ids than anything acknowledged before
  const op = expectUpdate(await B.write('PUT', c, '/points', { points: [point(W, 0)] }));
  assert.ok(op.operation_id > maxOp, `${op.operation_id} > ${maxOp}`);
  assert.equal(await s2.stop(), 0, s2.stderr());
});

/** Write `n` single-point upserts and one batch; return the expected snapshot data. */
async function smallHistory(A, c, n) {
  await A.create(c, DOT4);
  let lastOp;
  for (let i = 0; i < n; i++) {
    lastOp = expectUpdate(await A.write('PUT', c, '/points', { points: [{ id: i, vector: [i, 1, 2, 3], payload: { i } }] })).operation_id;
  }
  return lastOp;
}

/**
 * Where the records of a log end (docs/FORMAT.md): a kill -9 leaves the file's preallocated
 * zeros after them, and damage is made there, where a torn append would be.
 */
function walRecordsEnd(p) {
  const buf = readFileSync(p);
  let off = 32;
  while (off + 16 <= buf.length && buf.subarray(off, off + 16).some((b) => b !== 0)) {
    const n = buf.readUInt32LE(off);
    off += 16 + n + ((8 - (n & 7)) & 7);
  }
  return off;
}

/** Cut the log to its records, then append bytes as a torn write would leave them. */
function appendAtEnd(p, bytes) {
  truncateSync(p, walRecordsEnd(p));
  appendFileSync(p, bytes);
}

for (const [name, damage, warned] of [
  ['garbage appended', (p) => appendAtEnd(p, Buffer.from('\x13\x37garbage that is no record at all\xff\x00\x01'.repeat(3), 'latin1')), true],
  // zeros are what preallocation leaves (and what a crash leaves of blocks never written): cut quietly
  ['zeros appended', (p) => appendAtEnd(p, Buffer.alloc(4096)), false],
  ['a fragment of a record appended', (p) => {
    const end = walRecordsEnd(p);
    const buf = readFileSync(p);
    appendAtEnd(p, buf.subarray(end - 200, end - 190));
  }, true],
]) {
  test(`torn tail (${name}): the server starts, cuts it, keeps every complete write`, async () => {
    const storage = tempDir();
    const c = 'torn';
    const s1 = await startServer({ storage });
    const A = api(s1.url);
    const lastOp = await smallHistory(A, c, 10);
    const batch = expectBatch(await A.batch(c, [
      { upsert: { points: [{ id: 100, vector: [1, 1, 1, 1], payload: { b: 1 } }] } },
      { set_payload: { payload: { touched: true }, points: [0, 1] } },
      { delete: { points: [9] } },
    ]), 3);
    assert.ok(batch[0].operation_id > lastOp);
    const ids = [...Array(10).keys(), 100];
    const before = await A.snapshot(c, ids);
    assert.equal(before.count, 10);
    await s1.kill9(); // a clean stop writes a checkpoint and leaves an empty log

    damage(walPath(storage, c));
    const s2 = await startServer({ storage });
    if (warned) assert.match(s2.stderr(), /cut torn tail/);
    else assert.doesNotMatch(s2.stderr(), /cut torn tail/);
    const B = api(s2.url);
    assert.deepEqual(await B.snapshot(c, ids), before);
    // writes after the cut are kept: they must not hide behind the garbage
    const op = expectUpdate(await B.write('PUT', c, '/points', { points: [{ id: 200, vector: [2, 2, 2, 2], payload: { after: 'cut' } }] }));
    assert.ok(op.operation_id > batch[2].operation_id);
    const after = await B.snapshot(c, [...ids, 200]);
    assert.equal(await s2.stop(), 0, s2.stderr());

    const s3 = await startServer({ storage });
    assert.doesNotMatch(s3.stderr(), /cut torn tail/, 'the tail was cut once and for all');
    assert.deepEqual(await api(s3.url).snapshot(c, [...ids, 200]), after);
    assert.equal(await s3.stop(), 0, s3.stderr());
  });
}

test('a log of an earlier version (one wal.log) is replayed, then replaced by segments', async () => {
  const storage = tempDir();
  const c = 'legacy_log';
  const s1 = await startServer({ storage });
  const A = api(s1.url);
  await smallHistory(A, c, 10);
  const ids = [...Array(10).keys()];
  const before = await A.snapshot(c, ids);
  await s1.kill9(); // the records stay in the log
  const segs = walSegments(storage, c);
  assert.equal(segs.length, 1);
  const legacy = `${storage}/collections/${c}/wal.log`;
  renameSync(segs[0], legacy); // the file an earlier version kept, with the same format

  const s2 = await startServer({ storage });
  assert.deepEqual(await api(s2.url).snapshot(c, ids), before);
  expectUpdate(await api(s2.url).write('PUT', c, '/points', { points: [{ id: 50, vector: [5, 5, 5, 5] }] }));
  const after = await api(s2.url).snapshot(c, [...ids, 50]);
  assert.equal(await s2.stop(), 0, s2.stderr()); // the checkpoint at stop holds wal.log's records
  assert.ok(!existsSync(legacy), 'wal.log is gone once a checkpoint holds it');
  assert.equal(walSegments(storage, c).length, 1);

  const s3 = await startServer({ storage });
  assert.deepEqual(await api(s3.url).snapshot(c, [...ids, 50]), after);
  assert.equal(await s3.stop(), 0, s3.stderr());
});

test('torn tail (last record cut short): the last write is gone as a whole, the earlier ones stay', async () => {
  const storage = tempDir();
  const c = 'torn_cut';
  const s1 = await startServer({ storage });
  const A = api(s1.url);
  await smallHistory(A, c, 10);
  const ids = [...Array(10).keys(), 100, 101];
  const before = await A.snapshot(c, ids);
  // the last record: a batch touching several points
  expectBatch(await A.batch(c, [
    { upsert: { points: [{ id: 100, vector: [1, 1, 1, 1] }, { id: 101, vector: [1, 1, 1, 1] }] } },
    { set_payload: { payload: { touched: true }, points: [0, 1] } },
    { delete: { points: [9] } },
  ]), 3);
  assert.equal(await A.count(c), 11);
  await s1.kill9(); // (a clean stop could also write a checkpoint; kill -9 leaves the record in the log)

  const p = walPath(storage, c);
  truncateSync(p, walRecordsEnd(p) - 3);
  const s2 = await startServer({ storage });
  assert.match(s2.stderr(), /cut torn tail/);
  const B = api(s2.url);
  assert.deepEqual(await B.snapshot(c, ids), before, 'the torn batch is absent as a whole');
  expectUpdate(await B.write('PUT', c, '/points', { points: [{ id: 300, vector: [3, 3, 3, 3] }] }));
  assert.equal(await B.count(c), 11);
  await s2.kill9();
  const s3 = await startServer({ storage });
  assert.deepEqual((await api(s3.url).get(c, 300)).vector, [3, 3, 3, 3]);
  assert.equal(await s3.stop(), 0, s3.stderr());
});

test('a clean SIGTERM restart keeps every point exactly; operation ids keep increasing', async () => {
  const storage = tempDir();
  const s1 = await startServer({ storage });
  const A = api(s1.url);
  const named = { vectors: { a: { size: 2, distance: 'Cosine' }, b: { size: 3, distance: 'Euclid' } }, sparse_vectors: { s: {} } };
  await A.create('r1', named);
  await A.create('r2', DOT4);
  const uuid = 'f47ac10b-58cc-4372-a567-0e02b2c3d479';
  expectOk(await A.send('PUT', 'r1', '/points', undefined, {
    raw: '{"points":[{"id":1,"vector":{"a":[3,4],"s":{"indices":[7,2],"values":[0.1,-2.5]}},"payload":{"z":1.0,"a":1,"big":18446744073709551615,"u":"☃","n":{"x":[1,{"y":null}]}}},' +
      `{"id":"${uuid.toUpperCase()}","vector":{"b":[0.1,0.2,0.3]}},{"id":3,"vector":{}}]}`,
  }));
  expectBatch(await A.batch('r1', [
    { set_payload: { payload: { k: 'v' }, key: 'n.deep', points: [1] } },
    { delete_vectors: { vector: ['b'], points: [uuid] } },
    { update_vectors: { points: [{ id: 3, vector: { b: [1, 2, 3] } }] } },
  ]), 3);
  for (let i = 0; i < 20; i++) await A.upsert('r2', [{ id: i, vector: [i, i, i, i], payload: { i } }]);
  expectUpdate(await A.write('POST', 'r2', '/points/delete', { filter: { must: [{ key: 'i', match: { any: [3, 4, 5] } }] } }));
  expectUpdate(await A.write('PUT', 'r2', '/points/payload', { payload: { o: 1 }, points: [6] }));
  const lastR2 = expectUpdate(await A.write('POST', 'r2', '/points/payload/clear', { points: [7] })).operation_id;
  const r1ids = [1, uuid, 3, 4];
  const r2ids = [...Array(22).keys()];
  const b1 = await A.snapshot('r1', r1ids);
  const b2 = await A.snapshot('r2', r2ids);
  assert.equal(b2.count, 17);
  assert.match(b1.text, /"payload":\{"z":1\.0,"a":1,"big":18446744073709551615,"u":"☃","n":\{"x":\[1,\{"y":null\}\],"deep":\{"k":"v"\}\}\}/);
  assert.equal(await s1.stop('SIGTERM'), 0, s1.stderr());

  const s2 = await startServer({ storage });
  const B = api(s2.url);
  assert.deepEqual(await B.snapshot('r1', r1ids), b1);
  assert.deepEqual(await B.snapshot('r2', r2ids), b2);
  const op = expectUpdate(await B.write('PUT', 'r2', '/points', { points: [{ id: 50, vector: [1, 2, 3, 4] }] }));
  assert.ok(op.operation_id > lastR2, `${op.operation_id} > ${lastR2}`);
  assert.equal(await s2.stop(), 0, s2.stderr());
  // and once more, with the write made after the restart
  const s3 = await startServer({ storage });
  assert.deepEqual((await api(s3.url).get('r2', 50)).vector, [1, 2, 3, 4]);
  assert.deepEqual(await api(s3.url).snapshot('r1', r1ids), b1);
  assert.equal(await s3.stop(), 0, s3.stderr());
});

test('checkpoints: the log is cut to points.snap when it outgrows wal_capacity_mb; everything survives restarts', async () => {
  const storage = tempDir();
  const s1 = await startServer({ storage });
  const A = api(s1.url);
  const c = 'ckpt';
  const DIM = 128;
  const N = 6000;
  const BATCH = 500;
  await A.create(c, { vectors: { size: DIM, distance: 'Dot' }, wal_config: { wal_capacity_mb: 1 } });
  const vec = (i, salt = 0) => Array.from({ length: DIM }, (_, j) => (((i * 131 + j * 17 + salt) % 2001) - 1000) / 1000);
  const payload = (i) => ({ i, name: `p${i}`, even: i % 2 === 0, f: i / 4 });

  const snapSizes = new Set();
  let maxBody = 0;
  let lastOp = -1;
  for (let start = 0; start < N; start += BATCH) {
    const points = [];
    for (let i = start; i < start + BATCH; i++) points.push({ id: i, vector: vec(i), payload: payload(i) });
    const body = JSON.stringify({ points });
    maxBody = Math.max(maxBody, body.length);
    lastOp = expectUpdate(expectOk(await A.send('PUT', c, '/points', undefined, { raw: body }))).operation_id;
    lastOp = expectUpdate(await A.write('POST', c, '/points/delete', { points: [999999] })).operation_id;
    // a checkpoint starts a new segment once the newest passes 1 MB; the older ones go once it landed
    // (written beside the writes: one capacity and what comes in meanwhile each)
    const newest = statSync(walPath(storage, c)).size, all = walBytes(storage, c);
    assert.ok(newest <= 2 * (1 << 20) + maxBody, `the newest log segment is ${newest} bytes after ${start + BATCH} points`);
    assert.ok(all <= 4 * (1 << 20) + 2 * maxBody, `the log segments hold ${all} bytes after ${start + BATCH} points`);
    if (existsSync(snapPath(storage, c))) snapSizes.add(statSync(snapPath(storage, c)).size);
  }
  assert.ok(existsSync(snapPath(storage, c)), 'points.snap exists');
  assert.ok(snapSizes.size >= 2, `several checkpoints were written (snapshot sizes seen: ${[...snapSizes]})`);
  assert.equal(await A.count(c), N);

  // more changes after the last checkpoint: they live in the log
  const changed = [1, 2, 3, 4, 5, 4000, 5999];
  expectUpdate(await A.write('PUT', c, '/points/vectors', { points: changed.map((i) => ({ id: i, vector: vec(i, 7) })) }));
  expectUpdate(await A.write('POST', c, '/points/delete', { points: [10, 11, 12, 5998] }));
  expectUpdate(await A.write('POST', c, '/points/payload', { payload: { late: true }, filter: { must: [{ has_id: [20, 21] }] } }));
  const deleted = new Set([10, 11, 12, 5998]);

  async function verify(url, what) {
    const B = api(url);
    assert.equal(await B.count(c), N - deleted.size, what);
    for (let start = 0; start < N; start += 1000) {
      const ids = Array.from({ length: 1000 }, (_, k) => start + k);
      const got = await B.byId(c, ids);
      for (const i of ids) {
        const p = got.get(String(i));
        if (deleted.has(i)) {
          assert.equal(p, undefined, `${what}: point ${i} was deleted`);
          continue;
        }
        assert.ok(p, `${what}: point ${i} missing`);
        assert.deepEqual(p.vector, vec(i, changed.includes(i) ? 7 : 0), `${what}: vector of ${i}`);
        assert.deepEqual(p.payload, i === 20 || i === 21 ? { ...payload(i), late: true } : payload(i), `${what}: payload of ${i}`);
      }
    }
  }
  await verify(s1.url, 'before restart');
  assert.equal(await s1.stop(), 0, s1.stderr());
  assert.deepEqual(walSegments(storage, c).map((p) => statSync(p).size), [32], 'a clean stop leaves one empty log segment');

  const s2 = await startServer({ storage });
  await verify(s2.url, 'after SIGTERM restart');
  const op = expectUpdate(await api(s2.url).write('PUT', c, '/points/payload', { payload: { i: 0, name: 'p0', even: true, f: 0 }, points: [0] }));
  assert.ok(op.operation_id > lastOp);
  await s2.kill9();

  const s3 = await startServer({ storage });
  await verify(s3.url, 'after kill -9 restart');
  // payload of 0 was overwritten with the same content, in the same key order
  const r = await req('GET', `${s3.url}/collections/${c}/points/0`);
  assert.match(stripTime(r.text), /"payload":\{"i":0,"name":"p0","even":true,"f":0\}/);
  assert.equal(await s3.stop(), 0, s3.stderr());
});

test('deleted and re-created collection: points do not come back after restart', async () => {
  const storage = tempDir();
  const s1 = await startServer({ storage });
  const A = api(s1.url);
  await A.create('again', DOT4);
  await A.upsert('again', [{ id: 1, vector: [1, 1, 1, 1], payload: { old: true } }]);
  assert.equal(expectOk(await req('DELETE', `${s1.url}/collections/again`)), true);
  await A.create('again', DOT4);
  await A.upsert('again', [{ id: 2, vector: [2, 2, 2, 2] }]);
  await s1.kill9();
  const s2 = await startServer({ storage });
  const B = api(s2.url);
  assert.deepEqual(await B.retrieve('again', [1, 2]), [{ id: 2, payload: {}, vector: [2, 2, 2, 2] }]);
  assert.equal(await s2.stop(), 0, s2.stderr());
});

test('SIGTERM right after acknowledged wait=false writes: they are applied before the exit', async () => {
  const storage = tempDir();
  const s1 = await startServer({ storage });
  const A = api(s1.url);
  const c = 'drain';
  await A.create(c, DOT4);
  const N = 100;
  for (let i = 0; i < N; i++) {
    const body = i % 2
      ? { operations: [{ upsert: { points: [{ id: i, vector: [i, 0, 0, 1], payload: { i } }] } }, { set_payload: { payload: { odd: true }, points: [i] } }] }
      : { points: [{ id: i, vector: [i, 0, 0, 1], payload: { i } }] };
    const r = expectOk(await A.send(i % 2 ? 'POST' : 'PUT', c, i % 2 ? '/points/batch' : '/points', body, { query: 'wait=false' }));
    if (i % 2) expectBatch(r, 2, 'acknowledged');
    else expectUpdate(r, 'acknowledged');
  }
  assert.equal(await s1.stop('SIGTERM'), 0, s1.stderr());
  const s2 = await startServer({ storage });
  const got = await api(s2.url).byId(c, [...Array(N).keys()]);
  assert.equal(got.size, N, 'every acknowledged write survived the clean stop');
  for (let i = 0; i < N; i++) {
    assert.deepEqual(got.get(String(i)), { id: i, payload: i % 2 ? { i, odd: true } : { i }, vector: [i, 0, 0, 1] });
  }
  assert.equal(await s2.stop(), 0, s2.stderr());
});

test('kill -9 right after acknowledged wait=false writes: they are in the log, so they survive', async () => {
  // "acknowledged" means written to the write-ahead log (as in Qdrant), not
  // only queued: a crash of the process cannot lose it.
  const storage = tempDir();
  const s1 = await startServer({ storage });
  const A = api(s1.url);
  const c = 'acked';
  await A.create(c, DOT4);
  const N = 60;
  for (let i = 0; i < N; i++) {
    const r = expectOk(await A.send('PUT', c, '/points', { points: [{ id: i, vector: [i, 1, 0, 0], payload: { i } }] }, { query: 'wait=false' }));
    expectUpdate(r, 'acknowledged');
  }
  await s1.kill9();
  const s2 = await startServer({ storage });
  const got = await api(s2.url).byId(c, [...Array(N).keys()]);
  assert.equal(got.size, N, 'every acknowledged write survived kill -9');
  for (let i = 0; i < N; i++) assert.deepEqual(got.get(String(i)), { id: i, payload: { i }, vector: [i, 1, 0, 0] });
  assert.equal(await s2.stop(), 0, s2.stderr());
});

test('kill -9 while checkpoints are written beside the writes: every acknowledged write survives, round after round', async () => {
  const storage = tempDir();
  const c = 'ckpt_kill';
  const DIM = 32, IDS = 6000, BATCH = 500, BATCHES = 20; // ~1.4 MB of log a round: a checkpoint starts within each
  const vec = roundVector(DIM);
  const last = new Map(); // id -> the round of its last acknowledged write
  let s = await startServer({ storage });
  await api(s.url).create(c, { vectors: { size: DIM, distance: 'Dot', on_disk: true }, wal_config: { wal_capacity_mb: 1 } });
  for (let round = 0; round < 5; round++) {
    const A = api(s.url);
    for (let b = 0; b < BATCHES; b++) {
      const points = [];
      for (let k = 0; k < BATCH; k++) {
        const id = (round * 2700 + b * BATCH + k) % IDS; // new ids and rewrites of earlier rounds'
        points.push({ id, vector: vec(id, round), payload: { round, b } });
      }
      await A.upsert(c, points);
      for (const p of points) last.set(p.id, round);
    }
    await s.kill9(); // right after the last answer, wherever a checkpoint is (faults.test.mjs holds one mid-way)
    s = await startServer({ storage });
    await expectLastRounds(api(s.url), c, last, vec, `round ${round}: `);
  }
  assert.equal(await s.stop(), 0, s.stderr());
});
