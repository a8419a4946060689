// Atomicity of /points/batch (Quiver promises more than Qdrant: a batch is
// applied all or nothing, and readers never see part of one) and of single
// multi-point requests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, tempDir, req, expectOk, expectError } from './helpers.mjs';
import { api, expectUpdate, expectBatch } from './points_lib.mjs';

let srv, A;
before(async () => {
  srv = await startServer();
  A = api(srv.url);
});
after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, srv.stderr());
});

const DOT3 = { vectors: { size: 3, distance: 'Dot' } };
const NAMED = { vectors: { a: { size: 2, distance: 'Dot' }, b: { size: 3, distance: 'Euclid' } }, sparse_vectors: { s: {} } };
const IDS = [1, 2, 3, 4, 5, 6, 10, 11, 50, 999];

async function fixture(c, body = DOT3) {
  await A.create(c, body);
  const vec = body === DOT3 ? (i) => [i, i, i] : (i) => ({ a: [i, i], b: [i, 0, 0] });
  await A.upsert(c, [1, 2, 3, 4, 5, 6].map((i) => ({ id: i, vector: vec(i), payload: { i, tag: `t${i}`, nested: { k: i } } })));
}

/** Earlier operations of a batch that would each change something visible. */
const EARLIER = [
  { upsert: { points: [{ id: 10, vector: [1, 0, 0], payload: { new: true } }, { id: 11, vector: [0, 1, 0] }] } },
  { upsert: { batch: { ids: [1], vectors: [[7, 7, 7]], payloads: [{ replaced: 1 }] } } },
  { set_payload: { payload: { set: 1 }, points: [2] } },
  { set_payload: { payload: { deep: 1 }, key: 'nested', points: [3] } },
  { overwrite_payload: { payload: { over: 1 }, points: [4] } },
  { delete_payload: { keys: ['tag', 'nested.k'], points: [5] } },
  { clear_payload: { points: [6] } },
  { update_vectors: { points: [{ id: 2, vector: [9, 9, 9] }] } },
  { delete: { points: [6] } },
  { delete: { filter: { must: [{ key: 'i', match: { value: 5 } }] } } },
  { set_payload: { payload: { f: 1 }, filter: { must: [{ has_id: [3, 4] }] } } },
];

test('a batch whose LAST operation is invalid (validation) is rejected and applies nothing', async () => {
  const c = 'atomic_validation';
  await fixture(c);
  const before = await A.snapshot(c, IDS);
  const lasts = [
    [{ upsert: { points: [{ id: 50, vector: [1, 2, 3] }, { id: 51, vector: [1, 2] }] } }, 400, 'Wrong input: Vector dimension error: expected dim: 3, got 2'],
    [{ update_vectors: { points: [{ id: 1, vector: [1, 2, 3, 4] }] } }, 400, 'Wrong input: Vector dimension error: expected dim: 3, got 4'],
    [{ upsert: { points: [{ id: 50, vector: { foo: [1, 2, 3] } }] } }, 400, 'Wrong input: Not existing vector name error: foo'],
    [{ delete_vectors: { vector: ['foo'], points: [1] } }, 400, 'Wrong input: Not existing vector name error: foo'],
    [{ set_payload: { payload: [1], points: [1] } }, 400, /^Format error in JSON body: /],
    [{ delete: { filter: { must: [{ nope: 1 }] } } }, 400, /^Format error in JSON body: /],
    [{ upsert: { points: [{ id: '50', vector: [1, 2, 3] }] } }, 400, /^Format error in JSON body: .*not a valid point ID/],
    [{ upsert: { points: [] } }, 422, /^Validation error in JSON body: \[/],
  ];
  for (const [last, status, msg] of lasts) {
    for (const query of ['wait=true', 'wait=false', '']) {
      expectError(await A.send('POST', c, '/points/batch', { operations: [...EARLIER, last] }, { query }), status, msg);
    }
  }
  // the barrier: a wait=true write after the rejected ones
  expectUpdate(await A.write('POST', c, '/points/delete', { points: [12345] }));
  assert.deepEqual(await A.snapshot(c, IDS), before, 'nothing of the rejected batches was applied');
});

test('a batch whose last operation fails when applied (missing point) applies nothing', async () => {
  const c = 'atomic_apply';
  await fixture(c);
  const before = await A.snapshot(c, IDS);
  const first = expectUpdate(await A.write('POST', c, '/points/delete', { points: [12345] })).operation_id;

  const failing = [
    [{ update_vectors: { points: [{ id: 999, vector: [1, 2, 3] }] } }, 999],
    [{ set_payload: { payload: { x: 1 }, points: [1, 999] } }, 999],
    [{ overwrite_payload: { payload: { x: 1 }, points: [999] } }, 999],
    [{ delete_payload: { keys: ['i'], points: [999] } }, 999],
    [{ clear_payload: { points: [999] } }, 999],
    [{ delete_vectors: { vector: [''], points: [999] } }, 999],
    // point 6 was deleted by an earlier operation of the same batch
    [{ update_vectors: { points: [{ id: 6, vector: [1, 2, 3] }] } }, 6],
    [{ set_payload: { payload: { x: 1 }, points: [6] } }, 6],
  ];
  for (const [last, missing] of failing) {
    expectError(await A.send('POST', c, '/points/batch', { operations: [...EARLIER, last] }), 404, `Not found: No point with id ${missing} found`);
    assert.deepEqual(await A.snapshot(c, IDS), before, `after ${JSON.stringify(last)}`);
  }
  // the failure in the middle of a batch: later operations are not applied either
  expectError(await A.send('POST', c, '/points/batch', {
    operations: [EARLIER[0], { update_vectors: { points: [{ id: 999, vector: [1, 2, 3] }] } }, EARLIER[2]],
  }), 404, 'Not found: No point with id 999 found');
  assert.deepEqual(await A.snapshot(c, IDS), before);

  // the same with wait=false: acknowledged, then (after a barrier) nothing applied
  const ack = expectBatch(await A.write('POST', c, '/points/batch', {
    operations: [...EARLIER, { update_vectors: { points: [{ id: 999, vector: [1, 2, 3] }] } }],
  }, { query: 'wait=false' }), EARLIER.length + 1, 'acknowledged');
  assert.ok(ack[0].operation_id > first);
  const next = expectUpdate(await A.write('POST', c, '/points/delete', { points: [12345] }));
  assert.ok(next.operation_id > ack.at(-1).operation_id, 'operation ids keep increasing after a failed batch');
  assert.deepEqual(await A.snapshot(c, IDS), before);

  // a single multi-point request is all or nothing too
  expectError(await A.send('POST', c, '/points/payload', { payload: { x: 1 }, points: [1, 2, 999] }), 404, 'Not found: No point with id 999 found');
  expectError(await A.send('PUT', c, '/points/vectors', { points: [{ id: 1, vector: [0, 0, 0] }, { id: 999, vector: [0, 0, 0] }] }), 404, 'Not found: No point with id 999 found');
  assert.deepEqual(await A.snapshot(c, IDS), before);
});

test('later operations of a batch see the earlier ones', async () => {
  const c = 'atomic_seq';
  await fixture(c);
  expectBatch(await A.batch(c, [
    { upsert: { points: [{ id: 50, vector: [1, 2, 3], payload: { a: 1 } }] } },
    { update_vectors: { points: [{ id: 50, vector: [4, 5, 6] }] } },
    { set_payload: { payload: { b: 2 }, points: [50] } },
    { set_payload: { payload: { c: 3 }, filter: { must: [{ key: 'b', match: { value: 2 } }] } } },
    { delete: { points: [1] } },
    { upsert: { points: [{ id: 1, vector: [0, 0, 1] }] } },
    { delete_payload: { keys: ['a'], points: [50] } },
  ]), 7);
  assert.deepEqual(await A.get(c, 50), { id: 50, payload: { b: 2, c: 3 }, vector: [4, 5, 6] });
  assert.deepEqual(await A.get(c, 1), { id: 1, payload: {}, vector: [0, 0, 1] });
});

test('atomicity with named and sparse vectors', async () => {
  const c = 'atomic_named';
  await fixture(c, NAMED);
  const before = await A.snapshot(c, IDS);
  const ops = [
    { update_vectors: { points: [{ id: 1, vector: { s: { indices: [1], values: [1] } } }] } },
    { delete_vectors: { vector: ['a'], points: [2] } },
    { upsert: { points: [{ id: 10, vector: { a: [1, 1] } }] } },
  ];
  expectError(await A.send('POST', c, '/points/batch', { operations: [...ops, { update_vectors: { points: [{ id: 3, vector: { b: [1, 2] } }] } }] }),
    400, 'Wrong input: Vector dimension error: expected dim: 3, got 2');
  expectError(await A.send('POST', c, '/points/batch', { operations: [...ops, { update_vectors: { points: [{ id: 999, vector: { a: [1, 2] } }] } }] }),
    404, 'Not found: No point with id 999 found');
  assert.deepEqual(await A.snapshot(c, IDS), before);
  expectBatch(await A.batch(c, ops), 3);
  assert.deepEqual((await A.get(c, 1)).vector, { a: [1, 1], b: [1, 0, 0], s: { indices: [1], values: [1] } });
  assert.deepEqual((await A.get(c, 2)).vector, { b: [2, 0, 0] });
});

test('a failed batch stays unapplied after a restart (SIGTERM and kill -9)', async () => {
  const storage = tempDir();
  const s1 = await startServer({ storage });
  const B = api(s1.url);
  const c = 'atomic_restart';
  await B.create(c, DOT3);
  await B.upsert(c, [1, 2, 3, 4, 5, 6].map((i) => ({ id: i, vector: [i, i, i], payload: { i, tag: `t${i}`, nested: { k: i } } })));
  expectError(await B.send('POST', c, '/points/batch', { operations: [...EARLIER, { update_vectors: { points: [{ id: 999, vector: [1, 2, 3] }] } }] }),
    404, 'Not found: No point with id 999 found');
  expectBatch(await B.write('POST', c, '/points/batch', { operations: [...EARLIER, { clear_payload: { points: [999] } }] }, { query: 'wait=false' }),
    EARLIER.length + 1, 'acknowledged');
  const last = expectUpdate(await B.write('POST', c, '/points/payload', { payload: { after: true }, points: [1] }));
  const before = await B.snapshot(c, IDS);
  assert.deepEqual(JSON.parse(before.text).result.map((p) => p.id).sort(), [1, 2, 3, 4, 5, 6]);
  assert.equal(await s1.stop(), 0, s1.stderr());

  const s2 = await startServer({ storage });
  const B2 = api(s2.url);
  assert.deepEqual(await B2.snapshot(c, IDS), before, 'after SIGTERM restart');
  const op = expectUpdate(await B2.write('POST', c, '/points/delete', { points: [12345] }));
  assert.ok(op.operation_id > last.operation_id, `operation ids continue: ${op.operation_id} after ${last.operation_id}`);
  await s2.kill9();

  const s3 = await startServer({ storage });
  assert.deepEqual(await api(s3.url).snapshot(c, IDS), before, 'after kill -9 restart');
  assert.equal(await s3.stop(), 0, s3.stderr());
});

test('concurrent readers never see part of a batch', async () => {
  const c = 'readers';
  await A.create(c, DOT3);
  const N = 200; // batches
  const G = 4; // groups; batch k writes group k % G
  const allIds = Array.from({ length: N * 10 }, (_, i) => i);
  let writerDone = false;

  async function writer() {
    try {
      for (let k = 0; k < N; k++) {
        const g = k % G;
        const points = [];
        for (let j = 0; j < 10; j++) points.push({ id: k * 10 + j, vector: [k, j, g], payload: { grp: g, gen: k } });
        expectBatch(await A.batch(c, [
          { upsert: { points } },
          { set_payload: { payload: { gen: k }, filter: { must: [{ key: 'grp', match: { value: g } }] } } },
        ]), 2);
      }
    } finally {
      writerDone = true;
    }
  }

  /** Check one consistent view of all points; return gen per group (-1: empty). */
  function checkView(points, lastSeen, what) {
    const groups = new Map();
    for (const p of points) {
      const { grp, gen } = p.payload;
      if (!groups.has(grp)) groups.set(grp, []);
      groups.get(grp).push(p);
    }
    const seen = [];
    for (let g = 0; g < G; g++) {
      const pts = groups.get(g) || [];
      const gens = new Set(pts.map((p) => p.payload.gen));
      assert.ok(gens.size <= 1, `${what}: group ${g} has mixed gens ${[...gens]}`);
      const gen = pts.length ? pts[0].payload.gen : -1;
      // exactly the points of batches g, g+G, ..., gen
      const expected = [];
      for (let k = g; k <= gen; k += G) for (let j = 0; j < 10; j++) expected.push(k * 10 + j);
      assert.deepEqual(pts.map((p) => p.id).sort((a, b) => a - b), expected, `${what}: members of group ${g} at gen ${gen}`);
      assert.ok(gen >= lastSeen[g], `${what}: group ${g} went back from gen ${lastSeen[g]} to ${gen}`);
      seen.push(gen);
    }
    assert.equal(groups.size <= G, true);
    return seen;
  }

  async function retrieveReader(r) {
    const lastSeen = new Array(G).fill(-1);
    let i = 0;
    do {
      const pts = expectOk(await req('POST', A.u(c, '/points'), { ids: allIds, with_payload: true, with_vector: false }));
      const gens = checkView(pts, lastSeen, `reader ${r} read ${i}`);
      gens.forEach((g, j) => (lastSeen[j] = g));
    } while (!writerDone && ++i < 3000);
    return i;
  }

  async function getReader(r) {
    let i = 0;
    let k = 0;
    do {
      // once the last point of batch k is visible, the first one is too (and in the same group)
      const last = await A.get(c, k * 10 + 9);
      if (last) {
        const first = await A.get(c, k * 10);
        assert.ok(first, `reader ${r}: point ${k * 10 + 9} visible but ${k * 10} not`);
        assert.equal(first.payload.grp, k % G);
        assert.ok(first.payload.gen >= k && (first.payload.gen - k) % G === 0, JSON.stringify(first));
        assert.deepEqual(first.vector, [k, 0, k % G]);
        k = Math.min(k + 1, N - 1);
      }
    } while (!writerDone && ++i < 20000);
    return i;
  }

  await Promise.all([writer(), retrieveReader(1), retrieveReader(2), getReader(3)]);
  // the final state
  const final = expectOk(await req('POST', A.u(c, '/points'), { ids: allIds, with_payload: true, with_vector: false }));
  assert.equal(final.length, N * 10);
  const gens = checkView(final, new Array(G).fill(-1), 'final');
  assert.deepEqual(gens, Array.from({ length: G }, (_, g) => N - G + g));
});

test('concurrent writers: every write applied once, operation ids unique', async () => {
  const c = 'writers';
  await A.create(c, DOT3);
  const LANES = 8;
  const WRITES = 25;
  const opIds = [];
  async function lane(l) {
    for (let w = 0; w < WRITES; w++) {
      const query = w % 3 === 1 ? 'wait=false' : 'wait=true';
      const status = query === 'wait=true' ? 'completed' : 'acknowledged';
      const r = expectUpdate(await A.write('PUT', c, '/points', { points: [{ id: l * 100 + w, vector: [l, w, 1], payload: { l, w } }] }, { query }), status);
      opIds.push(r.operation_id);
      if (w % 5 === 4) {
        const b = expectBatch(await A.batch(c, [
          { set_payload: { payload: { count: w }, filter: { must: [{ key: 'l', match: { value: l } }] } } },
          { set_payload: { payload: { lane: `L${l}` }, points: [l * 100] } },
        ]), 2);
        opIds.push(...b.map((x) => x.operation_id));
      }
    }
  }
  await Promise.all(Array.from({ length: LANES }, (_, l) => lane(l)));
  assert.equal(new Set(opIds).size, opIds.length, 'operation ids are unique');
  const ids = [];
  for (let l = 0; l < LANES; l++) for (let w = 0; w < WRITES; w++) ids.push(l * 100 + w);
  const got = await A.byId(c, ids);
  assert.equal(got.size, LANES * WRITES);
  for (let l = 0; l < LANES; l++) {
    for (let w = 0; w < WRITES; w++) {
      const expected = w === 0 ? { l, w, count: WRITES - 1, lane: `L${l}` } : { l, w, count: WRITES - 1 };
      assert.deepEqual(got.get(String(l * 100 + w)), { id: l * 100 + w, payload: expected, vector: [l, w, 1] });
    }
  }
  assert.equal(await A.count(c), LANES * WRITES);
});

test('deleting a collection while writes to it are in flight: each write succeeds or gets 404', async () => {
  const c = 'doomed';
  await A.create(c, DOT3);
  await A.upsert(c, [{ id: 1, vector: [1, 1, 1] }]);
  const gone = "Not found: Collection `doomed` doesn't exist!";
  let answered = 0;
  let deleted;
  const outcomes = { ok: 0, notFound: 0 };
  // each lane writes until the collection is gone for it (bounded)
  async function lane(l) {
    for (let w = 0; w < 400; w++) {
      const query = w % 2 ? 'wait=false' : 'wait=true';
      const res = w % 4 < 2
        ? await A.send('PUT', c, '/points', { points: [{ id: l * 1000 + w, vector: [l, w, 0], payload: { l } }] }, { query })
        : await A.send('POST', c, '/points/batch', {
          operations: [
            { upsert: { points: [{ id: l * 1000 + w, vector: [1, 2, 3] }] } },
            { set_payload: { payload: { x: w }, filter: { must: [{ key: 'l', match: { value: l } }] } } },
          ],
        }, { query });
      if (res.status === 404) {
        expectError(res, 404, gone);
        outcomes.notFound++;
        if (deleted) return;
      } else {
        expectOk(res);
        outcomes.ok++;
      }
      // the collection goes away once some writes have been answered, with others still coming
      if (++answered === 30) deleted = req('DELETE', A.u(c));
    }
  }
  await Promise.all([0, 1, 2, 3].map(lane));
  assert.ok(deleted, `only ${answered} writes were answered`);
  assert.equal(expectOk(await deleted), true);
  assert.ok(outcomes.ok >= 30, JSON.stringify(outcomes));
  // once DELETE has answered, writes get 404
  expectError(await A.send('PUT', c, '/points', { points: [{ id: 1, vector: [1, 1, 1] }] }), 404, gone);
  expectError(await A.send('POST', c, '/points/batch', { operations: [{ delete: { points: [1] } }] }, { query: 'wait=false' }), 404, gone);
  assert.deepEqual(expectOk(await req('GET', A.u(c, '/exists'))), { exists: false });
  expectError(await req('POST', A.u(c, '/points'), { ids: [1] }), 404, gone);
  // a new collection of that name starts empty
  await A.create(c, DOT3);
  assert.equal(await A.count(c), 0);
  assert.deepEqual(await A.retrieve(c, [1, 1000, 2000, 3039]), []);
  await A.upsert(c, [{ id: 5, vector: [5, 5, 5] }]);
  assert.deepEqual(await A.get(c, 5), { id: 5, payload: {}, vector: [5, 5, 5] });
});
