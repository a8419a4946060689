// Recommend, discover and context (exact): /points/recommend(/batch),
// /points/discover(/batch) and the query forms, against Qdrant's formulas
// computed here; the example points never come back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { QdrantClient as Client118 } from 'qdrant-js-118';
import { startServer, client, req, expectOk, expectError } from './helpers.mjs';
import { rng } from './read_lib.mjs';

let srv;
let qc;
before(async () => {
  srv = await startServer();
  qc = client(srv.url);
});
after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, srv.stderr());
});

// The shared REST helpers, on this file's server.
const call = (method, path, body) => req(method, srv.url + path, body);
const ok = async (method, path, body) => expectOk(await call(method, path, body));

const f32 = Math.fround;
const DIM = 6;
const r = rng(4242);
const POINTS = Array.from({ length: 200 }, (_, i) => ({
  id: i + 1,
  vector: Array.from({ length: DIM }, () => f32(r() * 2 - 1)),
  payload: { g: i % 4 },
}));
const byId = new Map(POINTS.map((p) => [p.id, p]));
const vec = (e) => (typeof e === 'number' ? byId.get(e).vector : e);

// Qdrant's similarity for Dot and Euclid (larger = closer).
const SIM = {
  Dot: (a, b) => a.reduce((s, x, i) => s + x * b[i], 0),
  Euclid: (a, b) => -a.reduce((s, x, i) => s + (x - b[i]) ** 2, 0),
};
const fsig = (x) => x / (1 + Math.abs(x));
const sfsig = (x) => 0.5 * (fsig(x) + 1);

function rank(scoreOf, { exclude = [], limit, higher = true, filter = () => true }) {
  const hits = POINTS.filter((p) => !exclude.includes(p.id) && filter(p)).map((p) => ({ id: p.id, score: scoreOf(p.vector) }));
  hits.sort((a, b) => (higher ? b.score - a.score : a.score - b.score) || a.id - b.id);
  return hits.slice(0, limit);
}
function same(got, want, what) {
  assert.deepEqual(got.map((h) => h.id), want.map((h) => h.id), what);
  for (let i = 0; i < got.length; i++)
    assert.ok(Math.abs(got[i].score - want[i].score) < 1e-4 * Math.max(1, Math.abs(want[i].score)),
      `${what}: ${got[i].score} vs ${want[i].score}`);
}

for (const metric of ['Dot', 'Euclid']) {
  test(`recommend strategies equal Qdrant's formulas: ${metric}`, async () => {
    const name = `rec_${metric.toLowerCase()}`;
    await ok('PUT', `/collections/${name}`, { vectors: { size: DIM, distance: metric } });
    await ok('PUT', `/collections/${name}/points?wait=true`, { points: POINTS });
    const sim = SIM[metric];
    const pos = [3, POINTS[50].vector.map((x) => f32(x * 0.5))];
    const neg = [7];
    const exclude = [3, 7];

    // average_vector: a nearest search for avg + (avg - avg_neg).
    const avgPos = pos.map(vec).reduce((a, v) => a.map((x, i) => x + v[i] / pos.length), Array(DIM).fill(0));
    const avgNeg = vec(7);
    const target = avgPos.map((x, i) => x + x - avgNeg[i]);
    const nearestScore = metric === 'Dot' ? (v) => sim(target, v) : (v) => Math.sqrt(-sim(target, v));
    const wantAvg = rank(nearestScore, { exclude, limit: 8, higher: metric === 'Dot' });
    same(await ok('POST', `/collections/${name}/points/recommend`, { positive: pos, negative: neg, limit: 8 }), wantAvg,
      'average_vector');

    const best = (v) => {
      const mp = Math.max(...pos.map((e) => sim(vec(e), v)));
      const mn = Math.max(...neg.map((e) => sim(vec(e), v)));
      return mp > mn ? sfsig(mp) : -sfsig(mn);
    };
    same(await ok('POST', `/collections/${name}/points/recommend`, {
      positive: pos, negative: neg, strategy: 'best_score', limit: 8,
    }), rank(best, { exclude, limit: 8 }), 'best_score');

    const sum = (v) => pos.reduce((s, e) => s + sim(vec(e), v), 0) - neg.reduce((s, e) => s + sim(vec(e), v), 0);
    const filter = { must: [{ key: 'g', match: { value: 1 } }] };
    same(await ok('POST', `/collections/${name}/points/recommend`, {
      positive: pos, negative: neg, strategy: 'sum_scores', limit: 8, filter,
    }), rank(sum, { exclude, limit: 8, filter: (p) => p.payload.g === 1 }), 'sum_scores');

    // The same through query, and negatives only with best_score.
    const q = await ok('POST', `/collections/${name}/points/query`, {
      query: { recommend: { positive: pos, negative: neg, strategy: 'best_score' } }, limit: 8,
    });
    same(q.points, rank(best, { exclude, limit: 8 }), 'query recommend');
    const negOnly = (v) => -sfsig(sim(vec(7), v));
    same(await ok('POST', `/collections/${name}/points/recommend`, { negative: [7], strategy: 'best_score', limit: 5 }),
      rank(negOnly, { exclude: [7], limit: 5 }), 'negatives only');
  });
}

test('discover and context equal Qdrant\'s formulas', async () => {
  await ok('PUT', '/collections/disc', { vectors: { size: DIM, distance: 'Dot' } });
  await ok('PUT', '/collections/disc/points?wait=true', { points: POINTS });
  const sim = SIM.Dot;
  const pairs = [{ positive: 10, negative: 20 }, { positive: 30, negative: POINTS[40].vector }];
  const disc = (v) => pairs.reduce((s, p) => s + (sim(vec(p.positive), v) > sim(vec(p.negative), v) ? 1 : -1), 0)
    + sfsig(sim(vec(5), v));
  const exclude = [5, 10, 20, 30];
  const want = rank(disc, { exclude, limit: 10 });
  same(await ok('POST', '/collections/disc/points/discover', { target: 5, context: pairs, limit: 10 }), want, 'discover');
  const q = await ok('POST', '/collections/disc/points/query', { query: { discover: { target: 5, context: pairs } }, limit: 10 });
  same(q.points, want, 'query discover');

  const ctx = (v) => pairs.reduce((s, p) => s + fsig(Math.min(sim(vec(p.positive), v) - sim(vec(p.negative), v) - 1.1920929e-7, 0)), 0);
  const wantCtx = rank(ctx, { exclude: [10, 20, 30], limit: 10 });
  const c1 = await ok('POST', '/collections/disc/points/query', { query: { context: pairs }, limit: 10 });
  same(c1.points, wantCtx, 'query context');
  const c2 = await ok('POST', '/collections/disc/points/discover', { context: pairs, limit: 10 });
  same(c2, wantCtx, 'discover without a target');

  const batch = await ok('POST', '/collections/disc/points/discover/batch', {
    searches: [{ target: 5, context: pairs, limit: 3 }, { context: pairs, limit: 2 }],
  });
  assert.deepEqual(batch.map((b) => b.map((h) => h.id)), [want.slice(0, 3).map((h) => h.id), wantCtx.slice(0, 2).map((h) => h.id)]);
  const rb = await ok('POST', '/collections/disc/points/recommend/batch', {
    searches: [{ positive: [1], limit: 2 }, { positive: [2], negative: [3], strategy: 'sum_scores', limit: 1 }],
  });
  assert.equal(rb.length, 2);
  assert.ok(!rb[0].some((h) => h.id === 1));
});

test('recommend and discover errors', async () => {
  await ok('PUT', '/collections/recerr', { vectors: { v: { size: 2, distance: 'Cosine' } } });
  await ok('PUT', '/collections/recerr/points?wait=true', { points: [{ id: 1, vector: { v: [1, 0] } }, { id: 2, vector: { v: [0, 1] } }] });
  const cases = [
    [{ positive: [], limit: 1, using: 'v' }, 400, 'Wrong input: Positive vectors should not be empty with `average` strategy'],
    [{ positive: [9], limit: 1, using: 'v' }, 404, 'Not found: No point with id 9 found'],
    [{ positive: [1], limit: 1 }, 400, 'Wrong input: Not existing vector name error: '],
    [{ positive: [[1, 2, 3]], limit: 1, using: 'v' }, 400, 'Wrong input: Vector dimension error: expected dim: 2, got 3'],
    [{ positive: [1], limit: 1, using: 'v', strategy: 'best' }, 400, /unknown variant `best`/],
    [{ positive: [1], using: 'v' }, 400, /missing field `limit`/],
  ];
  for (const [body, status, msg] of cases)
    expectError(await call('POST', '/collections/recerr/points/recommend', body), status, msg);
  expectError(await call('POST', '/collections/recerr/points/discover', { target: 1, context: [{ positive: 2 }], limit: 1, using: 'v' }),
    400, /missing field `negative`/);
  // Cosine examples given as vectors are normalized like stored ones.
  const hits = await ok('POST', '/collections/recerr/points/recommend', { positive: [[10, 0]], limit: 2, using: 'v' });
  assert.deepEqual(hits.map((h) => [h.id, h.score]), [[1, 1], [2, 0]]);
});

test('the official clients: recommend (1.18) and query recommend (1.19)', async () => {
  await qc.createCollection('jsrec', { vectors: { size: DIM, distance: 'Dot' } });
  await qc.upsert('jsrec', { wait: true, points: POINTS });
  const old = new Client118({ url: srv.url, checkCompatibility: false });
  const a = await old.recommend('jsrec', { positive: [1, 2], negative: [3], limit: 5, strategy: 'best_score' });
  const b = await qc.query('jsrec', { query: { recommend: { positive: [1, 2], negative: [3], strategy: 'best_score' } }, limit: 5 });
  assert.equal(a.length, 5);
  // (the 1.18 client asks for payloads by default)
  assert.deepEqual(a.map((h) => [h.id, h.score]), b.points.map((h) => [h.id, h.score]));
  assert.deepEqual(a[0].payload, byId.get(a[0].id).payload);
  assert.ok(!a.some((h) => [1, 2, 3].includes(h.id)));
  const d = await old.discoverPoints('jsrec', { target: 4, context: [{ positive: 5, negative: 6 }], limit: 3 });
  assert.equal(d.length, 3);
});
