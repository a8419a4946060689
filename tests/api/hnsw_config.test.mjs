// PATCH /collections/{name} reaches the engine, not only the config it
// shows: indexing_threshold lets the indexer build a graph it could not
// before, m 0 drops a graph (collection-wide or for one named vector), a new
// m or ef_construct builds it again, a sparse vector's modifier changes its
// scores; search equals exact search throughout, and a restart keeps it all.
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

const call = (method, path, body) => req(method, srv.url + path, body);
const ok = async (method, path, body) => expectOk(await call(method, path, body));

const DIM = 16;
const N = 3000;
const r = rng(4242);
const VECS = Array.from({ length: N }, () => Array.from({ length: DIM }, () => r() * 2 - 1));
const QUERIES = Array.from({ length: 20 }, () => Array.from({ length: DIM }, () => r() * 2 - 1));

// Wait for the collection to report what is asked, and return that info.
const until = (name, pred) => infoUntil(srv.url, name, pred);

async function recall(name, using) {
  let sum = 0;
  for (const q of QUERIES) {
    const query = { query: q, limit: 10, ...(using ? { using } : {}) };
    const approx = (await ok('POST', `/collections/${name}/points/query`, query)).points;
    const exact = (await ok('POST', `/collections/${name}/points/query`, { ...query, params: { exact: true } })).points;
    const got = new Set(approx.map((h) => h.id));
    sum += exact.filter((h) => got.has(h.id)).length / exact.length;
  }
  return sum / QUERIES.length;
}

test('indexing_threshold patched from 0: the graph gets built', async () => {
  await ok('PUT', '/collections/t', {
    vectors: { size: DIM, distance: 'Euclid' },
    hnsw_config: { m: 16, ef_construct: 64, full_scan_threshold: 10 },
    optimizers_config: { indexing_threshold: 0 },
  });
  await ok('PUT', '/collections/t/points?wait=true', { points: VECS.map((vector, i) => ({ id: i + 1, vector })) });
  let info = await ok('GET', '/collections/t');
  assert.equal(info.status, 'green');
  assert.equal(info.indexed_vectors_count, 0);
  await ok('PATCH', '/collections/t', { optimizers_config: { indexing_threshold: 10 } });
  info = await until('t', (x) => x.status === 'green' && x.indexed_vectors_count === N);
  assert.equal(info.config.optimizer_config.indexing_threshold, 10);
  assert.ok((await recall('t')) >= 0.95);
});

test('m 0 drops the graph at once, a new m builds it again', async () => {
  await ok('PATCH', '/collections/t', { hnsw_config: { m: 0 } });
  let info = await ok('GET', '/collections/t');  // the PATCH dropped it before answering
  assert.equal(info.indexed_vectors_count, 0);
  assert.equal(info.config.hnsw_config.m, 0);
  assert.equal(await recall('t'), 1);  // exact without a graph
  await ok('PATCH', '/collections/t', { hnsw_config: { m: 8, ef_construct: 40 } });
  info = await until('t', (x) => x.status === 'green' && x.indexed_vectors_count === N);
  assert.equal(info.config.hnsw_config.m, 8);
  assert.equal(info.config.hnsw_config.ef_construct, 40);
  assert.ok((await recall('t')) >= 0.9);
  // Another m on a built graph: it keeps serving while its successor is
  // built beside it, then the new one takes over.
  await ok('PATCH', '/collections/t', { hnsw_config: { m: 12 } });
  info = await ok('GET', '/collections/t');
  assert.equal(info.indexed_vectors_count, N);
  // A write while it is being built reaches the new graph too.
  await ok('PUT', '/collections/t/points?wait=true', { points: [{ id: 88888, vector: QUERIES[1] }] });
  assert.ok((await recall('t')) >= 0.9);
  info = await until('t', (x) => x.status === 'green');
  assert.equal(info.indexed_vectors_count, N + 1);
  assert.equal(info.config.hnsw_config.m, 12);
  assert.equal((await ok('POST', '/collections/t/points/query', { query: QUERIES[1], limit: 1 })).points[0].id, 88888);
  assert.ok((await recall('t')) >= 0.9);
  // Writes during and after keep being found.
  await ok('PUT', '/collections/t/points?wait=true', { points: [{ id: 99999, vector: QUERIES[0] }] });
  const hits = (await ok('POST', '/collections/t/points/query', { query: QUERIES[0], limit: 1 })).points;
  assert.equal(hits[0].id, 99999);
});

test('per-vector m 0 drops only that vector\'s graph', async () => {
  await ok('PUT', '/collections/nv', {
    vectors: { a: { size: DIM, distance: 'Dot' }, b: { size: DIM, distance: 'Cosine' } },
    optimizers_config: { indexing_threshold: 10 },
  });
  await ok('PUT', '/collections/nv/points?wait=true', {
    points: VECS.map((v, i) => ({ id: i + 1, vector: { a: v, b: VECS[(i + 7) % N] } })),
  });
  await until('nv', (x) => x.status === 'green' && x.indexed_vectors_count === 2 * N);
  await ok('PATCH', '/collections/nv', { vectors: { a: { hnsw_config: { m: 0 } } } });
  let info = await ok('GET', '/collections/nv');
  assert.equal(info.indexed_vectors_count, N);  // b's graph stays
  assert.equal(await recall('nv', 'a'), 1);
  assert.ok((await recall('nv', 'b')) >= 0.95);
  // Unchanged settings patched again change nothing.
  await ok('PATCH', '/collections/nv', { hnsw_config: { m: 16 } });
  info = await ok('GET', '/collections/nv');
  assert.equal(info.indexed_vectors_count, N);
});

test('a sparse vector\'s modifier patched to idf changes its scores', async () => {
  await ok('PUT', '/collections/sp', { sparse_vectors: { s: {} } });
  const docs = [
    { indices: [1, 2], values: [1, 1] },
    { indices: [1, 3], values: [1, 2] },
    { indices: [1], values: [3] },
  ];
  await ok('PUT', '/collections/sp/points?wait=true', { points: docs.map((d, i) => ({ id: i + 1, vector: { s: d } })) });
  const query = { query: { indices: [1, 3], values: [1, 1] }, using: 's', limit: 3 };
  const raw = (await ok('POST', '/collections/sp/points/query', query)).points;
  assert.deepEqual(raw.map((h) => [h.id, h.score]), [[2, 3], [3, 3], [1, 1]].sort((x, y) => y[1] - x[1] || x[0] - y[0]));
  await ok('PATCH', '/collections/sp', { sparse_vectors: { s: { modifier: 'idf' } } });
  const idf = (df) => Math.log((3 - df + 0.5) / (df + 0.5) + 1);
  const want = { 1: idf(3), 2: idf(3) + 2 * idf(1), 3: 3 * idf(3) };
  const got = (await ok('POST', '/collections/sp/points/query', query)).points;
  assert.deepEqual(got.map((h) => h.id), [2, 3, 1]);
  for (const h of got) assert.ok(Math.abs(h.score - want[h.id]) < 1e-5, `${h.id}: ${h.score} vs ${want[h.id]}`);
});

test('after a restart the patched settings hold', async () => {
  await srv.stop();
  srv = await startServer({ storage });
  // The graph saved at the stop is the rebuilt one: it fits the config.
  assert.doesNotMatch(srv.stderr(), /not used/);
  assert.match(srv.stderr(), /collection t: graph of vector "" loaded/);
  const info = await until('t', (x) => x.status === 'green' && x.indexed_vectors_count === N + 2);
  assert.equal(info.config.hnsw_config.m, 12);
  const nv = await until('nv', (x) => x.status === 'green');
  assert.equal(nv.indexed_vectors_count, N);
  assert.equal(await recall('nv', 'a'), 1);
  const got = (await ok('POST', '/collections/sp/points/query', { query: { indices: [1, 3], values: [1, 1] }, using: 's', limit: 3 })).points;
  assert.deepEqual(got.map((h) => h.id), [2, 3, 1]);
});
