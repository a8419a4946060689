// The write path over raw HTTP: every points endpoint, query parameters,
// point ids, vectors (dense, named, sparse), payload operations, filters,
// and validation errors (each followed by a check that nothing changed).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, req, expectOk, expectError } from './helpers.mjs';
import { api, expectUpdate, expectBatch, stripTime, assertClose } from './points_lib.mjs';

let srv, A;
before(async () => {
  srv = await startServer();
  A = api(srv.url);
});
after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, srv.stderr());
});

const DOT3 = { vectors: { size: 3, distance: 'Dot' } };
const COS3 = { vectors: { size: 3, distance: 'Cosine' } };
const NAMED = {
  vectors: { a: { size: 2, distance: 'Dot' }, b: { size: 3, distance: 'Euclid' } },
  sparse_vectors: { s: {} },
};
const FORMAT = /^Format error in JSON body: ./;

// ---- upsert forms, wait, operation ids ---------------------------------------------

test('upsert: PointsList and PointsBatch forms; retrieve and GET return what was written', async () => {
  const c = 'forms';
  await A.create(c, DOT3);
  expectUpdate(await A.write('PUT', c, '/points', {
    points: [
      { id: 1, vector: [0.1, 0.2, 0.3], payload: { k: 'one' } },
      { id: 2, vector: [-1.5, 0, 2.25] },
      { id: 3, vector: [1e-3, 123456, -0.5], payload: null },
    ],
  }));
  expectUpdate(await A.write('PUT', c, '/points', {
    batch: {
      ids: [10, 11, 12],
      vectors: [[1, 2, 3], [4, 5, 6], [7, 8, 9]],
      payloads: [{ k: 10 }, null, { k: [12] }],
    },
  }));
  // batch form without payloads
  expectUpdate(await A.write('PUT', c, '/points', { batch: { ids: [20], vectors: [[0.5, 0.25, 0.125]] } }));

  const all = await A.retrieve(c, [1, 2, 3, 10, 11, 12, 20, 99]);
  assert.deepEqual(all.sort((a, b) => a.id - b.id), [
    { id: 1, payload: { k: 'one' }, vector: [0.1, 0.2, 0.3] },
    { id: 2, payload: {}, vector: [-1.5, 0, 2.25] },
    { id: 3, payload: {}, vector: [0.001, 123456, -0.5] },
    { id: 10, payload: { k: 10 }, vector: [1, 2, 3] },
    { id: 11, payload: {}, vector: [4, 5, 6] },
    { id: 12, payload: { k: [12] }, vector: [7, 8, 9] },
    { id: 20, payload: {}, vector: [0.5, 0.25, 0.125] },
  ]);
  assert.equal(await A.count(c), 7);
  assert.deepEqual(await A.get(c, 12), { id: 12, payload: { k: [12] }, vector: [7, 8, 9] });
  // without with_vector / with_payload
  assert.deepEqual(await A.retrieve(c, [10], { with_payload: false, with_vector: false }), [
    { id: 10, payload: null, vector: null },
  ]);
});

test('wait: absent/false → "acknowledged", true → "completed"; operation_id increases per collection', async () => {
  await A.create('w1', DOT3);
  await A.create('w2', DOT3);
  const ids = { w1: [], w2: [] };
  const p = (id) => ({ points: [{ id, vector: [id, 0, 0] }] });
  for (let i = 1; i <= 6; i++) {
    for (const c of ['w1', 'w2']) {
      const query = ['', 'wait=false', 'wait=true'][i % 3];
      const r = expectUpdate(await A.write('PUT', c, '/points', p(i), { query }), query === 'wait=true' ? 'completed' : 'acknowledged');
      ids[c].push(r.operation_id);
    }
  }
  for (const c of ['w1', 'w2']) {
    for (let i = 1; i < ids[c].length; i++) assert.ok(ids[c][i] > ids[c][i - 1], `${c}: ${ids[c]}`);
  }
  // every other endpoint answers the same way
  const c = 'w1';
  const ops = [
    ['POST', '/points/payload', { payload: { a: 1 }, points: [1] }],
    ['PUT', '/points/payload', { payload: { b: 1 }, points: [1] }],
    ['POST', '/points/payload/delete', { keys: ['b'], points: [1] }],
    ['POST', '/points/payload/clear', { points: [1] }],
    ['PUT', '/points/vectors', { points: [{ id: 1, vector: [9, 9, 9] }] }],
    ['POST', '/points/vectors/delete', { vector: [''], points: [6] }],
    ['POST', '/points/delete', { points: [5] }],
  ];
  let last = ids.w1.at(-1);
  for (const wait of [false, true]) {
    for (const [m, s, body] of ops) {
      const r = expectUpdate(await A.write(m, c, s, body, { query: `wait=${wait}` }), wait ? 'completed' : 'acknowledged');
      assert.ok(r.operation_id > last, `${m} ${s}: ${r.operation_id} after ${last}`);
      last = r.operation_id;
    }
    const b = expectBatch(await A.write('POST', c, '/points/batch', { operations: [{ delete: { points: [4] } }, { clear_payload: { points: [1] } }] }, { query: `wait=${wait}` }), 2, wait ? 'completed' : 'acknowledged');
    assert.ok(b[0].operation_id > last);
    last = b[1].operation_id;
  }
  assert.deepEqual(await A.get(c, 1), { id: 1, payload: {}, vector: [9, 9, 9] });
  assert.equal(await A.get(c, 4), null);
  assert.equal(await A.get(c, 5), null);
});

test('a wait=false write followed by a wait=true write: both are applied, in order', async () => {
  const c = 'nowait';
  await A.create(c, DOT3);
  for (let round = 0; round < 20; round++) {
    expectUpdate(await A.write('PUT', c, '/points', { points: [{ id: round, vector: [round, 1, 1], payload: { r: round, v: 'first' } }] }, { query: 'wait=false' }), 'acknowledged');
    expectUpdate(await A.write('POST', c, '/points/payload', { payload: { v: 'second' }, points: [round] }, { query: 'wait=false' }), 'acknowledged');
    expectUpdate(await A.write('POST', c, '/points/payload', { payload: { done: true }, points: [round] }));
    assert.deepEqual(await A.get(c, round), { id: round, payload: { r: round, v: 'second', done: true }, vector: [round, 1, 1] });
  }
  assert.equal(await A.count(c), 20);
});

test('ordering and timeout query parameters', async () => {
  const c = 'qparams';
  await A.create(c, DOT3);
  const body = (id) => ({ points: [{ id, vector: [1, 2, 3] }] });
  let id = 1;
  for (const q of ['ordering=weak', 'ordering=medium', 'ordering=strong', 'wait=true&ordering=strong&timeout=5', 'timeout=1&wait=true']) {
    const r = expectUpdate(await A.write('PUT', c, '/points', body(id++), { query: q }), q.includes('wait=true') ? 'completed' : 'acknowledged');
    assert.ok(r.operation_id >= 0);
  }
  expectUpdate(await A.write('POST', c, '/points/delete', { points: [999] })); // barrier
  const ids = [1, 2, 3, 4, 5, 6, 7];
  assert.deepEqual((await A.retrieve(c, ids)).map((p) => p.id).sort(), [1, 2, 3, 4, 5]);
  const before = await A.snapshot(c, ids);

  const badOrdering = 'Deserialize error in query parameters: unknown variant `x`, expected one of `weak`, `medium`, `strong`';
  const badTimeout = 'Validation error in query parameters: [timeout: value 0 invalid, must be 1 or larger]';
  const endpoints = [
    ['PUT', '/points', body(6)],
    ['POST', '/points/batch', { operations: [{ upsert: body(6) }] }],
    ['POST', '/points/delete', { points: [1] }],
    ['POST', '/points/payload', { payload: { a: 1 }, points: [1] }],
    ['PUT', '/points/payload', { payload: { a: 1 }, points: [1] }],
    ['POST', '/points/payload/delete', { keys: ['a'], points: [1] }],
    ['POST', '/points/payload/clear', { points: [1] }],
    ['PUT', '/points/vectors', { points: [{ id: 1, vector: [0, 0, 0] }] }],
    ['POST', '/points/vectors/delete', { vector: [''], points: [1] }],
  ];
  for (const [m, s, b] of endpoints) {
    expectError(await A.send(m, c, s, b, { query: 'wait=true&ordering=x' }), 400, badOrdering);
    expectError(await A.send(m, c, s, b, { query: 'wait=true&timeout=0' }), 422, badTimeout);
  }
  expectError(await A.send('PUT', c, '/points', body(7), { query: 'wait=maybe' }), 400, /^Deserialize error in query parameters: /);
  assert.deepEqual(await A.snapshot(c, ids), before, 'rejected requests changed nothing');
});

// ---- ids ------------------------------------------------------------------------------

test('UUID ids in every usual form are one canonical id; integer ids up to 2^64-1', async () => {
  const c = 'uuids';
  await A.create(c, DOT3);
  const canon = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';
  const forms = [
    canon,
    canon.toUpperCase(),
    canon.replaceAll('-', ''),
    `{${canon}}`,
    `urn:uuid:${canon}`,
    `{${canon.toUpperCase()}}`,
  ];
  for (let i = 0; i < forms.length; i++) {
    expectUpdate(await A.write('PUT', c, '/points', { points: [{ id: forms[i], vector: [i, 0, 0], payload: { form: i } }] }));
    assert.equal(await A.count(c), 1, `form ${forms[i]} is the same point`);
    const res = await req('GET', A.u(c, `/points/${encodeURIComponent(forms[(i + 1) % forms.length])}`));
    assert.deepEqual(expectOk(res), { id: canon, payload: { form: i }, vector: [i, 0, 0] });
  }
  // retrieve with mixed forms; the answer prints the canonical form
  const r = await A.retrieve(c, [canon.replaceAll('-', '').toUpperCase(), 42]);
  assert.deepEqual(r, [{ id: canon, payload: { form: forms.length - 1 }, vector: [forms.length - 1, 0, 0] }]);
  // a second UUID and integer ids live side by side
  const other = 'f47ac10b-58cc-4372-a567-0e02b2c3d479';
  await A.upsert(c, [{ id: other.toUpperCase(), vector: [1, 1, 1] }, { id: 0, vector: [0, 0, 1] }]);
  assert.equal(await A.count(c), 3);
  assert.deepEqual(await A.get(c, other), { id: other, payload: {}, vector: [1, 1, 1] });
  assert.deepEqual(await A.get(c, 0), { id: 0, payload: {}, vector: [0, 0, 1] });
  // payload ops and deletes accept the other forms too
  expectUpdate(await A.write('POST', c, '/points/payload', { payload: { x: 1 }, points: [`urn:uuid:${other}`] }));
  assert.deepEqual((await A.get(c, other)).payload, { x: 1 });
  expectUpdate(await A.write('POST', c, '/points/delete', { points: [`{${canon}}`] }));
  assert.equal(await A.get(c, canon), null);

  // the largest unsigned 64-bit id, exactly (sent and checked as raw text)
  const max = '18446744073709551615';
  expectUpdate(expectOk(await A.send('PUT', c, '/points', undefined, { raw: `{"points":[{"id":${max},"vector":[1,2,3],"payload":{"big":${max}}}]}` })));
  const g = await req('GET', A.u(c, `/points/${max}`));
  expectOk(g);
  assert.match(g.text, new RegExp(`"id":${max}[,}]`));
  assert.match(g.text, new RegExp(`"big":${max}[,}]`));
  const rr = await req('POST', A.u(c, '/points'), undefined, { raw: `{"ids":[${max}, 18446744073709551614]}` });
  expectOk(rr);
  assert.match(rr.text, /^\{"result":\[\{"id":18446744073709551615,"payload":\{"big":18446744073709551615\},"vector":null\}\]/);
});

test('bad ids: numeric string, negative, fractional, bad UUID → 400; GET missing → 404, GET bad text → 400', async () => {
  const c = 'badids';
  await A.create(c, DOT3);
  await A.upsert(c, [{ id: 5, vector: [1, 2, 3], payload: { a: 1 } }]);
  const before = await A.snapshot(c, [5]);
  const notId = /^Format error in JSON body: .*not a valid point ID/;
  const cases = [
    ['PUT', '/points', { points: [{ id: '5', vector: [1, 2, 3] }] }],
    ['PUT', '/points', { points: [{ id: -1, vector: [1, 2, 3] }] }],
    ['PUT', '/points', { points: [{ id: 1.5, vector: [1, 2, 3] }] }],
    ['PUT', '/points', { points: [{ id: '6ba7b810-9dad-11d1-80b4-00c04fd430c', vector: [1, 2, 3] }] }],
    ['PUT', '/points', { points: [{ id: 'not-a-uuid', vector: [1, 2, 3] }] }],
    ['PUT', '/points', { points: [{ id: null, vector: [1, 2, 3] }] }],
    ['PUT', '/points', { batch: { ids: [6, '7'], vectors: [[1, 2, 3], [1, 2, 3]] } }],
    ['POST', '/points/delete', { points: ['5'] }],
    ['POST', '/points/payload', { payload: { b: 1 }, points: ['5'] }],
    ['PUT', '/points/vectors', { points: [{ id: '5', vector: [3, 2, 1] }] }],
    ['POST', '/points/batch', { operations: [{ delete: { points: [-5] } }] }],
  ];
  for (const [m, s, b] of cases) expectError(await A.send(m, c, s, b), 400, FORMAT);
  // a numeric string is named as such
  expectError(await A.send('PUT', c, '/points', { points: [{ id: '5', vector: [1, 2, 3] }] }), 400, notId);
  expectError(await A.send('POST', c, '/points/delete', { points: ['5'] }), 400, notId);
  expectError(await A.send('POST', c, '/points/payload', { payload: { b: 1 }, points: ['5'] }), 400, notId);
  expectError(await A.send('PUT', c, '/points/vectors', { points: [{ id: '5', vector: [3, 2, 1] }] }), 400, notId);
  expectError(await req('POST', A.u(c, '/points'), { ids: ['5'] }), 400, notId);
  assert.deepEqual(await A.snapshot(c, [5]), before);

  expectError(await req('GET', A.u(c, '/points/6')), 404, 'Not found: No point with id 6 found');
  expectError(await req('GET', A.u(c, '/points/6ba7b810-9dad-11d1-80b4-00c04fd430c8')), 404,
    'Not found: No point with id 6ba7b810-9dad-11d1-80b4-00c04fd430c8 found');
  for (const bad of ['abc', '-1', '1.5', '6ba7b810-9dad-11d1-80b4', '18446744073709551616']) {
    expectError(await req('GET', A.u(c, `/points/${bad}`)), 400);
  }
});

// ---- vectors -------------------------------------------------------------------------

test('Cosine stores normalised vectors; Dot, Euclid and Manhattan keep them exactly', async () => {
  await A.create('cos', COS3);
  await A.upsert('cos', [{ id: 1, vector: [3, 4, 0] }, { id: 2, vector: [0, 0, -2] }, { id: 3, vector: [1, 1, 1] }]);
  assert.deepEqual(await A.get('cos', 1), { id: 1, payload: {}, vector: [0.6, 0.8, 0] });
  assert.deepEqual(await A.get('cos', 2), { id: 2, payload: {}, vector: [0, 0, -1] });
  assertClose((await A.get('cos', 3)).vector, [1 / Math.sqrt(3), 1 / Math.sqrt(3), 1 / Math.sqrt(3)]);
  // update_vectors normalises too
  expectUpdate(await A.write('PUT', 'cos', '/points/vectors', { points: [{ id: 2, vector: [0, 5, 12] }] }));
  assertClose((await A.get('cos', 2)).vector, [0, 5 / 13, 12 / 13]);

  const v = [0.1, -0.2, 3.3];
  for (const distance of ['Dot', 'Euclid', 'Manhattan']) {
    const c = `exact_${distance.toLowerCase()}`;
    await A.create(c, { vectors: { size: 3, distance } });
    await A.upsert(c, [{ id: 1, vector: v }, { id: 2, vector: [3, 4, 0] }]);
    const res = await req('GET', A.u(c, '/points/1'));
    assert.deepEqual(expectOk(res).vector, v);
    assert.match(res.text, /"vector":\[0\.1,-0\.2,3\.3\]/, `${distance}: printed as given: ${res.text}`);
    assert.deepEqual((await A.get(c, 2)).vector, [3, 4, 0]);
    const batch = await A.write('POST', c, '/points/batch', {
      operations: [{ update_vectors: { points: [{ id: 2, vector: [1e-7, 65504, -0.001] }] } }],
    });
    expectBatch(batch, 1);
    assert.deepEqual((await A.get(c, 2)).vector, [1e-7, 65504, -0.001]);
  }
});

test('named dense and sparse vectors: upsert, update_vectors, delete_vectors, with_vector selection', async () => {
  const c = 'named';
  await A.create(c, NAMED);
  // a sparse vector is stored sorted by index, as Qdrant stores it
  const s = { indices: [1, 3], values: [0.25, 0.5] };
  await A.upsert(c, [
    { id: 1, vector: { a: [1, 2], s: { indices: [3, 1], values: [0.5, 0.25] } } },
    { id: 2, vector: { b: [0.1, 0.2, 0.3] }, payload: { p: 2 } },
    { id: 3, vector: {} },
  ]);
  assert.deepEqual(await A.get(c, 1), { id: 1, payload: {}, vector: { a: [1, 2], s } });
  assert.deepEqual(await A.get(c, 2), { id: 2, payload: { p: 2 }, vector: { b: [0.1, 0.2, 0.3] } });
  assert.deepEqual(await A.get(c, 3), { id: 3, payload: {}, vector: {} });
  assert.equal(await A.count(c), 3);

  // with_vector as a list of names
  const onlyS = await A.retrieve(c, [1, 2], { with_vector: ['s'] });
  assert.deepEqual(onlyS.sort((x, y) => x.id - y.id), [
    { id: 1, payload: {}, vector: { s } },
    { id: 2, payload: { p: 2 }, vector: {} },
  ]);
  const ab = await A.retrieve(c, [1], { with_vector: ['a', 'b'] });
  assert.deepEqual(ab, [{ id: 1, payload: {}, vector: { a: [1, 2] } }]);

  // update_vectors changes only the given vectors
  expectUpdate(await A.write('PUT', c, '/points/vectors', {
    points: [{ id: 1, vector: { b: [7, 8, 9] } }, { id: 2, vector: { a: [-1, -2], s: { indices: [0], values: [2] } } }],
  }));
  assert.deepEqual(await A.get(c, 1), { id: 1, payload: {}, vector: { a: [1, 2], b: [7, 8, 9], s } });
  assert.deepEqual(await A.get(c, 2), {
    id: 2, payload: { p: 2 }, vector: { a: [-1, -2], b: [0.1, 0.2, 0.3], s: { indices: [0], values: [2] } },
  });
  // replacing a sparse vector replaces it as a whole
  expectUpdate(await A.write('PUT', c, '/points/vectors', { points: [{ id: 1, vector: { s: { indices: [9], values: [1.5] } } }] }));
  assert.deepEqual((await A.get(c, 1)).vector, { a: [1, 2], b: [7, 8, 9], s: { indices: [9], values: [1.5] } });

  // delete_vectors removes only the named ones
  expectUpdate(await A.write('POST', c, '/points/vectors/delete', { vector: ['a'], points: [1, 2] }));
  assert.deepEqual((await A.get(c, 1)).vector, { b: [7, 8, 9], s: { indices: [9], values: [1.5] } });
  assert.deepEqual((await A.get(c, 2)).vector, { b: [0.1, 0.2, 0.3], s: { indices: [0], values: [2] } });
  expectUpdate(await A.write('POST', c, '/points/vectors/delete', { vector: ['s', 'b'], filter: { must: [{ has_id: [2] }] } }));
  assert.deepEqual(await A.get(c, 2), { id: 2, payload: { p: 2 }, vector: {} });
  // deleting a vector the point does not have is fine
  expectUpdate(await A.write('POST', c, '/points/vectors/delete', { vector: ['a'], points: [3] }));
  assert.deepEqual(await A.get(c, 3), { id: 3, payload: {}, vector: {} });
  assert.equal(await A.count(c), 3, 'points without vectors are still points');

  // upsert replaces all vectors of the point
  await A.upsert(c, [{ id: 1, vector: { a: [5, 5] } }]);
  assert.deepEqual(await A.get(c, 1), { id: 1, payload: {}, vector: { a: [5, 5] } });

  // errors on named vectors, nothing changed
  const before = await A.snapshot(c, [1, 2, 3]);
  expectError(await A.send('PUT', c, '/points', { points: [{ id: 9, vector: { foo: [1, 2] } }] }), 400, 'Wrong input: Not existing vector name error: foo');
  expectError(await A.send('PUT', c, '/points', { points: [{ id: 9, vector: { a: [1, 2, 3] } }] }), 400, 'Wrong input: Vector dimension error: expected dim: 2, got 3');
  expectError(await A.send('PUT', c, '/points/vectors', { points: [{ id: 1, vector: { b: [1] } }] }), 400, 'Wrong input: Vector dimension error: expected dim: 3, got 1');
  expectError(await A.send('PUT', c, '/points/vectors', { points: [{ id: 1, vector: { zz: [1] } }] }), 400, 'Wrong input: Not existing vector name error: zz');
  expectError(await A.send('POST', c, '/points/vectors/delete', { vector: ['zz'], points: [1] }), 400, 'Wrong input: Not existing vector name error: zz');
  expectError(await A.send('PUT', c, '/points', { points: [{ id: 9, vector: { s: { indices: [1, 2], values: [1] } } }] }), 422, /^Validation error in JSON body: \[/);
  assert.deepEqual(await A.snapshot(c, [1, 2, 3]), before);
  assert.equal(await A.get(c, 9), null);
});

// ---- payload -------------------------------------------------------------------------

test('payload is kept exactly: key order, 1 vs 1.0, nesting, unicode, big integers', async () => {
  const c = 'payload_types';
  await A.create(c, DOT3);
  const raw =
    '{"points":[{"id":1,"vector":[1,2,3],"payload":' +
    '{"z":1,"a":1.0,"m":-0.5,"big":18446744073709551615,"neg":-9223372036854775808,"e":1e-7,' +
    '"s":"h\\u00e9llo \\"q\\" \\\\ \\n ☃ 🎉","t":true,"f":false,"n":null,' +
    '"arr":[1,"two",[3.0],{"x":null}],"obj":{"b":{"c":[]},"a":{}},"empty":""}}]}';
  expectUpdate(expectOk(await A.send('PUT', c, '/points', undefined, { raw })));
  const res = await req('GET', A.u(c, '/points/1'));
  const p = expectOk(res);
  assert.deepEqual(Object.keys(p.payload), ['z', 'a', 'm', 'big', 'neg', 'e', 's', 't', 'f', 'n', 'arr', 'obj', 'empty']);
  assert.equal(p.payload.s, 'h\u00e9llo "q" \\ \n ☃ 🎉');
  assert.deepEqual(p.payload.arr, [1, 'two', [3], { x: null }]);
  assert.deepEqual(Object.keys(p.payload.obj), ['b', 'a']);
  assert.match(res.text, /"z":1,"a":1\.0,"m":-0\.5,/);
  assert.match(res.text, /"big":18446744073709551615,"neg":-9223372036854775808,/);
  assert.match(res.text, /"e":(1e-7|1E-7|1e-07|0\.0000001),/);
  assert.match(res.text, /"arr":\[1,"two",\[3\.0\],\{"x":null\}\]/);
  assert.match(res.text, /"obj":\{"b":\{"c":\[\]\},"a":\{\}\}/);
  // the same through retrieve
  const r = await req('POST', A.u(c, '/points'), { ids: [1], with_payload: true });
  assert.match(r.text, /"a":1\.0,/);
  assert.match(r.text, /"big":18446744073709551615,/);

  // set_payload keeps the form of the values it adds
  expectUpdate(expectOk(await A.send('POST', c, '/points/payload', undefined, { raw: '{"payload":{"y":2.0,"w":2},"points":[1]}' })));
  const r2 = await req('GET', A.u(c, '/points/1'));
  assert.match(r2.text, /"empty":"","y":2\.0,"w":2\}/);
});

test('set_payload merges; with "key" it writes inside a nested object; overwrite replaces', async () => {
  const c = 'payload_ops';
  await A.create(c, DOT3);
  await A.upsert(c, [
    { id: 1, vector: [1, 0, 0], payload: { a: { x: 1 }, keep: 'yes', n: 1 } },
    { id: 2, vector: [0, 1, 0], payload: { n: 2 } },
    { id: 3, vector: [0, 0, 1], payload: { n: 3 } },
  ]);
  // merge top-level keys: existing keys are replaced, new keys appended
  expectUpdate(await A.write('POST', c, '/points/payload', { payload: { n: 10, new: [1] }, points: [1, 2] }));
  assert.deepEqual((await A.get(c, 1)).payload, { a: { x: 1 }, keep: 'yes', n: 10, new: [1] });
  assert.deepEqual((await A.get(c, 2)).payload, { n: 10, new: [1] });
  assert.deepEqual((await A.get(c, 3)).payload, { n: 3 }, 'point 3 untouched');
  // set_payload of a whole object replaces that key's value (merge is top-level only)
  expectUpdate(await A.write('POST', c, '/points/payload', { payload: { a: { y: 2 } }, points: [2] }));
  assert.deepEqual((await A.get(c, 2)).payload, { n: 10, new: [1], a: { y: 2 } });

  // key: a nested path; the object there gets the payload merged in, created when missing
  expectUpdate(await A.write('POST', c, '/points/payload', { payload: { c: 1 }, key: 'a.b', points: [1, 3] }));
  assert.deepEqual((await A.get(c, 1)).payload, { a: { x: 1, b: { c: 1 } }, keep: 'yes', n: 10, new: [1] });
  assert.deepEqual((await A.get(c, 3)).payload, { n: 3, a: { b: { c: 1 } } });
  expectUpdate(await A.write('POST', c, '/points/payload', { payload: { d: 2, c: 5 }, key: 'a.b', points: [1] }));
  assert.deepEqual((await A.get(c, 1)).payload.a, { x: 1, b: { c: 5, d: 2 } });
  expectUpdate(await A.write('POST', c, '/points/payload', { payload: { top: true }, key: 'a', points: [1] }));
  assert.deepEqual((await A.get(c, 1)).payload.a, { x: 1, b: { c: 5, d: 2 }, top: true });

  // overwrite: the payload becomes exactly the given one
  expectUpdate(await A.write('PUT', c, '/points/payload', { payload: { only: 'this' }, points: [1, 2] }));
  assert.deepEqual((await A.get(c, 1)).payload, { only: 'this' });
  assert.deepEqual((await A.get(c, 2)).payload, { only: 'this' });
  expectUpdate(await A.write('PUT', c, '/points/payload', { payload: {}, points: [2] }));
  assert.deepEqual((await A.get(c, 2)).payload, {});
  // vectors are never touched by payload operations
  assert.deepEqual((await A.get(c, 1)).vector, [1, 0, 0]);
  assert.deepEqual((await A.get(c, 3)).vector, [0, 0, 1]);
});

test('delete_payload (incl. nested keys) and clear_payload', async () => {
  const c = 'payload_del';
  await A.create(c, DOT3);
  const full = { a: { b: 1, c: 2 }, d: 3, e: [1, 2], f: null };
  await A.upsert(c, [1, 2, 3].map((id) => ({ id, vector: [id, 0, 0], payload: { ...full, id } })));
  expectUpdate(await A.write('POST', c, '/points/payload/delete', { keys: ['d', 'a.b', 'missing', 'x.y.z'], points: [1, 2] }));
  assert.deepEqual((await A.get(c, 1)).payload, { a: { c: 2 }, e: [1, 2], f: null, id: 1 });
  assert.deepEqual((await A.get(c, 2)).payload, { a: { c: 2 }, e: [1, 2], f: null, id: 2 });
  assert.deepEqual((await A.get(c, 3)).payload, { ...full, id: 3 });
  expectUpdate(await A.write('POST', c, '/points/payload/delete', { keys: ['a', 'f'], filter: { must: [{ key: 'id', match: { value: 2 } }] } }));
  assert.deepEqual((await A.get(c, 2)).payload, { e: [1, 2], id: 2 });

  expectUpdate(await A.write('POST', c, '/points/payload/clear', { points: [1] }));
  assert.deepEqual(await A.get(c, 1), { id: 1, payload: {}, vector: [1, 0, 0] });
  expectUpdate(await A.write('POST', c, '/points/payload/clear', { filter: { must: [{ key: 'd', match: { value: 3 } }] } }));
  assert.deepEqual(await A.get(c, 3), { id: 3, payload: {}, vector: [3, 0, 0] });
  assert.deepEqual((await A.get(c, 2)).payload, { e: [1, 2], id: 2 });
  assert.equal(await A.count(c), 3, 'clearing the payload keeps the point');
});

test('upsert of an existing id replaces the whole point (payload omitted → {})', async () => {
  const c = 'replace';
  await A.create(c, NAMED);
  await A.upsert(c, [{ id: 7, vector: { a: [1, 1], b: [1, 2, 3] }, payload: { x: 1 } }]);
  await A.upsert(c, [{ id: 7, vector: { a: [2, 2] } }]);
  assert.deepEqual(await A.get(c, 7), { id: 7, payload: {}, vector: { a: [2, 2] } });
  // the same id twice in one request: the last one wins
  await A.upsert(c, [{ id: 8, vector: { a: [1, 1] }, payload: { v: 1 } }, { id: 8, vector: { a: [3, 3] }, payload: { v: 2 } }]);
  assert.deepEqual(await A.get(c, 8), { id: 8, payload: { v: 2 }, vector: { a: [3, 3] } });
  assert.equal(await A.count(c), 2);
});

// ---- filters -------------------------------------------------------------------------

test('filters select points for set_payload: must / should / must_not, match value/any/except, has_id, is_empty, is_null', async () => {
  const c = 'filters';
  await A.create(c, DOT3);
  const payloads = {
    1: { color: 'red', n: 1, tags: ['a', 'b'] },
    2: { color: 'green', n: 2 },
    3: { color: 'blue', n: 3, tags: [] },
    4: { color: 'red', n: 4, opt: null },
    5: { n: 5 },
    6: { color: 'green', n: 6, opt: 'x', flag: true },
  };
  await A.upsert(c, Object.entries(payloads).map(([id, payload]) => ({ id: Number(id), vector: [1, 1, 1], payload })));
  const key = (k, match) => ({ key: k, match });
  const cases = [
    [{ must: [key('color', { value: 'red' })] }, [1, 4]],
    [{ must: [key('n', { value: 2 })] }, [2]],
    [{ must: [key('flag', { value: true })] }, [6]],
    [{ must: [key('tags', { value: 'b' })] }, [1]],
    [{ should: [key('color', { value: 'red' }), key('color', { value: 'blue' })] }, [1, 3, 4]],
    [{ must_not: [key('color', { value: 'red' })] }, [2, 3, 5, 6]],
    [{ must: [key('color', { value: 'green' })], must_not: [{ has_id: [6] }] }, [2]],
    [{ must: [{ has_id: [2, 5, 99] }] }, [2, 5]],
    [{ must: [key('color', { any: ['red', 'blue'] })] }, [1, 3, 4]],
    [{ must: [key('n', { any: [1, 6, 7] })] }, [1, 6]],
    [{ must: [key('color', { except: ['red'] }), { has_id: [1, 2, 3, 4, 6] }] }, [2, 3, 6]],
    [{ must: [{ is_empty: { key: 'tags' } }] }, [2, 3, 4, 5, 6]],
    [{ must: [{ is_null: { key: 'opt' } }] }, [4]],
    [{ must_not: [{ is_empty: { key: 'color' } }], should: [{ has_id: [4, 5, 6] }] }, [4, 6]],
    [{ must: [key('color', { value: 'purple' })] }, []],
    // a single condition instead of a list (Filter allows both)
    [{ must: key('color', { value: 'green' }) }, [2, 6]],
    [{ must_not: { has_id: [1, 2, 3] }, should: key('n', { any: [3, 4, 5] }) }, [4, 5]],
  ];
  for (let i = 0; i < cases.length; i++) {
    const [filter, expected] = cases[i];
    expectUpdate(await A.write('POST', c, '/points/payload', { payload: { hit: i }, filter }));
    const pts = await A.retrieve(c, [1, 2, 3, 4, 5, 6]);
    const got = pts.filter((p) => p.payload.hit === i).map((p) => p.id).sort((a, b) => a - b);
    assert.deepEqual(got, expected, `filter ${JSON.stringify(filter)}`);
  }
});

test('filters work for every operation that takes one', async () => {
  const c = 'filter_ops';
  await A.create(c, NAMED);
  const mk = () => [1, 2, 3, 4].map((id) => ({ id, vector: { a: [id, id], b: [1, 2, 3] }, payload: { g: id % 2 ? 'odd' : 'even', id } }));
  await A.upsert(c, mk());
  const odd = { must: [{ key: 'g', match: { value: 'odd' } }] };
  expectUpdate(await A.write('PUT', c, '/points/payload', { payload: { o: 1 }, filter: odd }));
  assert.deepEqual((await A.retrieve(c, [1, 2, 3, 4], { with_vector: false })).sort((x, y) => x.id - y.id).map((p) => p.payload),
    [{ o: 1 }, { g: 'even', id: 2 }, { o: 1 }, { g: 'even', id: 4 }]);
  expectUpdate(await A.write('POST', c, '/points/payload/delete', { keys: ['id'], filter: { must: [{ key: 'g', match: { value: 'even' } }] } }));
  assert.deepEqual((await A.get(c, 2)).payload, { g: 'even' });
  expectUpdate(await A.write('POST', c, '/points/vectors/delete', { vector: ['b'], filter: { must: [{ key: 'o', match: { value: 1 } }] } }));
  assert.deepEqual((await A.get(c, 1)).vector, { a: [1, 1] });
  assert.deepEqual((await A.get(c, 2)).vector, { a: [2, 2], b: [1, 2, 3] });
  expectUpdate(await A.write('POST', c, '/points/payload/clear', { filter: { must: [{ has_id: [4] }] } }));
  assert.deepEqual((await A.get(c, 4)).payload, {});
  // 4's payload is now empty, so only 1 and 2 match
  expectUpdate(await A.write('POST', c, '/points/delete', { filter: { should: [{ has_id: [1] }, { key: 'g', match: { value: 'even' } }] } }));
  assert.deepEqual((await A.retrieve(c, [1, 2, 3, 4])).map((p) => p.id).sort(), [3, 4]);
  // the same through /points/batch
  await A.upsert(c, mk());
  expectBatch(await A.batch(c, [
    { set_payload: { payload: { s: 1 }, filter: odd } },
    { overwrite_payload: { payload: { w: 1 }, filter: { must: [{ has_id: [2] }] } } },
    { delete_payload: { keys: ['g'], filter: { must: [{ key: 's', match: { value: 1 } }] } } },
    { clear_payload: { filter: { must: [{ has_id: [4] }] } } },
    { delete_vectors: { vector: ['a'], filter: { must: [{ key: 'w', match: { value: 1 } }] } } },
    { delete: { filter: { must: [{ has_id: [3] }] } } },
  ]), 6);
  const pts = (await A.retrieve(c, [1, 2, 3, 4])).sort((x, y) => x.id - y.id);
  assert.deepEqual(pts, [
    { id: 1, payload: { id: 1, s: 1 }, vector: { a: [1, 1], b: [1, 2, 3] } },
    { id: 2, payload: { w: 1 }, vector: { b: [1, 2, 3] } },
    { id: 4, payload: {}, vector: { a: [4, 4], b: [1, 2, 3] } },
  ]);
});

// ---- errors, each with a check that nothing changed ------------------------------------

test('validation errors: exact status and message, and nothing changed', async () => {
  const c = 'errs';
  await A.create(c, DOT3);
  await A.upsert(c, [
    { id: 1, vector: [1, 2, 3], payload: { a: 1, nested: { b: [1, 2] } } },
    { id: 2, vector: [4, 5, 6], payload: { a: 2 } },
  ]);
  const ids = [1, 2, 3, 4];
  const before = await A.snapshot(c, ids);
  const dim = 'Wrong input: Vector dimension error: expected dim: 3, got 2';
  const cases = [
    // wrong dimension, also when only the last point is wrong
    ['PUT', '/points', { points: [{ id: 3, vector: [1, 2] }] }, 400, dim],
    ['PUT', '/points', { points: [{ id: 3, vector: [1, 2, 3], payload: { a: 3 } }, { id: 4, vector: [1, 2] }] }, 400, dim],
    ['PUT', '/points', { batch: { ids: [3, 4], vectors: [[1, 2, 3], [1, 2]] } }, 400, dim],
    ['PUT', '/points/vectors', { points: [{ id: 1, vector: [9, 9, 9] }, { id: 2, vector: [1, 2] }] }, 400, dim],
    ['PUT', '/points', { points: [{ id: 3, vector: [1, 2, 3, 4] }] }, 400, 'Wrong input: Vector dimension error: expected dim: 3, got 4'],
    // unknown vector name
    ['PUT', '/points', { points: [{ id: 3, vector: { foo: [1, 2, 3] } }] }, 400, 'Wrong input: Not existing vector name error: foo'],
    ['PUT', '/points/vectors', { points: [{ id: 1, vector: { foo: [1, 2, 3] } }] }, 400, 'Wrong input: Not existing vector name error: foo'],
    ['POST', '/points/vectors/delete', { vector: ['foo'], points: [1] }, 400, 'Wrong input: Not existing vector name error: foo'],
    // payload not an object
    ['PUT', '/points', { points: [{ id: 3, vector: [1, 2, 3], payload: [1] }] }, 400, FORMAT],
    ['PUT', '/points', { points: [{ id: 3, vector: [1, 2, 3], payload: 'x' }] }, 400, FORMAT],
    ['POST', '/points/payload', { payload: 5, points: [1] }, 400, FORMAT],
    ['PUT', '/points/payload', { payload: [], points: [1] }, 400, FORMAT],
    ['POST', '/points/payload/delete', { keys: 'a', points: [1] }, 400, FORMAT],
    // vector of the wrong type
    ['PUT', '/points', { points: [{ id: 3, vector: 'x' }] }, 400, FORMAT],
    ['PUT', '/points', { points: [{ id: 3, vector: [1, 'a', 3] }] }, 400, FORMAT],
    ['PUT', '/points', { points: [{ id: 3 }] }, 400, FORMAT],
    // bad filters: unknown condition, unknown field, bad match
    ['POST', '/points/delete', { filter: { must: [{ foo: 1 }] } }, 400, FORMAT],
    ['POST', '/points/delete', { filter: { must: [{ key: 'a', match: { value: 1 } }], bogus: [] } }, 400, FORMAT],
    ['POST', '/points/delete', { filter: { must: [{ key: 'a', match: { nope: 1 } }] } }, 400, FORMAT],
    ['POST', '/points/payload', { payload: { z: 1 }, filter: { should: [{ has_idd: [1] }] } }, 400, FORMAT],
    ['POST', '/points/payload/clear', { filter: { must_not: 5 } }, 400, FORMAT],
    ['POST', '/points/delete', {}, 400, FORMAT],
    // empty lists
    ['PUT', '/points', { points: [] }, 422, /^Validation error in JSON body: \[/],
    ['PUT', '/points', { batch: { ids: [], vectors: [] } }, 422, /^Validation error in JSON body: \[/],
    ['PUT', '/points/vectors', { points: [] }, 422, /^Validation error in JSON body: \[/],
    ['POST', '/points/vectors/delete', { vector: [], points: [1] }, 422, /^Validation error in JSON body: \[/],
    ['POST', '/points/batch', { operations: [{ update_vectors: { points: [] } }] }, 422, /^Validation error in JSON body: \[/],
    // unknown operation in a batch
    ['POST', '/points/batch', { operations: [{ upsert: { points: [{ id: 3, vector: [1, 2, 3] }] } }, { frobnicate: {} }] }, 400, FORMAT],
    // operations on points that do not exist (as Qdrant: 404)
    ['PUT', '/points/vectors', { points: [{ id: 3, vector: [1, 2, 3] }] }, 404, 'Not found: No point with id 3 found'],
    ['POST', '/points/payload', { payload: { z: 1 }, points: [1, 4] }, 404, 'Not found: No point with id 4 found'],
    ['PUT', '/points/payload', { payload: { z: 1 }, points: [4] }, 404, 'Not found: No point with id 4 found'],
    ['POST', '/points/payload/delete', { keys: ['a'], points: [2, 3] }, 404, 'Not found: No point with id 3 found'],
    ['POST', '/points/payload/clear', { points: [3] }, 404, 'Not found: No point with id 3 found'],
    ['POST', '/points/vectors/delete', { vector: [''], points: [3] }, 404, 'Not found: No point with id 3 found'],
  ];
  for (const [m, s, body, status, msg] of cases) {
    expectError(await A.send(m, c, s, body), status, msg);
    // the wait=false form is rejected the same way when the problem is visible before queueing
    if (status !== 404) expectError(await A.send(m, c, s, body, { query: 'wait=false' }), status, msg);
  }
  assert.deepEqual(await A.snapshot(c, ids), before, 'no rejected request changed anything');

  // malformed JSON: serde's message with the position
  const bad = [
    ['{"points": [{"id": 3, "vector": [1,2,3]}', 'Format error in JSON body: EOF while parsing a list at line 1 column 40'],
    ['{\n"points": [\n{"id": 3 "vector": [1,2,3]}\n]}', 'Format error in JSON body: expected `,` or `}` at line 3 column 10'],
    ['{"points": [{"id": 3, "vector": [1,2,3]}]} x', 'Format error in JSON body: trailing characters at line 1 column 44'],
  ];
  for (const [raw, msg] of bad) expectError(await A.send('PUT', c, '/points', undefined, { raw }), 400, msg);
  expectError(await A.send('PUT', c, '/points', undefined, { raw: '' }), 400, FORMAT);
  expectError(await A.send('POST', c, '/points/batch', undefined, { raw: '{"operations": [' }), 400, /^Format error in JSON body: .* at line 1 column \d+$/);
  assert.deepEqual(await A.snapshot(c, ids), before, 'malformed requests changed nothing');
});

test('missing collection → 404 on every write endpoint and on reads', async () => {
  const msg = "Not found: Collection `nope` doesn't exist!";
  const cases = [
    ['PUT', '/points', { points: [{ id: 1, vector: [1, 2, 3] }] }],
    ['POST', '/points/batch', { operations: [{ delete: { points: [1] } }] }],
    ['POST', '/points/delete', { points: [1] }],
    ['POST', '/points/payload', { payload: { a: 1 }, points: [1] }],
    ['PUT', '/points/payload', { payload: { a: 1 }, points: [1] }],
    ['POST', '/points/payload/delete', { keys: ['a'], points: [1] }],
    ['POST', '/points/payload/clear', { points: [1] }],
    ['PUT', '/points/vectors', { points: [{ id: 1, vector: [1, 2, 3] }] }],
    ['POST', '/points/vectors/delete', { vector: [''], points: [1] }],
    ['POST', '/points', { ids: [1] }],
  ];
  for (const [m, s, body] of cases) {
    for (const query of ['', 'wait=true', 'wait=false']) {
      expectError(await req(m, `${srv.url}/collections/nope${s}${query ? `?${query}` : ''}`, body), 404, msg);
    }
  }
  expectError(await req('GET', `${srv.url}/collections/nope/points/1`), 404, msg);
  // and nothing was created by them
  assert.deepEqual(expectOk(await req('GET', `${srv.url}/collections/nope/exists`)), { exists: false });
});

test('a body over --max-request-size-mb → 413, nothing changed; a body under it works', async () => {
  const small = await startServer({ args: ['--max-request-size-mb', '1'] });
  try {
    const B = api(small.url);
    const c = 'limited';
    await B.create(c, { vectors: { size: 256, distance: 'Dot' } });
    await B.upsert(c, [{ id: 0, vector: new Array(256).fill(0.5), payload: { a: 1 } }]);
    const before = await B.snapshot(c, [0, 1, 2]);
    // ~2 MB: 400 points × 256 floats
    const points = [];
    for (let i = 1; i <= 400; i++) points.push({ id: i, vector: Array.from({ length: 256 }, (_, j) => (i * 256 + j) / 1000003), payload: { i } });
    const big = JSON.stringify({ points });
    assert.ok(big.length > 1 << 20);
    const res = await B.send('PUT', c, '/points', undefined, { raw: big });
    assert.equal(res.status, 413, res.text);
    expectError(res, 413);
    const res2 = await B.send('POST', c, '/points/payload', undefined, { raw: JSON.stringify({ payload: { pad: 'x'.repeat(1_100_000) }, points: [0] }) });
    expectError(res2, 413);
    assert.deepEqual(await B.snapshot(c, [0, 1, 2]), before);
    // the server still serves, and a body under the limit works
    await B.upsert(c, points.slice(0, 100));
    assert.equal(await B.count(c), 101);
  } finally {
    assert.equal(await small.stop(), 0, small.stderr());
  }
});

test('retrieve shape: ids not found are skipped; vectors print as floats', async () => {
  const c = 'retr';
  await A.create(c, DOT3);
  await A.upsert(c, [5, 3, 9].map((id) => ({ id, vector: [id, 0, 0], payload: { id } })));
  const r = await A.retrieve(c, [9, 100, 3, 5], { with_vector: false });
  assert.deepEqual(r.map((p) => p.id).sort((a, b) => a - b), [3, 5, 9]);
  for (const p of r) assert.deepEqual(p, { id: p.id, payload: { id: p.id }, vector: null });
  const raw = await req('POST', A.u(c, '/points'), { ids: [3], with_payload: false, with_vector: true });
  assert.equal(stripTime(raw.text), '{"result":[{"id":3,"payload":null,"vector":[3.0,0.0,0.0]}],"status":"ok"}');
});

// ---- vectors read in float form (the reader's float arrays) ---------------------------

test('vectors: floats exactly as strtof, payload numbers exact, errors as before', async () => {
  const c = 'floatform';
  await A.create(c, { vectors: { a: { size: 3, distance: 'Dot' } }, sparse_vectors: { s: {} } });
  const before = await A.snapshot(c, [1, 2, 3]);
  const bad = [
    ['{"points":[{"id":1,"vector":{"a":[1,1e39,2]}}]}', 400,
      'Format error in JSON body: body.points[0].vector.a[1]: invalid type: a number out of f32 range, expected f32'],
    ['{"points":[{"id":1,"vector":{"a":[1,"x",2]}}]}', 400,
      'Format error in JSON body: body.points[0].vector.a[1]: invalid type: a string, expected f32'],
    ['{"points":[{"id":1,"vector":{"a":[1,2,3,]}}]}', 400, 'Format error in JSON body: trailing comma at line 1 column 41'],
    ['{"batch":{"ids":[1,2],"vectors":{"a":[0.5,0.5]}}}', 400,
      'Format error in JSON body: body.batch.vectors.a[0]: invalid type: a number, expected a vector'],
    ['{"points":[{"id":1,"vector":{"s":{"indices":[1,2],"values":[0.5,1e39]}}}]}', 400,
      'Format error in JSON body: body.points[0].vector.s.values[1]: expected f32'],
    ['{"points":[{"id":1,"vector":{"s":{"indices":[1.5],"values":[0.5]}}}]}', 400,
      'Format error in JSON body: body.points[0].vector.s.indices[0]: expected u32'],
  ];
  for (const [raw, status, msg] of bad) expectError(await A.send('PUT', c, '/points', undefined, { raw }), status, msg);
  expectError(await A.send('POST', c, '/points/vectors/delete', undefined, { raw: '{"points":[1],"vector":[1.5]}' }),
    400, 'Format error in JSON body: body: invalid type: a number, expected a vector name');
  assert.deepEqual(await A.snapshot(c, [1, 2, 3]), before);

  // 16777217 rounds to 16777216; the literal below lies just above the
  // midpoint 1 + 2^-24 (whose double is the midpoint: strtof rounds up).
  expectUpdate(await A.write('PUT', c, '/points', undefined, {
    raw: '{"points":[{"id":1,"vector":{"a":[0.1,16777217,1.000000059604644775390625000000000001],' +
      '"s":{"indices":[7],"values":[0.25]}},"payload":{"vector":[0.3],"big":9007199254740993}}]}',
  }));
  const res = await req('POST', A.u(c, '/points'), { ids: [1], with_payload: true, with_vector: true });
  expectOk(res);
  // Payload numbers are not floats: 0.3 stays the double 0.3, the integer stays exact.
  assert.match(res.text, /"payload":\{"vector":\[0\.3\],"big":9007199254740993\}/);
  assert.match(res.text, /"a":\[0\.1,16777216(\.0)?,1\.0000001\]/);
  assert.match(res.text, /"s":\{"indices":\[7\],"values":\[0\.25\]\}/);
});
