// Qdrant behaviours of issue 7 section 1 through the official client
// (@qdrant/js-client-rest 1.19.0): what the client sends and how it reads our
// answers. compat.test.mjs tests the same behaviours with raw HTTP, including
// the shapes the client does not expose (with_vectors: the client only sends
// with_vector).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client } from './helpers.mjs';

let srv, qc;
before(async () => {
  srv = await startServer();
  qc = client(srv.url, { checkCompatibility: false });
});
after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, srv.stderr());
});

const byId = (points) => new Map(points.map((p) => [String(p.id), p]));
const payloads = async (c, ids) => byId(await qc.retrieve(c, { ids, with_payload: true }));

test('client: vector shape of retrieve and scroll (unnamed, named, unnamed beside sparse)', async () => {
  await qc.createCollection('cu', { vectors: { size: 2, distance: 'Dot' } });
  await qc.upsert('cu', { points: [{ id: 1, vector: [1, 2] }] });
  const [u] = await qc.retrieve('cu', { ids: [1], with_vector: true });
  assert.deepEqual(u.vector, [1, 2]);
  const su = await qc.scroll('cu', { with_vector: true, with_payload: false });
  assert.deepEqual(su.points.map((p) => p.vector), [[1, 2]]);

  await qc.createCollection('cn', { vectors: { a: { size: 2, distance: 'Dot' }, b: { size: 1, distance: 'Dot' } } });
  await qc.upsert('cn', { points: [{ id: 1, vector: { a: [1, 2], b: [3] } }, { id: 2, vector: { b: [4] } }] });
  const n = byId(await qc.retrieve('cn', { ids: [1, 2], with_vector: true }));
  assert.deepEqual(n.get('1').vector, { a: [1, 2], b: [3] });
  assert.deepEqual(n.get('2').vector, { b: [4] });
  const na = byId(await qc.retrieve('cn', { ids: [1, 2], with_vector: ['a'] }));
  assert.deepEqual(na.get('1').vector, { a: [1, 2] });
  assert.deepEqual(na.get('2').vector, {});

  await qc.createCollection('cs', { vectors: { size: 2, distance: 'Dot' }, sparse_vectors: { s: {} } });
  await qc.upsert('cs', { points: [
    { id: 1, vector: [1, 2] },
    { id: 2, vector: { '': [3, 4], s: { indices: [7], values: [0.5] } } },
  ] });
  const s = byId(await qc.retrieve('cs', { ids: [1, 2], with_vector: true }));
  assert.deepEqual(s.get('1').vector, [1, 2]);
  assert.deepEqual(s.get('2').vector, { '': [3, 4], s: { indices: [7], values: [0.5] } });
  const only = byId(await qc.retrieve('cs', { ids: [2], with_vector: [''] }));
  assert.deepEqual(only.get('2').vector, [3, 4]);
  const ss = await qc.scroll('cs', { with_vector: ['s'], with_payload: false });
  assert.deepEqual(ss.points.map((p) => p.vector), [{}, { s: { indices: [7], values: [0.5] } }]);
  await assert.rejects(qc.retrieve('cs', { ids: [1], with_vector: ['nope'] }), (e) => {
    assert.equal(e.status, 400);
    assert.deepEqual(e.data?.status, { error: 'Wrong input: Not existing vector name error: nope' });
    return true;
  });
});

test('client: upsert with update_mode insert_only / update_only, and update_filter', async () => {
  const c = 'cmodes';
  await qc.createCollection(c, { vectors: { size: 1, distance: 'Dot' } });
  await qc.upsert(c, { points: [{ id: 1, vector: [1], payload: { v: 1, t: 'a' } }, { id: 2, vector: [2], payload: { v: 2, t: 'b' } }] });
  const r = await qc.upsert(c, { points: [{ id: 1, vector: [10], payload: { v: 10 } }, { id: 3, vector: [3], payload: { v: 3 } }], update_mode: 'insert_only' });
  assert.equal(r.status, 'completed');
  await qc.upsert(c, { points: [{ id: 2, vector: [20], payload: { v: 20 } }, { id: 4, vector: [4], payload: { v: 4 } }], update_mode: 'update_only' });
  await qc.upsert(c, { batch: { ids: [1, 3], vectors: [[11], [33]], payloads: [{ v: 11 }, { v: 33 }] }, update_mode: 'update_only',
    update_filter: { must: [{ key: 'v', range: { gte: 3 } }] } });
  await qc.batchUpdate(c, { operations: [
    { upsert: { points: [{ id: 5, vector: [5], payload: { v: 5 } }, { id: 1, vector: [0], payload: { v: 0 } }], update_mode: 'insert_only' } },
  ] });
  const got = await payloads(c, [1, 2, 3, 4, 5]);
  assert.deepEqual([...got.keys()].sort(), ['1', '2', '3', '5']);
  assert.deepEqual([1, 2, 3, 5].map((i) => got.get(String(i)).payload.v), [1, 20, 33, 5]);
  await assert.rejects(qc.upsert(c, { points: [{ id: 9, vector: [9] }], update_mode: 'sometimes' }), (e) => {
    assert.equal(e.status, 400);
    assert.match(e.data?.status?.error, /unknown variant `sometimes`, expected one of `upsert`, `insert_only`, `update_only`/);
    return true;
  });
  assert.equal((await qc.count(c)).count, 4);
});

test('client: setPayload with key sets inside nested objects and array elements', async () => {
  const c = 'ckey';
  await qc.createCollection(c, { vectors: { size: 1, distance: 'Dot' } });
  await qc.upsert(c, { points: [
    { id: 1, vector: [1], payload: { a: { b: [{ c: 1 }, { c: 2 }] } } },
    { id: 2, vector: [1], payload: { a: 5 } },
  ] });
  await qc.setPayload(c, { payload: { d: 9 }, points: [1], key: 'a.b[1]' });
  await qc.setPayload(c, { payload: { e: true }, points: [1], key: 'a.b[]' });
  await qc.setPayload(c, { payload: { x: 'y' }, filter: { must: [{ has_id: [2] }] }, key: 'a.n' });
  const got = await payloads(c, [1, 2]);
  assert.deepEqual(got.get('1').payload, { a: { b: [{ c: 1, e: true }, { c: 2, d: 9, e: true }] } });
  assert.deepEqual(got.get('2').payload, { a: { n: { x: 'y' } } });
  await assert.rejects(qc.setPayload(c, { payload: { x: 1 }, points: [1], key: 'a..b' }), (e) => {
    assert.equal(e.status, 400);
    assert.match(e.data?.status?.error, /Invalid json path: 'a\.\.b'/);
    return true;
  });
});

test('client: values_count counts 0 on a missing field, in scroll and count', async () => {
  const c = 'cvc';
  await qc.createCollection(c, { vectors: { size: 1, distance: 'Dot' } });
  await qc.upsert(c, { points: [
    { id: 1, vector: [1], payload: { tags: ['a', 'b'] } },
    { id: 2, vector: [1], payload: { tags: 'x' } },
    { id: 3, vector: [1], payload: {} },
  ] });
  const f = (vc) => ({ must: [{ key: 'tags', values_count: vc }] });
  assert.deepEqual((await qc.scroll(c, { filter: f({ lt: 1 }) })).points.map((p) => p.id), [3]);
  assert.equal((await qc.count(c, { filter: f({ gte: 0 }) })).count, 3);
  assert.equal((await qc.count(c, { filter: f({ lte: 1 }) })).count, 2);
  assert.equal((await qc.count(c, { filter: f({ gt: 1 }) })).count, 1);
});

test('client: createPayloadIndex without field_schema infers the type; match.text follows a text index', async () => {
  const c = 'cidx';
  await qc.createCollection(c, { vectors: { size: 1, distance: 'Dot' } });
  await assert.rejects(qc.createPayloadIndex(c, { field_name: 'n', wait: true }), (e) => {
    assert.equal(e.status, 400);
    assert.match(e.data?.status?.error, /Unable to infer type for the field 'n'/);
    return true;
  });
  const docs = ['Alpha beta', 'alphabet soup', 'BETA alpha gamma'];
  await qc.upsert(c, { points: docs.map((t, i) => ({ id: i + 1, vector: [1], payload: { n: i, t } })) });
  assert.equal((await qc.createPayloadIndex(c, { field_name: 'n', wait: true })).status, 'completed');
  const ids = async (text) => (await qc.scroll(c, { filter: { must: [{ key: 't', match: { text } }] } })).points.map((p) => p.id);
  assert.deepEqual(await ids('alpha'), [2, 3]);  // no text index: substring, case-sensitive
  await qc.createPayloadIndex(c, { field_name: 't', field_schema: { type: 'text', tokenizer: 'word', lowercase: true }, wait: true });
  const schema = (await qc.getCollection(c)).payload_schema;
  assert.equal(schema.n.data_type, 'integer');
  assert.equal(schema.t.data_type, 'text');
  assert.deepEqual(await ids('alpha'), [1, 3]);  // all tokens
  assert.deepEqual(await ids('ALPHA gamma'), [3]);
  assert.equal((await qc.count(c, { filter: { must_not: [{ key: 't', match: { text: 'alpha' } }] } })).count, 1);
  // match.phrase: the tokens in order, once the text index keeps positions
  const phrase = async (p) => (await qc.scroll(c, { filter: { must: [{ key: 't', match: { phrase: p } }] } })).points.map((x) => x.id);
  assert.deepEqual(await phrase('alpha beta'), []);
  await qc.createPayloadIndex(c, { field_name: 't', field_schema: { type: 'text', phrase_matching: true }, wait: true });
  assert.deepEqual(await phrase('alpha BETA'), [1]);
  assert.deepEqual(await phrase('alpha gamma'), [3]);
  assert.deepEqual(await phrase('gamma alpha'), []);
  await assert.rejects(qc.createPayloadIndex(c, { field_name: 't', field_schema: { type: 'text', stopwords: 'english' }, wait: true }), (e) => {
    assert.equal(e.status, 400);
    assert.deepEqual(e.data?.status, { error: 'Bad request: field_schema.stopwords: not supported by Quiver yet' });
    return true;
  });
});

test('client: createVectorName adds a named vector the points come back without', async () => {
  const c = 'cvn';
  await qc.createCollection(c, { vectors: { a: { size: 2, distance: 'Dot' } } });
  await qc.upsert(c, { points: [{ id: 1, vector: { a: [1, 2] } }] });
  await qc.createVectorName(c, 'b', { dense: { size: 1, distance: 'Dot' } });
  assert.deepEqual((await qc.retrieve(c, { ids: [1], with_vector: ['b'] }))[0].vector, {});
  await qc.upsert(c, { points: [{ id: 1, vector: { a: [3, 4], b: [5] } }] });
  assert.deepEqual((await qc.retrieve(c, { ids: [1], with_vector: true }))[0].vector, { a: [3, 4], b: [5] });
  await qc.deleteVectorName(c, 'b');
  assert.deepEqual((await qc.retrieve(c, { ids: [1], with_vector: true }))[0].vector, { a: [3, 4] });
});
