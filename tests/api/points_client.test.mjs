// The write path through the official JS client (@qdrant/js-client-rest
// 1.19.0): upsert, batchUpdate, delete, payload and vector operations,
// retrieve; return values and resulting state.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client, clientIdle, warnings } from './helpers.mjs';
import { api, expectUpdate, expectBatch, assertClose, normalize } from './points_lib.mjs';

let srv, qc, A;
before(async () => {
  srv = await startServer();
  qc = client(srv.url);
  A = api(srv.url);
});
after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, srv.stderr());
});

const sortById = (pts) => [...pts].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
const UUID = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';

test('upsert (points and batch forms) and retrieve', async () => {
  assert.equal(await qc.createCollection('jp', { vectors: { size: 3, distance: 'Dot' } }), true);
  const r1 = await qc.upsert('jp', {
    wait: true,
    points: [
      { id: 1, vector: [0.1, 0.2, 0.3], payload: { city: 'Berlin', n: 1 } },
      { id: UUID.toUpperCase(), vector: [1, 2, 3], payload: { nested: { a: [1, 'x', null] } } },
    ],
  });
  expectUpdate(r1);
  const r2 = await qc.upsert('jp', {
    wait: true,
    batch: { ids: [2, 3], vectors: [[4, 5, 6], [7, 8, 9]], payloads: [{ city: 'London' }, { city: 'Paris' }] },
  });
  expectUpdate(r2);
  assert.ok(r2.operation_id > r1.operation_id);
  const pts = await qc.retrieve('jp', { ids: [1, 2, 3, UUID, 77], with_payload: true, with_vector: true });
  assert.deepEqual(sortById(pts), sortById([
    { id: 1, payload: { city: 'Berlin', n: 1 }, vector: [0.1, 0.2, 0.3] },
    { id: 2, payload: { city: 'London' }, vector: [4, 5, 6] },
    { id: 3, payload: { city: 'Paris' }, vector: [7, 8, 9] },
    { id: UUID, payload: { nested: { a: [1, 'x', null] } }, vector: [1, 2, 3] },
  ]));
  // the client's defaults: payload yes, vector no
  assert.deepEqual(await qc.retrieve('jp', { ids: [2] }), [{ id: 2, payload: { city: 'London' }, vector: null }]);
  // wait: false → acknowledged
  const r3 = await qc.upsert('jp', { wait: false, points: [{ id: 4, vector: [0, 0, 1] }] });
  expectUpdate(r3, 'acknowledged');
  expectUpdate(await qc.upsert('jp', { points: [{ id: 5, vector: [0, 1, 0] }] })); // the client defaults to wait: true
  assert.equal((await qc.retrieve('jp', { ids: [4, 5] })).length, 2);
});

test('batchUpdate: one result per operation, applied in order', async () => {
  assert.equal(await qc.createCollection('jb', { vectors: { size: 3, distance: 'Cosine' } }), true);
  await qc.upsert('jb', {
    points: [1, 2, 3, 4, 5].map((id) => ({ id, vector: [id, 1, 0], payload: { id, status: id % 2 ? 'inactive' : 'active' } })),
  });
  const res = await qc.batchUpdate('jb', {
    operations: [
      { upsert: { points: [{ id: 6, vector: [3, 4, 0], payload: { id: 6 } }] } },
      { update_vectors: { points: [{ id: 2, vector: [0, 3, 4] }] } },
      { set_payload: { payload: { seen: true }, points: [2, 6] } },
      { overwrite_payload: { payload: { only: 1 }, points: [4] } },
      { delete_payload: { keys: ['status'], points: [2] } },
      { clear_payload: { points: [6] } },
      { delete: { filter: { must: [{ key: 'status', match: { value: 'inactive' } }] } } },
    ],
  });
  expectBatch(res, 7);
  const pts = sortById(await qc.retrieve('jb', { ids: [1, 2, 3, 4, 5, 6], with_vector: true }));
  assert.deepEqual(pts, [
    { id: 2, payload: { id: 2, seen: true }, vector: [0, 0.6, 0.8] },
    { id: 4, payload: { only: 1 }, vector: pts[1].vector },
    { id: 6, payload: {}, vector: [0.6, 0.8, 0] },
  ]);
  assertClose(pts[1].vector, normalize([4, 1, 0]), 1e-6, 'point 4');
  // rejected batch: nothing applied, the client rejects with the server's status and message
  await assert.rejects(
    qc.batchUpdate('jb', {
      operations: [
        { delete: { points: [2, 4, 6] } },
        { update_vectors: { points: [{ id: 999, vector: [1, 1, 1] }] } },
      ],
    }),
    (e) => {
      assert.equal(e.status, 404);
      assert.deepEqual(e.data?.status, { error: 'Not found: No point with id 999 found' });
      return true;
    },
  );
  await assert.rejects(
    qc.batchUpdate('jb', { operations: [{ delete: { points: [2] } }, { upsert: { points: [{ id: 7, vector: [1, 1] }] } }] }),
    (e) => {
      assert.equal(e.status, 400);
      assert.deepEqual(e.data?.status, { error: 'Wrong input: Vector dimension error: expected dim: 3, got 2' });
      return true;
    },
  );
  assert.deepEqual((await qc.retrieve('jb', { ids: [2, 4, 6, 7] })).map((p) => p.id).sort(), [2, 4, 6]);
});

test('delete by points and by filter', async () => {
  assert.equal(await qc.createCollection('jd', { vectors: { size: 2, distance: 'Dot' } }), true);
  await qc.upsert('jd', { points: [1, 2, 3, 4, 5, 6].map((id) => ({ id, vector: [id, 0], payload: { g: id % 3 } })) });
  // delete has no wait default in the client: give it explicitly
  expectUpdate(await qc.delete('jd', { wait: true, points: [1, 2, 42] }));
  assert.deepEqual((await qc.retrieve('jd', { ids: [1, 2, 3, 4, 5, 6] })).map((p) => p.id).sort(), [3, 4, 5, 6]);
  expectUpdate(await qc.delete('jd', { wait: true, filter: { must: [{ key: 'g', match: { value: 0 } }] } }));
  assert.deepEqual((await qc.retrieve('jd', { ids: [1, 2, 3, 4, 5, 6] })).map((p) => p.id).sort(), [4, 5]);
  expectUpdate(await qc.delete('jd', { wait: true, filter: { must_not: [{ has_id: [5] }] } }));
  assert.deepEqual((await qc.retrieve('jd', { ids: [4, 5] })).map((p) => p.id), [5]);
  // without wait the server answers "acknowledged"; a following wait:true write sees it applied
  expectUpdate(await qc.delete('jd', { points: [5] }), 'acknowledged');
  expectUpdate(await qc.upsert('jd', { wait: true, points: [{ id: 9, vector: [9, 9] }] }));
  assert.deepEqual(await qc.retrieve('jd', { ids: [5, 9] }), [{ id: 9, payload: {}, vector: null }]);
});

test('setPayload (incl. key), overwritePayload, deletePayload, clearPayload', async () => {
  assert.equal(await qc.createCollection('jpl', { vectors: { size: 2, distance: 'Dot' } }), true);
  await qc.upsert('jpl', { points: [1, 2, 3].map((id) => ({ id, vector: [id, id], payload: { id, meta: { v: id } } })) });
  const get = async (id) => (await qc.retrieve('jpl', { ids: [id] }))[0].payload;

  expectUpdate(await qc.setPayload('jpl', { payload: { color: 'red', id: 100 }, points: [1] }));
  assert.deepEqual(await get(1), { id: 100, meta: { v: 1 }, color: 'red' });
  expectUpdate(await qc.setPayload('jpl', { payload: { w: 2 }, key: 'meta.inner', points: [1, 2] }));
  assert.deepEqual(await get(1), { id: 100, meta: { v: 1, inner: { w: 2 } }, color: 'red' });
  assert.deepEqual(await get(2), { id: 2, meta: { v: 2, inner: { w: 2 } } });
  expectUpdate(await qc.setPayload('jpl', { payload: { f: true }, filter: { must: [{ key: 'id', match: { any: [2, 3] } }] } }));
  assert.equal((await get(3)).f, true);
  assert.equal((await get(1)).f, undefined);

  expectUpdate(await qc.overwritePayload('jpl', { payload: { fresh: 1 }, points: [2] }));
  assert.deepEqual(await get(2), { fresh: 1 });

  expectUpdate(await qc.deletePayload('jpl', { keys: ['meta.inner', 'color'], points: [1] }));
  assert.deepEqual(await get(1), { id: 100, meta: { v: 1 } });
  expectUpdate(await qc.deletePayload('jpl', { keys: ['f'], filter: { must: [{ has_id: [3] }] } }));
  assert.deepEqual(await get(3), { id: 3, meta: { v: 3 } });

  expectUpdate(await qc.clearPayload('jpl', { points: [1] }));
  assert.deepEqual(await get(1), {});
  expectUpdate(await qc.clearPayload('jpl', { filter: { must: [{ key: 'fresh', match: { value: 1 } }] } }));
  assert.deepEqual(await get(2), {});
  assert.deepEqual(await get(3), { id: 3, meta: { v: 3 } });

  await assert.rejects(qc.setPayload('jpl', { payload: { x: 1 }, points: [404] }), (e) => {
    assert.equal(e.status, 404);
    assert.deepEqual(e.data?.status, { error: 'Not found: No point with id 404 found' });
    return true;
  });
});

test('updateVectors and deleteVectors on named dense and sparse vectors', async () => {
  assert.equal(await qc.createCollection('jv', {
    vectors: { a: { size: 2, distance: 'Dot' }, b: { size: 3, distance: 'Euclid' } },
    sparse_vectors: { s: {} },
  }), true);
  const s = { indices: [1, 3], values: [0.25, 0.5] };  // stored sorted by index, as Qdrant stores it
  expectUpdate(await qc.upsert('jv', { points: [{ id: 1, vector: { a: [1, 2], s: { indices: [3, 1], values: [0.5, 0.25] } } }, { id: 2, vector: { b: [1, 2, 3] } }] }));
  assert.deepEqual(await qc.retrieve('jv', { ids: [1], with_vector: true }), [{ id: 1, payload: {}, vector: { a: [1, 2], s } }]);

  expectUpdate(await qc.updateVectors('jv', { points: [{ id: 1, vector: { b: [4, 5, 6] } }, { id: 2, vector: { a: [7, 8] } }] }));
  assert.deepEqual((await qc.retrieve('jv', { ids: [1], with_vector: true }))[0].vector, { a: [1, 2], b: [4, 5, 6], s });
  assert.deepEqual((await qc.retrieve('jv', { ids: [2], with_vector: true }))[0].vector, { a: [7, 8], b: [1, 2, 3] });
  assert.deepEqual((await qc.retrieve('jv', { ids: [1], with_vector: ['s'] }))[0].vector, { s });

  expectUpdate(await qc.deleteVectors('jv', { points: [1], vector: ['a', 's'] }));
  assert.deepEqual((await qc.retrieve('jv', { ids: [1], with_vector: true }))[0].vector, { b: [4, 5, 6] });
  expectUpdate(await qc.deleteVectors('jv', { filter: { must: [{ has_id: [2] }] }, vector: ['b'] }));
  assert.deepEqual((await qc.retrieve('jv', { ids: [2], with_vector: true }))[0].vector, { a: [7, 8] });

  await assert.rejects(qc.updateVectors('jv', { points: [{ id: 1, vector: { a: [1, 2, 3] } }] }), (e) => {
    assert.equal(e.status, 400);
    assert.deepEqual(e.data?.status, { error: 'Wrong input: Vector dimension error: expected dim: 2, got 3' });
    return true;
  });
  await assert.rejects(qc.deleteVectors('jv', { points: [1], vector: ['nope'] }), (e) => {
    assert.equal(e.status, 400);
    assert.deepEqual(e.data?.status, { error: 'Wrong input: Not existing vector name error: nope' });
    return true;
  });
  assert.deepEqual((await qc.retrieve('jv', { ids: [1], with_vector: true }))[0].vector, { b: [4, 5, 6] });
});

test('missing collection rejects with 404; ordering and timeout options; no client warnings', async () => {
  await assert.rejects(qc.upsert('jnope', { points: [{ id: 1, vector: [1] }] }), (e) => {
    assert.equal(e.status, 404);
    assert.deepEqual(e.data?.status, { error: "Not found: Collection `jnope` doesn't exist!" });
    return true;
  });
  expectUpdate(await qc.upsert('jp', { wait: true, ordering: 'strong', points: [{ id: 10, vector: [1, 1, 1] }] }));
  expectUpdate(await qc.upsert('jp', { wait: true, ordering: 'medium', timeout: 10, points: [{ id: 11, vector: [1, 1, 1] }] }));
  assert.deepEqual((await A.retrieve('jp', [10, 11], { with_vector: false })).map((p) => p.id).sort(), [10, 11]);
  await clientIdle();
  assert.deepEqual(warnings, []);
});
