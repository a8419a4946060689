// Names as Qdrant accepts them: collection, alias and vector names refuse
// < > : " / \ | ? *, NUL and U+001F; vector names are at most 200 bytes.
// JSON strings are counted: a name holding "\u0000" never acts on its prefix.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, renameSync, writeFileSync, readdirSync } from 'node:fs';
import { startServer, req, expectOk, expectError, tempDir } from './helpers.mjs';

let srv;
const u = (p) => `${srv.url}${p}`;
const raw = (method, path, text) => req(method, u(path), undefined, { raw: text });
const V2 = { size: 2, distance: 'Dot' };

before(async () => {
  srv = await startServer();
  expectOk(await req('PUT', u('/collections/a'), { vectors: { a: V2, b: V2 } }));
  expectOk(await req('PUT', u('/collections/a/points?wait=true'), { points: [{ id: 1, vector: { a: [1, 2], b: [3, 4] } }] }));
});
after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, srv.stderr());
});

const aliases = async () => expectOk(await req('GET', u('/aliases'))).aliases;
const point1 = async () => expectOk(await req('GET', u('/collections/a/points/1')));

test('alias actions: a NUL inside a name is refused, nothing is aliased', async () => {
  const rows = [
    '{"actions":[{"create_alias":{"collection_name":"a\\u0000b","alias_name":"x"}}]}',
    '{"actions":[{"create_alias":{"collection_name":"a","alias_name":"x\\u0000y"}}]}',
    '{"actions":[{"rename_alias":{"old_alias_name":"x\\u0000","new_alias_name":"y"}}]}',
    '{"actions":[{"delete_alias":{"alias_name":"x\\u0000"}}]}',
  ];
  for (const body of rows) {
    expectError(await raw('POST', '/collections/aliases', body), 422,
      'Validation error in JSON body: [collection name cannot contain "\\0" char]');
  }
  assert.deepEqual(await aliases(), []);
});

test('alias names refuse Qdrant\'s characters with Qdrant\'s message', async () => {
  for (const c of ['<', '>', ':', '"', '/', '\\', '|', '?', '*', '\u001f']) {
    const r = await req('POST', u('/collections/aliases'), { actions: [{ create_alias: { collection_name: 'a', alias_name: `x${c}y` } }] });
    expectError(r, 422, `Validation error in JSON body: [collection name cannot contain "${c}" char]`);
  }
  // Qdrant reports the first character of its list that occurs, not the first in the name
  const r = await req('POST', u('/collections/aliases'), { actions: [{ create_alias: { collection_name: 'a', alias_name: 'x*y<' } }] });
  expectError(r, 422, 'Validation error in JSON body: [collection name cannot contain "<" char]');
  assert.deepEqual(await aliases(), []);
  // other control characters and non-ASCII are fine, as in Qdrant
  expectOk(await req('POST', u('/collections/aliases'), { actions: [{ create_alias: { collection_name: 'a', alias_name: 'tab\there-ü' } }] }));
  assert.deepEqual(await aliases(), [{ alias_name: 'tab\there-ü', collection_name: 'a' }]);
  expectOk(await req('POST', u('/collections/aliases'), { actions: [{ delete_alias: { alias_name: 'tab\there-ü' } }] }));
});

test('collection names in the path: U+001F and NUL refused', async () => {
  expectError(await req('PUT', u('/collections/x%1Fy'), { vectors: V2 }), 422,
    'Validation error in path parameters: [name: collection name cannot contain "\u001f" char]');
  expectError(await req('PUT', u('/collections/x%00y'), { vectors: V2 }), 422,
    'Validation error in path parameters: [name: collection name cannot contain "\\0" char]');
  const names = expectOk(await req('GET', u('/collections'))).collections.map((c) => c.name);
  assert.deepEqual(names, ['a']);
});

test('vector names at creation: Qdrant\'s characters and 200 bytes', async () => {
  for (const c of ['<', '>', ':', '"', '/', '\\', '|', '?', '*', '\u001f']) {
    expectError(await req('PUT', u('/collections/v1'), { vectors: { [`v${c}`]: V2 } }), 422,
      `Validation error in JSON body: [vector name cannot contain "${c}" char]`);
    expectError(await req('PUT', u('/collections/v1'), { sparse_vectors: { [`s${c}`]: {} } }), 422,
      `Validation error in JSON body: [vector name cannot contain "${c}" char]`);
  }
  expectError(await raw('PUT', '/collections/v1', '{"vectors":{"a\\u0000b":{"size":2,"distance":"Dot"}}}'), 422,
    'Validation error in JSON body: [vector name cannot contain "\\0" char]');
  expectError(await req('PUT', u('/collections/v1'), { vectors: { ['v'.repeat(201)]: V2 } }), 422,
    'Validation error in JSON body: [vector name must be at most 200 bytes long]');
  expectError(await req('PUT', u('/collections/v1'), { sparse_vectors: { ['s'.repeat(201)]: {} } }), 422,
    'Validation error in JSON body: [vector name must be at most 200 bytes long]');
  // 200 bytes counted in bytes: 100 two-byte characters are fine, 101 are not
  expectError(await req('PUT', u('/collections/v1'), { vectors: { ['é'.repeat(101)]: V2 } }), 422,
    'Validation error in JSON body: [vector name must be at most 200 bytes long]');
  assert.equal(expectOk(await req('GET', u('/collections/v1/exists'))).exists, false);
  expectOk(await req('PUT', u('/collections/v1'), { vectors: { ['é'.repeat(100)]: V2 }, sparse_vectors: { ['s'.repeat(200)]: {} } }));
  const cfg = expectOk(await req('GET', u('/collections/v1'))).config.params;
  assert.deepEqual(Object.keys(cfg.vectors), ['é'.repeat(100)]);
  assert.deepEqual(Object.keys(cfg.sparse_vectors), ['s'.repeat(200)]);
  expectOk(await req('DELETE', u('/collections/v1')));
});

test('vector names with a NUL in writes and reads never act on their prefix', async () => {
  const before = await point1();
  const err = 'Wrong input: Not existing vector name error: a';
  expectError(await raw('PUT', '/collections/a/points?wait=true', '{"points":[{"id":1,"vector":{"a\\u0000zz":[9,9]}}]}'), 400, err);
  expectError(await raw('PUT', '/collections/a/points?wait=true', '{"points":[{"id":1,"vector":{"b":[1,1],"a\\u0000":[9,9]}}]}'), 400, err);
  expectError(await raw('PUT', '/collections/a/points?wait=true', '{"batch":{"ids":[1],"vectors":{"a\\u0000zz":[[9,9]]}}}'), 400, err);
  expectError(await raw('PUT', '/collections/a/points/vectors?wait=true', '{"points":[{"id":1,"vector":{"a\\u0000zz":[9,9]}}]}'), 400, err);
  expectError(await raw('POST', '/collections/a/points/vectors/delete?wait=true', '{"points":[1],"vector":["a\\u0000zz"]}'), 400, err);
  expectError(await raw('POST', '/collections/a/points/batch?wait=true',
    '{"operations":[{"delete_vectors":{"points":[1],"vector":["a\\u0000"]}}]}'), 400, err);
  expectError(await raw('POST', '/collections/a/points', '{"ids":[1],"with_vector":["a\\u0000zz"]}'), 400, err);
  expectError(await raw('POST', '/collections/a/points/scroll', '{"with_vector":["a\\u0000"]}'), 400, err);
  expectError(await raw('PATCH', '/collections/a', '{"vectors":{"a\\u0000zz":{"on_disk":true}}}'), 400, err);
  assert.deepEqual(await point1(), before);
  assert.deepEqual(before.vector, { a: [1, 2], b: [3, 4] });
});

test('payload index field names with a NUL are refused', async () => {
  const r = await raw('PUT', '/collections/a/index?wait=true', '{"field_name":"k\\u0000x","field_schema":"keyword"}');
  assert.equal(r.status, 400, r.text);
  const info = expectOk(await req('GET', u('/collections/a')));
  assert.deepEqual(info.payload_schema, {});
});

test('JSON strictness: -0 id, duplicate struct fields, last payload key wins', async () => {
  const before = expectOk(await req('POST', u('/collections/a/points/scroll'), { limit: 100, with_vector: true }));
  expectError(await raw('PUT', '/collections/a/points?wait=true', '{"points":[{"id":-0,"vector":{"a":[1,2]}}]}'), 400,
    /^Format error in JSON body: .*points\[0\]\.id: .*not a valid point ID/);
  expectError(await raw('PUT', '/collections/a/points?wait=true', '{"points":[{"id":7,"id":8,"vector":{"a":[1,2]}}]}'), 400,
    /duplicate field `id`/);
  expectError(await raw('PUT', '/collections/a/points?wait=true', '{"points":[{"id":7,"vector":{"a":[1,2]},"vector":{"b":[1,2]}}]}'), 400,
    /duplicate field `vector`/);
  expectError(await raw('PUT', '/collections/a/points?wait=true', '{"points":[],"points":[{"id":7,"vector":{"a":[1,2]}}]}'), 400,
    /duplicate field `points`/);
  expectError(await raw('PUT', '/collections/dup', '{"vectors":{"size":2,"distance":"Dot"},"vectors":{"size":3,"distance":"Dot"}}'), 400,
    'Format error in JSON body: duplicate field `vectors`');
  assert.equal(expectOk(await req('GET', u('/collections/dup/exists'))).exists, false);
  assert.deepEqual(expectOk(await req('POST', u('/collections/a/points/scroll'), { limit: 100, with_vector: true })), before);
  // inside a payload (a map, not a struct) the last value wins and only it is stored
  expectOk(await raw('PUT', '/collections/a/points?wait=true', '{"points":[{"id":9,"vector":{"a":[1,2]},"payload":{"k":1,"j":0,"k":2}}]}'));
  assert.deepEqual(expectOk(await req('GET', u('/collections/a/points/9'))).payload, { k: 2, j: 0 });
  expectOk(await req('POST', u('/collections/a/points/delete?wait=true'), { points: [9] }));
});

test('scroll needs a body; an empty batch answers []; facet exact must be a boolean', async () => {
  expectError(await raw('POST', '/collections/a/points/scroll', ''), 400,
    'Format error in JSON body: EOF while parsing a value at line 1 column 0');
  const info0 = expectOk(await req('GET', u('/collections/a')));
  assert.deepEqual(expectOk(await req('POST', u('/collections/a/points/batch?wait=true'), { operations: [] })), []);
  const info1 = expectOk(await req('GET', u('/collections/a')));
  assert.equal(info1.points_count, info0.points_count);
  expectError(await req('POST', u('/collections/a/facet'), { key: 'k', exact: 'x' }), 400,
    'Format error in JSON body: exact: invalid type, expected a boolean');
});

test('a storage dir holding now-invalid collection and alias names opens, skips them with a warning', async () => {
  const storage = tempDir();
  const s1 = await startServer({ storage });
  expectOk(await req('PUT', `${s1.url}/collections/good`, { vectors: V2 }));
  expectOk(await req('PUT', `${s1.url}/collections/good/points?wait=true`, { points: [{ id: 1, vector: [1, 2] }] }));
  expectOk(await req('POST', `${s1.url}/collections/aliases`, { actions: [{ create_alias: { collection_name: 'good', alias_name: 'ok' } }] }));
  assert.equal(await s1.stop(), 0, s1.stderr());
  // By hand, as an older build or an operator might have left them: copies of
  // a valid collection under names that are refused today.
  const dir = `${storage}/collections`;
  const badNames = ['a:b', 'q?', 'x\u001fy', Buffer.from([0x62, 0xff, 0x63])];
  for (const n of badNames) {
    // cpSync takes no Buffer paths; renameSync does (for the non-UTF-8 name)
    cpSync(`${dir}/good`, `${dir}/copy`, { recursive: true });
    renameSync(`${dir}/copy`, typeof n === 'string' ? `${dir}/${n}` : Buffer.concat([Buffer.from(`${dir}/`), n]));
  }
  const aliasFile = `${storage}/aliases.json`;
  const doc = JSON.parse(readFileSync(aliasFile, 'utf8'));
  doc.aliases['bad|alias'] = 'good';
  doc.aliases['nul\u0000alias'] = 'good';
  doc.aliases.points_to_bad = 'a:b';
  writeFileSync(aliasFile, JSON.stringify(doc));

  const s2 = await startServer({ storage });
  try {
    const res = await req('GET', `${s2.url}/collections`);
    assert.deepEqual(expectOk(res).collections.map((c) => c.name), ['good']);
    assert.deepEqual(expectOk(await req('GET', `${s2.url}/aliases`)).aliases, [{ alias_name: 'ok', collection_name: 'good' }]);
    assert.equal(expectOk(await req('GET', `${s2.url}/collections/good`)).points_count, 1);
    const log = s2.stderr();
    assert.match(log, /skipping collection directory `a:b`: collection name cannot contain ":" char/);
    assert.match(log, /skipping collection directory `q\?`: collection name cannot contain "\?" char/);
    assert.match(log, /skipping collection directory `b\ufffdc`: name is not valid UTF-8/);
    assert.match(log, /skipping alias `bad\|alias`/);
    assert.match(log, /skipping alias `nul/);
    // directories are kept for the operator; the bad aliases are gone from the file
    assert.ok(existsSync(`${dir}/a:b`) && existsSync(`${dir}/q?`));
    assert.equal(readdirSync(dir).length, 5);
    assert.deepEqual(Object.keys(JSON.parse(readFileSync(aliasFile, 'utf8')).aliases), ['ok']);
  } finally {
    assert.equal(await s2.stop(), 0, s2.stderr());
  }
});
