// The HNSW index behind search: built in the background once a collection
// passes indexing_threshold, recall against exact search (unfiltered and
// filtered at 1% and 10%, through the graph), writes never stale, points
// findable before they are indexed, and the same after a restart.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, tempDir, req, expectOk, infoUntil } from './helpers.mjs';
import { rng } from './read_lib.mjs';

let srv;
const storage = tempDir();
before(async () => {
  srv = await startServer({ storage });
});
after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, srv.stderr());
});

// The shared REST helpers, on this file's server.
const call = (method, path, body) => req(method, srv.url + path, body);
const ok = async (method, path, body) => expectOk(await call(method, path, body));

const DIM = 24;
const N = 12000;
const r = rng(77);
const centres = Array.from({ length: 40 }, () => Array.from({ length: DIM }, () => r() * 2 - 1));
const POINTS = Array.from({ length: N }, (_, i) => ({
  id: i + 1,
  vector: centres[i % 40].map((x) => x + (r() - 0.5) * 0.8),
  payload: { p1: i % 100 === 0, p10: i % 10 === 0 },
}));
const QUERIES = Array.from({ length: 40 }, (_, i) => POINTS[(i * 611) % N].vector.map((x) => x + (r() - 0.5) * 0.2));

// Wait for an observable condition (the collection's status), bounded.
const indexed = (name) => infoUntil(srv.url, name, (info) => info.status === 'green', 2000);

async function recall(name, filter, params = {}) {
  let sum = 0;
  for (const vector of QUERIES) {
    const approx = await ok('POST', `/collections/${name}/points/search`, { vector, limit: 10, filter, params });
    const exact = await ok('POST', `/collections/${name}/points/search`, { vector, limit: 10, filter, params: { exact: true } });
    const got = new Set(approx.map((h) => h.id));
    sum += exact.filter((h) => got.has(h.id)).length / exact.length;
  }
  return sum / QUERIES.length;
}

test('an indexed collection keeps recall@10 >= 0.95, filtered too', async () => {
  await ok('PUT', '/collections/hn', {
    vectors: { size: DIM, distance: 'Cosine' },
    hnsw_config: { m: 16, ef_construct: 100, full_scan_threshold: 10 },
    optimizers_config: { indexing_threshold: 10 },
  });
  for (let i = 0; i < N; i += 2000)
    await ok('PUT', '/collections/hn/points?wait=true', { points: POINTS.slice(i, i + 2000) });
  const info = await indexed('hn');
  assert.equal(info.indexed_vectors_count, N);
  assert.ok(await recall('hn') >= 0.95);
  assert.ok(await recall('hn', { must: [{ key: 'p1', match: { value: true } }] }) >= 0.95, '1% selectivity');
  assert.ok(await recall('hn', { must: [{ key: 'p10', match: { value: true } }] }) >= 0.95, '10% selectivity');
  // With a payload index on the field too.
  await ok('PUT', '/collections/hn/index?wait=true', { field_name: 'p1', field_schema: 'bool' });
  assert.ok(await recall('hn', { must: [{ key: 'p1', match: { value: true } }] }) >= 0.95, '1%, indexed field');
  // hnsw_ef is honoured (a tiny ef still answers, never below limit).
  const tiny = await ok('POST', '/collections/hn/points/search', { vector: QUERIES[0], limit: 10, params: { hnsw_ef: 1 } });
  assert.equal(tiny.length, 10);
});

test('writes are never stale: deleted points gone, updated found, new ones found before indexing', async () => {
  const q = POINTS[5].vector;
  let hits = await ok('POST', '/collections/hn/points/search', { vector: q, limit: 3 });
  assert.equal(hits[0].id, 6);
  await ok('POST', '/collections/hn/points/delete?wait=true', { points: [6] });
  hits = await ok('POST', '/collections/hn/points/search', { vector: q, limit: 20 });
  assert.ok(!hits.some((h) => h.id === 6));
  // Move point 7 far away to a spot of its own, and add a new point there.
  const spot = Array.from({ length: DIM }, (_, i) => (i % 2 ? 5 : -5));
  await ok('PUT', '/collections/hn/points/vectors?wait=true', { points: [{ id: 7, vector: spot }] });
  hits = await ok('POST', '/collections/hn/points/search', { vector: spot, limit: 1 });
  assert.equal(hits[0].id, 7);
  const near = spot.map((x, i) => (i === 0 ? x + 0.01 : x));
  await ok('PUT', '/collections/hn/points?wait=true', { points: [{ id: 900001, vector: near }] });
  hits = await ok('POST', '/collections/hn/points/search', { vector: near, limit: 2 });
  assert.deepEqual(hits.map((h) => h.id).sort((a, b) => a - b), [7, 900001]);
  // A reused slot: delete then insert a new point elsewhere.
  await ok('POST', '/collections/hn/points/delete?wait=true', { points: [8] });
  await ok('PUT', '/collections/hn/points?wait=true', { points: [{ id: 900002, vector: POINTS[7].vector }] });
  hits = await ok('POST', '/collections/hn/points/search', { vector: POINTS[7].vector, limit: 5 });
  assert.equal(hits[0].id, 900002);
  assert.ok(!hits.some((h) => h.id === 8));
  const info = await indexed('hn');
  assert.equal(info.indexed_vectors_count, N - 2 + 2);
});

test('results after a restart equal those before', async () => {
  const before = [];
  for (const vector of QUERIES.slice(0, 10))
    before.push(await ok('POST', '/collections/hn/points/search', { vector, limit: 10, params: { exact: true } }));
  await srv.stop();
  srv = await startServer({ storage });
  for (let i = 0; i < 10; i++)
    assert.deepEqual(await ok('POST', '/collections/hn/points/search', { vector: QUERIES[i], limit: 10, params: { exact: true } }), before[i]);
  await indexed('hn');
  assert.ok(await recall('hn') >= 0.95);
});

test('below indexing_threshold, or with 0, there is no graph and search is exact', async () => {
  await ok('PUT', '/collections/small', { vectors: { size: DIM, distance: 'Dot' }, optimizers_config: { indexing_threshold: 0 } });
  await ok('PUT', '/collections/small/points?wait=true', { points: POINTS.slice(0, 3000) });
  const info = await ok('GET', '/collections/small');
  assert.equal(info.status, 'green');
  assert.equal(info.indexed_vectors_count, 0);
});
