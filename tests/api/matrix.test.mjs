// search/matrix/pairs and search/matrix/offsets: a random sample of the
// points that match the filter and hold the vector, and for each its
// `limit` nearest among the sample (itself left out), checked against the
// matrix computed here from the ids the server sampled; raw HTTP and the
// 1.19 client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client, req, expectOk, expectError } from './helpers.mjs';
import { rng, cmpId } from './read_lib.mjs';
import { f32, normalize, METRICS } from './search_lib.mjs';

let srv;
let qc;
before(async () => {
  srv = await startServer();
  qc = client(srv.url);
});
after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, srv.stderr());
});

const call = (method, path, body) => req(method, srv.url + path, body);
const ok = async (method, path, body) => expectOk(await call(method, path, body));

// The matrix Qdrant builds over the sampled ids: rows in id order, each the
// `limit` nearest others (ties by id).
function wantPairs(points, ids, metric, limit) {
  const m = METRICS[metric];
  const vec = (p) => (metric === 'Cosine' ? normalize(p.vector) : p.vector);
  const byId = new Map(points.map((p) => [p.id, vec(p)]));
  const sorted = [...ids].sort(cmpId);
  const pairs = [];
  for (const a of sorted) {
    const row = sorted.filter((b) => b !== a).map((b) => ({ a, b, score: m.score(byId.get(a), byId.get(b)) }));
    row.sort((x, y) => (m.higher ? y.score - x.score : x.score - y.score) || cmpId(x.b, y.b));
    pairs.push(...row.slice(0, limit));
  }
  return pairs;
}

function samePairs(got, want, what) {
  assert.deepEqual(got.map((p) => [p.a, p.b]), want.map((p) => [p.a, p.b]), what);
  for (let i = 0; i < got.length; i++)
    assert.ok(Math.abs(got[i].score - want[i].score) <= 1e-4 * Math.max(1, Math.abs(want[i].score)), `${what}: ${i}`);
}

const DIM = 5;
function makePoints(n, seed) {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => ({
    id: i + 1,
    vector: Array.from({ length: DIM }, () => f32(r() * 2 - 1)),
    payload: { g: i % 4 },
  }));
}

for (const metric of Object.keys(METRICS)) {
  test(`matrix pairs and offsets equal the matrix of the sample: ${metric}`, async () => {
    const name = `mx_${metric.toLowerCase()}`;
    const pts = makePoints(120, metric.length * 3);
    await ok('PUT', `/collections/${name}`, { vectors: { size: DIM, distance: metric } });
    await ok('PUT', `/collections/${name}/points?wait=true`, { points: pts });

    // Defaults: a sample of 10, 3 per row.
    const def = await ok('POST', `/collections/${name}/points/search/matrix/pairs`, {});
    const defIds = [...new Set(def.pairs.map((p) => p.a))];
    assert.equal(defIds.length, 10);
    assert.equal(def.pairs.length, 30);
    samePairs(def.pairs, wantPairs(pts, defIds, metric, 3), `${metric} defaults`);

    // A filter: only matching points are sampled; sample larger than the matches.
    const g1 = pts.filter((p) => p.payload.g === 1);
    const all = await ok('POST', `/collections/${name}/points/search/matrix/pairs`, {
      sample: 100, limit: 4, filter: { must: [{ key: 'g', match: { value: 1 } }] },
    });
    samePairs(all.pairs, wantPairs(pts, g1.map((p) => p.id), metric, 4), `${metric} filtered, whole`);

    // offsets: the same matrix as indices into ids.
    const off = await ok('POST', `/collections/${name}/points/search/matrix/offsets`, { sample: 12, limit: 2 });
    assert.deepEqual(Object.keys(off), ['offsets_row', 'offsets_col', 'scores', 'ids']);
    assert.equal(off.ids.length, 12);
    assert.deepEqual(off.ids, [...off.ids].sort(cmpId));
    const asPairs = off.offsets_row.map((row, i) => ({ a: off.ids[row], b: off.ids[off.offsets_col[i]], score: off.scores[i] }));
    samePairs(asPairs, wantPairs(pts, off.ids, metric, 2), `${metric} offsets`);
  });
}

test('matrix: the vector named by using, points without it, small samples, the client, errors', async () => {
  await ok('PUT', '/collections/mxn', {
    vectors: { a: { size: 2, distance: 'Dot' }, b: { size: 2, distance: 'Euclid' } }, sparse_vectors: { s: {} },
  });
  const pts = [
    { id: 1, vector: { a: [1, 0], b: [0, 0], s: { indices: [1], values: [1] } } },
    { id: 2, vector: { a: [0, 1], s: { indices: [1, 2], values: [2, 1] } } },
    { id: 3, vector: { a: [1, 1], b: [3, 4], s: { indices: [5], values: [1] } } },
    { id: 'f0000000-0000-4000-8000-000000000000', vector: { b: [1, 1] } },
  ];
  await ok('PUT', '/collections/mxn/points?wait=true', { points: pts });
  // b: only the points holding it are sampled (1, 3 and the UUID), ids in order.
  const b = await qc.searchMatrixOffsets('mxn', { using: 'b', sample: 10, limit: 1 });
  assert.deepEqual(b.ids, [1, 3, 'f0000000-0000-4000-8000-000000000000']);
  assert.deepEqual(b.offsets_row, [0, 1, 2]);
  assert.deepEqual(b.offsets_col, [2, 2, 0]);
  assert.deepEqual(b.scores.map((x) => Math.round(x * 1e4) / 1e4), [1.4142, 3.6056, 1.4142]);
  // Sparse: dot over shared indices, points with none in common left out.
  const s = await qc.searchMatrixPairs('mxn', { using: 's', sample: 10, limit: 2 });
  assert.deepEqual(s.pairs, [{ a: 1, b: 2, score: 2 }, { a: 2, b: 1, score: 2 }]);
  // Fewer than two sampled points: an empty matrix.
  const one = await ok('POST', '/collections/mxn/points/search/matrix/pairs', { using: 'a', filter: { must: [{ has_id: [2] }] } });
  assert.deepEqual(one, { pairs: [] });
  const none = await ok('POST', '/collections/mxn/points/search/matrix/offsets', { using: 'a', filter: { must: [{ has_id: [99] }] } });
  assert.deepEqual(none, { offsets_row: [], offsets_col: [], scores: [], ids: [] });

  const cases = [
    [{ sample: 1 }, 422, 'Validation error in JSON body: [sample: value 1 invalid, must be 2 or larger]'],
    [{ sample: 10001 }, 422, 'Validation error in JSON body: [sample: value 10001 invalid, must be 10000 or smaller]'],
    [{ limit: 0 }, 422, 'Validation error in JSON body: [limit: value 0 invalid, must be 1 or larger]'],
    [{ limit: -1 }, 400, /limit: invalid type/],
    [{ using: 'x' }, 400, 'Wrong input: Not existing vector name error: x'],
    [{ using: 'a', filter: { must: [{ key: 'g', match: {} }] } }, 400, /./],
  ];
  for (const [body, status, msg] of cases)
    for (const kind of ['pairs', 'offsets'])
      expectError(await call('POST', `/collections/mxn/points/search/matrix/${kind}`, body), status, msg);
  expectError(await call('POST', '/collections/nope/points/search/matrix/pairs', {}), 404);
  expectError(await req('POST', `${srv.url}/collections/mxn/points/search/matrix/pairs`, undefined,
    { raw: '{"limit":1,"limit":2}' }), 400, /duplicate field `limit`/);
});

test('matrix samples at random: different requests sample different points', async () => {
  const pts = makePoints(200, 9);
  await ok('PUT', '/collections/mxr', { vectors: { size: DIM, distance: 'Dot' } });
  await ok('PUT', '/collections/mxr/points?wait=true', { points: pts });
  const seen = new Set();
  for (let t = 0; t < 10; t++) {
    const off = await ok('POST', '/collections/mxr/points/search/matrix/offsets', { sample: 5 });
    assert.equal(off.ids.length, 5);
    seen.add(off.ids.join());
  }
  assert.ok(seen.size > 1, 'ten samples of 5 out of 200 were all the same');
});
