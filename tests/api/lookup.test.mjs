// lookup_from (examples given by id read from another collection) in
// recommend, discover and query, and with_lookup in the *_groups APIs;
// answers checked against the same requests with the vectors written out,
// errors in Qdrant's words. Raw HTTP, the 1.19 client (query) and the 1.18
// client (recommend).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { QdrantClient as Client118 } from 'qdrant-js-118';
import { startServer, client, req, expectOk, expectError } from './helpers.mjs';
import { rng } from './read_lib.mjs';

let srv;
let qc;
after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, srv.stderr());
});

const call = (method, path, body) => req(method, srv.url + path, body);
const ok = async (method, path, body) => expectOk(await call(method, path, body));
const f32 = Math.fround;

const DIM = 4;
const r = rng(606);
const vec = () => Array.from({ length: DIM }, () => f32(r() * 2 - 1));
const MAIN = Array.from({ length: 80 }, (_, i) => ({ id: i + 1, vector: vec(), payload: { doc: i % 6, g: i % 3 } }));
// The lookup collection: named vectors, ids that also exist in MAIN.
const OTHER = [
  { id: 1, vector: { other: vec(), small: [1, 0, 0] } },
  { id: 2, vector: { other: vec() } },
  { id: 'a1b2c3d4-0000-4000-8000-000000000001', vector: { other: vec() } },
];
const otherVec = (id) => OTHER.find((p) => p.id === id).vector.other;

before(async () => {
  srv = await startServer();
  qc = client(srv.url);
  await ok('PUT', '/collections/main', { vectors: { size: DIM, distance: 'Dot' } });
  await ok('PUT', '/collections/main/points?wait=true', { points: MAIN });
  await ok('PUT', '/collections/other', {
    vectors: { other: { size: DIM, distance: 'Euclid' }, small: { size: 3, distance: 'Dot' } },
  });
  await ok('PUT', '/collections/other/points?wait=true', { points: OTHER });
});

test('lookup_from: recommend, discover and query read the examples from the other collection', async () => {
  const lf = { collection: 'other', vector: 'other' };
  const uid = OTHER[2].id;
  // recommend: ids from there equal their vectors written out; point 1 of
  // main is not left out (the ids name points of the other collection).
  const byId = await ok('POST', '/collections/main/points/recommend', { positive: [1, uid], negative: [2], limit: 80, lookup_from: lf });
  const byVec = await ok('POST', '/collections/main/points/recommend', {
    positive: [otherVec(1), otherVec(uid)], negative: [otherVec(2)], limit: 80,
  });
  assert.deepEqual(byId, byVec);
  assert.equal(byId.length, 80, 'no point of main is left out');
  const best = await ok('POST', '/collections/main/points/recommend', {
    positive: [1], negative: [2], strategy: 'best_score', limit: 10, lookup_from: lf,
  });
  assert.deepEqual(best, await ok('POST', '/collections/main/points/recommend', {
    positive: [otherVec(1)], negative: [otherVec(2)], strategy: 'best_score', limit: 10,
  }));
  // discover, and its batch
  const disc = { target: uid, context: [{ positive: 1, negative: 2 }], limit: 10 };
  const discVec = { target: otherVec(uid), context: [{ positive: otherVec(1), negative: otherVec(2) }], limit: 10 };
  assert.deepEqual(await ok('POST', '/collections/main/points/discover', { ...disc, lookup_from: lf }),
    await ok('POST', '/collections/main/points/discover', discVec));
  const batch = await ok('POST', '/collections/main/points/recommend/batch', {
    searches: [{ positive: [1], limit: 3, lookup_from: lf }, { positive: [1], limit: 3 }],
  });
  assert.deepEqual(batch[0], await ok('POST', '/collections/main/points/search', { vector: otherVec(1), limit: 3 }));
  assert.ok(!batch[1].some((h) => h.id === 1), 'without lookup_from the example point is left out');
  // query: nearest by id, recommend, and inside a prefetch
  const nearest = await qc.query('main', { query: 2, lookup_from: lf, limit: 5 });
  assert.deepEqual(nearest.points, (await qc.query('main', { query: otherVec(2), limit: 5 })).points);
  const inPrefetch = await qc.query('main', {
    prefetch: { query: { recommend: { positive: [1] } }, lookup_from: lf, limit: 20 }, query: { fusion: 'rrf' }, limit: 5,
  });
  const plain = await qc.query('main', { prefetch: { query: otherVec(1), limit: 20 }, query: { fusion: 'rrf' }, limit: 5 });
  assert.deepEqual(inPrefetch.points, plain.points);
  // The vector defaults to `using` (here the unnamed one, which other lacks).
  expectError(await call('POST', '/collections/main/points/query', { query: 1, lookup_from: { collection: 'other' } }), 400,
    'Wrong input: Not existing vector name error: ');
  // The same collection: a vector of another name, and the point left out.
  await ok('PUT', '/collections/twin', { vectors: { a: { size: 2, distance: 'Dot' }, b: { size: 2, distance: 'Dot' } } });
  await ok('PUT', '/collections/twin/points?wait=true', { points: [
    { id: 1, vector: { a: [1, 0], b: [0, 1] } }, { id: 2, vector: { a: [0, 1], b: [1, 0] } }, { id: 3, vector: { a: [1, 1], b: [1, 1] } },
  ] });
  const twin = await ok('POST', '/collections/twin/points/query', { query: 1, using: 'a', lookup_from: { collection: 'twin', vector: 'b' } });
  assert.deepEqual(twin.points.map((p) => [p.id, p.score]), [[2, 1], [3, 1]]);

  // The 1.18 client's recommend.
  const old = new Client118({ url: srv.url, checkCompatibility: false });
  assert.deepEqual(await old.recommend('main', { positive: [1], limit: 4, lookup_from: lf, with_payload: false }),
    await ok('POST', '/collections/main/points/search', { vector: otherVec(1), limit: 4 }));
});

test('lookup_from: errors in Qdrant words, and only when an id needs the lookup', async () => {
  const rec = (body) => call('POST', '/collections/main/points/recommend', { limit: 3, ...body });
  expectError(await rec({ positive: [1], lookup_from: { collection: 'nope', vector: 'other' } }), 404,
    'Not found: Collection nope not found');
  expectError(await rec({ positive: [1], lookup_from: { collection: 'other', vector: 'unknown_vector' } }), 400,
    'Wrong input: Not existing vector name error: unknown_vector');
  expectError(await rec({ positive: [99], lookup_from: { collection: 'other', vector: 'other' } }), 404,
    'Not found: No point with id 99 found');
  expectError(await rec({ positive: [1], lookup_from: { collection: 'other', vector: 'small' } }), 400,
    'Wrong input: Vector dimension error: expected dim: 4, got 3');
  expectError(await rec({ positive: [2], lookup_from: { collection: 'other', vector: 'small' } }), 400,
    'Wrong input: Vector of point 2 is not found: small');
  expectError(await rec({ positive: [1], lookup_from: { vector: 'other' } }), 400, /lookup_from: missing field `collection`/);
  expectError(await rec({ positive: [1], lookup_from: 'other' }), 400, /lookup_from/);
  // Vectors need no lookup: a missing collection is not looked at (as Qdrant).
  const v = MAIN[0].vector;
  assert.equal((await expectOk(await rec({ positive: [v], lookup_from: { collection: 'nope' } }))).length, 3);
  // The server still serves both collections.
  assert.equal((await ok('POST', '/collections/other/points/scroll', {})).points.length, 3);
});

test('with_lookup: each group shows the point of the other collection with the group id', async () => {
  await ok('PUT', '/collections/docs', { vectors: { size: 2, distance: 'Dot' } });
  await ok('PUT', '/collections/docs/points?wait=true', { points: [
    { id: 0, vector: [1, 0], payload: { title: 'zero', n: 0 } },
    { id: 2, vector: [0, 1], payload: { title: 'two', n: 2 } },
    { id: 4, vector: [1, 1], payload: { title: 'four', n: 4 } },
  ] });
  const q = [1, 0.5, -0.2, 0.3];
  const plain = await ok('POST', '/collections/main/points/search/groups', { vector: q, group_by: 'doc', group_size: 2, limit: 6 });
  const got = await ok('POST', '/collections/main/points/search/groups', {
    vector: q, group_by: 'doc', group_size: 2, limit: 6, with_lookup: 'docs',
  });
  assert.equal(got.groups.length, 6);
  for (const [i, g] of got.groups.entries()) {
    assert.deepEqual(g.hits, plain.groups[i].hits);
    const doc = { 0: 'zero', 2: 'two', 4: 'four' }[g.id];
    if (doc) assert.deepEqual(g.lookup, { id: g.id, payload: { title: doc, n: g.id }, vector: null });
    else assert.ok(!('lookup' in g), `group ${g.id} has no point in docs`);
  }
  // The object form: payload selection and vectors.
  const sel = await qc.queryGroups('main', {
    query: q, group_by: 'doc', limit: 6, with_lookup: { collection: 'docs', with_payload: ['title'], with_vectors: true },
  });
  const g2 = sel.groups.find((g) => g.id === 2);
  assert.deepEqual(g2.lookup, { id: 2, payload: { title: 'two' }, vector: [0, 1] });
  assert.equal(g2.hits.length, 3);  // query/groups: group_size 3 by default
  // recommend/groups too; UUID group ids look up UUID points.
  await ok('PUT', '/collections/main/points/payload?wait=true', { payload: { doc: OTHER[2].id }, points: [5] });
  const rec = await ok('POST', '/collections/main/points/recommend/groups', {
    positive: [MAIN[4].vector], filter: { must: [{ has_id: [5] }] }, group_by: 'doc', group_size: 1, limit: 1,
    with_lookup: { collection: 'other', with_payload: false },
  });
  assert.deepEqual(rec.groups[0].lookup, { id: OTHER[2].id, payload: null, vector: null });
  expectError(await call('POST', '/collections/main/points/search/groups', {
    vector: q, group_by: 'doc', group_size: 1, limit: 1, with_lookup: 'nope',
  }), 404, 'Not found: Collection nope not found');
  expectError(await call('POST', '/collections/main/points/search/groups', {
    vector: q, group_by: 'doc', group_size: 1, limit: 1, with_lookup: { with_payload: true },
  }), 400, /with_lookup: missing field `collection`/);
});
