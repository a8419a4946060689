// Payload indexes do not change answers: over 3,000 random points (fixed
// seed; arrays of values, missing keys, nulls, empty arrays, values of
// other types, 4.0 in an integer field, i64 / u64 extremes, invalid geo
// points and datetimes, the same instant written in several forms) every
// condition type of the filter language that an index type can answer —
// and values_count / is_empty / is_null, which stay scans — plus
// combinations (two indexed conditions, should / must_not / min_should,
// nested filters and nested conditions) give the same count, the same
// scroll (every page, and a page from an offset) and the same facets
// before and after the indexes are created, after an index is replaced by
// one of another type, and after it is deleted. Also: payload_schema
// (data_type, params as given, points = points with at least one value of
// the type, by brute force) and the index API's answers and errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, req, expectOk, expectError } from './helpers.mjs';
import { reader } from './read_lib.mjs';
import { schemaPoints, indexApi, schemaEntry } from './index_lib.mjs';
import { POINTS, MID_ID, INDEXES, FILTERS, typeOf } from './index_wild.mjs';

const C = 'ix';
// ---- answers -------------------------------------------------------------------------------

let srv, R, X;

/** Everything the read endpoints say about one filter. */
async function answers(filter, c = C) {
  const what = JSON.stringify(filter).slice(0, 300);
  const count = await R.count(c, { filter, exact: true });
  const { points } = await R.scrollAll(c, { filter, with_payload: false }, 700, 20);
  const ids = points.map((p) => p.id);
  assert.equal(ids.length, count, `scroll and count agree: ${what}`);
  const page = await R.scroll(c, { filter, with_payload: ['kw', 'n'], limit: 7, offset: MID_ID });
  const facet = await R.facet(c, { key: 'kw', filter, limit: 100 });
  return { count, ids, page, facet };
}

/** The answers for every filter (or every step-th). */
async function allAnswers(step = 1) {
  const out = [];
  for (let i = 0; i < FILTERS.length; i++) out.push(i % step ? undefined : await answers(FILTERS[i]));
  return out;
}

// A full-text index on t changes what match.text / text_any / phrase on t
// mean (all / one of the tokens / the tokens in order, as in Qdrant, instead
// of a substring), so with one those filters are compared with a twin
// collection that has only that index.
const TEXT_FILTER = FILTERS.map((f) => /"key":"t","match":\{"(text(_any)?|phrase)"/.test(JSON.stringify(f)));

function assertSame(got, want, phase, textRef) {
  for (let i = 0; i < FILTERS.length; i++) {
    if (got[i] === undefined) continue;
    const w = textRef && TEXT_FILTER[i] ? textRef[i] : want[i];
    assert.deepEqual(got[i], w, `${phase}: filter ${i} ${JSON.stringify(FILTERS[i]).slice(0, 300)}`);
  }
}

let BEFORE; // the answers without indexes
let TEXT_REF; // the answers of the text filters with only a text index on t

before(async () => {
  srv = await startServer();
  R = reader(srv.url);
  X = indexApi(srv.url);
  expectOk(await req('PUT', `${srv.url}/collections/${C}`, { vectors: { size: 2, distance: 'Dot' } }));
  await X.upsert(C, POINTS);
  assert.equal(await R.count(C), POINTS.length);
  BEFORE = await allAnswers();
  expectOk(await req('PUT', `${srv.url}/collections/ixt`, { vectors: { size: 2, distance: 'Dot' } }));
  await X.upsert('ixt', POINTS);
  await X.create('ixt', 't', INDEXES.t);
  TEXT_REF = [];
  for (let i = 0; i < FILTERS.length; i++) TEXT_REF.push(TEXT_FILTER[i] ? await answers(FILTERS[i], 'ixt') : undefined);
});
after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, srv.stderr());
});

test('the data and filters are not degenerate', () => {
  const counts = BEFORE.map((a) => a.count);
  const some = counts.filter((n) => n > 0 && n < POINTS.length).length;
  assert.ok(some >= FILTERS.length * 0.8, `most filters select some but not all points: ${JSON.stringify(counts)}`);
  // many are selective enough for an index to be worth using (< half of the points)
  assert.ok(counts.filter((n) => n > 0 && n < POINTS.length / 3).length >= FILTERS.length * 0.6, JSON.stringify(counts));
});

test('indexes on every type: identical counts, scrolls and facets; payload_schema points by brute force', async () => {
  for (const [field, schema] of Object.entries(INDEXES)) await X.create(C, field, schema);
  const expected = {};
  for (const [field, schema] of Object.entries(INDEXES)) expected[field] = schemaEntry(schema, schemaPoints(POINTS, field, typeOf(schema)));
  const got = await X.schema(C);
  assert.deepEqual(Object.keys(got), Object.keys(INDEXES), 'payload_schema lists the indexes in creation order');
  // (the uuid index's points: the next test)
  assert.deepEqual({ ...got, u: undefined }, { ...expected, u: undefined });
  // sanity: each index holds some points but not all
  for (const [field, e] of Object.entries(expected)) assert.ok(e.points > 100 && e.points < POINTS.length, `${field}: ${e.points}`);
  assertSame(await allAnswers(), BEFORE, 'with indexes', TEXT_REF);
});

test('a uuid index holds UUIDs only: its points do not count a point whose only string is "not-a-uuid"', async () => {
  // Qdrant's uuid index parses each string as a UUID (any case) and skips
  // the others, so payload_schema.u.points counts points with a UUID.
  const points = schemaPoints(POINTS, 'u', 'uuid');
  const anyString = schemaPoints(POINTS, 'u', 'keyword');
  assert.ok(anyString > points, 'the data has points whose only string at u is not a UUID');
  assert.deepEqual((await X.schema(C)).u, { data_type: 'uuid', points });
});

test('replacing indexes by other types, then deleting them: still identical', async () => {
  // other types on the same keys: a keyword index on an integer field, an integer index on a keyword field, ...
  const swapped = { n: 'keyword', kw: 'integer', b: 'keyword', u: 'keyword', f: 'integer', d: 'keyword', 'm.lvl': 'float', s: 'integer', r: 'float' };
  for (const [field, schema] of Object.entries(swapped)) await X.create(C, field, schema);
  const schemaNow = await X.schema(C);
  for (const [field, schema] of Object.entries(swapped)) {
    assert.deepEqual(schemaNow[field], schemaEntry(schema, schemaPoints(POINTS, field, schema)), `replaced ${field}`);
  }
  assert.deepEqual(Object.keys(schemaNow).sort(), Object.keys(INDEXES).sort(), 'one index per key');
  assertSame(await allAnswers(), BEFORE, 'with replaced indexes', TEXT_REF);

  for (const field of Object.keys(INDEXES)) await X.remove(C, field);
  assert.deepEqual(await X.schema(C), {});
  assertSame(await allAnswers(4), BEFORE, 'after deleting the indexes');
});

test('index API: answers, wait=false, errors', async () => {
  const c = 'ixapi';
  expectOk(await req('PUT', `${srv.url}/collections/${c}`, { vectors: { size: 2, distance: 'Dot' } }));
  await X.upsert(c, [
    { id: 1, payload: { k: 'a', n: 1 } },
    { id: 2, payload: { k: ['a', 'b'], n: [1, 2.5] } },
    { id: 3, payload: { k: 3, n: 2.5 } },
    { id: 4, payload: {} },
  ]);
  const first = await X.create(c, 'k', 'keyword');
  const second = await X.create(c, 'n', { type: 'integer', lookup: false, range: true });
  assert.ok(second.operation_id > first.operation_id, 'operation ids increase');
  // without wait: acknowledged; a wait=true write after it is the barrier
  const ack = expectOk(await X.createRes(c, 'z', 'float', ''));
  assert.deepEqual(Object.keys(ack).sort(), ['operation_id', 'status']);
  assert.equal(ack.status, 'acknowledged');
  const ack2 = expectOk(await X.createRes(c, 'y', 'bool', 'wait=false'));
  assert.equal(ack2.status, 'acknowledged');
  expectOk(await req('POST', `${srv.url}/collections/${c}/points/delete?wait=true`, { points: [12345] }));
  assert.deepEqual(await X.schema(c), {
    k: { data_type: 'keyword', points: 2 },
    n: { data_type: 'integer', params: { type: 'integer', lookup: false, range: true }, points: 2 },
    z: { data_type: 'float', points: 0 },
    y: { data_type: 'bool', points: 0 },
  });
  // the same schema again: same answer; another: replaced
  await X.create(c, 'k', 'keyword');
  await X.create(c, 'k', 'integer');
  assert.deepEqual((await X.schema(c)).k, { data_type: 'integer', points: 1 });
  await X.create(c, 'k', { type: 'keyword' });
  assert.deepEqual((await X.schema(c)).k, { data_type: 'keyword', params: { type: 'keyword' }, points: 2 });

  // errors
  expectError(await X.createRes(c, 'k', 'nope'), 400,
    'Format error in JSON body: field_schema: unknown variant `nope`, expected one of `keyword`, `integer`, `float`, `geo`, `text`, `bool`, `datetime`, `uuid`');
  expectError(await X.createRes(c, 'k', { type: 'nope' }), 400, /^Format error in JSON body: field_schema: unknown variant `nope`/);
  expectError(await X.createRes(c, 'k', 5), 400, /^Format error in JSON body: /);
  // (a missing field_schema is inferred from the data: compat.test.mjs)
  expectError(await req('PUT', `${srv.url}/collections/${c}/index?wait=true`, { field_schema: 'keyword' }), 400, /^Format error in JSON body: /);
  expectError(await req('PUT', `${srv.url}/collections/${c}/index?wait=true`, undefined, { raw: '{"field_name": "k",' }), 400, /^Format error in JSON body: /);
  expectError(await X.createRes(c, 'k', { type: 'integer', lookup: 'yes' }), 400, /^Format error in JSON body: /);
  expectError(await X.createRes(c, 'k', { type: 'integer', lookup: false, range: false }), 422,
    "Validation error in JSON body: [field_schema.lookup: the 'lookup' and 'range' capabilities can't be both disabled]");
  expectError(await X.createRes('missing', 'k', 'keyword'), 404, 'Not found: Collection `missing` doesn\'t exist!');
  expectError(await X.deleteRes('missing', 'k'), 404, 'Not found: Collection `missing` doesn\'t exist!');
  // the failed requests changed nothing
  assert.deepEqual(Object.keys(await X.schema(c)).sort(), ['k', 'n', 'y', 'z']);

  // delete: present, absent (still ok), without wait
  await X.remove(c, 'z');
  await X.remove(c, 'z');
  await X.remove(c, 'never');
  const dack = expectOk(await X.deleteRes(c, 'y', ''));
  assert.equal(dack.status, 'acknowledged');
  expectOk(await req('POST', `${srv.url}/collections/${c}/points/delete?wait=true`, { points: [12345] }));
  assert.deepEqual(Object.keys(await X.schema(c)).sort(), ['k', 'n']);
  // a new collection has no indexes; deleting a collection drops its indexes
  expectOk(await req('DELETE', `${srv.url}/collections/${c}`));
  expectOk(await req('PUT', `${srv.url}/collections/${c}`, { vectors: { size: 2, distance: 'Dot' } }));
  assert.deepEqual(await X.schema(c), {});
});
