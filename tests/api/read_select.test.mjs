// Scroll's with_payload and with_vector selectors (whole, none, lists of
// keys, {"include"}, {"exclude"}, nested paths, named dense and sparse
// vectors), and the request's other members and their errors: limit, offset,
// missing collections, an empty collection.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, req, expectOk, expectError } from './helpers.mjs';
import { reader } from './read_lib.mjs';

const P1 = {
  city: 'Berlin',
  geo: { lon: 13.4, lat: 52.5, alt: { m: 34, ft: 112 } },
  tags: ['a', 'b'],
  people: [{ name: 'ann', age: 30 }, { name: 'bob', age: 12 }],
  n: 5,
  'odd key': { 'x.y': 1 },
};
const P2 = { city: 'Paris', geo: null, people: 'nobody', n: 2.5 };
const P3 = {};

let srv, R;
before(async () => {
  srv = await startServer();
  R = reader(srv.url);
  expectOk(await req('PUT', `${srv.url}/collections/sel`, { vectors: { size: 3, distance: 'Dot' } }));
  await R.upsertAll('sel', [
    { id: 1, vector: [1, 2, 3], payload: P1 },
    { id: 2, vector: [0.5, 0.25, -1], payload: P2 },
    { id: 3, vector: [0, 0, 0.125] },
  ]);
  expectOk(await req('PUT', `${srv.url}/collections/named`, {
    vectors: { a: { size: 2, distance: 'Dot' }, b: { size: 3, distance: 'Dot' } },
    sparse_vectors: { s: {} },
  }));
  await R.upsertAll('named', [
    { id: 1, vector: { a: [1, 2], b: [1, 2, 3], s: { indices: [3, 1], values: [0.5, 0.25] } }, payload: { k: 1 } },
    { id: 2, vector: { a: [3, 4] } },
    { id: 3, vector: {} },
  ]);
});
after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, srv.stderr());
});

/** The payloads (by id) scroll gives with this with_payload. */
async function payloads(with_payload) {
  const r = await R.scroll('sel', with_payload === undefined ? {} : { with_payload });
  assert.deepEqual(r.points.map((p) => p.id), [1, 2, 3]);
  assert.equal(r.next_page_offset, null);
  for (const p of r.points) assert.equal(p.vector, null, 'with_vector defaults to false');
  return r.points.map((p) => p.payload);
}

test('with_payload: default, true, false, lists of keys, include and exclude', async () => {
  assert.deepEqual(await payloads(undefined), [P1, P2, P3], 'the default is the whole payload');
  assert.deepEqual(await payloads(true), [P1, P2, P3]);
  assert.deepEqual(await payloads(false), [null, null, null]);
  assert.deepEqual(await payloads(['city']), [{ city: 'Berlin' }, { city: 'Paris' }, {}]);
  assert.deepEqual(await payloads(['city', 'n', 'missing']), [{ city: 'Berlin', n: 5 }, { city: 'Paris', n: 2.5 }, {}]);
  assert.deepEqual(await payloads({ include: ['city'] }), [{ city: 'Berlin' }, { city: 'Paris' }, {}]);
  assert.deepEqual(await payloads({ exclude: ['city'] }), [
    (({ city, ...rest }) => rest)(P1),
    (({ city, ...rest }) => rest)(P2),
    {},
  ]);
  assert.deepEqual(await payloads({ exclude: ['city', 'geo', 'people', 'tags', 'n', '"odd key"'] }), [{}, {}, {}]);
});

test('with_payload: nested paths through objects and arrays', async () => {
  // a nested key: only that branch of the object; a scalar (here null) at the parent is kept whole
  assert.deepEqual(await payloads(['geo.lat']), [{ geo: { lat: 52.5 } }, { geo: null }, {}]);
  assert.deepEqual(await payloads(['geo.alt.m', 'n']), [{ geo: { alt: { m: 34 } }, n: 5 }, { geo: null, n: 2.5 }, {}]);
  assert.deepEqual(await payloads({ include: ['geo.alt'] }), [{ geo: { alt: { m: 34, ft: 112 } } }, { geo: null }, {}]);
  // through an array: "people[].name"; a non-array value at people is kept whole
  assert.deepEqual(await payloads(['people[].name']), [
    { people: [{ name: 'ann' }, { name: 'bob' }] },
    { people: 'nobody' },
    {},
  ]);
  // "people.name" does not go into array elements (Qdrant names them "[]"), so the array comes back empty
  assert.deepEqual(await payloads(['people.name']), [{ people: [] }, { people: 'nobody' }, {}]);
  // a quoted key holding a dot
  assert.deepEqual(await payloads(['"odd key"']), [{ 'odd key': { 'x.y': 1 } }, {}, {}]);
  assert.deepEqual(await payloads(['"odd key"."x.y"']), [{ 'odd key': { 'x.y': 1 } }, {}, {}]);

  // exclude: the nested member only
  assert.deepEqual((await payloads({ exclude: ['geo.alt.ft', 'geo.lon'] }))[0].geo, { lat: 52.5, alt: { m: 34 } });
  assert.deepEqual((await payloads({ exclude: ['people[].age'] }))[0].people, [{ name: 'ann' }, { name: 'bob' }]);
  const ex = await payloads({ exclude: ['geo.lat', 'people[].age', 'tags'] });
  assert.deepEqual(ex[0], { city: 'Berlin', geo: { lon: 13.4, alt: { m: 34, ft: 112 } }, people: [{ name: 'ann' }, { name: 'bob' }], n: 5, 'odd key': { 'x.y': 1 } });
  assert.deepEqual(ex[1], P2, 'nothing to exclude in point 2 (geo is null, people a string)');
  assert.deepEqual(ex[2], {});
});

test('with_payload: bad values are 400 format errors', async () => {
  for (const bad of [5, 'city', [5], { include: 'city' }, { include: [1] }, { other: ['city'] }]) {
    expectError(await R.scrollRes('sel', { with_payload: bad }), 400, /^Format error in JSON body: /);
  }
});

// Qdrant reads key paths while it deserializes the body (JsonPath's serde
// impl), so a bad path is a "Format error in JSON body" like any other shape
// error; the filter's keys already are.
test('an invalid key path in with_payload or in facet\'s key is a 400 format error', async () => {
  for (const bad of [['a..b'], [''], ['odd key'], { include: ['a..b'] }, { exclude: ['[0]'] }]) {
    expectError(await R.scrollRes('sel', { with_payload: bad }), 400, /^Format error in JSON body: /);
  }
  expectError(await R.facetRes('sel', { key: 'a..b' }), 400, /^Format error in JSON body: .*Invalid json path: 'a\.\.b'/);
  expectError(await R.scrollRes('sel', { filter: { must: [{ key: 'a..b', match: { value: 1 } }] } }), 400,
    /^Format error in JSON body: .*Invalid json path: 'a\.\.b'/);
});

test('with_vector: default, true, false, an unnamed vector', async () => {
  let r = await R.scroll('sel', { with_vector: true, with_payload: false });
  assert.deepEqual(r.points, [
    { id: 1, payload: null, vector: [1, 2, 3] },
    { id: 2, payload: null, vector: [0.5, 0.25, -1] },
    { id: 3, payload: null, vector: [0, 0, 0.125] },
  ]);
  r = await R.scroll('sel', { with_vector: false, limit: 1 });
  assert.deepEqual(r, { points: [{ id: 1, payload: P1, vector: null }], next_page_offset: 2 });
  r = await R.scroll('sel', { limit: 1, offset: 3 });
  assert.deepEqual(r, { points: [{ id: 3, payload: {}, vector: null }], next_page_offset: null });
});

test('with_vector: named dense and sparse vectors, all or a subset', async () => {
  const S = { indices: [1, 3], values: [0.25, 0.5] };  // stored sorted by index, as Qdrant stores it
  const vectors = async (with_vector) => {
    const r = await R.scroll('named', { with_vector });
    assert.deepEqual(r.points.map((p) => p.id), [1, 2, 3]);
    assert.deepEqual(r.points.map((p) => p.payload), [{ k: 1 }, {}, {}]);
    return r.points.map((p) => p.vector);
  };
  assert.deepEqual(await vectors(true), [{ a: [1, 2], b: [1, 2, 3], s: S }, { a: [3, 4] }, {}]);
  assert.deepEqual(await vectors(false), [null, null, null]);
  assert.deepEqual(await vectors(['a']), [{ a: [1, 2] }, { a: [3, 4] }, {}]);
  assert.deepEqual(await vectors(['b', 's']), [{ b: [1, 2, 3], s: S }, {}, {}]);
  assert.deepEqual(await vectors(['s']), [{ s: S }, {}, {}]);
  assert.deepEqual(await vectors(['a', 'b', 's']), await vectors(true));
  // with a filter and a payload selector at the same time
  const r = await R.scroll('named', { with_vector: ['b'], with_payload: ['k'], filter: { must: { has_vector: 'b' } } });
  assert.deepEqual(r, { points: [{ id: 1, payload: { k: 1 }, vector: { b: [1, 2, 3] } }], next_page_offset: null });

  expectError(await R.scrollRes('named', { with_vector: ['nope'] }), 400, 'Wrong input: Not existing vector name error: nope');
  expectError(await R.scrollRes('named', { with_vector: ['a', 'nope'] }), 400, 'Wrong input: Not existing vector name error: nope');
  for (const bad of [1, 'a', [1], { a: true }]) {
    expectError(await R.scrollRes('named', { with_vector: bad }), 400, /^Format error in JSON body: /);
  }
});

test('limit, offset and the other errors', async () => {
  // limit: at least 1
  expectError(await R.scrollRes('sel', { limit: 0 }), 422, 'Validation error in JSON body: [limit: value 0 invalid, must be 1 or larger]');
  for (const bad of [-1, 1.5, '10', true, [], {}]) {
    expectError(await R.scrollRes('sel', { limit: bad }), 400, /^Format error in JSON body: /);
  }
  // a limit far above the number of points is fine
  const all = await R.scroll('sel', { limit: 1_000_000, with_payload: false });
  assert.deepEqual(all.points.map((p) => p.id), [1, 2, 3]);
  assert.equal(all.next_page_offset, null);
  // limit 1, offsets inclusive
  assert.deepEqual(await R.scroll('sel', { limit: 1, offset: 2, with_payload: false }), {
    points: [{ id: 2, payload: null, vector: null }],
    next_page_offset: 3,
  });
  assert.deepEqual(await R.scroll('sel', { limit: 2, offset: 0, with_payload: false }), {
    points: [{ id: 1, payload: null, vector: null }, { id: 2, payload: null, vector: null }],
    next_page_offset: 3,
  });
  // an offset past every id, and a UUID offset (UUIDs come after all integers)
  for (const offset of [4, 9_007_199_254_740_991, '00000000-0000-0000-0000-000000000000', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF']) {
    assert.deepEqual(await R.scroll('sel', { offset }), { points: [], next_page_offset: null }, `offset ${offset}`);
  }
  // offset: an unsigned integer or a UUID
  for (const bad of [-1, 1.5, 'abc', '1', true, { id: 1 }, [1]]) {
    expectError(await R.scrollRes('sel', { offset: bad }), 400, /^Format error in JSON body: /);
  }
  // a body that is not JSON, or not an object
  expectError(await req('POST', `${srv.url}/collections/sel/points/scroll`, undefined, { raw: '{"limit": 1' }), 400, /^Format error in JSON body: /);
  expectError(await req('POST', `${srv.url}/collections/sel/points/scroll`, undefined, { raw: '[]' }), 400, /^Format error in JSON body: /);
  // filter: not an object
  expectError(await R.scrollRes('sel', { filter: [] }), 400, /^Format error in JSON body: /);
  expectError(await R.scrollRes('sel', { filter: 'x' }), 400, /^Format error in JSON body: /);

  // a missing collection: 404 for scroll, count and facet
  const missing = "Not found: Collection `nope` doesn't exist!";
  expectError(await R.scrollRes('nope', {}), 404, missing);
  expectError(await R.countRes('nope', {}), 404, missing);
  expectError(await R.facetRes('nope', { key: 'city' }), 404, missing);

  // an empty collection
  expectOk(await req('PUT', `${srv.url}/collections/empty`, { vectors: { size: 2, distance: 'Dot' } }));
  assert.deepEqual(await R.scroll('empty', {}), { points: [], next_page_offset: null });
  assert.deepEqual(await R.scroll('empty', { limit: 1, offset: 5, filter: { must: [{ key: 'x', match: { value: 1 } }] } }), { points: [], next_page_offset: null });
  assert.equal(await R.count('empty', {}), 0);
  assert.deepEqual(await R.facet('empty', { key: 'x' }), []);
});
