// Vector search (exact): /points/search, /search/batch, /points/query and
// /query/batch against a brute force computed here, for every metric, with
// filters, named and sparse vectors; through raw HTTP, the 1.19 client
// (query) and the 1.18 client (the classic search).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { QdrantClient as Client118 } from 'qdrant-js-118';
import { startServer, client, req, expectOk, expectError } from './helpers.mjs';
import { rng } from './read_lib.mjs';
import { f32, normalize, METRICS, sameHits } from './search_lib.mjs';

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


// Brute force: [{id, score}] best first, ties by id.
function brute(points, q, metric, { limit, offset = 0, filter = () => true, threshold, exclude } = {}) {
  const m = METRICS[metric];
  const qq = metric === 'Cosine' ? normalize(q) : q;
  let hits = points
    .filter((p) => p.id !== exclude && filter(p))
    .map((p) => ({ id: p.id, score: m.score(qq, metric === 'Cosine' ? normalize(p.vector) : p.vector) }));
  if (threshold !== undefined) hits = hits.filter((h) => (m.higher ? h.score > threshold : h.score < threshold));
  hits.sort((a, b) => (m.higher ? b.score - a.score : a.score - b.score) || a.id - b.id);
  return hits.slice(offset, offset + limit);
}


const DIM = 8;
const N = 300;
function makePoints(seed) {
  const r = rng(seed);
  return Array.from({ length: N }, (_, i) => ({
    id: i + 1,
    vector: Array.from({ length: DIM }, () => f32(r() * 2 - 1)),
    payload: { g: i % 10, tag: i % 2 ? 'odd' : 'even' },
  }));
}

for (const metric of Object.keys(METRICS)) {
  test(`exact search equals brute force: ${metric}`, async () => {
    const name = `s_${metric.toLowerCase()}`;
    await ok('PUT', `/collections/${name}`, { vectors: { size: DIM, distance: metric } });
    const points = makePoints(metric.length * 7 + 1);
    await ok('PUT', `/collections/${name}/points?wait=true`, { points });
    const r = rng(99);
    for (let t = 0; t < 5; t++) {
      const q = Array.from({ length: DIM }, () => f32(r() * 2 - 1));
      const plain = await ok('POST', `/collections/${name}/points/search`, { vector: q, limit: 10 });
      sameHits(plain, brute(points, q, metric, { limit: 10 }), `${metric} plain`);
      assert.deepEqual(Object.keys(plain[0]), ['id', 'version', 'score', 'payload', 'vector']);
      assert.equal(plain[0].payload, null);
      assert.equal(plain[0].vector, null);

      const filtered = await ok('POST', `/collections/${name}/points/search`, {
        vector: q, limit: 7, offset: 2, filter: { must: [{ key: 'g', match: { value: 3 } }] },
      });
      sameHits(filtered, brute(points, q, metric, { limit: 7, offset: 2, filter: (p) => p.payload.g === 3 }),
        `${metric} filtered`);

      // score_threshold is strict and follows the metric.
      const t3 = plain[3].score;
      const thr = await ok('POST', `/collections/${name}/points/search`, { vector: q, limit: 10, score_threshold: t3 });
      assert.deepEqual(thr.map((h) => h.id), plain.slice(0, 3).map((h) => h.id), `${metric} threshold`);

      // query: the same answer, under "points"; nearest is the same query.
      const viaQuery = await ok('POST', `/collections/${name}/points/query`, { query: q, limit: 10 });
      assert.deepEqual(viaQuery.points, plain);
      const nearest = await ok('POST', `/collections/${name}/points/query`, { query: { nearest: q }, limit: 10 });
      assert.deepEqual(nearest.points, plain);
    }
  });
}

test('search/batch and query/batch answer each search in order', async () => {
  const points = makePoints(5);
  await ok('PUT', '/collections/sb', { vectors: { size: DIM, distance: 'Dot' } });
  await ok('PUT', '/collections/sb/points?wait=true', { points });
  const qs = [points[3].vector, points[10].vector, points[200].vector];
  const batch = await ok('POST', '/collections/sb/points/search/batch', {
    searches: qs.map((vector, i) => ({ vector, limit: 3 + i, with_payload: true })),
  });
  assert.equal(batch.length, 3);
  for (let i = 0; i < 3; i++) {
    sameHits(batch[i], brute(points, qs[i], 'Dot', { limit: 3 + i }), `batch ${i}`);
    assert.deepEqual(batch[i][0].payload, points.find((p) => p.id === batch[i][0].id).payload);
  }
  const qb = await ok('POST', '/collections/sb/points/query/batch', {
    searches: qs.map((query, i) => ({ query, limit: 3 + i, with_payload: true })),
  });
  assert.deepEqual(qb.map((x) => x.points), batch);
  assert.deepEqual(await ok('POST', '/collections/sb/points/search/batch', { searches: [] }), []);
});

test('query by point id leaves that point out; no query gives id order', async () => {
  const points = makePoints(11);
  await ok('PUT', '/collections/qid', { vectors: { size: DIM, distance: 'Euclid' } });
  await ok('PUT', '/collections/qid/points?wait=true', { points });
  const got = await ok('POST', '/collections/qid/points/query', { query: 17, limit: 5 });
  sameHits(got.points, brute(points, points[16].vector, 'Euclid', { limit: 5, exclude: 17 }), 'by id');
  expectError(await call('POST', '/collections/qid/points/query', { query: 100000 }), 404,
    'Not found: No point with id 100000 found');

  const none = await ok('POST', '/collections/qid/points/query', {
    limit: 4, offset: 1, filter: { must: [{ key: 'tag', match: { value: 'odd' } }] }, with_payload: ['g'],
  });
  assert.deepEqual(none.points.map((p) => p.id), [4, 6, 8, 10]);
  assert.deepEqual(none.points[0].payload, { g: 3 });
  assert.equal(none.points[0].score, 1);  // Qdrant scores scrolled points 1
});

test('ties break by point id; deleted and updated points are never stale', async () => {
  await ok('PUT', '/collections/ties', { vectors: { size: 2, distance: 'Dot' } });
  await ok('PUT', '/collections/ties/points?wait=true', {
    points: [9, 3, 5, 1].map((id) => ({ id, vector: [1, 0] })).concat([{ id: 2, vector: [0, 1] }]),
  });
  let hits = await ok('POST', '/collections/ties/points/search', { vector: [1, 0], limit: 3 });
  assert.deepEqual(hits.map((h) => h.id), [1, 3, 5]);
  await ok('POST', '/collections/ties/points/delete?wait=true', { points: [3] });
  await ok('PUT', '/collections/ties/points/vectors?wait=true', { points: [{ id: 2, vector: [2, 0] }] });
  hits = await ok('POST', '/collections/ties/points/search', { vector: [1, 0], limit: 10, with_vector: true });
  assert.deepEqual(hits.map((h) => [h.id, h.score]), [[2, 2], [1, 1], [5, 1], [9, 1]]);
  assert.deepEqual(hits[0].vector, [2, 0]);
});

test('named and sparse vectors', async () => {
  await ok('PUT', '/collections/nv', {
    vectors: { a: { size: 3, distance: 'Cosine' }, b: { size: 2, distance: 'Manhattan' } },
    sparse_vectors: { s: {} },
  });
  await ok('PUT', '/collections/nv/points?wait=true', {
    points: [
      { id: 1, vector: { a: [1, 0, 0], b: [0, 0], s: { indices: [1, 5], values: [1, 2] } } },
      { id: 2, vector: { a: [0, 1, 0], s: { indices: [5, 9], values: [3, 1] } } },
      { id: 3, vector: { a: [1, 1, 0], b: [3, 4], s: { indices: [7], values: [1] } } },
      { id: 4, vector: { b: [1, 1] } },
    ],
  });
  const a = await ok('POST', '/collections/nv/points/search', { vector: { name: 'a', vector: [1, 0, 0] }, limit: 10 });
  assert.deepEqual(a.map((h) => h.id), [1, 3, 2]);
  assert.ok(Math.abs(a[1].score - Math.SQRT1_2) < 1e-6);
  const b = await ok('POST', '/collections/nv/points/search', { vector: { name: 'b', vector: [1, 1] }, limit: 10 });
  assert.deepEqual(b.map((h) => [h.id, h.score]), [[4, 0], [1, 2], [3, 5]]);
  // Sparse: dot over shared indices; points with none in common left out.
  const s = await ok('POST', '/collections/nv/points/search', {
    vector: { name: 's', vector: { indices: [5, 1], values: [1, 10] } }, limit: 10,
  });
  assert.deepEqual(s.map((h) => [h.id, h.score]), [[1, 12], [2, 3]]);
  const sq = await ok('POST', '/collections/nv/points/query', {
    query: { indices: [9], values: [2] }, using: 's', with_vector: ['s'],
  });
  assert.deepEqual(sq.points.map((h) => [h.id, h.score]), [[2, 2]]);
  assert.deepEqual(sq.points[0].vector, { s: { indices: [5, 9], values: [3, 1] } });
  expectError(await call('POST', '/collections/nv/points/search', {
    vector: { name: 's', vector: { indices: [3, 3], values: [1, 2] } }, limit: 1,
  }), 422, /must be unique/);
  const byId = await ok('POST', '/collections/nv/points/query', { query: 1, using: 'b' });
  assert.deepEqual(byId.points.map((h) => h.id), [4, 3]);
  // The largest index there is (u32::MAX) is an index like any other.
  const top = 4294967295;
  await ok('PUT', '/collections/nv/points?wait=true', { points: [{ id: 5, vector: { s: { indices: [top, 5], values: [4, 1] } } }] });
  const mx = await ok('POST', '/collections/nv/points/search', { vector: { name: 's', vector: { indices: [top], values: [0.5] } }, limit: 10 });
  assert.deepEqual(mx.map((h) => [h.id, h.score]), [[5, 2]]);
  const avg = await ok('POST', '/collections/nv/points/recommend', { positive: [5], using: 's', limit: 10 });
  assert.deepEqual(avg.map((h) => [h.id, h.score]), [[2, 3], [1, 2]]);  // avg of 5 = 5: index 5 counts
  expectError(await call('POST', '/collections/nv/points/search', {
    vector: { name: 's', vector: { indices: [top + 1], values: [1] } }, limit: 1,
  }), 400, /vector.indices\[0\]: expected u32/);
});

test('errors in Qdrant words', async () => {
  await ok('PUT', '/collections/se', { vectors: { size: 4, distance: 'Dot' } });
  await ok('PUT', '/collections/se/points?wait=true', { points: [{ id: 1, vector: [1, 2, 3, 4] }] });
  const cases = [
    ['/points/search', { vector: [1, 2, 3], limit: 1 }, 400, 'Wrong input: Vector dimension error: expected dim: 4, got 3'],
    ['/points/search', { vector: { name: 'x', vector: [1, 2, 3, 4] }, limit: 1 }, 400, 'Wrong input: Not existing vector name error: x'],
    ['/points/query', { query: [1, 2, 3, 4], using: 'x' }, 400, 'Wrong input: Not existing vector name error: x'],
    ['/points/search', { vector: [1, 2, 3, 4] }, 400, /missing field `limit`/],
    ['/points/search', { limit: 1 }, 400, /missing field `vector`/],
    ['/points/search', { vector: [1, 2, 3, 4], limit: 0 }, 422, /limit/],
    ['/points/query', { query: { relevance_feedback: { target: [1, 2, 3, 4], feedback: [], strategy: { naive: { a: 1, b: 1, c: 1 } } } } }, 400, 'Bad request: query `relevance_feedback` is not supported by Quiver yet'],
    ['/points/query', { query: { formula: { sum: [] } } }, 400, 'Bad request: query `formula` is not supported by Quiver yet'],
    ['/points/search/batch', { searches: {} }, 400, /searches/],
    ['/points/search', { vector: [1, 2, 3, 4], limit: 1, filter: { must: [{ key: 'a', match: {} }] } }, 400, /./],
  ];
  for (const [path, body, status, msg] of cases)
    expectError(await call('POST', `/collections/se${path}`, body), status, msg);
  expectError(await req('POST', srv.url + '/collections/se/points/search', undefined,
    { raw: '{"vector":[1,2,3,4],"limit":1,"limit":2}' }), 400, /duplicate field `limit`/);
  expectError(await call('POST', '/collections/nope/points/search', { vector: [1], limit: 1 }), 404);
  // The server still serves.
  assert.equal((await ok('POST', '/collections/se/points/search', { vector: [1, 0, 0, 0], limit: 1 }))[0].id, 1);
});

test('the official clients: query (1.19) and search (1.18)', async () => {
  const points = makePoints(23);
  await qc.createCollection('jsq', { vectors: { size: DIM, distance: 'Cosine' } });
  await qc.upsert('jsq', { wait: true, points });
  const q = points[42].vector;
  const want = brute(points, q, 'Cosine', { limit: 5, filter: (p) => p.payload.tag === 'even' });
  const res = await qc.query('jsq', {
    query: q, limit: 5, filter: { must: [{ key: 'tag', match: { value: 'even' } }] }, with_payload: true,
  });
  sameHits(res.points, want, 'client query');
  assert.equal(res.points[0].payload.tag, 'even');
  const old = new Client118({ url: srv.url, checkCompatibility: false });
  const hits = await old.search('jsq', {
    vector: q, limit: 5, filter: { must: [{ key: 'tag', match: { value: 'even' } }] },
  });
  sameHits(hits, want, 'client 1.18 search');
  const batch = await old.searchBatch('jsq', { searches: [{ vector: q, limit: 2 }, { vector: points[0].vector, limit: 1 }] });
  assert.equal(batch.length, 2);
  assert.deepEqual(batch[1].map((h) => h.id), [1]);
});

test('query: prefetch with rrf / dbsf fusion, rescoring, nested prefetches, the outer filter everywhere', async () => {
  const r = rng(31);
  const pts = Array.from({ length: 120 }, (_, i) => ({
    id: i + 1,
    vector: {
      a: Array.from({ length: 4 }, () => f32(r() * 2 - 1)),
      b: Array.from({ length: 3 }, () => f32(r() * 2 - 1)),
    },
    payload: { odd: i % 2 === 0 },
  }));
  await ok('PUT', '/collections/fu', {
    vectors: { a: { size: 4, distance: 'Dot' }, b: { size: 3, distance: 'Euclid' } },
  });
  await ok('PUT', '/collections/fu/points?wait=true', { points: pts });
  const plain = pts.map((p) => ({ id: p.id, vector: p.vector.a, payload: p.payload }));
  const plainB = pts.map((p) => ({ id: p.id, vector: p.vector.b, payload: p.payload }));
  const qa = [0.5, -0.2, 0.9, 0.1];
  const qb = [0.1, 0.3, -0.4];
  const la = brute(plain, qa, 'Dot', { limit: 20 });
  const lb = brute(plainB, qb, 'Euclid', { limit: 15 });
  const prefetch = [{ query: qa, using: 'a', limit: 20 }, { query: qb, using: 'b', limit: 15 }];

  // rrf: 1 / (position + k), k = 2, summed over the lists.
  const rrf = new Map();
  for (const l of [la, lb]) l.forEach((h, pos) => rrf.set(h.id, (rrf.get(h.id) ?? 0) + 1 / (pos + 2)));
  const wantRrf = [...rrf].map(([id, score]) => ({ id, score })).sort((x, y) => y.score - x.score || x.id - y.id).slice(0, 10);
  const got = await ok('POST', '/collections/fu/points/query', { prefetch, query: { fusion: 'rrf' } });
  sameHits(got.points, wantRrf, 'rrf');
  // weighted, with its own k
  const w = new Map();
  [la, lb].forEach((l, i) => l.forEach((h, pos) => w.set(h.id, (w.get(h.id) ?? 0) + 1 / ((pos + 1) / [3, 1][i] + 5 - 1))));
  const wantW = [...w].map(([id, score]) => ({ id, score })).sort((x, y) => y.score - x.score || x.id - y.id).slice(0, 10);
  sameHits((await ok('POST', '/collections/fu/points/query', { prefetch, query: { rrf: { k: 5, weights: [3, 1] } } })).points, wantW, 'weighted rrf');
  expectError(await call('POST', '/collections/fu/points/query', { prefetch, query: { rrf: { weights: [1] } } }), 400,
    'Wrong input: Number of weights in RRF should match number of pre-fetches: got 1, expected 2');

  // dbsf: each list to (s - (mean - 3sd)) / 6sd (Euclid: smaller is better), summed.
  function norm(l, small) {
    const n = l.length;
    const mean = l.reduce((s, h) => s + h.score, 0) / n;
    const sd = Math.sqrt(l.reduce((s, h) => s + (h.score - mean) ** 2, 0) / (n - 1));
    const lo = mean - 3 * sd, hi = mean + 3 * sd;
    return l.map((h) => ({ id: h.id, v: small ? (hi - h.score) / (hi - lo) : (h.score - lo) / (hi - lo) }));
  }
  const d = new Map();
  for (const x of [...norm(la, false), ...norm(lb, true)]) d.set(x.id, (d.get(x.id) ?? 0) + x.v);
  const wantD = [...d].map(([id, score]) => ({ id, score })).sort((x, y) => y.score - x.score || x.id - y.id).slice(0, 10);
  sameHits((await ok('POST', '/collections/fu/points/query', { prefetch, query: { fusion: 'dbsf' } })).points, wantD, 'dbsf');

  // Rescoring: b scores only what the a prefetch found.
  const cand = new Set(la.map((h) => h.id));
  const wantRe = brute(plainB.filter((p) => cand.has(p.id)), qb, 'Euclid', { limit: 5 });
  sameHits((await ok('POST', '/collections/fu/points/query', { prefetch: { query: qa, using: 'a', limit: 20 }, query: qb, using: 'b', limit: 5 })).points, wantRe, 'rescore');
  // Nested, and the outer filter applies to the prefetches too.
  const odd = { must: [{ key: 'odd', match: { value: true } }] };
  const nested = await ok('POST', '/collections/fu/points/query', {
    prefetch: { prefetch: { query: qa, using: 'a', limit: 40 }, query: qb, using: 'b', limit: 10 },
    query: { fusion: 'rrf' }, filter: odd, limit: 10,
  });
  const la40 = brute(plain, qa, 'Dot', { limit: 40, filter: (p) => p.payload.odd });
  const inner = new Set(la40.map((h) => h.id));
  const wantN = brute(plainB.filter((p) => inner.has(p.id)), qb, 'Euclid', { limit: 10 }).map((h, pos) => ({ id: h.id, score: 1 / (pos + 2) }));
  sameHits(nested.points, wantN, 'nested');
  const fuseAlone = await call('POST', '/collections/fu/points/query', { query: { fusion: 'rrf' } });
  assert.equal(fuseAlone.status, 400);
});

test('groups: search/groups, recommend/groups, query/groups', async () => {
  await ok('PUT', '/collections/gr', { vectors: { size: 2, distance: 'Dot' } });
  const points = Array.from({ length: 60 }, (_, i) => ({
    id: i + 1,
    vector: [f32(1 - i / 100), f32(i / 100)],
    payload: { doc: i < 40 ? `d${i % 4}` : i % 2, tags: ['x', `t${i % 3}`] },
  }));
  await ok('PUT', '/collections/gr/points?wait=true', { points });
  const q = [1, 0];
  const ranked = brute(points, q, 'Dot', { limit: 60 });
  function groups(key, limit, size) {
    const out = [];
    for (const h of ranked) {
      const p = points[h.id - 1];
      const vals = Array.isArray(p.payload[key]) ? p.payload[key] : [p.payload[key]];
      for (const v of vals) {
        let g = out.find((x) => x.id === v);
        if (!g) {
          if (out.length >= limit) continue;
          g = { id: v, hits: [] };
          out.push(g);
        }
        if (g.hits.length < size) g.hits.push(h.id);
      }
    }
    return out;
  }
  const got = await ok('POST', '/collections/gr/points/search/groups', { vector: q, group_by: 'doc', group_size: 2, limit: 3 });
  assert.deepEqual(got.groups.map((g) => ({ id: g.id, hits: g.hits.map((h) => h.id) })), groups('doc', 3, 2));
  assert.deepEqual(Object.keys(got.groups[0].hits[0]), ['id', 'version', 'score', 'payload', 'vector']);
  const tags = await ok('POST', '/collections/gr/points/query/groups', { query: q, group_by: 'tags', limit: 4 });
  assert.deepEqual(tags.groups.map((g) => ({ id: g.id, hits: g.hits.map((h) => h.id) })), groups('tags', 4, 3));
  const rec = await ok('POST', '/collections/gr/points/recommend/groups', { positive: [1], group_by: 'doc', group_size: 1, limit: 2 });
  assert.equal(rec.groups.length, 2);
  assert.ok(!rec.groups.some((g) => g.hits.some((h) => h.id === 1)));
  expectError(await call('POST', '/collections/gr/points/search/groups', { vector: q, limit: 3, group_size: 2 }), 400,
    /missing field `group_by`/);
});
