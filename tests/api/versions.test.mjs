// Point versions: every search, recommend and query result carries the id
// of the operation that last wrote the point (what its write answered as
// operation_id), as Qdrant reports it; kept across a checkpoint, the log's
// replay and a kill -9.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, tempDir, req, expectOk } from './helpers.mjs';

test('results carry the operation id that last wrote each point, across restarts', async () => {
  const storage = tempDir();
  let srv = await startServer({ storage });
  const call = (method, path, body) => req(method, srv.url + path, body);
  const ok = async (method, path, body) => expectOk(await call(method, path, body));
  const versions = async () => {
    const hits = await ok('POST', '/collections/v/points/search', { vector: [1, 0], limit: 10 });
    return Object.fromEntries(hits.map((h) => [h.id, h.version]));
  };
  await ok('PUT', '/collections/v', { vectors: { size: 2, distance: 'Dot' } });
  const up = await ok('PUT', '/collections/v/points?wait=true', {
    points: [1, 2, 3, 4].map((id) => ({ id, vector: [id, 1] })),
  });
  const pay = await ok('POST', '/collections/v/points/payload?wait=true', { payload: { a: 1 }, points: [2] });
  const vec = await ok('PUT', '/collections/v/points/vectors?wait=true', { points: [{ id: 3, vector: [0, 3] }] });
  assert.ok(up.operation_id < pay.operation_id && pay.operation_id < vec.operation_id);
  const want = { 1: up.operation_id, 2: pay.operation_id, 3: vec.operation_id, 4: up.operation_id };
  assert.deepEqual(await versions(), want);

  // A failed write changes no version (a batch is all or nothing).
  const bad = await call('POST', '/collections/v/points/batch?wait=true', {
    operations: [
      { set_payload: { payload: { b: 1 }, points: [1, 4] } },
      { update_vectors: { points: [{ id: 99, vector: [1, 1] }] } },
    ],
  });
  assert.equal(bad.status, 404);
  assert.deepEqual(await versions(), want);
  // In a batch, each operation has its own id: the last is operation_id + n - 1.
  const batch = await ok('POST', '/collections/v/points/batch?wait=true', {
    operations: [
      { set_payload: { payload: { b: 2 }, points: [1] } },
      { clear_payload: { points: [4] } },
    ],
  });
  want[1] = batch[0].operation_id;
  want[4] = batch[1].operation_id;
  assert.equal(want[4], want[1] + 1);
  assert.deepEqual(await versions(), want);

  // The other result kinds show the same versions.
  const q = await ok('POST', '/collections/v/points/query', { query: [1, 0], limit: 10 });
  assert.deepEqual(Object.fromEntries(q.points.map((h) => [h.id, h.version])), want);
  const r = await ok('POST', '/collections/v/points/recommend', { positive: [1], limit: 10 });
  for (const h of r) assert.equal(h.version, want[h.id]);
  const g = await ok('POST', '/collections/v/points/query/groups', { query: [1, 0], group_by: 'a', limit: 5 });
  assert.deepEqual(g.groups[0].hits.map((h) => [h.id, h.version]), [[2, want[2]]]);

  // A vector added writes a checkpoint; one more write goes to the log only.
  await ok('PUT', '/collections/v/vectors/extra', { dense: { size: 2, distance: 'Dot' } });
  const late = await ok('POST', '/collections/v/points/payload?wait=true', { payload: { c: 1 }, points: [3] });
  want[3] = late.operation_id;
  assert.deepEqual(await versions(), want);

  assert.equal(await srv.stop(), 0, srv.stderr());
  srv = await startServer({ storage });
  assert.deepEqual(await versions(), want, 'after a restart: checkpoint and log');
  await srv.kill9();
  srv = await startServer({ storage });
  assert.deepEqual(await versions(), want, 'after kill -9');
  assert.equal(await srv.stop(), 0, srv.stderr());
});
