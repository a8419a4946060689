// Qdrant behaviours of the existing API (issue 7, section 1): vector output
// shape and the with_vectors alias, update_mode on upserts (also after a
// restart that replays the WAL), values_count on missing keys, index type
// inference, match.text with a full-text index (scan = index), and the
// status codes of validation errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, tempDir, req, expectOk, expectError } from './helpers.mjs';
import { api, expectUpdate } from './points_lib.mjs';

let srv, A, storage;
before(async () => {
  storage = tempDir();
  srv = await startServer({ storage });
  A = api(srv.url);
});
after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, srv.stderr());
});

const post = (c, suffix, body) => req('POST', `${srv.url}/collections/${c}${suffix}`, body);

test('vector shape: the unnamed vector alone is a list, also beside sparse vectors; with_vectors is an alias', async () => {
  const c = 'shape';
  await A.create(c, { vectors: { size: 2, distance: 'Dot' }, sparse_vectors: { s: {} } });
  await A.upsert(c, [
    { id: 1, vector: [1, 2] },
    { id: 2, vector: { '': [3, 4], s: { indices: [7], values: [0.5] } } },
  ]);
  const m = await A.byId(c, [1, 2]);
  assert.deepEqual(m.get('1').vector, [1, 2]);
  assert.deepEqual(m.get('2').vector, { '': [3, 4], s: { indices: [7], values: [0.5] } });
  // asking for the unnamed one only: a list; for the sparse one on a point without it: {}
  const only = expectOk(await post(c, '/points', { ids: [2], with_vector: [''] }));
  assert.deepEqual(only[0].vector, [3, 4]);
  const none = expectOk(await post(c, '/points', { ids: [1], with_vector: ['s'] }));
  assert.deepEqual(none[0].vector, {});
  // with_vectors: retrieve and scroll
  const alias = expectOk(await post(c, '/points', { ids: [1], with_vectors: true }));
  assert.deepEqual(alias[0].vector, [1, 2]);
  const sc = expectOk(await post(c, '/points/scroll', { with_vectors: ['s'], with_payload: false }));
  assert.deepEqual(sc.points.map((p) => p.vector), [{}, { s: { indices: [7], values: [0.5] } }]);
  expectError(await post(c, '/points', { ids: [1], with_vector: true, with_vectors: true }), 400, /duplicate field `with_vector`/);
  expectError(await post(c, '/points', { ids: [1], with_vector: ['foo'] }), 400, 'Wrong input: Not existing vector name error: foo');
});

test('update_mode: insert_only, update_only, with update_filter, in every upsert form; replayed after a restart', async () => {
  const c = 'modes';
  await A.create(c, { vectors: { size: 1, distance: 'Dot' } });
  await A.upsert(c, [{ id: 1, vector: [1], payload: { v: 1, t: 'a' } }, { id: 2, vector: [2], payload: { v: 2, t: 'b' } }]);
  const put = (body) => A.write('PUT', c, '/points', body).then((r) => expectUpdate(r));
  await put({ points: [{ id: 1, vector: [10], payload: { v: 10 } }, { id: 3, vector: [3], payload: { v: 3 } }], update_mode: 'insert_only' });
  await put({ points: [{ id: 2, vector: [20], payload: { v: 20 } }, { id: 4, vector: [4], payload: { v: 4 } }], update_mode: 'update_only' });
  await put({ batch: { ids: [1, 5], vectors: [[11], [5]], payloads: [{ v: 11 }, { v: 5 }] }, update_mode: 'update_only',
    update_filter: { must: [{ key: 't', match: { value: 'zzz' } }] } });
  await put({ points: [{ id: 5, vector: [55], payload: { v: 55 } }, { id: 6, vector: [6], payload: { v: 6 } }], update_mode: 'insert_only',
    update_filter: { must: [{ key: 't', match: { value: 'zzz' } }] } });
  expectOk(await A.send('POST', c, '/points/batch', { operations: [
    { upsert: { points: [{ id: 3, vector: [33], payload: { v: 33 } }, { id: 7, vector: [7], payload: { v: 7 } }], update_mode: 'update_only' } },
  ] }));
  const state = async () => (await A.retrieve(c, [1, 2, 3, 4, 5, 6, 7])).map((p) => [p.id, p.payload.v]).sort((x, y) => x[0] - y[0]);
  const want = [[1, 1], [2, 20], [3, 33], [5, 55], [6, 6]];
  assert.deepEqual(await state(), want);
  expectError(await A.send('PUT', c, '/points', { points: [{ id: 9, vector: [9] }], update_mode: 'nope' }), 400,
    /unknown variant `nope`, expected one of `upsert`, `insert_only`, `update_only`/);
  // the modes are in the WAL records: a crash (no checkpoint at exit) replays them the same way
  await srv.kill9();
  srv = await startServer({ storage });
  A = api(srv.url);
  assert.deepEqual(await state(), want);
});

test('values_count counts 0 on a missing key', async () => {
  const c = 'vcount';
  await A.create(c, { vectors: { size: 1, distance: 'Dot' } });
  await A.upsert(c, [{ id: 1, vector: [1], payload: { tags: ['a', 'b'] } }, { id: 2, vector: [1], payload: { tags: ['x'] } }, { id: 3, vector: [1], payload: { title: 'none' } }]);
  const ids = async (vc) => expectOk(await post(c, '/points/scroll', { filter: { must: [{ key: 'tags', values_count: vc }] } })).points.map((p) => p.id);
  assert.deepEqual(await ids({ lt: 1 }), [3]);
  assert.deepEqual(await ids({ gte: 0 }), [1, 2, 3]);
  assert.deepEqual(await ids({ gte: 1 }), [1, 2]);
});

test('index without field_schema: the type of the first stored point; 400 when it gives none', async () => {
  const c = 'infer';
  await A.create(c, { vectors: { size: 1, distance: 'Dot' } });
  const index = (body) => req('PUT', `${srv.url}/collections/${c}/index?wait=true`, body);
  expectError(await index({ field_name: 'n' }), 400, "Wrong input: Unable to infer type for the field 'n'. Please specify `field_type`");
  await A.upsert(c, [{ id: 1, vector: [1], payload: { n: 5, f: 1.5, k: ['a', 'b'], g: { lon: 1, lat: 2 }, mix: [1, 'a'], b: true } }, { id: 2, vector: [1], payload: { n: 'x' } }]);
  for (const [field, type] of [['n', 'integer'], ['f', 'float'], ['k', 'keyword'], ['g', 'geo']]) {
    expectOk(await index({ field_name: field }));
    assert.equal(expectOk(await req('GET', `${srv.url}/collections/${c}`)).payload_schema[field].data_type, type, field);
  }
  for (const field of ['mix', 'b', 'missing']) expectError(await index({ field_name: field }), 400, /^Wrong input: Unable to infer type/);
  expectError(await index({ field_name: 'n', field_schema: { type: 'integer', lookup: false, range: false } }), 422,
    "Validation error in JSON body: [field_schema.lookup: the 'lookup' and 'range' capabilities can't be both disabled]");
});

test('match.text on a field with a text index means all tokens, in index plans and scans alike', async () => {
  const c = 'text';
  await A.create(c, { vectors: { size: 1, distance: 'Dot' } });
  const docs = ['Alpha beta', 'alphabet soup', 'beta gamma', 'BETA alpha gamma', 'the alphabeta'];
  await A.upsert(c, docs.map((t, i) => ({ id: i + 1, vector: [1], payload: { t, k: i % 2 } })));
  const ids = async (filter) => expectOk(await post(c, '/points/scroll', { filter })).points.map((p) => p.id);
  const count = async (filter) => expectOk(await post(c, '/points/count', { filter, exact: true })).count;
  const text = (s) => ({ key: 't', match: { text: s } });
  const any = (s) => ({ key: 't', match: { text_any: s } });
  // without an index: substrings (case-sensitive)
  assert.deepEqual(await ids({ must: [text('alpha')] }), [2, 4, 5]);
  expectOk(await req('PUT', `${srv.url}/collections/${c}/index?wait=true`, { field_name: 't', field_schema: 'text' }));
  // with one: lowercased word tokens; must (planned by the index), should and min_should (scanned) agree
  const want = [1, 4];
  assert.deepEqual(await ids({ must: [text('ALPHA')] }), want);
  assert.deepEqual(await ids({ should: [text('ALPHA')] }), want);
  assert.deepEqual(await ids({ min_should: { conditions: [text('ALPHA'), { key: 'k', match: { value: 7 } }], min_count: 1 } }), want);
  assert.deepEqual(await ids({ must_not: [text('alpha')] }), [2, 3, 5]);
  assert.equal(await count({ must: [text('alpha gamma')] }), 1);
  assert.deepEqual(await ids({ should: [text('gamma beta')] }), [3, 4]);
  assert.deepEqual(await ids({ must: [any('soup alpha')] }), [1, 2, 4]);
  assert.deepEqual(await ids({ should: [any('soup alpha')] }), [1, 2, 4]);
  assert.deepEqual(await ids({ should: [text('...')] }), []); // no tokens: nothing
  // an update_filter is judged the same way
  await A.write('PUT', c, '/points', { points: [{ id: 2, vector: [2], payload: { t: 'x' } }], update_filter: { must: [text('alpha')] } });
  assert.equal((await A.retrieve(c, [2]))[0].payload.t, 'alphabet soup');
});

test('validation: sparse vectors and empty vector updates are 422 with Qdrant\'s messages', async () => {
  const c = 'valid';
  await A.create(c, { vectors: { d: { size: 1, distance: 'Dot' } }, sparse_vectors: { s: {} } });
  await A.upsert(c, [{ id: 1, vector: { d: [1] } }]);
  expectError(await A.send('PUT', c, '/points', { points: [{ id: 1, vector: { s: { indices: [1, 2], values: [1] } } }] }), 422,
    'Validation error in JSON body: [points[0].vector.s.values: must be the same length as indices]');
  expectError(await A.send('PUT', c, '/points', { points: [{ id: 1, vector: { s: { indices: [3, 3], values: [1, 2] } } }] }), 422,
    'Validation error in JSON body: [points[0].vector.s.indices: must be unique]');
  expectError(await A.send('PUT', c, '/points/vectors', { points: [{ id: 1, vector: {} }] }), 422,
    'Validation error in JSON body: [points[0].vector: must specify vectors to update for point]');
});

test('set_payload with key: nested paths, array indexes, missing intermediates, non-objects, key null', async () => {
  const c = 'setkey';
  await A.create(c, { vectors: { size: 1, distance: 'Dot' } });
  // each case: [payload before, key, patch, payload after], as Qdrant's JsonPath::value_set
  const cases = [
    [{ a: { b: [{ c: { x: 1 } }, { c: 2 }] } }, 'a.b[0].c', { y: 2 }, { a: { b: [{ c: { x: 1, y: 2 } }, { c: 2 }] } }],
    // [] enters every element; a scalar element or member becomes an object
    [{ a: { b: [1, { c: 1 }, { c: { x: 1 } }] } }, 'a.b[].c', { y: 2 }, { a: { b: [{ c: { y: 2 } }, { c: { y: 2 } }, { c: { x: 1, y: 2 } }] } }],
    // missing intermediates: keys are created, arrays are not grown
    [{ z: 0 }, 'p.q.r', { y: 2 }, { z: 0, p: { q: { r: { y: 2 } } } }],
    [{}, 'p[0].q', { y: 2 }, { p: [] }],
    [{}, 'p[].q', { y: 2 }, { p: [] }],
    [{ p: [1] }, 'p[3]', { y: 2 }, { p: [1] }],
    [{ p: [1, 2] }, 'p[1]', { y: 2 }, { p: [1, { y: 2 }] }],
    // a key that points at a scalar or an array replaces it with an object
    [{ a: 10, k: 1 }, 'a', { y: 2 }, { a: { y: 2 }, k: 1 }],
    [{ a: [1, 2] }, 'a.b', { y: 2 }, { a: { b: { y: 2 } } }],
    [{ a: 'text' }, 'a[]', { y: 2 }, { a: [] }],
    // a null in the patch removes that key where it lands
    [{ a: { x: 1, y: 2 } }, 'a', { x: null, z: 3 }, { a: { y: 2, z: 3 } }],
    // quoted keys with dots
    [{ 'a.b': { c: 1 } }, '"a.b"', { d: 4 }, { 'a.b': { c: 1, d: 4 } }],
    // "key": null is no key: the patch merges at the root
    [{ a: { x: 1 } }, null, { a: 5 }, { a: 5 }],
  ];
  await A.upsert(c, cases.map(([before], i) => ({ id: i + 1, vector: [1], payload: before })));
  for (const [i, [, key, patch]] of cases.entries())
    expectUpdate(await A.write('POST', c, '/points/payload', { payload: patch, points: [i + 1], key }));
  const got = await A.byId(c, cases.map((_, i) => i + 1));
  for (const [i, [before, key, , after]] of cases.entries())
    assert.deepEqual(got.get(String(i + 1)).payload, after, `${JSON.stringify(before)} key ${key}`);
  // the same through points/batch, and by filter
  expectOk(await A.send('POST', c, '/points/batch', { operations: [
    { set_payload: { payload: { w: 1 }, points: [1], key: 'a.b[1]' } },
    { set_payload: { payload: { v: 1 }, filter: { must: [{ has_id: [1] }] }, key: 'a.b[1]' } },
  ] }));
  assert.deepEqual((await A.retrieve(c, [1]))[0].payload, { a: { b: [{ c: { x: 1, y: 2 } }, { c: 2, w: 1, v: 1 }] } });
  // bad paths are format errors and change nothing
  for (const key of ['', 'a..b', '[0]', 'a b', 'a[x]'])
    expectError(await A.send('POST', c, '/points/payload', { payload: { q: 1 }, points: [1], key }), 400,
      `Format error in JSON body: Invalid json path: '${key}'`);
  expectError(await A.send('POST', c, '/points/payload', { payload: { q: 1 }, points: [1], key: 5 }), 400, /^Format error in JSON body: /);
  assert.deepEqual((await A.retrieve(c, [1]))[0].payload, { a: { b: [{ c: { x: 1, y: 2 } }, { c: 2, w: 1, v: 1 }] } });
});

test('update_mode and update_filter judge an id listed twice by the state before the operation, as Qdrant', async () => {
  const c = 'dupmodes';
  await A.create(c, { vectors: { size: 1, distance: 'Dot' } });
  await A.upsert(c, [{ id: 1, vector: [1], payload: { v: 1, t: 'a' } }]);
  const put = (body) => A.write('PUT', c, '/points', body).then((r) => expectUpdate(r));
  const P = (id, v, extra = {}) => ({ id, vector: [id], payload: { v, ...extra } });
  // a new id twice, insert_only: both copies are inserts, the last one wins
  await put({ points: [P(2, 'first'), P(2, 'second')], update_mode: 'insert_only' });
  // an existing id twice, insert_only: both skipped
  await put({ points: [P(1, 'x'), P(1, 'y')], update_mode: 'insert_only' });
  // a new id twice, update_only: both skipped (the first does not create it for the second)
  await put({ points: [P(3, 'x'), P(3, 'y')], update_mode: 'update_only' });
  // an update_filter the first copy stops matching: the second is still written
  await put({ points: [P(1, 10, { t: 'b' }), P(1, 11, { t: 'c' })], update_filter: { must: [{ key: 't', match: { value: 'a' } }] } });
  await put({ points: [P(2, 20, { t: 'b' }), P(2, 21)], update_mode: 'update_only', update_filter: { must: [{ key: 'v', match: { value: 'second' } }] } });
  // the batch form too
  await put({ batch: { ids: [5, 5], vectors: [[5], [5]], payloads: [{ v: 'b1' }, { v: 'b2' }] }, update_mode: 'insert_only' });
  // a later operation of points/batch sees what the earlier ones wrote
  expectOk(await A.send('POST', c, '/points/batch', { operations: [
    { upsert: { points: [P(4, 'op1')], update_mode: 'insert_only' } },
    { upsert: { points: [P(4, 'op2')], update_mode: 'insert_only' } },
    { upsert: { points: [P(6, 'op1')], update_mode: 'update_only' } },
  ] }));
  const state = async () => (await A.retrieve(c, [1, 2, 3, 4, 5, 6])).map((p) => [p.id, p.payload.v]).sort((x, y) => x[0] - y[0]);
  const want = [[1, 11], [2, 21], [4, 'op1'], [5, 'b2']];
  assert.deepEqual(await state(), want);
  await srv.kill9();  // replay judges the same way
  srv = await startServer({ storage });
  A = api(srv.url);
  assert.deepEqual(await state(), want);
});

test('text index options Quiver lacks are refused with 400; a stored index with them still opens, with a warning', async () => {
  const c = 'textopts';
  await A.create(c, { vectors: { size: 1, distance: 'Dot' } });
  await A.upsert(c, [{ id: 1, vector: [1], payload: { t: 'The running foxes' } }, { id: 2, vector: [1], payload: { t: 'a fox runs' } }]);
  const index = (field_schema) => req('PUT', `${srv.url}/collections/${c}/index?wait=true`, { field_name: 't', field_schema });
  const text = (extra) => ({ type: 'text', tokenizer: 'word', ...extra });
  for (const [opt, value] of [['ascii_folding', true], ['stopwords', 'english'],
    ['stopwords', { languages: ['english'], custom: ['the'] }], ['stemmer', { type: 'snowball', language: 'english' }]])
    expectError(await index(text({ [opt]: value })), 400, `Bad request: field_schema.${opt}: not supported by Quiver yet`);
  expectError(await index(text({ tokenizer: 'multilingual' })), 400, 'Bad request: field_schema.tokenizer: only `word` is supported by Quiver yet');
  expectError(await index(text({ phrase_matching: 'yes' })), 400, 'Format error in JSON body: field_schema.phrase_matching: invalid type, expected a boolean');
  assert.deepEqual(expectOk(await req('GET', `${srv.url}/collections/${c}`)).payload_schema, {});
  // their off values are what the index does anyway
  expectOk(await index(text({ phrase_matching: false, ascii_folding: false, stopwords: null, stemmer: null, on_disk: false })));
  // a definition stored with options this version does not follow (another
  // version wrote it): the index is built without them, the collection opens
  assert.equal(await srv.stop(), 0, srv.stderr());
  const file = path.join(storage, 'collections', c, 'config.json');
  const cfg = JSON.parse(readFileSync(file, 'utf8'));
  cfg.payload_indexes = [{ field_name: 't', field_schema: text({ stopwords: 'english', phrase_matching: true, ascii_folding: 'x', stemmer: { type: 'snowball', language: 'english' }, tokenizer: 'prefix' }) }];
  writeFileSync(file, JSON.stringify(cfg));
  srv = await startServer({ storage });
  A = api(srv.url);
  for (const opt of ['stopwords', 'ascii_folding', 'stemmer', 'tokenizer'])
    assert.match(srv.stderr(), new RegExp(`index on t: field_schema\\.${opt} is not supported by Quiver yet`), opt);
  assert.doesNotMatch(srv.stderr(), /field_schema\.phrase_matching/);
  assert.equal(expectOk(await req('GET', `${srv.url}/collections/${c}`)).payload_schema.t.data_type, 'text');
  const ids = async (t) => expectOk(await post(c, '/points/scroll', { filter: { must: [{ key: 't', match: { text: t } }] } })).points.map((p) => p.id);
  assert.deepEqual(await ids('the FOXES'), [1]);  // the word tokenizer, lowercased, no stopwords, no stemming
  assert.deepEqual(await ids('fox'), [2]);
  // phrase_matching, which it does follow, is in effect
  const phrase = async (t) => expectOk(await post(c, '/points/scroll', { filter: { must: [{ key: 't', match: { phrase: t } }] } })).points.map((p) => p.id);
  assert.deepEqual(await phrase('running FOXES'), [1]);
  assert.deepEqual(await phrase('foxes running'), []);
});

test('match.phrase: a substring without a text index; with one, the tokens in order, only with phrase_matching', async () => {
  const c = 'phrase';
  await A.create(c, { vectors: { size: 1, distance: 'Dot' } });
  const docs = [
    'The quick brown fox', // 1
    'brown, quick fox', // 2: the tokens, not in order
    ['a quick', 'brown dog'], // 3: an array is one document, its strings one after another
    'quickbrown', // 4: one token
    'quick quick brown', // 5: a repeated token before the phrase
    { t: 'quick brown' }, // 6: not a string
  ];
  await A.upsert(c, docs.map((t, i) => ({ id: i + 1, vector: [1], payload: { t, k: i % 2 } })));
  const ids = async (filter) => expectOk(await post(c, '/points/scroll', { filter })).points.map((p) => p.id);
  const count = async (filter) => expectOk(await post(c, '/points/count', { filter, exact: true })).count;
  const ph = (s) => ({ key: 't', match: { phrase: s } });
  assert.deepEqual(await ids({ must: [ph('quick brown')] }), [1, 5]);  // substrings, case-sensitive
  assert.deepEqual(await ids({ must: [ph('quickb')] }), [4]);
  // a text index without phrase_matching keeps no positions: nothing matches, as in Qdrant
  expectOk(await req('PUT', `${srv.url}/collections/${c}/index?wait=true`, { field_name: 't', field_schema: 'text' }));
  assert.deepEqual(await ids({ must: [ph('quick brown')] }), []);
  assert.deepEqual(await ids({ must_not: [ph('quick brown')] }), [1, 2, 3, 4, 5, 6]);
  // with phrase_matching: the phrase's tokens one after another (lowercased words)
  expectOk(await req('PUT', `${srv.url}/collections/${c}/index?wait=true`, { field_name: 't', field_schema: { type: 'text', phrase_matching: true } }));
  const want = [1, 3, 5];
  assert.deepEqual(await ids({ must: [ph('QUICK brown')] }), want);
  assert.deepEqual(await ids({ should: [ph('quick, brown!')] }), want);
  assert.deepEqual(await ids({ min_should: { conditions: [ph('quick brown'), { key: 'k', match: { value: 9 } }], min_count: 1 } }), want);
  assert.deepEqual(await ids({ must_not: [ph('quick brown')] }), [2, 4, 6]);
  assert.equal(await count({ must: [ph('quick brown fox')] }), 1);
  assert.deepEqual(await ids({ must: [ph('quick')] }), [1, 2, 3, 5]);  // one token: anywhere
  assert.deepEqual(await ids({ must: [ph('quick quick')] }), [5]);
  assert.deepEqual(await ids({ must: [ph('...')] }), []);  // no tokens: nothing
  assert.deepEqual(await ids({ must: [ph('brown quick')] }), [2]);
  assert.deepEqual(await ids({ must: [ph('fox quick')] }), []);
  // an update_filter is judged the same way; the index is rebuilt with it at restart
  await A.write('PUT', c, '/points', { points: [{ id: 2, vector: [2], payload: { t: 'x' } }], update_filter: { must: [ph('quick brown')] } });
  assert.equal((await A.retrieve(c, [2]))[0].payload.t, 'brown, quick fox');
  await srv.kill9();
  srv = await startServer({ storage });
  A = api(srv.url);
  assert.deepEqual(await ids({ must: [ph('quick brown')] }), want);
});
