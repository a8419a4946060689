// The read examples of the user's "Batch operations" document: its two scroll
// curl requests sent exactly as written (same path, same JSON bodies byte for
// byte) to my_collection holding a recognisable data set (cities with
// country, city and population), the answers checked exactly; and its Python
// pagination loop done the same way with the JS client (limit 100, offset =
// next_page_offset until there is none) over 1,050 points.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, req, expectOk, client, clientIdle, warnings } from './helpers.mjs';
import { reader, rng, shuffle, uuid, cmpId, idKey, assertIncreasing } from './read_lib.mjs';

// ---- the document's bodies, verbatim -----------------------------------------------

const SCROLL_ALL_BODY = `{
"limit": 100,
"with_payload": true,
"with_vector": false
}`;

const SCROLL_GERMANY_BODY = `{
"limit": 50,
"filter": {
"must": [
{
"key": "country",
"match": {"value": "Germany"}
}
]
},
"with_payload": ["city", "population"],
"with_vector": false
}`;

// ---- the data set ---------------------------------------------------------------------

// [city, country, population]; ids 1..30 in this order.
const CITIES = [
  ['Berlin', 'Germany', 3645000],
  ['London', 'United Kingdom', 8982000],
  ['Paris', 'France', 2161000],
  ['Madrid', 'Spain', 3223000],
  ['Rome', 'Italy', 2873000],
  ['Hamburg', 'Germany', 1841000],
  ['Vienna', 'Austria', 1897000],
  ['Munich', 'Germany', 1472000],
  ['Warsaw', 'Poland', 1790000],
  ['Barcelona', 'Spain', 1620000],
  ['Cologne', 'Germany', 1086000],
  ['Milan', 'Italy', 1352000],
  ['Frankfurt', 'Germany', 753000],
  ['Marseille', 'France', 861000],
  ['Amsterdam', 'Netherlands', 872000],
  ['Stuttgart', 'Germany', 635000],
  ['Naples', 'Italy', 959000],
  ['Düsseldorf', 'Germany', 619000],
  ['Kraków', 'Poland', 779000],
  ['Leipzig', 'Germany', 587000],
  ['Birmingham', 'United Kingdom', 1141000],
  ['Lyon', 'France', 513000],
  ['Dortmund', 'Germany', 588000],
  ['Turin', 'Italy', 875000],
  ['Valencia', 'Spain', 791000],
  ['Essen', 'Germany', 583000],
  ['Rotterdam', 'Netherlands', 651000],
  ['Toulouse', 'France', 479000],
  ['Manchester', 'United Kingdom', 553000],
  ['Nice', 'France', 342000],
];
const COUNTRIES = ['Germany', 'France', 'Italy', 'Spain', 'Poland', 'Austria'];

/** The points, as stored and as scroll must give them back (by id key). */
const stored = new Map();
function city(id, name, country, population) {
  const payload = { city: name, country, population };
  stored.set(idKey(id), { id, payload });
  return { id, vector: [(population % 97) / 97, country.length / 10, name.length / 10], payload };
}
const record = (id, payload = stored.get(idKey(id)).payload) => ({ id, payload, vector: null });
const germanRecord = (id) => {
  const { city: name, population } = stored.get(idKey(id)).payload;
  return { id, payload: { city: name, population }, vector: null };
};
const sortedIds = (pred = () => true) =>
  [...stored.values()].filter((p) => pred(p.payload)).map((p) => p.id).sort(cmpId);

let srv, R;
before(async () => {
  srv = await startServer();
  R = reader(srv.url);
});
after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, srv.stderr());
});

/** Send one of the document's requests exactly as written (no query string). */
const doc = (body) => req('POST', `${srv.url}/collections/my_collection/points/scroll`, undefined, { raw: body });

test('the two scroll examples, as written, on 130 then 170 cities', async () => {
  expectOk(await req('PUT', `${srv.url}/collections/my_collection`, { vectors: { size: 3, distance: 'Cosine' } }));
  // 30 real cities (ids 1..30) and 100 towns (ids 31..130), uploaded in a shuffled order
  const pts = CITIES.map(([n, c, p], i) => city(i + 1, n, c, p));
  for (let k = 0; k < 100; k++) {
    pts.push(city(31 + k, `Town ${String(k).padStart(3, '0')}`, COUNTRIES[k % 6], 10000 + 137 * k));
  }
  shuffle(rng(1), pts);
  await R.upsertAll('my_collection', pts, 65);

  // 1. limit 100, payload, no vector: ids 1..100 with their whole payload, vector null
  let res = await doc(SCROLL_ALL_BODY);
  let page = expectOk(res);
  assert.deepEqual(page, {
    points: sortedIds().slice(0, 100).map((id) => record(id)),
    next_page_offset: 101,
  });
  assert.equal(page.points[0].id, 1);
  assert.deepEqual(page.points[0], { id: 1, payload: { city: 'Berlin', country: 'Germany', population: 3645000 }, vector: null });
  assert.deepEqual(page.points[17].payload, { city: 'Düsseldorf', country: 'Germany', population: 619000 }, 'UTF-8 comes back as sent');
  // the record keys in Qdrant's order, vector written as null
  assert.match(res.text, /^\{"result":\{"points":\[\{"id":1,"payload":\{"city":"Berlin","country":"Germany","population":3645000\},"vector":null\},\{"id":2,/);
  // the next page from next_page_offset: the last 30
  page = expectOk(await req('POST', `${srv.url}/collections/my_collection/points/scroll`, { ...JSON.parse(SCROLL_ALL_BODY), offset: 101 }));
  assert.deepEqual(page, { points: sortedIds().slice(100).map((id) => record(id)), next_page_offset: null });
  assert.equal(page.points.length, 30);

  // 2. limit 50, country = Germany, only city and population
  const german = sortedIds((p) => p.country === 'Germany');
  assert.equal(german.length, 10 + 17);
  res = await doc(SCROLL_GERMANY_BODY);
  page = expectOk(res);
  assert.deepEqual(page, { points: german.map(germanRecord), next_page_offset: null });
  assert.deepEqual(page.points.slice(0, 3), [
    { id: 1, payload: { city: 'Berlin', population: 3645000 }, vector: null },
    { id: 6, payload: { city: 'Hamburg', population: 1841000 }, vector: null },
    { id: 8, payload: { city: 'Munich', population: 1472000 }, vector: null },
  ]);
  assert.match(res.text, /"payload":\{"city":"Berlin","population":3645000\}/);

  // 40 more German towns (ids 131..170): now 67 match, so there is a second page
  const more = [];
  for (let k = 0; k < 40; k++) more.push(city(131 + k, `Dorf ${k}`, 'Germany', 1000 + k));
  await R.upsertAll('my_collection', more);
  const german2 = sortedIds((p) => p.country === 'Germany');
  assert.equal(german2.length, 67);
  page = expectOk(await doc(SCROLL_GERMANY_BODY));
  assert.deepEqual(page, { points: german2.slice(0, 50).map(germanRecord), next_page_offset: german2[50] });
  page = expectOk(await req('POST', `${srv.url}/collections/my_collection/points/scroll`, {
    ...JSON.parse(SCROLL_GERMANY_BODY),
    offset: german2[50],
  }));
  assert.deepEqual(page, { points: german2.slice(50).map(germanRecord), next_page_offset: null });

  // and the first example still gives the first 100 of the 170
  page = expectOk(await doc(SCROLL_ALL_BODY));
  assert.deepEqual(page, { points: sortedIds().slice(0, 100).map((id) => record(id)), next_page_offset: 101 });
});

test('the pagination loop with the JS client over 1,050 points: each exactly once', async () => {
  // 880 more: 480 integer ids far from the others and 400 UUIDs (170 + 880 = 1050)
  const r = rng(2);
  const pts = [];
  for (let k = 0; k < 480; k++) pts.push(city(10_000 + 7 * k, `Village ${k}`, COUNTRIES[k % 6], 100 + k));
  for (let k = 0; k < 400; k++) {
    const id = uuid(r);
    pts.push(city(id, `Hamlet ${k}`, COUNTRIES[(k + 3) % 6], 10 + k));
    if (k % 3 === 0) pts.at(-1).id = id.toUpperCase(); // stored and returned in lower case
  }
  shuffle(r, pts);
  await R.upsertAll('my_collection', pts, 250);
  assert.equal(stored.size, 1050);

  // The document's Python loop, with the JS client.
  const qc = client(srv.url);
  const allPoints = [];
  let offset = null;
  let pages = 0;
  for (;;) {
    assert.ok(pages < 100, 'the loop must end');
    const result = await qc.scroll('my_collection', {
      limit: 100,
      offset: offset ?? undefined,
      with_payload: true,
      with_vector: false,
    });
    pages++;
    allPoints.push(...result.points);
    offset = result.next_page_offset;
    if (offset === null || offset === undefined) break; // no more points
    assert.equal(result.points.length, 100);
  }
  assert.equal(offset, null, 'the last page says null');
  assert.equal(pages, 11);
  assert.equal(allPoints.length, 1050, 'Total points retrieved');

  const ids = allPoints.map((p) => p.id);
  assertIncreasing(ids, 'client scroll');
  assert.deepEqual(ids, sortedIds(), 'every point exactly once, in id order');
  assert.equal(new Set(ids.map(idKey)).size, 1050);
  for (const p of allPoints) assert.deepEqual(p, record(p.id));
  // integers first, then the UUIDs
  assert.equal(typeof ids[649], 'number');
  assert.equal(typeof ids[650], 'string');

  await clientIdle();
  assert.deepEqual(warnings, []);
});
