// Bad input, endpoint by endpoint: every row is refused with Qdrant's status
// and words, and leaves the fixture collections exactly as they were (points
// count and a full scroll compared after each row); the server keeps serving.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, req, expectOk, expectError } from './helpers.mjs';

let srv;
const u = (p) => `${srv.url}${p}`;
const FX = '/collections/fx';
const FV = '/collections/fv';

// Raw bodies, built as bytes where JSON.stringify cannot say it.
const bytes = (...parts) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
const nest = (n) => '{"points":[{"id":1,"vector":[1,2,3,4],"payload":{"a":' + '['.repeat(n) + ']'.repeat(n) + '}}]}';
const FORMAT = 'Format error in JSON body';

// [label, method, path, {json} | {raw}, status, message substring]
const rows = [
  // ---- upsert: vectors
  ['wrong dimension', 'PUT', `${FX}/points`, { json: { points: [{ id: 1, vector: [1, 2, 3] }] } }, 400, 'Vector dimension error: expected dim: 4, got 3'],
  ['empty vector', 'PUT', `${FX}/points`, { json: { points: [{ id: 1, vector: [] }] } }, 400, 'Vector dimension error: expected dim: 4, got 0'],
  ['vector of strings', 'PUT', `${FX}/points`, { json: { points: [{ id: 1, vector: ['a', 'b', 'c', 'd'] }] } }, 400, FORMAT],
  ['vector is a number', 'PUT', `${FX}/points`, { json: { points: [{ id: 1, vector: 5 }] } }, 400, FORMAT],
  ['vector missing', 'PUT', `${FX}/points`, { json: { points: [{ id: 1 }] } }, 400, 'missing field `vector`'],
  ['NaN literal', 'PUT', `${FX}/points`, { raw: '{"points":[{"id":1,"vector":[NaN,1,2,3]}]}' }, 400, 'expected value at line 1 column 30'],
  ['Infinity literal', 'PUT', `${FX}/points`, { raw: '{"points":[{"id":1,"vector":[Infinity,1,2,3]}]}' }, 400, 'expected value at line 1 column 30'],
  ['-Infinity literal', 'PUT', `${FX}/points`, { raw: '{"points":[{"id":1,"vector":[-Infinity,1,2,3]}]}' }, 400, 'invalid number at line 1 column 31'],
  ['float overflow', 'PUT', `${FX}/points`, { raw: '{"points":[{"id":1,"vector":[1e39,1,2,3]}]}' }, 400, FORMAT],
  ['number overflow', 'PUT', `${FX}/points`, { raw: '{"points":[{"id":1,"vector":[1e999,1,2,3]}]}' }, 400, 'number out of range'],
  ['unnamed vector into named collection', 'PUT', `${FV}/points`, { json: { points: [{ id: 1, vector: [1, 2] }] } }, 400, 'Not existing vector name error'],
  ['unknown vector name', 'PUT', `${FV}/points`, { json: { points: [{ id: 1, vector: { zz: [1, 2] } }] } }, 400, 'Not existing vector name error: zz'],
  ['vector name with NUL', 'PUT', `${FV}/points`, { raw: '{"points":[{"id":1,"vector":{"d\\u0000x":[1,2]}}]}' }, 400, 'Not existing vector name error: d'],
  ['sparse indices/values differ', 'PUT', `${FV}/points`, { json: { points: [{ id: 1, vector: { sp: { indices: [1, 2], values: [1] } } }] } }, 422, 'Validation error in JSON body'],
  ['sparse duplicate index', 'PUT', `${FV}/points`, { json: { points: [{ id: 1, vector: { sp: { indices: [1, 1], values: [1, 2] } } }] } }, 422, 'must be unique'],
  ['dense given as sparse', 'PUT', `${FV}/points`, { json: { points: [{ id: 1, vector: { sp: [1, 2] } }] } }, 400, 'Conversion between sparse and regular vectors failed'],
  ['batch length mismatch', 'PUT', `${FX}/points`, { json: { batch: { ids: [1, 2], vectors: [[1, 2, 3, 4]] } } }, 400, 'vectors must be a list as long as ids'],
  // ---- upsert: ids
  ['negative id', 'PUT', `${FX}/points`, { json: { points: [{ id: -1, vector: [1, 2, 3, 4] }] } }, 400, 'not a valid point ID'],
  ['minus zero id', 'PUT', `${FX}/points`, { raw: '{"points":[{"id":-0,"vector":[1,2,3,4]}]}' }, 400, 'not a valid point ID'],
  ['float id', 'PUT', `${FX}/points`, { json: { points: [{ id: 1.5, vector: [1, 2, 3, 4] }] } }, 400, 'not a valid point ID'],
  ['exponent id', 'PUT', `${FX}/points`, { raw: '{"points":[{"id":1e2,"vector":[1,2,3,4]}]}' }, 400, 'not a valid point ID'],
  ['id above u64', 'PUT', `${FX}/points`, { raw: '{"points":[{"id":18446744073709551616,"vector":[1,2,3,4]}]}' }, 400, 'not a valid point ID'],
  ['bad uuid', 'PUT', `${FX}/points`, { json: { points: [{ id: 'not-a-uuid', vector: [1, 2, 3, 4] }] } }, 400, 'not a valid point ID'],
  ['bool id', 'PUT', `${FX}/points`, { json: { points: [{ id: true, vector: [1, 2, 3, 4] }] } }, 400, 'not a valid point ID'],
  ['id missing', 'PUT', `${FX}/points`, { json: { points: [{ vector: [1, 2, 3, 4] }] } }, 400, 'missing field `id`'],
  ['leading zero id', 'PUT', `${FX}/points`, { raw: '{"points":[{"id":01,"vector":[1,2,3,4]}]}' }, 400, 'invalid number at line 1 column'],
  ['duplicate id key', 'PUT', `${FX}/points`, { raw: '{"points":[{"id":1,"id":2,"vector":[1,2,3,4]}]}' }, 400, 'duplicate field `id`'],
  ['duplicate points key', 'PUT', `${FX}/points`, { raw: '{"points":[],"points":[{"id":1,"vector":[1,2,3,4]}]}' }, 400, 'duplicate field `points`'],
  // ---- upsert: body and strings
  ['empty body', 'PUT', `${FX}/points`, { raw: '' }, 400, 'EOF while parsing a value at line 1 column 0'],
  ['body is an array', 'PUT', `${FX}/points`, { json: [] }, 400, FORMAT],
  ['points is an object', 'PUT', `${FX}/points`, { json: { points: {} } }, 400, FORMAT],
  ['trailing comma', 'PUT', `${FX}/points`, { raw: '{"points":[{"id":1,"vector":[1,2,3,4]},]}' }, 400, 'trailing comma at line 1 column'],
  ['garbage after the value', 'PUT', `${FX}/points`, { raw: '{"points":[]} x' }, 400, 'trailing characters at line 1 column'],
  ['unclosed object', 'PUT', `${FX}/points`, { raw: '{"points":[' }, 400, 'EOF while parsing'],
  ['invalid bytes in payload', 'PUT', `${FX}/points`, { raw: bytes('{"points":[{"id":1,"vector":[1,2,3,4],"payload":{"k":"', [0xff, 0xfe], '"}}]}') }, 400, 'invalid unicode code point'],
  ['overlong UTF-8 in payload', 'PUT', `${FX}/points`, { raw: bytes('{"points":[{"id":1,"vector":[1,2,3,4],"payload":{"k":"', [0xc0, 0xaf], '"}}]}') }, 400, 'invalid unicode code point'],
  ['encoded surrogate bytes', 'PUT', `${FX}/points`, { raw: bytes('{"points":[{"id":1,"vector":[1,2,3,4],"payload":{"k":"', [0xed, 0xa0, 0x80], '"}}]}') }, 400, 'invalid unicode code point'],
  ['invalid bytes in a key', 'PUT', `${FX}/points`, { raw: bytes('{"points":[{"id":1,"vector":[1,2,3,4],"payload":{"', [0x80], '":1}}]}') }, 400, 'invalid unicode code point'],
  ['lone surrogate escape', 'PUT', `${FX}/points`, { raw: '{"points":[{"id":1,"vector":[1,2,3,4],"payload":{"k":"\\ud800"}}]}' }, 400, 'unexpected end of hex escape'],
  ['lone surrogate escape in a key', 'PUT', `${FX}/points`, { raw: '{"points":[{"id":1,"vector":[1,2,3,4],"payload":{"\\udc00":1}}]}' }, 400, 'lone leading surrogate in hex escape'],
  ['surrogate then non-surrogate', 'PUT', `${FX}/points`, { raw: '{"points":[{"id":1,"vector":[1,2,3,4],"payload":{"k":"\\ud800\\u0041"}}]}' }, 400, 'lone leading surrogate in hex escape'],
  ['bad escape', 'PUT', `${FX}/points`, { raw: '{"points":[{"id":1,"vector":[1,2,3,4],"payload":{"k":"\\x"}}]}' }, 400, 'invalid escape at line 1 column'],
  ['raw control character', 'PUT', `${FX}/points`, { raw: '{"points":[{"id":1,"vector":[1,2,3,4],"payload":{"k":"a\u0001b"}}]}' }, 400, 'control character (\\u0000-\\u001F) found while parsing a string'],
  ['nesting too deep', 'PUT', `${FX}/points`, { raw: nest(200) }, 400, 'recursion limit exceeded'],
  ['payload is an array', 'PUT', `${FX}/points`, { json: { points: [{ id: 1, vector: [1, 2, 3, 4], payload: [1] }] } }, 400, FORMAT],
  ['collection missing', 'PUT', '/collections/nope/points', { json: { points: [{ id: 1, vector: [1, 2, 3, 4] }] } }, 404, "Collection `nope` doesn't exist!"],
  ['wait=maybe', 'PUT', `${FX}/points?wait=maybe`, { json: { points: [{ id: 1, vector: [1, 2, 3, 4] }] } }, 400, 'provided string was not `true` or `false`'],
  // ---- create collection
  ['create: exists', 'PUT', FX, { json: { vectors: { size: 4, distance: 'Cosine' } } }, 409, 'already exists'],
  ['create: size 0', 'PUT', '/collections/n1', { json: { vectors: { size: 0, distance: 'Cosine' } } }, 422, 'Validation error in JSON body'],
  ['create: size is a string', 'PUT', '/collections/n1', { json: { vectors: { size: '4', distance: 'Cosine' } } }, 400, FORMAT],
  ['create: size huge', 'PUT', '/collections/n1', { json: { vectors: { size: 1e12, distance: 'Cosine' } } }, 422, 'Validation error in JSON body'],
  ['create: unknown distance', 'PUT', '/collections/n1', { json: { vectors: { size: 4, distance: 'Foo' } } }, 400, 'unknown variant `Foo`'],
  ['create: bad vector name', 'PUT', '/collections/n1', { json: { vectors: { 'a/b': { size: 4, distance: 'Dot' } } } }, 422, 'vector name cannot contain "/" char'],
  ['create: long vector name', 'PUT', '/collections/n1', { json: { vectors: { ['v'.repeat(201)]: { size: 4, distance: 'Dot' } } } }, 422, 'vector name must be at most 200 bytes long'],
  ['create: duplicate vectors', 'PUT', '/collections/n1', { raw: '{"vectors":{"size":4,"distance":"Dot"},"vectors":{"size":2,"distance":"Dot"}}' }, 400, 'duplicate field `vectors`'],
  ['create: hnsw m negative', 'PUT', '/collections/n1', { json: { vectors: { size: 4, distance: 'Dot' }, hnsw_config: { m: -1 } } }, 400, FORMAT],
  ['create: name with /', 'PUT', '/collections/a%2Fb', { json: { vectors: { size: 4, distance: 'Dot' } } }, 422, 'collection name cannot contain "/" char'],
  ['create: name with U+001F', 'PUT', '/collections/a%1Fb', { json: { vectors: { size: 4, distance: 'Dot' } } }, 422, 'collection name cannot contain "\u001f" char'],
  ['create: name too long', 'PUT', `/collections/${'n'.repeat(256)}`, { json: { vectors: { size: 4, distance: 'Dot' } } }, 422, 'Validation error in path parameters'],
  // ---- delete, payload
  ['delete: points is a string', 'POST', `${FX}/points/delete`, { json: { points: 'x' } }, 400, FORMAT],
  ['delete: empty object', 'POST', `${FX}/points/delete`, { json: {} }, 400, FORMAT],
  ['delete: unknown condition', 'POST', `${FX}/points/delete`, { json: { filter: { must: [{ foo: 1 }] } } }, 400, FORMAT],
  ['set_payload: payload is an array', 'POST', `${FX}/points/payload`, { json: { payload: [], points: [1] } }, 400, FORMAT],
  ['set_payload: bad id', 'POST', `${FX}/points/payload`, { json: { payload: { a: 1 }, points: [-1] } }, 400, 'not a valid point ID'],
  ['delete_payload: keys is a string', 'POST', `${FX}/points/payload/delete`, { json: { keys: 'a', points: [1] } }, 400, FORMAT],
  ['update_vectors: wrong dimension', 'PUT', `${FX}/points/vectors`, { json: { points: [{ id: 1, vector: [1] }] } }, 400, 'Vector dimension error'],
  ['delete_vectors: unknown name', 'POST', `${FV}/points/vectors/delete`, { json: { points: [1], vector: ['zz'] } }, 400, 'Not existing vector name error: zz'],
  // ---- batch
  ['batch: unknown operation', 'POST', `${FX}/points/batch`, { json: { operations: [{ frobnicate: {} }] } }, 400, FORMAT],
  ['batch: operations is an object', 'POST', `${FX}/points/batch`, { json: { operations: {} } }, 400, FORMAT],
  ['batch: one bad op spoils all', 'POST', `${FX}/points/batch`, { json: { operations: [{ upsert: { points: [{ id: 50, vector: [1, 2, 3, 4] }] } }, { upsert: { points: [{ id: 51, vector: [1] }] } }] } }, 400, 'Vector dimension error'],
  // ---- reads
  ['scroll: empty body', 'POST', `${FX}/points/scroll`, { raw: '' }, 400, 'EOF while parsing a value at line 1 column 0'],
  ['scroll: limit negative', 'POST', `${FX}/points/scroll`, { json: { limit: -1 } }, 400, FORMAT],
  ['scroll: limit is a string', 'POST', `${FX}/points/scroll`, { json: { limit: 'x' } }, 400, FORMAT],
  ['scroll: offset is an object', 'POST', `${FX}/points/scroll`, { json: { offset: {} } }, 400, 'offset: not a valid point ID'],
  ['scroll: unknown with_vector name', 'POST', `${FV}/points/scroll`, { json: { with_vector: ['zz'] } }, 400, 'Not existing vector name error: zz'],
  ['scroll: bad filter', 'POST', `${FX}/points/scroll`, { json: { filter: { must: 5 } } }, 400, FORMAT],
  ['retrieve: ids is a string', 'POST', `${FX}/points`, { json: { ids: 'x' } }, 400, FORMAT],
  ['get: bad id in path', 'GET', `${FX}/points/abc`, {}, 400, 'Unable to parse point id'],
  ['count: exact is a string', 'POST', `${FX}/points/count`, { json: { exact: 'x' } }, 400, 'exact: invalid type, expected a boolean'],
  ['facet: key missing', 'POST', `${FX}/facet`, { json: {} }, 400, 'missing field `key`'],
  ['facet: exact is a string', 'POST', `${FX}/facet`, { json: { key: 's', exact: 'x' } }, 400, 'exact: invalid type, expected a boolean'],
  // ---- aliases, indexes
  ['alias: NUL in collection name', 'POST', '/collections/aliases', { raw: '{"actions":[{"create_alias":{"collection_name":"fx\\u0000b","alias_name":"al"}}]}' }, 422, 'collection name cannot contain "\\0" char'],
  ['alias: bad alias name', 'POST', '/collections/aliases', { json: { actions: [{ create_alias: { collection_name: 'fx', alias_name: 'a|b' } }] } }, 422, 'collection name cannot contain "|" char'],
  ['alias: missing collection', 'POST', '/collections/aliases', { json: { actions: [{ create_alias: { collection_name: 'nope', alias_name: 'al' } }] } }, 404, "Not found: Collection `nope` doesn't exist!"],
  ['alias: unknown action', 'POST', '/collections/aliases', { json: { actions: [{ frobnicate_alias: {} }] } }, 400, FORMAT],
  ['index: unknown schema', 'PUT', `${FX}/index`, { json: { field_name: 's', field_schema: 'bogus' } }, 400, 'unknown variant `bogus`'],
  ['index: field_name missing', 'PUT', `${FX}/index`, { json: { field_schema: 'keyword' } }, 400, 'missing field `field_name`'],
  ['index: NUL in field name', 'PUT', `${FX}/index`, { raw: '{"field_name":"s\\u0000x","field_schema":"keyword"}' }, 400, 'NUL'],
  ['index: field_name is a number', 'PUT', `${FX}/index`, { json: { field_name: 5, field_schema: 'keyword' } }, 400, 'field_name: invalid type, expected a string'],
  ['index: empty field_name', 'PUT', `${FX}/index`, { json: { field_name: '', field_schema: 'keyword' } }, 400, "Invalid json path: ''"],
  ['index: field_schema is a number', 'PUT', `${FX}/index`, { json: { field_name: 's', field_schema: 5 } }, 400, FORMAT],
  ['index: field_schema is a list', 'PUT', `${FX}/index`, { json: { field_name: 's', field_schema: ['keyword'] } }, 400, FORMAT],
  ['index: field_schema without type', 'PUT', `${FX}/index`, { json: { field_name: 's', field_schema: {} } }, 400, FORMAT],
  ['index: unknown type in params', 'PUT', `${FX}/index`, { json: { field_name: 's', field_schema: { type: 'bogus' } } }, 400, 'unknown variant `bogus`'],
  ['index: type names are lower case', 'PUT', `${FX}/index`, { json: { field_name: 's', field_schema: 'Keyword' } }, 400, 'unknown variant `Keyword`'],
  ['index: lookup is a string', 'PUT', `${FX}/index`, { json: { field_name: 'n', field_schema: { type: 'integer', lookup: 'yes' } } }, 400, 'field_schema.lookup: invalid type, expected a boolean'],
  ['index: lookup and range off', 'PUT', `${FX}/index`, { json: { field_name: 'n', field_schema: { type: 'integer', lookup: false, range: false } } }, 422, "the 'lookup' and 'range' capabilities can't be both disabled"],
  ['index: stopwords', 'PUT', `${FX}/index`, { json: { field_name: 's', field_schema: { type: 'text', stopwords: 'english' } } }, 400, 'field_schema.stopwords: not supported by Quiver yet'],
  ['index: min_token_len negative', 'PUT', `${FX}/index`, { json: { field_name: 's', field_schema: { type: 'text', min_token_len: -1 } } }, 400, FORMAT],
  // ---- slice conditions: shapes are format errors (400), rules validation errors (422)
  ['slice: total 0', 'POST', `${FX}/points/scroll`, { json: { filter: { must: [{ slice: { total: 0, index: 0 } }] } } }, 422, 'slice.total: value 0 invalid, must be 1 or larger'],
  ['slice: index not below total', 'POST', `${FX}/points/count`, { json: { filter: { should: [{ slice: { total: 2, index: 2 } }] } } }, 422, 'slice.index: value 2 invalid'],
  ['slice: index missing', 'POST', `${FX}/points/scroll`, { json: { filter: { must: [{ slice: { total: 2 } }] } } }, 400, 'missing field `index`'],
  ['slice: total is a string', 'POST', `${FX}/points/scroll`, { json: { filter: { must: [{ slice: { total: '2', index: 0 } }] } } }, 400, FORMAT],
  ['slice: total above u32', 'POST', `${FX}/points/scroll`, { json: { filter: { must: [{ slice: { total: 2 ** 32, index: 0 } }] } } }, 400, FORMAT],
  ['slice: a list', 'POST', `${FX}/points/count`, { json: { filter: { must: [{ slice: [2, 0] }] } } }, 400, FORMAT],
  ['slice: in a delete', 'POST', `${FX}/points/delete`, { json: { filter: { must: [{ slice: { total: 0, index: 0 } }] } } }, 422, 'Validation error'],
  // ---- a field given twice (serde's derived structs refuse it)
  ['dup: scroll limit', 'POST', `${FX}/points/scroll`, { raw: '{"limit":1,"limit":2}' }, 400, 'duplicate field `limit`'],
  ['dup: nested filter clause', 'POST', `${FX}/points/scroll`, { raw: '{"filter":{"must":[{"must":[],"must":[]}]}}' }, 400, 'filter.must[0]: duplicate field `must`'],
  ['dup: condition key', 'POST', `${FX}/points/count`, { raw: '{"filter":{"must":[{"key":"s","key":"n","match":{"value":1}}]}}' }, 400, 'filter.must[0]: duplicate field `key`'],
  ['dup: match value', 'POST', `${FX}/points/count`, { raw: '{"filter":{"must":[{"key":"n","match":{"value":1,"value":2}}]}}' }, 400, 'filter.must[0].match: duplicate field `value`'],
  ['dup: range bound', 'POST', `${FX}/points/delete`, { raw: '{"filter":{"must":[{"key":"n","range":{"gte":1,"gte":9}}]}}' }, 400, 'range: duplicate field `gte`'],
  ['dup: update_filter clause', 'PUT', `${FX}/points`, { raw: '{"points":[{"id":1,"vector":[1,2,3,4]}],"update_filter":{"must":[{"has_id":[1],"has_id":[9]}]}}' }, 400, 'duplicate field `has_id`'],
  ['dup: count exact', 'POST', `${FX}/points/count`, { raw: '{"exact":true,"exact":false}' }, 400, 'duplicate field `exact`'],
  ['dup: retrieve ids', 'POST', `${FX}/points`, { raw: '{"ids":[1],"ids":[2]}' }, 400, 'duplicate field `ids`'],
  ['dup: facet key', 'POST', `${FX}/facet`, { raw: '{"key":"s","key":"n"}' }, 400, 'duplicate field `key`'],
  ['dup: set_payload payload', 'POST', `${FX}/points/payload`, { raw: '{"payload":{"a":1},"payload":{"b":1},"points":[1]}' }, 400, 'duplicate field `payload`'],
  ['dup: delete points', 'POST', `${FX}/points/delete`, { raw: '{"points":[9],"points":[1]}' }, 400, 'duplicate field `points`'],
  ['dup: delete_payload keys', 'POST', `${FX}/points/payload/delete`, { raw: '{"keys":["x"],"keys":["n"],"points":[1]}' }, 400, 'duplicate field `keys`'],
  ['dup: batch operations', 'POST', `${FX}/points/batch`, { raw: '{"operations":[],"operations":[{"delete":{"points":[1]}}]}' }, 400, 'duplicate field `operations`'],
  ['dup: update_mode', 'PUT', `${FX}/points`, { raw: '{"points":[{"id":1,"vector":[1,2,3,4]}],"update_mode":"upsert","update_mode":"insert_only"}' }, 400, 'duplicate field `update_mode`'],
  ['dup: update_vectors update_filter', 'PUT', `${FX}/points/vectors`, { raw: '{"points":[{"id":1,"vector":[1,2,3,4]}],"update_filter":{"must":[]},"update_filter":{"must":[]}}' }, 400, 'duplicate field `update_filter`'],
  ['dup: PATCH optimizers_config', 'PATCH', FX, { raw: '{"optimizers_config":{"indexing_threshold":5},"optimizers_config":{}}' }, 400, 'duplicate field `optimizers_config`'],
  ['dup: alias actions', 'POST', '/collections/aliases', { raw: '{"actions":[],"actions":[{"create_alias":{"collection_name":"fx","alias_name":"al"}}]}' }, 400, 'duplicate field `actions`'],
  ['dup: alias action field', 'POST', '/collections/aliases', { raw: '{"actions":[{"create_alias":{"collection_name":"nope","collection_name":"fx","alias_name":"al"}}]}' }, 400, 'actions[0].create_alias: duplicate field `collection_name`'],
  ['dup: index field_name', 'PUT', `${FX}/index`, { raw: '{"field_name":"s","field_name":"n","field_schema":"keyword"}' }, 400, 'duplicate field `field_name`'],
  // ---- sizes
  ['body above max_request_size', 'PUT', `${FX}/points`, { raw: '{"points":[{"id":1,"vector":[1,2,3,4],"payload":{"k":"' + 'x'.repeat(1_100_000) + '"}}]}' }, 413, ''],
];

let baseline;
async function snapshot() {
  const out = {};
  for (const c of [FX, FV]) {
    const info = expectOk(await req('GET', u(c)));
    const scroll = expectOk(await req('POST', u(`${c}/points/scroll`), { limit: 1000, with_vector: true, with_payload: true }));
    out[c] = { count: info.points_count, schema: info.payload_schema, points: scroll.points };
  }
  out.aliases = expectOk(await req('GET', u('/aliases'))).aliases;
  out.collections = expectOk(await req('GET', u('/collections'))).collections.map((c) => c.name).sort();
  return out;
}

before(async () => {
  srv = await startServer({ args: ['--max-request-size-mb', '1'] });
  expectOk(await req('PUT', u(FX), { vectors: { size: 4, distance: 'Cosine' } }));
  expectOk(await req('PUT', u(FV), { vectors: { d: { size: 2, distance: 'Dot' } }, sparse_vectors: { sp: {} } }));
  const pts = [1, 2, 3, 4, 5].map((i) => ({ id: i, vector: [i, 1, 0, 2], payload: { n: i, s: `x${i}` } }));
  expectOk(await req('PUT', u(`${FX}/points?wait=true`), { points: pts }));
  expectOk(await req('PUT', u(`${FV}/points?wait=true`), { points: [{ id: 1, vector: { d: [1, 2], sp: { indices: [3], values: [0.5] } } }] }));
  baseline = await snapshot();
  assert.equal(baseline[FX].count, 5);
});
after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, srv.stderr());
});

test('the table has at least 50 rows', () => assert.ok(rows.length >= 50, String(rows.length)));

for (const [label, method, path, body, status, substring] of rows) {
  test(`${method} ${path.slice(0, 40)}: ${label} → ${status}`, async () => {
    const opts = body.raw !== undefined ? { raw: body.raw } : {};
    const res = await req(method, u(path), body.json, opts);
    if (status === 413) {
      assert.equal(res.status, 413, res.text);
    } else {
      const msg = expectError(res, status);
      assert.ok(msg.includes(substring), `${label}: message ${JSON.stringify(msg)} lacks ${JSON.stringify(substring)}`);
    }
    assert.deepEqual(await snapshot(), baseline, `${label} changed something`);
    const h = await req('GET', u('/healthz'));
    assert.equal(h.status, 200);
  });
}
