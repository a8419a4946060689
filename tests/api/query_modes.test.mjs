// The query API's other modes: order_by (payload order), sample (random),
// nearest with mmr (maximal marginal relevance), and the rules Qdrant
// checks on a query; each against an answer computed here, through raw
// HTTP and @qdrant/js-client-rest (1.19).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client, req, expectOk, expectError } from './helpers.mjs';
import { rng } from './read_lib.mjs';
import { f32, dot, normalize, METRICS, sameHits } from './search_lib.mjs';

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
const query = async (name, body) => (await ok('POST', `/collections/${name}/points/query`, body)).points;


const DIM = 6;
function makePoints(n, seed) {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => ({
    id: i + 1,
    vector: Array.from({ length: DIM }, () => f32(r() * 2 - 1)),
    // distinct prices, so the order has no ties to break
    payload: { price: f32(((i * 37) % n) + 0.5), n: (i * 11) % n, g: i % 5 },
  }));
}

// ---- order_by ----------------------------------------------------------------------------

test('order_by: payload order with order_value, filters, start_from, offset, prefetch', async () => {
  const pts = makePoints(60, 3);
  await ok('PUT', '/collections/ob', { vectors: { size: DIM, distance: 'Dot' } });
  await ok('PUT', '/collections/ob/points?wait=true', { points: pts });
  await ok('PUT', '/collections/ob/index?wait=true', { field_name: 'price', field_schema: 'float' });
  await ok('PUT', '/collections/ob/index?wait=true', { field_name: 'n', field_schema: 'integer' });
  const by = (key, desc) => [...pts].sort((a, b) => (desc ? b.payload[key] - a.payload[key] : a.payload[key] - b.payload[key]));

  const asc = await query('ob', { query: { order_by: 'price' }, limit: 7, with_payload: true });
  assert.deepEqual(asc.map((p) => p.id), by('price').slice(0, 7).map((p) => p.id));
  assert.deepEqual(Object.keys(asc[0]), ['id', 'version', 'score', 'payload', 'vector', 'order_value']);
  for (const p of asc) {
    assert.equal(p.score, 1);  // Qdrant's score of points that come from a scroll
    assert.equal(p.order_value, p.payload.price);
  }
  // The same order scroll gives.
  const scroll = await ok('POST', '/collections/ob/points/scroll', { order_by: 'price', limit: 7 });
  assert.deepEqual(asc.map((p) => p.id), scroll.points.map((p) => p.id));

  // desc, start_from, a filter and an offset (query pages where scroll cannot).
  const want = by('n', true).filter((p) => p.payload.n <= 40 && p.payload.g !== 2);
  const got = await query('ob', {
    query: { order_by: { key: 'n', direction: 'desc', start_from: 40 } },
    filter: { must_not: [{ key: 'g', match: { value: 2 } }] }, limit: 5, offset: 3,
  });
  assert.deepEqual(got.map((p) => [p.id, p.order_value]), want.slice(3, 8).map((p) => [p.id, p.payload.n]));
  assert.equal(got[0].payload, null);

  // Over a prefetch: the 20 nearest, in price order.
  const q = [0.3, -0.1, 0.8, 0, 0.2, -0.5];
  const near = new Set([...pts].sort((a, b) => dot(q, b.vector) - dot(q, a.vector) || a.id - b.id).slice(0, 20).map((p) => p.id));
  const re = await query('ob', { prefetch: { query: q, limit: 20 }, query: { order_by: 'price' }, limit: 100 });
  assert.deepEqual(re.map((p) => p.id), by('price').filter((p) => near.has(p.id)).map((p) => p.id));

  // Groups in payload order.
  const grp = await ok('POST', '/collections/ob/points/query/groups', { query: { order_by: 'price' }, group_by: 'g', group_size: 2, limit: 2 });
  const want2 = [];
  for (const p of by('price')) {
    let g = want2.find((x) => x.id === p.payload.g);
    if (!g && want2.length < 2) want2.push((g = { id: p.payload.g, hits: [] }));
    if (g && g.hits.length < 2) g.hits.push(p.id);
  }
  assert.deepEqual(grp.groups.map((g) => ({ id: g.id, hits: g.hits.map((h) => h.id) })), want2);

  // The 1.19 client.
  const viaClient = await qc.query('ob', { query: { order_by: { key: 'price', direction: 'desc' } }, limit: 3 });
  assert.deepEqual(viaClient.points.map((p) => p.id), by('price', true).slice(0, 3).map((p) => p.id));

  expectError(await call('POST', '/collections/ob/points/query', { query: { order_by: 'g' } }), 400,
    /^Bad request: No range index for `order_by` key: `g`/);
  expectError(await call('POST', '/collections/ob/points/query', { query: { order_by: 'price' }, score_threshold: 1 }),
    400, "Bad request: Can't use score_threshold with an order_by query.");
  expectError(await call('POST', '/collections/ob/points/query', { query: { order_by: { key: 'price', direction: 'up' } } }),
    400, /order_by.direction: unknown variant/);
});

// ---- sample ------------------------------------------------------------------------------

test('sample: random points of those the filters admit, without repeats', async () => {
  const pts = makePoints(300, 5);
  await ok('PUT', '/collections/sm', { vectors: { size: DIM, distance: 'Cosine' } });
  await ok('PUT', '/collections/sm/points?wait=true', { points: pts });
  const g3 = new Set(pts.filter((p) => p.payload.g === 3).map((p) => p.id));

  // All 60 matches when the limit is larger; scores 1.
  const all = await query('sm', { query: { sample: 'random' }, filter: { must: [{ key: 'g', match: { value: 3 } }] }, limit: 100 });
  assert.deepEqual(new Set(all.map((p) => p.id)), g3);
  assert.equal(all.length, g3.size);
  assert.ok(all.every((p) => p.score === 1));

  // A few, distinct, admitted; different draws differ.
  const draws = new Set();
  for (let t = 0; t < 20; t++) {
    const got = await query('sm', { query: { sample: 'random' }, filter: { must: [{ key: 'g', match: { value: 3 } }] }, limit: 4, offset: 50 });
    assert.equal(got.length, 4, 'the offset of a root sample is ignored, as in Qdrant');
    assert.equal(new Set(got.map((p) => p.id)).size, 4);
    assert.ok(got.every((p) => g3.has(p.id)));
    draws.add(got.map((p) => p.id).join());
  }
  assert.ok(draws.size > 1, 'twenty draws of 4 out of 60 were all the same');

  // Sparse matches (3 of 300): tries miss, one pass finds them all.
  const few = await query('sm', { query: { sample: 'random' }, filter: { must: [{ has_id: [7, 150, 299] }] }, limit: 10 });
  assert.deepEqual(few.map((p) => p.id).sort((a, b) => a - b), [7, 150, 299]);
  const two = await query('sm', { query: { sample: 'random' }, filter: { must: [{ has_id: [7, 150, 299] }] }, limit: 2 });
  assert.equal(new Set(two.map((p) => p.id)).size, 2);
  assert.ok(two.every((p) => [7, 150, 299].includes(p.id)));

  // Over a prefetch: a random order of what it found.
  const q = pts[10].vector;
  const pre = await query('sm', { query: q, limit: 8 });
  const mixed = await qc.query('sm', { prefetch: { query: q, limit: 8 }, query: { sample: 'random' }, limit: 20 });
  assert.deepEqual(new Set(mixed.points.map((p) => p.id)), new Set(pre.map((p) => p.id)));

  expectError(await call('POST', '/collections/sm/points/query', { query: { sample: 'first' } }), 400,
    /query.sample: unknown variant/);
});

// ---- mmr ---------------------------------------------------------------------------------

// Qdrant's MMR over the nearest `cand` (ties by id): the most relevant first,
// then the best λ·rel − (1−λ)·max sim to those taken; scores stay the nearest scores.
function bruteMmr(points, q, metric, { limit, offset = 0, cand = limit, diversity = 0.5, filter = () => true }) {
  const m = METRICS[metric];
  const cos = metric === 'Cosine';
  const vec = (v) => (cos ? normalize(v) : v);
  const qq = vec(q);
  const c = points.filter(filter).map((p) => ({ id: p.id, v: vec(p.vector), score: m.score(qq, vec(p.vector)) }));
  c.sort((a, b) => (m.higher ? b.score - a.score : a.score - b.score) || a.id - b.id);
  const cands = c.slice(0, cand);
  const lambda = 1 - diversity;
  const taken = [];
  const rest = [...cands];
  const best = new Map(rest.map((x) => [x.id, -Infinity]));
  while (taken.length < limit + offset && rest.length) {
    let pick = 0;
    if (taken.length) {
      const last = taken[taken.length - 1];
      let top = -Infinity;
      rest.forEach((x, i) => {
        best.set(x.id, Math.max(best.get(x.id), m.sim(x.v, last.v)));
        const s = lambda * m.sim(qq, x.v) - (1 - lambda) * best.get(x.id);
        if (s > top) { top = s; pick = i; }
      });
    }
    taken.push(rest.splice(pick, 1)[0]);
  }
  return taken.slice(offset, offset + limit).map((x) => ({ id: x.id, score: x.score }));
}

for (const metric of Object.keys(METRICS)) {
  test(`nearest with mmr equals Qdrant's MMR: ${metric}`, async () => {
    const name = `mmr_${metric.toLowerCase()}`;
    const pts = makePoints(200, metric.length * 13);
    await ok('PUT', `/collections/${name}`, { vectors: { size: DIM, distance: metric } });
    await ok('PUT', `/collections/${name}/points?wait=true`, { points: pts });
    const r = rng(metric.length);
    for (let t = 0; t < 3; t++) {
      const q = Array.from({ length: DIM }, () => f32(r() * 2 - 1));
      for (const [mmr, opts] of [
        [{}, { limit: 10 }],
        [{ diversity: 0, candidates_limit: 40 }, { limit: 10, cand: 40, diversity: 0 }],
        [{ diversity: 0.7, candidates_limit: 50 }, { limit: 8, cand: 50, diversity: 0.7 }],
        [{ diversity: 1, candidates_limit: 30 }, { limit: 6, cand: 30, diversity: 1, offset: 2 }],
      ]) {
        const body = { query: { nearest: q, mmr }, limit: opts.limit, offset: opts.offset };
        sameHits(await query(name, body), bruteMmr(pts, q, metric, opts), `${metric} mmr ${JSON.stringify(mmr)}`);
      }
      // diversity 0 is plain relevance: the nearest order.
      const plain = await query(name, { query: q, limit: 10 });
      sameHits(await query(name, { query: { nearest: q, mmr: { diversity: 0, candidates_limit: 100 } }, limit: 10 }),
        plain, `${metric} diversity 0`);
    }
  });
}

test('mmr: filters, thresholds, a prefetch, the client, errors', async () => {
  const pts = makePoints(150, 77);
  await ok('PUT', '/collections/mm', { vectors: { size: DIM, distance: 'Euclid' } });
  await ok('PUT', '/collections/mm/points?wait=true', { points: pts });
  const q = pts[0].vector.map((x) => f32(x * 0.5));
  const g = (p) => p.payload.g !== 1;
  sameHits(await query('mm', {
    query: { nearest: q, mmr: { diversity: 0.6, candidates_limit: 25 } },
    filter: { must_not: [{ key: 'g', match: { value: 1 } }] }, limit: 7, with_vector: true,
  }), bruteMmr(pts, q, 'Euclid', { limit: 7, cand: 25, diversity: 0.6, filter: g }), 'filtered');
  // The threshold cuts the candidates.
  const plain = await query('mm', { query: q, limit: 30 });
  const thr = plain[11].score;
  const cut = await query('mm', { query: { nearest: q, mmr: { candidates_limit: 30 } }, score_threshold: thr, limit: 30 });
  assert.deepEqual(new Set(cut.map((p) => p.id)), new Set(plain.slice(0, 11).map((p) => p.id)));
  // A query by id leaves that point out of the candidates.
  const byId = await query('mm', { query: { nearest: 1, mmr: { candidates_limit: 20 } }, limit: 5 });
  sameHits(byId, bruteMmr(pts.filter((p) => p.id !== 1), pts[0].vector, 'Euclid', { limit: 5, cand: 20 }), 'by id');
  // Over a prefetch: the candidates are the nearest among what it found.
  const found = new Set(plain.slice(0, 30).map((p) => p.id));
  const q2 = pts[5].vector;
  const over = await qc.query('mm', { prefetch: { query: q, limit: 30 }, query: { nearest: q2, mmr: { diversity: 0.4 } }, limit: 6 });
  sameHits(over.points, bruteMmr(pts.filter((p) => found.has(p.id)), q2, 'Euclid', { limit: 6, diversity: 0.4 }), 'prefetch');
  assert.equal(over.points[0].vector, null);  // the mmr vector is not shown unasked

  expectError(await call('POST', '/collections/mm/points/query', { query: { nearest: q, mmr: { diversity: 1.5 } } }), 422,
    'Validation error in JSON body: [query.mmr.diversity: value 1.5 invalid, must be from 0 to 1]');
  expectError(await call('POST', '/collections/mm/points/query', { query: { nearest: q, mmr: { candidates_limit: 16385 } } }), 422,
    'Validation error in JSON body: [query.mmr.candidates_limit: value 16385 invalid, must be 16384 or smaller]');
  expectError(await call('POST', '/collections/mm/points/query', { query: { nearest: q, mmr: 3 } }), 400, /query.mmr/);
});

test('mmr over a sparse vector: dot over shared indices for relevance and similarity', async () => {
  await ok('PUT', '/collections/mms', { sparse_vectors: { s: {} } });
  const r = rng(55);
  const pts = Array.from({ length: 60 }, (_, i) => {
    const idx = [...new Set(Array.from({ length: 4 }, () => Math.floor(r() * 12)))];
    return { id: i + 1, idx, val: idx.map(() => f32(r())) };
  });
  await ok('PUT', '/collections/mms/points?wait=true', {
    points: pts.map((p) => ({ id: p.id, vector: { s: { indices: p.idx, values: p.val } } })),
  });
  const sdot = (a, b) => a.idx.reduce((t, k, i) => { const j = b.idx.indexOf(k); return j < 0 ? t : t + a.val[i] * b.val[j]; }, 0);
  const shares = (a, b) => a.idx.some((k) => b.idx.includes(k));
  const q = { idx: [1, 4, 7, 10], val: [1, 0.5, 0.8, 0.3] };
  const cands = pts.filter((p) => shares(q, p)).map((p) => ({ p, score: sdot(q, p) }))
    .sort((a, b) => b.score - a.score || a.p.id - b.p.id).slice(0, 30);
  const taken = [];
  const rest = [...cands];
  const best = new Map(rest.map((c) => [c.p.id, -Infinity]));
  while (taken.length < 8 && rest.length) {
    let pick = 0;
    if (taken.length) {
      const last = taken[taken.length - 1].p;
      let top = -Infinity;
      rest.forEach((c, i) => {
        best.set(c.p.id, Math.max(best.get(c.p.id), sdot(c.p, last)));
        const m = 0.4 * c.score - 0.6 * best.get(c.p.id);
        if (m > top) { top = m; pick = i; }
      });
    }
    taken.push(rest.splice(pick, 1)[0]);
  }
  const got = await query('mms', {
    query: { nearest: { indices: q.idx, values: q.val }, mmr: { diversity: 0.6, candidates_limit: 30 } }, using: 's', limit: 8,
  });
  sameHits(got, taken.map((c) => ({ id: c.p.id, score: c.score })), 'sparse mmr');
});

// ---- rules -------------------------------------------------------------------------------

test("the rules Qdrant checks on a query, in its words", async () => {
  await ok('PUT', '/collections/ru', { vectors: { a: { size: 2, distance: 'Dot' } } });
  await ok('PUT', '/collections/ru/points?wait=true', { points: [{ id: 1, vector: { a: [1, 0] } }, { id: 2, vector: { a: [0, 1] } }] });
  const cases = [
    [{ prefetch: { query: [1, 0], using: 'a' } }, "Bad request: A query is needed to merge the prefetches. Can't have prefetches without defining a query."],
    [{ prefetch: { prefetch: { query: [1, 0], using: 'a' } }, query: { fusion: 'rrf' } }, "Bad request: A query is needed to merge the prefetches. Can't have prefetches without defining a query."],
    [{ score_threshold: 0.5 }, "Bad request: A query is needed to use the score_threshold. Can't have score_threshold without defining a query."],
    [{ prefetch: { query: [1, 0], using: 'a' }, query: { fusion: 'rrf' }, using: 'a' }, "Bad request: Fusion queries cannot be combined with the 'using' field."],
  ];
  for (const [body, msg] of cases)
    expectError(await call('POST', '/collections/ru/points/query', body), 400, msg);
  // A prefetch with no query is a page in id order: fine below a query.
  const got = await query('ru', { prefetch: { limit: 10 }, query: [1, 0], using: 'a' });
  assert.deepEqual(got.map((p) => [p.id, p.score]), [[1, 1], [2, 0]]);
});
