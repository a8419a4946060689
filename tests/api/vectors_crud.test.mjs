// Named-vector CRUD (Qdrant 1.19): PUT/DELETE /collections/{name}/vectors/{vector}.
// Shapes and errors over raw HTTP and through the official client; the new
// vector works everywhere at once (writes, reads, filters, indexes); a
// removed vector's data is gone; restarts and kill -9 right after an
// acknowledged change keep it; writes racing with a change all survive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, req, expectOk, expectError, client, clientIdle } from './helpers.mjs';
import { api, expectUpdate } from './points_lib.mjs';

const NAMED = { vectors: { a: { size: 2, distance: 'Dot' } } };

function vecApi(url) {
  const A = api(url);
  const path = (c, v, query = 'wait=true') => `${url}/collections/${c}/vectors/${encodeURIComponent(v)}${query ? `?${query}` : ''}`;
  return {
    ...A,
    addRaw: (c, v, body, query) => req('PUT', path(c, v, query), body),
    delRaw: (c, v, query) => req('DELETE', path(c, v, query)),
    async add(c, v, body, status = 'completed', query = 'wait=true') {
      return expectUpdate(expectOk(await req('PUT', path(c, v, query), body)), status);
    },
    async del(c, v, status = 'completed', query = 'wait=true') {
      return expectUpdate(expectOk(await req('DELETE', path(c, v, query))), status);
    },
    async params(c) {
      return expectOk(await req('GET', `${url}/collections/${c}`)).config.params;
    },
    async countWhere(c, filter) {
      return expectOk(await req('POST', `${url}/collections/${c}/points/count`, { filter, exact: true })).count;
    },
  };
}

test('add a dense vector: config shows it, existing points lack it, writes and reads use it at once', async () => {
  const s = await startServer();
  const A = vecApi(s.url);
  const c = 'dense';
  await A.create(c, NAMED);
  await A.upsert(c, [{ id: 1, vector: { a: [1, 2] }, payload: { k: 'x' } }, { id: 2, vector: { a: [3, 4] }, payload: { k: 'y' } }]);
  expectOk(await req('PUT', `${s.url}/collections/${c}/index?wait=true`, { field_name: 'k', field_schema: 'keyword' }));

  const r = await A.add(c, 'text', { dense: { size: 3, distance: 'Euclid' } });
  assert.ok(r.operation_id > 0);
  const params = await A.params(c);
  assert.deepEqual(params.vectors, { a: { size: 2, distance: 'Dot' }, text: { size: 3, distance: 'Euclid' } });
  assert.equal(params.sparse_vectors, undefined);

  // existing points simply lack it
  assert.deepEqual(await A.retrieve(c, [1]), [{ id: 1, payload: { k: 'x' }, vector: { a: [1, 2] } }]);
  assert.equal(await A.countWhere(c, { must: [{ has_vector: 'text' }] }), 0);

  // upsert, update_vectors, delete_vectors, with_vector, has_vector, payload index
  await A.upsert(c, [{ id: 3, vector: { a: [5, 6], text: [1, 2, 3] }, payload: { k: 'x' } }]);
  expectUpdate(await A.write('PUT', c, '/points/vectors', { points: [{ id: 1, vector: { text: [7, 8, 9] } }] }));
  assert.deepEqual(await A.retrieve(c, [1, 3]), [
    { id: 1, payload: { k: 'x' }, vector: { a: [1, 2], text: [7, 8, 9] } },
    { id: 3, payload: { k: 'x' }, vector: { a: [5, 6], text: [1, 2, 3] } },
  ]);
  assert.deepEqual(await A.retrieve(c, [1, 2, 3], { with_vector: ['text'] }), [
    { id: 1, payload: { k: 'x' }, vector: { text: [7, 8, 9] } },
    { id: 2, payload: { k: 'y' }, vector: {} },
    { id: 3, payload: { k: 'x' }, vector: { text: [1, 2, 3] } },
  ]);
  assert.equal(await A.countWhere(c, { must: [{ has_vector: 'text' }, { key: 'k', match: { value: 'x' } }] }), 2);
  const scrolled = expectOk(await req('POST', `${s.url}/collections/${c}/points/scroll`, {
    filter: { must: [{ has_vector: 'text' }] }, with_vector: ['text'], with_payload: false,
  }));
  assert.deepEqual(scrolled.points.map(({ id, vector }) => ({ id, vector })),
    [{ id: 1, vector: { text: [7, 8, 9] } }, { id: 3, vector: { text: [1, 2, 3] } }]);
  expectUpdate(await A.write('POST', c, '/points/vectors/delete', { vector: ['text'], points: [3] }));
  assert.equal(await A.countWhere(c, { must: [{ has_vector: 'text' }] }), 1);
  // dimensions are checked against the new vector
  expectError(await A.send('PUT', c, '/points', { points: [{ id: 4, vector: { text: [1, 2] } }] }), 400,
    'Wrong input: Vector dimension error: expected dim: 3, got 2');
  // the index still answers
  assert.equal(expectOk(await req('GET', `${s.url}/collections/${c}`)).payload_schema.k.points, 3);
  assert.equal(await s.stop(), 0, s.stderr());
});

test('add a sparse vector; add beside an unnamed vector (it becomes "" in a map, as in Qdrant)', async () => {
  const s = await startServer();
  const A = vecApi(s.url);
  await A.create('u', { vectors: { size: 2, distance: 'Dot' } });
  await A.upsert('u', [{ id: 1, vector: [1, 2] }]);
  await A.add('u', 'sp', { sparse: { modifier: 'idf' } });
  await A.add('u', 'b', { dense: { size: 1, distance: 'Cosine', datatype: 'float32' } });
  const params = await A.params('u');
  assert.deepEqual(params.vectors, { '': { size: 2, distance: 'Dot' }, b: { size: 1, distance: 'Cosine', datatype: 'float32' } });
  assert.deepEqual(params.sparse_vectors, { sp: { modifier: 'idf' } });
  // a plain list still means the unnamed vector
  await A.upsert('u', [
    { id: 2, vector: [3, 4] },
    { id: 3, vector: { '': [5, 6], sp: { indices: [9, 1], values: [0.5, -1] }, b: [2] } },
  ]);
  expectUpdate(await A.write('PUT', 'u', '/points', { batch: { ids: [4], vectors: [[7, 8]] } }));
  // a point showing only the unnamed vector prints it as a list
  assert.deepEqual(await A.retrieve('u', [1, 2, 3, 4]), [
    { id: 1, payload: {}, vector: [1, 2] },
    { id: 2, payload: {}, vector: [3, 4] },
    { id: 3, payload: {}, vector: { '': [5, 6], b: [1], sp: { indices: [1, 9], values: [-1, 0.5] } } },
    { id: 4, payload: {}, vector: [7, 8] },
  ]);
  assert.deepEqual(await A.retrieve('u', [3], { with_vector: ['sp'] }), [
    { id: 3, payload: {}, vector: { sp: { indices: [1, 9], values: [-1, 0.5] } } },
  ]);
  assert.equal(await A.countWhere('u', { must: [{ has_vector: 'sp' }] }), 1);
  // through an alias too
  expectOk(await req('POST', `${s.url}/collections/aliases`, { actions: [{ create_alias: { collection_name: 'u', alias_name: 'ua' } }] }));
  await A.add('ua', 'sp2', { sparse: {} });
  assert.deepEqual((await A.params('u')).sparse_vectors, { sp: { modifier: 'idf' }, sp2: {} });
  assert.equal(await s.stop(), 0, s.stderr());
});

test('delete a vector: its data goes; a name added again starts empty', async () => {
  const s = await startServer();
  const A = vecApi(s.url);
  const c = 'del';
  await A.create(c, { vectors: { a: { size: 2, distance: 'Dot' }, b: { size: 1, distance: 'Dot' } }, sparse_vectors: { s: {} } });
  await A.upsert(c, [
    { id: 1, vector: { a: [1, 1], b: [5], s: { indices: [1], values: [1] } }, payload: { n: 1 } },
    { id: 2, vector: { b: [6] } },
  ]);
  await A.del(c, 'a');
  assert.deepEqual((await A.params(c)).vectors, { b: { size: 1, distance: 'Dot' } });
  // b moved to a's index: its data must still be b's
  assert.deepEqual(await A.retrieve(c, [1, 2]), [
    { id: 1, payload: { n: 1 }, vector: { b: [5], s: { indices: [1], values: [1] } } },
    { id: 2, payload: {}, vector: { b: [6] } },
  ]);
  expectError(await A.send('PUT', c, '/points', { points: [{ id: 3, vector: { a: [1, 1] } }] }), 400,
    'Wrong input: Not existing vector name error: a');
  expectError(await req('POST', `${s.url}/collections/${c}/points`, { ids: [1], with_vector: ['a'] }), 400,
    'Wrong input: Not existing vector name error: a');
  assert.equal(await A.countWhere(c, { must: [{ has_vector: 'a' }] }), 0);
  await A.del(c, 's');
  assert.equal((await A.params(c)).sparse_vectors, undefined);
  assert.deepEqual(await A.retrieve(c, [1]), [{ id: 1, payload: { n: 1 }, vector: { b: [5] } }]);
  // deleting a missing vector succeeds, as in Qdrant
  await A.del(c, 'a');
  await A.del(c, 'never', 'acknowledged', '');
  // added again: empty
  await A.add(c, 'a', { dense: { size: 2, distance: 'Dot' } });
  await A.add(c, 's', { sparse: {} });
  assert.deepEqual(await A.retrieve(c, [1, 2]), [
    { id: 1, payload: { n: 1 }, vector: { b: [5] } },
    { id: 2, payload: {}, vector: { b: [6] } },
  ]);
  assert.equal(await A.countWhere(c, { should: [{ has_vector: 'a' }, { has_vector: 's' }] }), 0);
  assert.equal(await s.stop(), 0, s.stderr());
  // and not after a restart either (the old data was in an older checkpoint)
  const s2 = await startServer({ storage: s.storage });
  assert.deepEqual(await vecApi(s2.url).retrieve(c, [1, 2]), [
    { id: 1, payload: { n: 1 }, vector: { b: [5] } },
    { id: 2, payload: {}, vector: { b: [6] } },
  ]);
  assert.equal(await s2.stop(), 0, s2.stderr());
});

test('errors: validation as at creation, conflicts, missing collection, bad bodies and names', async () => {
  const s = await startServer();
  const A = vecApi(s.url);
  const c = 'err';
  await A.create(c, { vectors: { a: { size: 2, distance: 'Dot' } }, sparse_vectors: { s: {} } });
  const before = await A.params(c);
  const cases = [
    [{ dense: { size: 0, distance: 'Dot' } }, 422, 'Validation error in JSON body: [dense.size: value 0 invalid, must be from 1 to 65536]'],
    [{ dense: { size: 65537, distance: 'Dot' } }, 422, 'Validation error in JSON body: [dense.size: value 65537 invalid, must be from 1 to 65536]'],
    [{ dense: { distance: 'Dot' } }, 400, 'Format error in JSON body: dense: missing field `size`'],
    [{ dense: { size: 3, distance: 'Nope' } }, 400, /^Format error in JSON body: dense\.distance: unknown variant `Nope`/],
    [{ dense: { size: 3, distance: 'Dot', datatype: 'float16' } }, 400, /^Bad request: dense\.datatype: datatype `float16` is not supported by Quiver yet/],
    [{ dense: { size: 3, distance: 'Dot', multivector_config: { comparator: 'max_sim' } } }, 400, 'Bad request: dense.multivector_config is not supported by Quiver yet'],
    [{ sparse: { modifier: 'bm25' } }, 400, 'Format error in JSON body: sparse.modifier: unknown variant, expected one of `none`, `idf`'],
    [{}, 400, 'Format error in JSON body: missing field `dense` or `sparse`'],
    [{ dense: 3 }, 400, /^Format error in JSON body: dense: invalid type: integer `3`/],
    // the same name with another space, or as the other kind
    [{ dense: { size: 3, distance: 'Dot' } }, 400, 'Wrong input: Vector `a` already exists with a different configuration', 'a'],
    [{ sparse: {} }, 400, 'Wrong input: Vector `a` already exists as a dense vector', 'a'],
    [{ dense: { size: 2, distance: 'Dot' } }, 400, 'Wrong input: Vector `s` already exists as a sparse vector', 's'],
    [{ sparse: { modifier: 'idf' } }, 400, 'Wrong input: Sparse vector `s` already exists with a different configuration', 's'],
  ];
  for (const [body, status, message, name = 'new'] of cases) {
    expectError(await A.addRaw(c, name, body), status, message);
  }
  expectError(await req('PUT', `${s.url}/collections/${c}/vectors/new`, undefined, { raw: '{"dense":' }), 400, /^Format error in JSON body: /);
  const long = 'v'.repeat(201);
  expectError(await A.addRaw(c, long, { sparse: {} }), 422, 'Validation error in path parameters: [vector_name: vector name must be at most 200 bytes long]');
  expectError(await A.delRaw(c, long), 422, 'Validation error in path parameters: [vector_name: vector name must be at most 200 bytes long]');
  expectError(await A.addRaw(c, 'a:b', { sparse: {} }), 422, 'Validation error in path parameters: [vector_name: vector name cannot contain ":" char]');
  expectError(await A.addRaw('missing', 'x', { sparse: {} }), 404, 'Not found: Collection `missing` doesn\'t exist!');
  expectError(await A.delRaw('missing', 'x'), 404, 'Not found: Collection `missing` doesn\'t exist!');
  expectError(await A.addRaw(c, 'x', { sparse: {} }, 'wait=maybe'), 400, /^Deserialize error in query parameters: wait/);
  assert.deepEqual(await A.params(c), before, 'no failed request changed anything');
  // the same vector again is a no-op that succeeds
  await A.add(c, 'a', { dense: { size: 2, distance: 'Dot' } });
  await A.add(c, 's', { sparse: {} });
  assert.deepEqual(await A.params(c), before);
  assert.equal(await s.stop(), 0, s.stderr());
});

test('official client: createVectorName / deleteVectorName', async () => {
  const s = await startServer();
  const q = client(s.url, { checkCompatibility: false });
  await q.createCollection('cl', { vectors: { a: { size: 2, distance: 'Cosine' } } });
  const r = await q.createVectorName('cl', 'img', { dense: { size: 4, distance: 'Dot' } });
  assert.equal(r.status, 'completed');
  assert.equal(typeof r.operation_id, 'number');
  await q.createVectorName('cl', 'bm', { sparse: { modifier: 'idf' } }, { wait: false });
  let info = await q.getCollection('cl');
  assert.deepEqual(info.config.params.vectors.img, { size: 4, distance: 'Dot' });
  assert.deepEqual(info.config.params.sparse_vectors, { bm: { modifier: 'idf' } });
  await q.upsert('cl', { points: [{ id: 1, vector: { img: [1, 2, 3, 4], bm: { indices: [3], values: [1] } } }] });
  const [p] = await q.retrieve('cl', { ids: [1], with_vector: true });
  assert.deepEqual(p.vector, { img: [1, 2, 3, 4], bm: { indices: [3], values: [1] } });
  await q.deleteVectorName('cl', 'img');
  info = await q.getCollection('cl');
  assert.deepEqual(Object.keys(info.config.params.vectors), ['a']);
  const [p2] = await q.retrieve('cl', { ids: [1], with_vector: true });
  assert.deepEqual(p2.vector, { bm: { indices: [3], values: [1] } });
  await assert.rejects(q.createVectorName('cl', 'bad', { dense: { size: 0, distance: 'Dot' } }), (e) => e.status === 422);
  await assert.rejects(q.deleteVectorName('nope', 'x'), (e) => e.status === 404);
  await clientIdle();
  assert.equal(await s.stop(), 0, s.stderr());
});

test('restart and kill -9 right after an acknowledged add or delete: the change is there, with the data', async () => {
  const s1 = await startServer();
  const storage = s1.storage;
  let A = vecApi(s1.url);
  const c = 'dur';
  await A.create(c, NAMED);
  await A.upsert(c, [{ id: 1, vector: { a: [1, 2] }, payload: { p: 1 } }]);
  await A.add(c, 't', { dense: { size: 2, distance: 'Euclid' } });
  await A.upsert(c, [{ id: 2, vector: { a: [3, 4], t: [5, 6] } }]);
  await A.add(c, 's', { sparse: {} }, 'acknowledged', 'wait=false');
  await s1.kill9();

  const s2 = await startServer({ storage });
  A = vecApi(s2.url);
  const want = { a: { size: 2, distance: 'Dot' }, t: { size: 2, distance: 'Euclid' } };
  assert.deepEqual((await A.params(c)).vectors, want);
  assert.deepEqual((await A.params(c)).sparse_vectors, { s: {} });
  assert.deepEqual(await A.retrieve(c, [1, 2]), [
    { id: 1, payload: { p: 1 }, vector: { a: [1, 2] } },
    { id: 2, payload: {}, vector: { a: [3, 4], t: [5, 6] } },
  ]);
  // writes after the restart use the new layout, and are logged in it
  await A.upsert(c, [{ id: 3, vector: { t: [7, 8], s: { indices: [2], values: [2] } } }]);
  await A.del(c, 'a');
  await s2.kill9();

  const s3 = await startServer({ storage });
  A = vecApi(s3.url);
  assert.deepEqual((await A.params(c)).vectors, { t: { size: 2, distance: 'Euclid' } });
  assert.deepEqual(await A.retrieve(c, [1, 2, 3]), [
    { id: 1, payload: { p: 1 }, vector: {} },
    { id: 2, payload: {}, vector: { t: [5, 6] } },
    { id: 3, payload: {}, vector: { s: { indices: [2], values: [2] }, t: [7, 8] } },
  ]);
  // writes after the delete, then a clean stop and another kill
  await A.upsert(c, [{ id: 4, vector: { t: [9, 9] } }]);
  assert.equal(await s3.stop(), 0, s3.stderr());
  const s4 = await startServer({ storage });
  A = vecApi(s4.url);
  assert.deepEqual((await A.retrieve(c, [4]))[0].vector, { t: [9, 9] });
  assert.equal(await A.count(c), 4);
  assert.equal(await s4.stop(), 0, s4.stderr());
});

test('writes racing with vector changes: every completed write survives kill -9, in the layout it was made in', async () => {
  const s1 = await startServer();
  const storage = s1.storage;
  const A = vecApi(s1.url);
  const c = 'race';
  await A.create(c, { vectors: { a: { size: 2, distance: 'Dot' }, b: { size: 3, distance: 'Dot' } } });
  const N = 240;
  const done = new Set();
  let next = 0;
  // each write sets a (index 0) and b (index 1); deleting a moves b to index 0,
  // so a record replayed under the wrong layout would show up at once
  async function lane() {
    while (next < N) {
      const i = next++;
      const r = await A.send('PUT', c, '/points', { points: [{ id: i, vector: { b: [i, 1, 2] }, payload: { i } }] });
      if (r.status === 200) done.add(i);
      else expectError(r, 400, 'Wrong input: Not existing vector name error: b'); // never: b stays
    }
  }
  async function ddl() {
    for (let k = 0; k < 4; k++) {
      await A.del(c, 'a');
      await A.add(c, 'x', { dense: { size: 1, distance: 'Dot' } });
      await A.add(c, 'a', { dense: { size: 2, distance: 'Dot' } });
      await A.del(c, 'x');
    }
  }
  await Promise.all([lane(), lane(), lane(), ddl()]);
  assert.equal(done.size, N);
  await s1.kill9();
  const s2 = await startServer({ storage });
  const got = await vecApi(s2.url).byId(c, [...Array(N).keys()]);
  assert.equal(got.size, N);
  for (let i = 0; i < N; i++) assert.deepEqual(got.get(String(i)), { id: i, payload: { i }, vector: { b: [i, 1, 2] } });
  assert.deepEqual((await vecApi(s2.url).params(c)).vectors, { b: { size: 3, distance: 'Dot' }, a: { size: 2, distance: 'Dot' } });
  assert.equal(await s2.stop(), 0, s2.stderr());
});
