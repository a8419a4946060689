// The write examples of the user's "Batch operations" document, sent exactly
// as written (same paths, same JSON bodies, byte for byte, no query string),
// to a collection my_collection with 3-dimensional Cosine vectors; then the
// answers and the resulting state are checked. The same bodies are also sent
// with ?wait=true, and from states where they have something more to do.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, req, expectOk, expectError } from './helpers.mjs';
import { api, expectUpdate, expectBatch, assertClose, normalize } from './points_lib.mjs';

// ---- the document's bodies, verbatim -----------------------------------------------

const UPSERT_BODY = `{
"points": [
{"id": 1, "vector": [0.1, 0.2, 0.3], "payload": {"city": "Berlin"}},
{"id": 2, "vector": [0.2, 0.3, 0.4], "payload": {"city": "London"}},
{"id": 3, "vector": [0.3, 0.4, 0.5], "payload": {"city": "Paris"}},
{"id": 4, "vector": [0.4, 0.5, 0.6], "payload": {"city": "Madrid"}},
{"id": 5, "vector": [0.5, 0.6, 0.7], "payload": {"city": "Rome"}}
]
}`;

const BATCH_BODY = `{
"operations": [
{
"upsert": {
"points": [
{"id": 1, "vector": [0.1, 0.2, 0.3], "payload": {"city": "Berlin"}},
{"id": 2, "vector": [0.2, 0.3, 0.4], "payload": {"city": "London"}}
]
}
},
{
"update_vectors": {
"points": [
{"id": 3, "vector": [0.3, 0.4, 0.5]}
]
}
},
{
"set_payload": {
"payload": {"status": "active"},
"points": [1, 2, 3]
}
},
{
"delete": {
"points": [10, 11, 12]
}
}
]
}`;

const DELETE_IDS_BODY = `{
"points": [1, 2, 3, 5, 8, 13, 21]
}`;

const DELETE_FILTER_BODY = `{
"filter": {
"must": [
{
"key": "status",
"match": {"value": "inactive"}
}
]
}
}`;

// what the upsert example stores
const CITY = { 1: 'Berlin', 2: 'London', 3: 'Paris', 4: 'Madrid', 5: 'Rome' };
const VEC = { 1: [0.1, 0.2, 0.3], 2: [0.2, 0.3, 0.4], 3: [0.3, 0.4, 0.5], 4: [0.4, 0.5, 0.6], 5: [0.5, 0.6, 0.7] };
const MY = { vectors: { size: 3, distance: 'Cosine' } };

let srv, A;
before(async () => {
  srv = await startServer();
  A = api(srv.url);
});
after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, srv.stderr());
});

/** Send one of the document's requests exactly as written (optionally with a query). */
async function doc(coll, method, suffix, body, query = '') {
  return req(method, `${srv.url}/collections/${coll}${suffix}${query ? `?${query}` : ''}`, undefined, { raw: body });
}

/** A wait=true no-op write: once it is answered, every earlier write to `coll` has been applied. */
async function barrier(coll) {
  expectUpdate(await A.write('POST', coll, '/points/delete', { points: [987654321] }));
}

/** Check point `id` has exactly `payload` and (normalised) vector `vec`. */
function checkPoint(p, id, payload, vec) {
  assert.ok(p, `point ${id} must exist`);
  assert.deepEqual(Object.keys(p).sort(), ['id', 'payload', 'vector'], JSON.stringify(p));
  assert.equal(p.id, id);
  assert.deepEqual(p.payload, payload, `payload of ${id}`);
  assertClose(p.vector, normalize(vec), 1e-6, `vector of ${id}`);
}

const ALL = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 21, 22];

test('the document examples, sent as written (no wait), one after the other', async () => {
  const c = 'my_collection';
  await A.create(c, MY);

  // 1. upsert of 5 points
  let res = await doc(c, 'PUT', '/points', UPSERT_BODY);
  const up = expectUpdate(expectOk(res), 'acknowledged');
  await barrier(c);
  let pts = await A.byId(c, ALL);
  assert.deepEqual([...pts.keys()].sort(), ['1', '2', '3', '4', '5']);
  for (const id of [1, 2, 3, 4, 5]) checkPoint(pts.get(String(id)), id, { city: CITY[id] }, VEC[id]);
  assert.equal(await A.count(c), 5);
  // the same points one by one with GET
  for (const id of [1, 2, 3, 4, 5]) checkPoint(await A.get(c, id), id, { city: CITY[id] }, VEC[id]);

  // 2. the batch: upsert 1,2; update_vectors 3; set_payload status on 1,2,3; delete 10,11,12 (missing)
  res = await doc(c, 'POST', '/points/batch', BATCH_BODY);
  const b = expectBatch(expectOk(res), 4, 'acknowledged');
  assert.ok(b[0].operation_id > up.operation_id, 'operation ids increase');
  await barrier(c);
  pts = await A.byId(c, ALL);
  assert.deepEqual([...pts.keys()].sort(), ['1', '2', '3', '4', '5']);
  checkPoint(pts.get('1'), 1, { city: 'Berlin', status: 'active' }, VEC[1]);
  checkPoint(pts.get('2'), 2, { city: 'London', status: 'active' }, VEC[2]);
  checkPoint(pts.get('3'), 3, { city: 'Paris', status: 'active' }, [0.3, 0.4, 0.5]);
  checkPoint(pts.get('4'), 4, { city: 'Madrid' }, VEC[4]);
  checkPoint(pts.get('5'), 5, { city: 'Rome' }, VEC[5]);
  // set_payload merges: key order is "city" then "status"
  const r3 = await req('GET', `${srv.url}/collections/${c}/points/3`);
  assert.match(r3.text, /"payload":\{"city":"Paris","status":"active"\}/);

  // 3. delete by ids [1, 2, 3, 5, 8, 13, 21] (8, 13, 21 do not exist)
  res = await doc(c, 'POST', '/points/delete', DELETE_IDS_BODY);
  const d = expectUpdate(expectOk(res), 'acknowledged');
  assert.ok(d.operation_id > b[3].operation_id, 'operation ids increase');
  await barrier(c);
  pts = await A.byId(c, ALL);
  assert.deepEqual([...pts.keys()], ['4']);
  checkPoint(pts.get('4'), 4, { city: 'Madrid' }, VEC[4]);
  for (const id of [1, 2, 3, 5]) assert.equal(await A.get(c, id), null, `point ${id} deleted`);
  assert.equal(await A.count(c), 1);

  // 4. delete by filter status = inactive: first give some points status "inactive"
  await A.upsert(c, [
    { id: 6, vector: [1, 0, 0], payload: { city: 'Oslo', status: 'inactive' } },
    { id: 7, vector: [0, 1, 0], payload: { city: 'Rome', status: 'active' } },
    { id: 8, vector: [0, 0, 1], payload: { city: 'Lyon' } },
    { id: 9, vector: [1, 1, 0], payload: { city: 'Bern', status: 'INACTIVE' } },
  ]);
  expectUpdate(await A.write('POST', c, '/points/payload', { payload: { status: 'inactive' }, points: [4, 8] }));
  res = await doc(c, 'POST', '/points/delete', DELETE_FILTER_BODY);
  expectUpdate(expectOk(res), 'acknowledged');
  await barrier(c);
  pts = await A.byId(c, ALL);
  assert.deepEqual([...pts.keys()].sort(), ['7', '9'], 'only the points whose status is exactly "inactive" are gone');
  checkPoint(pts.get('7'), 7, { city: 'Rome', status: 'active' }, [0, 1, 0]);
  checkPoint(pts.get('9'), 9, { city: 'Bern', status: 'INACTIVE' }, [1, 1, 0]);
  assert.equal(await A.count(c), 2);
});

test('the same bodies with ?wait=true answer "completed" and the state is there at once', async () => {
  const c = 'my_collection_wait';
  await A.create(c, MY);

  const up = expectUpdate(expectOk(await doc(c, 'PUT', '/points', UPSERT_BODY, 'wait=true')));
  for (const id of [1, 2, 3, 4, 5]) checkPoint(await A.get(c, id), id, { city: CITY[id] }, VEC[id]);

  // give the batch something to change: other vectors and payloads for 1..3, and 10, 11 exist
  await A.upsert(c, [
    { id: 1, vector: [0, 0, 1], payload: { city: 'X', n: 1 } },
    { id: 2, vector: [0, 1, 0] },
    { id: 10, vector: [1, 1, 1], payload: { t: 10 } },
    { id: 11, vector: [1, 1, 1], payload: { t: 11 } },
  ]);
  expectUpdate(await A.write('PUT', c, '/points/vectors', { points: [{ id: 3, vector: [1, 0, 0] }] }));
  expectUpdate(await A.write('PUT', c, '/points/payload', { payload: { status: 'old', zip: 75 }, points: [3] }));
  checkPoint(await A.get(c, 3), 3, { status: 'old', zip: 75 }, [1, 0, 0]);

  const b = expectBatch(expectOk(await doc(c, 'POST', '/points/batch', BATCH_BODY, 'wait=true')), 4);
  assert.ok(b[0].operation_id > up.operation_id);
  const pts = await A.byId(c, ALL);
  assert.deepEqual([...pts.keys()].sort(), ['1', '2', '3', '4', '5'], '10 and 11 deleted, 12 never existed');
  // upsert replaced 1 and 2 entirely (the old "n" is gone), then set_payload added status
  checkPoint(pts.get('1'), 1, { city: 'Berlin', status: 'active' }, VEC[1]);
  checkPoint(pts.get('2'), 2, { city: 'London', status: 'active' }, VEC[2]);
  // update_vectors changed only the vector of 3; set_payload merged into its payload
  checkPoint(pts.get('3'), 3, { status: 'active', zip: 75 }, [0.3, 0.4, 0.5]);
  checkPoint(pts.get('4'), 4, { city: 'Madrid' }, VEC[4]);

  // delete by ids, with 8, 13 and 21 existing this time, and 22 that must stay
  await A.upsert(c, [8, 13, 21, 22].map((id) => ({ id, vector: [id, 1, 2], payload: { id } })));
  const d = expectUpdate(expectOk(await doc(c, 'POST', '/points/delete', DELETE_IDS_BODY, 'wait=true')));
  assert.ok(d.operation_id > b[3].operation_id);
  assert.deepEqual([...(await A.byId(c, ALL)).keys()].sort(), ['22', '4']);

  // delete by filter: nothing matches → still "completed", nothing removed
  expectUpdate(expectOk(await doc(c, 'POST', '/points/delete', DELETE_FILTER_BODY, 'wait=true')));
  assert.deepEqual([...(await A.byId(c, ALL)).keys()].sort(), ['22', '4']);
  // now mark 22 inactive (nested and array values of other keys do not matter)
  expectUpdate(await A.write('POST', c, '/points/payload', { payload: { status: 'inactive', tags: ['inactive'] }, points: [22] }));
  expectUpdate(await A.write('POST', c, '/points/payload', { payload: { other: { status: 'inactive' } }, points: [4] }));
  expectUpdate(expectOk(await doc(c, 'POST', '/points/delete', DELETE_FILTER_BODY, 'wait=true')));
  const left = await A.byId(c, ALL);
  assert.deepEqual([...left.keys()], ['4'], 'a nested "other.status" does not match key "status"');
  checkPoint(left.get('4'), 4, { city: 'Madrid', other: { status: 'inactive' } }, VEC[4]);
});

test('the batch example on an empty collection fails (point 3 does not exist) and changes nothing', async () => {
  const c = 'my_collection_empty';
  await A.create(c, MY);
  expectError(await doc(c, 'POST', '/points/batch', BATCH_BODY, 'wait=true'), 404, 'Not found: No point with id 3 found');
  assert.equal(await A.count(c), 0);
  assert.deepEqual(await A.retrieve(c, [1, 2, 3]), [], 'the upsert of 1 and 2 in the same batch was not applied');
});
