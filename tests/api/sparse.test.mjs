// Sparse vectors through their inverted index: search, query (also as a
// prefetch under fusion), recommend with a sparse `using`, with small and
// large filters (payload index or not), the idf modifier, and writes that
// change, delete and reuse points, then a restart. Every answer is checked
// against a brute force computed here in float32 as the server computes it
// (products summed in increasing index order), so plain scores must be
// equal bit for bit; idf scores to 1e-5 (logf against Math.log).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { QdrantClient as Client118 } from 'qdrant-js-118';
import { startServer, tempDir, client, req, expectOk } from './helpers.mjs';
import { rng, randInt } from './read_lib.mjs';

const f32 = Math.fround;
const storage = tempDir();
let srv;
let qc;
let qc118;
before(async () => {
  srv = await startServer({ storage });
  qc = client(srv.url);
  qc118 = new Client118({ url: srv.url, checkCompatibility: false });
});
after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, srv.stderr());
});

const call = (method, path, body) => req(method, srv.url + path, body);
const ok = async (method, path, body) => expectOk(await call(method, path, body));

const C = 'sp';
const DIMS = 80;
const r = rng(8080);

// A sparse vector: skewed indices (small ones common), unique, in random
// order as clients send them; some zero and negative values.
function randSparse(maxNnz = 14) {
  const n = randInt(r, maxNnz + 1);
  const seen = new Set();
  while (seen.size < n) seen.add(randInt(r, randInt(r, DIMS) + 1));
  const indices = [...seen];
  const values = indices.map(() => (randInt(r, 12) === 0 ? 0 : f32((randInt(r, 2001) - 600) / 97)));
  return { indices, values };
}
const sorted = (v) => {
  const order = v.indices.map((_, i) => i).sort((a, b) => v.indices[a] - v.indices[b]);
  return { indices: order.map((i) => v.indices[i]), values: order.map((i) => v.values[i]) };
};

// The model: id -> {s, t, payload}; s plain, t with modifier idf.
const model = new Map();
function makePoint(id) {
  const p = { id, payload: { k: id % 97, g: id % 10, h: id % 3 }, vector: {} };
  if (randInt(r, 10) > 0) p.vector.s = randSparse();
  if (randInt(r, 10) > 1) p.vector.t = randSparse(8);
  return p;
}
function remember(p) {
  model.set(p.id, { s: p.vector.s && sorted(p.vector.s), t: p.vector.t && sorted(p.vector.t), payload: p.payload });
}

// Dot over shared indices in index order, float32 all the way; null when
// nothing is shared (the point is left out).
function dot(a, q) {
  let s = 0;
  let shared = false;
  for (let i = 0, j = 0; i < a.indices.length && j < q.indices.length;) {
    if (a.indices[i] < q.indices[j]) i++;
    else if (a.indices[i] > q.indices[j]) j++;
    else {
      s = f32(s + f32(a.values[i] * q.values[j]));
      shared = true;
      i++;
      j++;
    }
  }
  return shared ? s : null;
}

// Qdrant's idf weights of a query on vector t, over the points having t.
function idfWeights(q, name = 't', corpus = () => true) {
  const docs = [...model.values()].filter((p) => p[name] && p[name].indices.length > 0 && corpus(p));
  const n = docs.length;
  const out = sorted(q);
  out.values = out.values.map((v, i) => {
    const df = docs.filter((p) => p[name].indices.includes(out.indices[i])).length;
    const idf = f32(Math.log(f32(f32(f32(n - df) + 0.5) / f32(df + 0.5)) + 1));
    return f32(v * idf);
  });
  return out;
}

function brute(name, q, { limit = 10, offset = 0, filter = () => true, threshold, exclude = [] } = {}) {
  const qs = sorted(q);
  let hits = [];
  for (const [id, p] of model) {
    if (!p[name] || exclude.includes(id) || !filter(p, id)) continue;
    const score = dot(p[name], qs);
    if (score !== null && (threshold === undefined || score > threshold)) hits.push({ id, score });
  }
  hits.sort((a, b) => b.score - a.score || a.id - b.id);
  return hits.slice(offset, offset + limit);
}

function same(got, want, what, tol = 0) {
  assert.deepEqual(got.map((h) => h.id), want.map((h) => h.id), what);
  for (let i = 0; i < got.length; i++) {
    // the server prints the shortest text that reads back as the same float32
    if (tol === 0) assert.equal(f32(got[i].score), want[i].score, `${what}: score of ${got[i].id}`);
    else assert.ok(Math.abs(got[i].score - want[i].score) <= tol * Math.max(1, Math.abs(want[i].score)),
      `${what}: score of ${got[i].id}: ${got[i].score} vs ${want[i].score}`);
  }
}

async function upsert(points) {
  await ok('PUT', `/collections/${C}/points?wait=true`, { points });
  for (const p of points) remember(p);
}

// Small and large filters, with a payload index (k, g) or without (h).
const FILTERS = [
  ['small, indexed', { must: [{ key: 'k', match: { value: 5 } }] }, (p) => p.payload.k === 5],
  ['large, indexed', { must: [{ key: 'g', range: { lt: 7 } }] }, (p) => p.payload.g < 7],
  ['not indexed', { must: [{ key: 'h', match: { value: 1 } }] }, (p) => p.payload.h === 1],
  ['indexed, and more', { must: [{ key: 'g', range: { gte: 2 } }], must_not: [{ key: 'h', match: { value: 0 } }] },
    (p) => p.payload.g >= 2 && p.payload.h !== 0],
];

// Everything a check looks at, against the model.
async function checkAll(what) {
  for (let i = 0; i < 6; i++) {
    const q = randSparse(10);
    const limit = 1 + randInt(r, 25);
    const raw = await ok('POST', `/collections/${C}/points/search`, { vector: { name: 's', vector: q }, limit });
    same(raw, brute('s', q, { limit }), `${what}: search`);
    const off = await ok('POST', `/collections/${C}/points/search`, { vector: { name: 's', vector: q }, limit: 5, offset: 3 });
    same(off, brute('s', q, { limit: 5, offset: 3 }), `${what}: offset`);
    const thr = await ok('POST', `/collections/${C}/points/search`, { vector: { name: 's', vector: q }, limit: 50, score_threshold: 0.5 });
    same(thr, brute('s', q, { limit: 50, threshold: 0.5 }), `${what}: score_threshold`);
    for (const [fname, filter, fn] of FILTERS) {
      const got = await ok('POST', `/collections/${C}/points/search`, { vector: { name: 's', vector: q }, filter, limit });
      same(got, brute('s', q, { limit, filter: fn }), `${what}: filter ${fname}`);
      const gotT = (await qc.query(C, { query: q, using: 't', filter, limit })).points;
      same(gotT, brute('t', idfWeights(q), { limit, filter: fn }), `${what}: idf, filter ${fname}`, 1e-5);
    }
    const idf = (await qc.query(C, { query: q, using: 't', limit })).points;
    same(idf, brute('t', idfWeights(q), { limit }), `${what}: idf`, 1e-5);
  }
}

test('sparse search equals brute force: search, query, filters small and large, idf', async () => {
  await ok('PUT', `/collections/${C}`, {
    vectors: { d: { size: 3, distance: 'Dot' } },
    // a low full_scan_threshold on s: its filters of few points are scored one by one,
    // the others walk the postings; t keeps Qdrant's default (5000 points)
    sparse_vectors: { s: { index: { full_scan_threshold: 20 } }, t: { modifier: 'idf' } },
  });
  await ok('PUT', `/collections/${C}/index?wait=true`, { field_name: 'k', field_schema: 'integer' });
  await ok('PUT', `/collections/${C}/index?wait=true`, { field_name: 'g', field_schema: 'integer' });
  const pts = Array.from({ length: 600 }, (_, i) => makePoint(i + 1));
  for (const p of pts) p.vector.d = [f32(r()), f32(r()), f32(r())];
  for (let i = 0; i < pts.length; i += 150) await upsert(pts.slice(i, i + 150));
  // as in Qdrant, sparse vectors count as indexed at once (no dense graph here: 600 points
  // are below indexing_threshold); an empty sparse vector is not indexed
  const nonEmpty = [...model.values()].reduce((n, p) => n + (p.s?.indices.length > 0) + (p.t?.indices.length > 0), 0);
  assert.equal((await ok('GET', `/collections/${C}`)).indexed_vectors_count, nonEmpty);
  await checkAll('fresh');

  // an exact zero dot with a shared index still counts; no shared index never does
  await upsert([{ id: 5000, vector: { s: { indices: [79], values: [0] } }, payload: { k: 1, g: 1, h: 1 } }]);
  const z = await ok('POST', `/collections/${C}/points/search`, { vector: { name: 's', vector: { indices: [79], values: [3] } }, limit: 1000 });
  assert.ok(z.some((h) => h.id === 5000 && h.score === 0));
  same(z, brute('s', { indices: [79], values: [3] }, { limit: 1000 }), 'zero dot');
  const none = await ok('POST', `/collections/${C}/points/search`, { vector: { name: 's', vector: { indices: [100000], values: [1] } }, limit: 10 });
  assert.deepEqual(none, []);
  const empty = await ok('POST', `/collections/${C}/points/search`, { vector: { name: 's', vector: { indices: [], values: [] } }, limit: 10 });
  assert.deepEqual(empty, []);
});

test('the 1.18 client: search and recommend with a sparse vector', async () => {
  const q = randSparse(10);
  const got = await qc118.search(C, { vector: { name: 's', vector: q }, limit: 7 });
  same(got, brute('s', q, { limit: 7 }), '1.18 search');
  const gotIdf = await qc118.search(C, { vector: { name: 't', vector: q }, limit: 7, filter: FILTERS[1][1] });
  same(gotIdf, brute('t', idfWeights(q), { limit: 7, filter: FILTERS[1][2] }), '1.18 search idf', 1e-5);
});

// Qdrant's recommend formulas, in float32 as the server computes them.
const fsig = (x) => f32(x / f32(1 + Math.abs(x)));
const ssig = (x) => f32(0.5 * f32(fsig(x) + 1));
function averageOf(pos, neg) {
  const wp = f32((neg.length ? 2 : 1) / pos.length);
  const wn = neg.length ? f32(-1 / neg.length) : 0;
  const acc = new Map();
  for (const [list, w] of [[pos, wp], [neg, wn]])
    for (const v of list) v.indices.forEach((ix, i) => acc.set(ix, f32((acc.get(ix) ?? 0) + f32(v.values[i] * w))));
  return { indices: [...acc.keys()], values: [...acc.values()] };
}
function bruteRecommend(name, pos, neg, strategy, { limit, exclude, filter = () => true }) {
  const prep = (v) => (name === 't' ? idfWeights(v) : sorted(v));
  if (strategy === 'average_vector') {
    const avg = averageOf(pos.map(sorted), neg.map(sorted));
    return brute(name, name === 't' ? idfWeights(avg) : avg, { limit, exclude, filter });
  }
  const P = pos.map(prep);
  const N = neg.map(prep);
  const hits = [];
  for (const [id, p] of model) {
    if (!p[name] || exclude.includes(id) || !filter(p)) continue;
    const sims = (l) => l.map((v) => dot(p[name], v));
    const sp = sims(P);
    const sn = sims(N);
    if ([...sp, ...sn].every((x) => x === null)) continue;  // nothing shared with any example
    const val = (x) => x ?? 0;
    let score;
    if (strategy === 'best_score') {
      const mp = sp.length ? sp.map(val).reduce((a, b) => Math.max(a, b)) : -Infinity;
      const mn = sn.length ? sn.map(val).reduce((a, b) => Math.max(a, b)) : -Infinity;
      score = mp > mn ? ssig(mp) : f32(-ssig(mn));
    } else {
      const sum = (l) => l.map(val).reduce((a, b) => f32(a + b), 0);
      score = f32(sum(sp) - sum(sn));
    }
    hits.push({ id, score });
  }
  hits.sort((a, b) => b.score - a.score || a.id - b.id);
  return hits.slice(0, limit);
}

test('recommend with a sparse using: average_vector, best_score, sum_scores; ids and vectors; filters', async () => {
  const ids = [...model.keys()].filter((id) => model.get(id).s && model.get(id).t && model.get(id).s.indices.length > 2);
  for (let round = 0; round < 4; round++) {
    const posIds = [ids[randInt(r, ids.length)], ids[randInt(r, ids.length)]].filter((x, i, a) => a.indexOf(x) === i);
    const negIds = round % 2 ? [ids[randInt(r, ids.length)]].filter((x) => !posIds.includes(x)) : [];
    const extra = randSparse(6);
    for (const name of ['s', 't']) {
      for (const strategy of ['average_vector', 'best_score', 'sum_scores']) {
        const pos = [...posIds.map((id) => model.get(id)[name]), extra];
        const neg = negIds.map((id) => model.get(id)[name]);
        const exclude = [...posIds, ...negIds];
        const tol = name === 't' ? 1e-5 : 0;
        const body = { positive: [...posIds, extra], negative: negIds, strategy, using: name, limit: 12 };
        const got = await ok('POST', `/collections/${C}/points/recommend`, body);
        same(got, bruteRecommend(name, pos, neg, strategy, { limit: 12, exclude }), `recommend ${name} ${strategy}`, tol);
        const [, filter, fn] = FILTERS[round % FILTERS.length];
        const gotF = (await qc.query(C, { query: { recommend: { positive: [...posIds, extra], negative: negIds, strategy } }, using: name, filter, limit: 12 })).points;
        same(gotF, bruteRecommend(name, pos, neg, strategy, { limit: 12, exclude, filter: fn }), `query recommend ${name} ${strategy} filtered`, tol);
      }
    }
    const got118 = await qc118.recommend(C, { positive: posIds, negative: negIds, using: 's', limit: 5, strategy: 'best_score' });
    same(got118, bruteRecommend('s', posIds.map((id) => model.get(id).s), negIds.map((id) => model.get(id).s), 'best_score',
      { limit: 5, exclude: [...posIds, ...negIds] }), '1.18 recommend');
  }
});

test('query: sparse prefetches under rrf fusion, with the dense vector too, and a sparse rescore', async () => {
  for (let round = 0; round < 3; round++) {
    const qs = randSparse(10);
    const qt = randSparse(6);
    const [, filter, fn] = FILTERS[(round + 1) % FILTERS.length];
    const prefetch = [{ query: qs, using: 's', limit: 20 }, { query: qt, using: 't', limit: 20 }];
    const got = (await qc.query(C, { prefetch, query: { fusion: 'rrf' }, filter, limit: 10 })).points;
    const la = brute('s', qs, { limit: 20, filter: fn });
    const lb = brute('t', idfWeights(qt), { limit: 20, filter: fn });
    const rrf = new Map();
    for (const l of [la, lb]) l.forEach((h, pos) => rrf.set(h.id, f32((rrf.get(h.id) ?? 0) + f32(1 / (pos + 2)))));
    const want = [...rrf].map(([id, score]) => ({ id, score })).sort((x, y) => y.score - x.score || x.id - y.id).slice(0, 10);
    same(got, want, 'rrf over s and t');
    // rescoring what a dense prefetch found with the sparse vector
    const dense = await ok('POST', `/collections/${C}/points/query`, { query: [1, 0.5, 0.25], using: 'd', limit: 60 });
    const found = new Set(dense.points.map((h) => h.id));
    const res = (await qc.query(C, { prefetch: { query: [1, 0.5, 0.25], using: 'd', limit: 60 }, query: qs, using: 's', limit: 8 })).points;
    same(res, brute('s', qs, { limit: 8, filter: (p, id) => found.has(id) }), 'sparse rescore of a dense prefetch');
  }
});

test('updates, vector changes, deletes and reused slots never come back stale', async () => {
  for (let round = 0; round < 5; round++) {
    const ids = [...model.keys()];
    // replace some points whole (new vectors, maybe without s or t)
    const repl = Array.from({ length: 40 }, () => makePoint(ids[randInt(r, ids.length)]));
    await upsert([...new Map(repl.map((p) => [p.id, p])).values()]);
    // change only one sparse vector of others
    const upd = [...new Set(Array.from({ length: 30 }, () => ids[randInt(r, ids.length)]))];
    const vecs = upd.map((id) => ({ id, vector: { s: randSparse() } }));
    await ok('PUT', `/collections/${C}/points/vectors?wait=true`, { points: vecs });
    for (const v of vecs) model.get(v.id).s = sorted(v.vector.s);
    // remove t from some
    const dv = upd.slice(0, 10);
    await ok('POST', `/collections/${C}/points/vectors/delete?wait=true`, { points: dv, vector: ['t'] });
    for (const id of dv) model.get(id).t = undefined;
    // delete points, then insert new ones (their slots are reused)
    const del = [...new Set(Array.from({ length: 50 }, () => ids[randInt(r, ids.length)]))];
    await ok('POST', `/collections/${C}/points/delete?wait=true`, { points: del });
    for (const id of del) model.delete(id);
    const next = Math.max(...model.keys(), ...del) + 1;
    await upsert(Array.from({ length: 50 }, (_, i) => makePoint(next + i)));
    // a batch that deletes and upserts the same id, and sets a vector twice
    const twice = ids.find((id) => model.has(id));
    const last = randSparse();
    await ok('POST', `/collections/${C}/points/batch?wait=true`, {
      operations: [
        { delete: { points: [twice] } },
        { upsert: { points: [{ id: twice, vector: { s: randSparse() }, payload: { k: 5, g: 5, h: 1 } }] } },
        { update_vectors: { points: [{ id: twice, vector: { s: last } }] } },
      ],
    });
    model.set(twice, { s: sorted(last), t: undefined, payload: { k: 5, g: 5, h: 1 } });
    await checkAll(`round ${round}`);
  }
});

test('after a restart the answers are the same', async () => {
  const queries = Array.from({ length: 5 }, () => randSparse(10));
  const ask = async () => {
    const out = [];
    for (const q of queries) {
      out.push(await ok('POST', `/collections/${C}/points/search`, { vector: { name: 's', vector: q }, limit: 15, with_payload: true, with_vector: ['s'] }));
      out.push(await ok('POST', `/collections/${C}/points/query`, { query: q, using: 't', filter: FILTERS[1][1], limit: 15 }));
    }
    return out;
  };
  const before = await ask();
  assert.equal(await srv.stop(), 0, srv.stderr());
  srv = await startServer({ storage });
  qc = client(srv.url);
  assert.deepEqual(await ask(), before);
  await checkAll('after restart');
  // the stored vectors come back sorted by index, as Qdrant stores them
  const [one] = (await ok('POST', `/collections/${C}/points`, { ids: [[...model.keys()].find((id) => model.get(id).s)], with_vector: ['s'] }));
  assert.deepEqual({ indices: one.vector.s.indices, values: one.vector.s.values.map(f32) }, model.get(one.id).s);
});

test('a vector added or removed: the other sparse indexes stay right, the new one starts empty', async () => {
  await ok('PUT', `/collections/${C}/vectors/u`, { sparse: {} });
  const some = [...model.keys()].slice(0, 20);
  const uv = some.map((id) => ({ id, vector: { u: randSparse() } }));
  await ok('PUT', `/collections/${C}/points/vectors?wait=true`, { points: uv });
  for (const v of uv) model.get(v.id).u = sorted(v.vector.u);
  const q = randSparse(10);
  same(await ok('POST', `/collections/${C}/points/search`, { vector: { name: 'u', vector: q }, limit: 30 }),
    brute('u', q, { limit: 30 }), 'the new vector');
  await ok('DELETE', `/collections/${C}/vectors/t`);
  for (const p of model.values()) p.t = undefined;
  same(await ok('POST', `/collections/${C}/points/search`, { vector: { name: 's', vector: q }, limit: 30 }),
    brute('s', q, { limit: 30 }), 's after t went');
  // t again: empty, idf over no documents
  await ok('PUT', `/collections/${C}/vectors/t`, { sparse: { modifier: 'idf' } });
  assert.deepEqual((await qc.query(C, { query: q, using: 't', limit: 5 })).points, []);
  const tv = some.map((id) => ({ id, vector: { t: randSparse(8) } }));
  await ok('PUT', `/collections/${C}/points/vectors?wait=true`, { points: tv });
  for (const v of tv) model.get(v.id).t = sorted(v.vector.t);
  same((await qc.query(C, { query: q, using: 't', limit: 10 })).points, brute('t', idfWeights(q), { limit: 10 }), 't again', 1e-5);
});

test('params.idf: "global" is the default; a corpus filter counts N and df over its points only', async () => {
  const corpus = { must: [{ key: 'g', range: { lt: 5 } }] };
  const inCorpus = (p) => p.payload.g < 5;
  for (let i = 0; i < 4; i++) {
    const q = randSparse(8);
    const [, filter, fn] = FILTERS[i];
    const plain = (await qc.query(C, { query: q, using: 't', filter, limit: 10 })).points;
    assert.deepEqual((await qc.query(C, { query: q, using: 't', filter, limit: 10, params: { idf: 'global' } })).points, plain);
    const got = await ok('POST', `/collections/${C}/points/query`, { query: q, using: 't', filter, limit: 10, params: { idf: { corpus } } });
    same(got.points, brute('t', idfWeights(q, 't', inCorpus), { limit: 10, filter: fn }), `corpus, filter ${i}`, 1e-5);
    // on a vector without the modifier the corpus changes nothing
    const s1 = await ok('POST', `/collections/${C}/points/search`, { vector: { name: 's', vector: q }, limit: 10, params: { idf: { corpus } } });
    same(s1, brute('s', q, { limit: 10 }), 'corpus on s');
  }
  for (const bad of ['local', 1, { corpus: 1 }, { other: {} }]) {
    const res = await call('POST', `/collections/${C}/points/query`, { query: { indices: [1], values: [1] }, using: 't', params: { idf: bad } });
    assert.equal(res.status, 400, JSON.stringify(bad));
  }
});
