// The filter language through the API: every condition type with matching
// and non-matching cases and its corners (arrays match when one element
// does; a missing key fails match and range but is empty; null and is_null;
// except never matches null; should: [] matches nothing; key paths a.b,
// a[].b, a[0]), the clauses and their nesting, and the errors. Each case is
// checked with scroll (the ids, in order), with count, and through
// must_not (the complement).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, req, expectOk, expectError } from './helpers.mjs';
import { reader, cmpId } from './read_lib.mjs';

const C = 'f';
const U6 = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';

// Point 4 is sent as text so that 4.0 and 1000000.5 stay floats.
const POINTS_JSON = `{"points": [
 {"id": 1, "vector": {"a": [1, 0], "b": [0, 1]}, "payload": {
   "city": "Berlin", "country": "Germany", "pop": 3645000, "tags": ["capital", "big"],
   "loc": {"lon": 13.405, "lat": 52.52}, "founded": "1237-01-01T00:00:00Z", "rank": 1, "flag": true,
   "meta": {"code": "DE-BE", "score": 9.5}, "people": [{"name": "ann", "age": 30}, {"name": "bob", "age": 12}],
   "note": null}},
 {"id": 2, "vector": {"a": [2, 0]}, "payload": {
   "city": "Paris", "country": "France", "pop": 2161000, "tags": ["capital"],
   "loc": {"lon": 2.3522, "lat": 48.8566}, "founded": "1860-06-15 12:30:00", "rank": 2, "flag": false,
   "meta": {"code": "FR-75", "score": 8}, "people": [{"name": "bob", "age": 40}], "note": "x"}},
 {"id": 3, "vector": {"b": [3, 0]}, "payload": {
   "city": "Potsdam", "country": "Germany", "pop": 183000, "tags": [],
   "loc": {"lon": 13.0645, "lat": 52.3906}, "founded": "2020-12-31T23:30:00-01:00", "rank": "3", "flag": "true",
   "meta": {"code": null}, "people": [], "note": [null]}},
 {"id": 4, "vector": {}, "payload": {
   "city": "berlin", "country": ["Germany", "France"], "pop": 1000000.5, "tags": null,
   "loc": [{"lon": -73.98, "lat": 40.75}, {"lon": 151.2, "lat": -33.86}], "founded": "not a date", "rank": 4.0,
   "flag": null, "people": {"name": "ann", "age": 5}, "note": []}},
 {"id": 5, "vector": {}, "payload": {}},
 {"id": "${U6.toUpperCase()}", "vector": {"a": [0, 6]}, "payload": {
   "city": "Tokyo", "country": "Japan", "pop": 13960000, "tags": ["capital", "big", "big"],
   "loc": {"lon": 139.69, "lat": 35.69}, "founded": "1457-01-01", "rank": [1, 2], "flag": [true, false],
   "meta": {"code": "JP-13", "score": -1}, "people": [{"name": "cid", "age": 18}, {"name": "ann", "age": 17}],
   "note": "y"}},
 {"id": 7, "vector": {"b": [7, 7]}, "payload": {"city": "Fiji Suva", "loc": {"lon": 178.44, "lat": -18.14}, "pop": 93970, "note": 5}}
]}`;
const ALL = [1, 2, 3, 4, 5, 7, U6];

let srv, R;
before(async () => {
  srv = await startServer();
  R = reader(srv.url);
  expectOk(await req('PUT', `${srv.url}/collections/${C}`, {
    vectors: { a: { size: 2, distance: 'Dot' }, b: { size: 2, distance: 'Dot' } },
  }));
  const res = expectOk(await req('PUT', `${srv.url}/collections/${C}/points?wait=true`, undefined, { raw: POINTS_JSON }));
  assert.equal(res.status, 'completed');
  assert.equal(await R.count(C), 7);
});
after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, srv.stderr());
});

/** The filter selects exactly `ids` (scroll and count), and must_not of it selects the rest. */
async function check(filter, ids) {
  const what = JSON.stringify(filter);
  const expected = [...ids].sort(cmpId);
  const r = await R.scroll(C, { filter, limit: 100, with_payload: false });
  assert.deepEqual(r.points.map((p) => p.id), expected, `scroll ${what}`);
  assert.equal(r.next_page_offset, null);
  assert.equal(await R.count(C, { filter }), expected.length, `count ${what}`);
  const rest = ALL.filter((id) => !expected.includes(id)).sort(cmpId);
  const neg = await R.scroll(C, { filter: { must_not: [filter] }, limit: 100, with_payload: false });
  assert.deepEqual(neg.points.map((p) => p.id), rest, `must_not ${what}`);
}
/** One field condition under must. */
const F = (cond) => ({ must: [cond] });

test('match value: strings, integers, booleans; arrays; missing keys; key paths', async () => {
  await check(F({ key: 'city', match: { value: 'Berlin' } }), [1]); // case-sensitive: not "berlin"
  await check(F({ key: 'city', match: { value: 'berlin' } }), [4]);
  await check(F({ key: 'city', match: { value: 'nowhere' } }), []);
  await check(F({ key: 'country', match: { value: 'Germany' } }), [1, 3, 4]); // 4: one element of an array
  await check(F({ key: 'rank', match: { value: 1 } }), [1, U6]); // not "3", not 4.0
  await check(F({ key: 'rank', match: { value: 3 } }), []); // the string "3" is no integer
  await check(F({ key: 'rank', match: { value: 4 } }), []); // the float 4.0 is no integer
  await check(F({ key: 'flag', match: { value: true } }), [1, U6]); // not the string "true"
  await check(F({ key: 'flag', match: { value: false } }), [2, U6]);
  await check(F({ key: 'pop', match: { value: 183000 } }), [3]);
  await check(F({ key: 'missing', match: { value: 'x' } }), []);
  // key paths
  await check(F({ key: 'meta.code', match: { value: 'DE-BE' } }), [1]);
  await check(F({ key: 'people[].name', match: { value: 'ann' } }), [1, U6]); // 4's people is an object
  await check(F({ key: 'people.name', match: { value: 'ann' } }), [4]); // a.b does not go into arrays
  await check(F({ key: 'people[0].name', match: { value: 'bob' } }), [2]);
  await check(F({ key: 'people[1].name', match: { value: 'bob' } }), [1]);
  await check(F({ key: 'people[].age', match: { value: 17 } }), [U6]);
  await check(F({ key: 'country[1]', match: { value: 'France' } }), [4]);
  await check(F({ key: 'tags[]', match: { value: 'big' } }), [1, U6]);
});

test('match any and except', async () => {
  await check(F({ key: 'city', match: { any: ['Berlin', 'Paris', 'Atlantis'] } }), [1, 2]);
  await check(F({ key: 'rank', match: { any: [1, 4] } }), [1, U6]);
  await check(F({ key: 'country', match: { any: ['France'] } }), [2, 4]);
  await check(F({ key: 'country', match: { any: [] } }), []);
  await check(F({ key: 'pop', match: { any: ['183000'] } }), []); // a string list never matches numbers
  // except: some value (or array element) not in the list; never null; never a missing key
  await check(F({ key: 'country', match: { except: ['Germany'] } }), [2, 4, U6]);
  await check(F({ key: 'country', match: { except: ['Germany', 'France', 'Japan'] } }), []);
  await check(F({ key: 'note', match: { except: ['x'] } }), [7, U6]); // 7's note is 5: another type passes
  await check(F({ key: 'note', match: { except: [] } }), [2, 7, U6]); // every non-null value
  await check(F({ key: 'rank', match: { except: [1, 2] } }), [3, 4]); // "3" and 4.0 are not integers of the list
});

test('match text, text_any, phrase, prefix (no full-text index: substring, case-sensitive)', async () => {
  await check(F({ key: 'city', match: { text: 'erl' } }), [1, 4]);
  await check(F({ key: 'city', match: { text: 'Erl' } }), []);
  await check(F({ key: 'city', match: { phrase: 'Fiji Su' } }), [7]);
  await check(F({ key: 'city', match: { phrase: 'Suva Fiji' } }), []);
  await check(F({ key: 'city', match: { text_any: 'Tok Pot zzz' } }), [3, U6]);
  await check(F({ key: 'city', match: { text_any: 'zzz' } }), []);
  await check(F({ key: 'city', match: { prefix: 'Ber' } }), [1]);
  await check(F({ key: 'city', match: { prefix: 'ber' } }), [4]);
  await check(F({ key: 'tags', match: { prefix: 'cap' } }), [1, 2, U6]); // array elements
  await check(F({ key: 'pop', match: { text: '3' } }), []); // numbers are not text
});

test('range on numbers; datetime ranges', async () => {
  await check(F({ key: 'pop', range: { gte: 2000000 } }), [1, 2, U6]);
  await check(F({ key: 'pop', range: { lt: 100000 } }), [7]);
  await check(F({ key: 'pop', range: { gt: 1000000, lte: 2161000 } }), [2, 4]); // 1000000.5
  await check(F({ key: 'pop', range: { gt: 1000000.5, lt: 2161000 } }), []);
  await check(F({ key: 'pop', range: {} }), [1, 2, 3, 4, 7, U6]); // no bound: any number
  await check(F({ key: 'rank', range: { gte: 2 } }), [2, 4, U6]); // "3" is a string: no; [1, 2] has 2
  await check(F({ key: 'meta.score', range: { lt: 0 } }), [U6]);
  await check(F({ key: 'missing', range: { gte: 0 } }), []);
  // datetimes: RFC 3339 and the lax forms, compared in UTC
  await check(F({ key: 'founded', range: { gte: '1800-01-01T00:00:00Z' } }), [2, 3]);
  await check(F({ key: 'founded', range: { gte: '2020-01-01T00:00:00Z', lt: '2021-01-01T00:00:00Z' } }), []); // 3 is 00:30 UTC on 2021-01-01
  await check(F({ key: 'founded', range: { gte: '2021-01-01T00:00:00Z', lt: '2021-01-01T01:00:00Z' } }), [3]);
  await check(F({ key: 'founded', range: { lte: '1237-01-01' } }), [1]);
  await check(F({ key: 'founded', range: { gt: '1400-01-01T00:00:00+02:00', lt: '1500-01-01' } }), [U6]);
  await check(F({ key: 'founded', range: { gte: '1860-06-15T12:30:00Z', lte: '1860-06-15T12:30:00Z' } }), [2]);
});

test('geo_bounding_box, geo_radius, geo_polygon', async () => {
  const box = (tl, br) => F({ key: 'loc', geo_bounding_box: { top_left: tl, bottom_right: br } });
  await check(box({ lon: 13, lat: 53 }, { lon: 14, lat: 52 }), [1, 3]);
  await check(box({ lon: 13.1, lat: 53 }, { lon: 14, lat: 52 }), [1]);
  await check(box({ lon: -75, lat: 41 }, { lon: -73, lat: 40 }), [4]); // one of 4's two locations
  await check(box({ lon: 170, lat: 0 }, { lon: -170, lat: -30 }), [7]); // across the antimeridian
  await check(box({ lon: 0, lat: 1 }, { lon: 1, lat: 0 }), []);

  const circle = (lon, lat, radius) => F({ key: 'loc', geo_radius: { center: { lon, lat }, radius } });
  await check(circle(13.405, 52.52, 10000), [1]);
  await check(circle(13.405, 52.52, 30000), [1, 3]); // Potsdam is ~27 km away
  await check(circle(13.405, 52.52, 1), [1]);
  await check(circle(151.2, -33.86, 1000), [4]);
  await check(circle(0, 0, 1000), []);

  const ring = (pts) => ({ points: pts.map(([lon, lat]) => ({ lon, lat })) });
  const square = ring([[12.5, 52], [14, 52], [14, 53], [12.5, 53], [12.5, 52]]);
  const hole = ring([[12.9, 52.3], [13.2, 52.3], [13.2, 52.5], [12.9, 52.5], [12.9, 52.3]]);
  await check(F({ key: 'loc', geo_polygon: { exterior: square } }), [1, 3]);
  await check(F({ key: 'loc', geo_polygon: { exterior: square, interiors: [hole] } }), [1]);
  await check(F({ key: 'loc', geo_polygon: { exterior: ring([[0, 0], [1, 0], [1, 1], [0, 0]]) } }), []);
});

test('values_count, is_empty, is_null', async () => {
  await check(F({ key: 'tags', values_count: { gte: 2 } }), [1, U6]);
  await check(F({ key: 'tags', values_count: { lt: 1 } }), [3, 4, 5, 7]); // [] and null; a missing key counts 0 (Qdrant 1.19)
  await check(F({ key: 'tags', values_count: { gt: 2 } }), [U6]); // repeats count
  await check(F({ key: 'tags', values_count: { gte: 1 } }), [1, 2, U6]); // a missing key fails gte 1
  await check(F({ key: 'city', values_count: { lte: 1 } }), [1, 2, 3, 4, 5, 7, U6]); // 5 has no city: 0

  await check(F({ is_empty: { key: 'tags' } }), [3, 4, 5, 7]); // [], null, missing, missing
  await check(F({ is_empty: { key: 'note' } }), [1, 4, 5]); // null, [], missing; [null] is not empty
  await check({ must_not: [{ is_empty: { key: 'tags' } }] }, [1, 2, U6]);
  await check(F({ is_empty: { key: 'people[].name' } }), [3, 4, 5, 7]);
  await check(F({ key: 'tags', is_empty: true }), [3, 4, 5, 7]);
  await check(F({ key: 'tags', is_empty: false }), [1, 2, U6]);

  await check(F({ is_null: { key: 'note' } }), [1]); // [null] is not null, a missing key is not null
  await check(F({ is_null: { key: 'flag' } }), [4]);
  await check(F({ is_null: { key: 'meta.code' } }), [3]);
  await check(F({ is_null: { key: 'missing' } }), []);
  await check(F({ key: 'flag', is_null: true }), [4]);
});

test('has_id and has_vector', async () => {
  await check(F({ has_id: [1, 3, U6.toUpperCase()] }), [1, 3, U6]);
  await check(F({ has_id: [999, '00000000-0000-0000-0000-000000000000'] }), []);
  await check(F({ has_id: [] }), []);
  await check(F({ has_vector: 'a' }), [1, 2, U6]);
  await check(F({ has_vector: 'b' }), [1, 3, 7]);
});

test('nested: the whole filter on one array element', async () => {
  const nested = (filter, key = 'people') => F({ nested: { key, filter } });
  const bobChild = { must: [{ key: 'name', match: { value: 'bob' } }, { key: 'age', range: { lt: 18 } }] };
  await check(nested(bobChild), [1]);
  // the same two conditions on people[] separately: any element for each
  await check({ must: [{ key: 'people[].name', match: { value: 'bob' } }, { key: 'people[].age', range: { lt: 18 } }] }, [1]);
  const cidChild = { must: [{ key: 'name', match: { value: 'cid' } }, { key: 'age', range: { lt: 18 } }] };
  await check(nested(cidChild), []); // cid is 18
  await check({ must: [{ key: 'people[].name', match: { value: 'cid' } }, { key: 'people[].age', range: { lt: 18 } }] }, [U6]); // across elements
  await check(nested({ must: [{ key: 'name', match: { value: 'ann' } }] }), [1, U6]); // 4's people is no array
  await check(nested({ must: [{ key: 'name', match: { value: 'ann' } }] }, 'people[]'), [1, U6]);
  await check(nested({ must_not: [{ key: 'age', range: { gte: 18 } }] }), [1, U6]);
  await check(nested({ should: [] }), []);
});

test('clauses: must, must_not, should, min_should, nesting, one condition without a list', async () => {
  const de = { key: 'country', match: { value: 'Germany' } };
  await check({ must: [de, { key: 'pop', range: { gt: 1000000 } }] }, [1, 4]);
  await check({ must: [de, { key: 'pop', range: { gt: 2000000 } }] }, [1]);
  await check({ should: [{ key: 'city', match: { value: 'Paris' } }, { key: 'city', match: { value: 'Tokyo' } }] }, [2, U6]);
  await check({ should: [] }, []);
  await check({ must: [] }, ALL);
  await check({ must_not: [] }, ALL);
  await check({}, ALL);
  await check({ must: [{}] }, ALL); // an empty object is an empty filter, as a condition too
  await check({ should: [{}] }, ALL);
  await check({ must_not: [{}] }, []);
  await check({ must_not: [de] }, [2, 5, 7, U6]); // 4 has Germany in its list
  await check({ must: de }, [1, 3, 4]);
  await check({ must_not: de, should: { key: 'city', match: { value: 'Paris' } } }, [2]);
  const min = (n) => ({
    min_should: {
      conditions: [de, { key: 'tags', match: { any: ['capital'] } }, { key: 'pop', range: { gt: 1000000 } }],
      min_count: n,
    },
  });
  await check(min(1), [1, 2, 3, 4, U6]);
  await check(min(2), [1, 2, 4, U6]);
  await check(min(3), [1]);
  await check(min(5), []);
  await check({ ...min(2), must_not: [{ has_id: [2] }], should: [{ key: 'flag', match: { value: true } }, { has_id: [4] }] }, [1, 4, U6]);
  // filters as conditions
  await check({ must: [{ should: [{ key: 'city', match: { value: 'Berlin' } }, { key: 'city', match: { value: 'Paris' } }] }, { must_not: [{ key: 'pop', range: { lt: 3000000 } }] }] }, [1]);
  await check({ should: [{ has_id: [5] }, { is_null: { key: 'note' } }, { must: [{ must: [{ key: 'note', match: { value: 5 } }] }] }] }, [1, 5, 7]);
  await check({ must_not: [{ must_not: [de] }] }, [1, 3, 4]);
  // a field condition with several tests: any of them passes
  await check(F({ key: 'pop', match: { value: 93970 }, range: { gt: 10000000 } }), [7, U6]);
});

test('errors: a condition without a test, unknown members, bad values', async () => {
  for (const endpoint of ['scrollRes', 'countRes']) {
    const send = (filter) => R[endpoint](C, { filter });
    // a key and no test: Quiver says 422, naming the place
    let res = await send({ must: [{ key: 'city' }] });
    assert.ok(res.status >= 400 && res.status < 500, `${res.status} ${res.text}`);
    expectError(res, res.status, /filter\.must\[0\]/);
    res = await send({ must: [{ has_id: [1] }], should: [{ nested: { key: 'people', filter: { must: [{ key: 'name' }] } } }] });
    assert.ok(res.status >= 400 && res.status < 500, `${res.status} ${res.text}`);
    expectError(res, res.status, /filter\.should\[0\]/);
    // unknown members of a filter object
    expectError(await send({ must: [], foo: 1 }), 400, /^Format error in JSON body: .*foo/);
    expectError(await send({ must: [{ must: [], bar: 1 }] }), 400, /^Format error in JSON body: .*bar/);
    expectError(await send({ must: [{ nested: { key: 'people', filter: { baz: [] } } }] }), 400, /^Format error in JSON body: .*baz/);
    // bad shapes and values
    for (const bad of [
      { must: 'city' },
      { must: [5] },
      { must: [{ nope: 1 }] },
      { must: [{ key: 5, match: { value: 1 } }] },
      { must: [{ key: 'city', match: { value: 1.5 } }] },
      { must: [{ key: 'city', match: { value: null } }] },
      { must: [{ key: 'city', match: { any: [1, 'a'] } }] },
      { must: [{ key: 'city', match: {} }] },
      { must: [{ key: 'pop', range: { gte: 'soon' } }] },
      { must: [{ key: 'pop', range: { gte: true } }] },
      { must: [{ key: 'loc', geo_radius: { center: { lon: 0, lat: 100 }, radius: 1 } }] },
      { must: [{ key: 'loc', geo_bounding_box: { top_left: { lon: 0, lat: 1 } } }] },
      { must: [{ key: 'loc', geo_polygon: { exterior: { points: [{ lon: 0, lat: 0 }, { lon: 1, lat: 0 }, { lon: 0, lat: 0 }] } } }] },
      { must: [{ key: 'tags', values_count: { gte: -1 } }] },
      { must: [{ key: 'tags', is_empty: 'yes' }] },
      { must: [{ has_id: [-1] }] },
      { must: [{ has_id: ['not-a-uuid'] }] },
      { must: [{ has_vector: 5 }] },
      { must: [{ is_empty: { nokey: 'x' } }] },
      { must: [{ nested: { key: 'people' } }] },
      { min_should: { conditions: [] } },
    ]) {
      expectError(await send(bad), 400, /^Format error in JSON body: filter/);
    }
    expectError(await send({ min_should: { conditions: [{ has_id: [1] }], min_count: 0 } }), 422,
      /^Validation error in JSON body: \[filter\.min_should\.min_count: /);
  }
  // the collection is unchanged by all this
  assert.equal(await R.count(C), 7);
});
