// Collection lifecycle: create, info, list, exists, update, delete.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, req, expectOk, expectError, defaultConfig, VEC4 } from './helpers.mjs';

let srv;
const col = (name, suffix = '') => `${srv.url}/collections/${name}${suffix}`;
const create = async (name, body = VEC4) => expectOk(await req('PUT', col(name), body));
const info = async (name) => expectOk(await req('GET', col(name)));

before(async () => {
  srv = await startServer();
});
after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, srv.stderr());
});

test('create returns true; info shows the defaults', async () => {
  assert.equal(await create('basic'), true);
  const res = await req('GET', col('basic'));
  const r = expectOk(res);
  assert.equal(r.status, 'green');
  assert.equal(r.optimizer_status, 'ok');
  assert.equal(r.points_count, 0);
  assert.equal(r.indexed_vectors_count, 0);
  assert.equal(typeof r.segments_count, 'number');
  assert.ok(Number.isInteger(r.segments_count) && r.segments_count >= 0);
  assert.deepEqual(r.payload_schema, {});
  assert.deepEqual(r.config, defaultConfig());
  // numbers keep their JSON form: integers without ".0", floats as given
  assert.match(res.text, /"m":\s*16[,}]/);
  assert.match(res.text, /"deleted_threshold":\s*0\.2[,}]/);
  assert.match(res.text, /"full_scan_threshold":\s*10000[,}]/);
});

test('creating an existing collection → 409', async () => {
  assert.equal(await create('dup'), true);
  expectError(await req('PUT', col('dup'), VEC4), 409, 'Wrong input: Collection `dup` already exists!');
  // the original is untouched
  assert.deepEqual((await info('dup')).config, defaultConfig());
});

test('given hnsw/optimizer/wal/on_disk_payload/shard_number values are stored and shown', async () => {
  const body = {
    vectors: { size: 4, distance: 'Cosine' },
    hnsw_config: { m: 32 },
    optimizers_config: { deleted_threshold: 0.5 },
    wal_config: { wal_capacity_mb: 64 },
    on_disk_payload: false,
    shard_number: 2,
  };
  assert.equal(await create('custom', body), true);
  const res = await req('GET', col('custom'));
  const r = expectOk(res);
  const expected = defaultConfig();
  expected.hnsw_config.m = 32;
  expected.optimizer_config.deleted_threshold = 0.5;
  expected.wal_config.wal_capacity_mb = 64;
  expected.params.on_disk_payload = false;
  expected.params.shard_number = 2;
  assert.deepEqual(r.config, expected);
  assert.match(res.text, /"m":32[,}]/, 'integer printed as integer');
  assert.doesNotMatch(res.text, /"m":\s*32\.0/);
  assert.match(res.text, /"wal_capacity_mb":\s*64[,}]/);
  assert.match(res.text, /"shard_number":\s*2[,}]/);
});

test('each single setting is stored on its own with the other defaults kept', async () => {
  const cases = [
    [{ hnsw_config: { ef_construct: 256, full_scan_threshold: 500, on_disk: true } },
      (c) => Object.assign(c.hnsw_config, { ef_construct: 256, full_scan_threshold: 500, on_disk: true })],
    [{ optimizers_config: { indexing_threshold: 0, default_segment_number: 2, max_segment_size: 100000 } },
      (c) => Object.assign(c.optimizer_config, { indexing_threshold: 0, default_segment_number: 2, max_segment_size: 100000 })],
    [{ wal_config: { wal_segments_ahead: 2 } }, (c) => (c.wal_config.wal_segments_ahead = 2)],
    [{ on_disk_payload: true }, () => {}],
  ];
  let i = 0;
  for (const [extra, patch] of cases) {
    const name = `single${i++}`;
    assert.equal(await create(name, { ...VEC4, ...extra }), true);
    const expected = defaultConfig();
    patch(expected);
    assert.deepEqual((await info(name)).config, expected, `case ${JSON.stringify(extra)}`);
  }
});

test('explicit nulls mean "not given"', async () => {
  const body = {
    vectors: { size: 4, distance: 'Cosine' },
    hnsw_config: null,
    optimizers_config: null,
    wal_config: null,
    shard_number: null,
    quantization_config: null,
  };
  assert.equal(await create('nulls', body), true);
  assert.deepEqual((await info('nulls')).config, defaultConfig());
});

test('named vectors are shown as given, in the given order', async () => {
  const vectors = {
    image: { size: 4, distance: 'Dot' },
    text: { size: 8, distance: 'Euclid', on_disk: true },
  };
  assert.equal(await create('named', { vectors }), true);
  const r = await info('named');
  assert.deepEqual(r.config.params.vectors, vectors);
  assert.deepEqual(Object.keys(r.config.params.vectors), ['image', 'text']);
  assert.deepEqual(r.config, defaultConfig(vectors));

  // order as given, also when it is not alphabetical
  const rev = { zz: { size: 2, distance: 'Cosine' }, aa: { size: 3, distance: 'Manhattan' } };
  assert.equal(await create('named_rev', { vectors: rev }), true);
  assert.deepEqual(Object.keys((await info('named_rev')).config.params.vectors), ['zz', 'aa']);
});

test('every distance works: Cosine, Euclid, Dot, Manhattan', async () => {
  for (const distance of ['Cosine', 'Euclid', 'Dot', 'Manhattan']) {
    const name = `dist_${distance.toLowerCase()}`;
    assert.equal(await create(name, { vectors: { size: 3, distance } }), true);
    assert.deepEqual((await info(name)).config.params.vectors, { size: 3, distance });
  }
});

test('size bounds 1 and 65536 are accepted', async () => {
  assert.equal(await create('size1', { vectors: { size: 1, distance: 'Dot' } }), true);
  assert.equal(await create('size65536', { vectors: { size: 65536, distance: 'Dot' } }), true);
  assert.equal((await info('size65536')).config.params.vectors.size, 65536);
});

test('sparse vectors are shown as given', async () => {
  assert.equal(await create('sparse1', { ...VEC4, sparse_vectors: { sparse: {} } }), true);
  const c1 = (await info('sparse1')).config;
  assert.deepEqual(c1.params.sparse_vectors, { sparse: {} });
  assert.deepEqual(c1.params.vectors, VEC4.vectors);

  const sv = { sparse: { index: { on_disk: true }, modifier: 'idf' } };
  assert.equal(await create('sparse2', { ...VEC4, sparse_vectors: sv }), true);
  assert.deepEqual((await info('sparse2')).config.params.sparse_vectors, sv);
});

test('metadata is shown as config.metadata', async () => {
  assert.equal(await create('meta', { ...VEC4, metadata: { a: 1 } }), true);
  const c = (await info('meta')).config;
  assert.deepEqual(c.metadata, { a: 1 });
  const { metadata, ...rest } = c;
  assert.deepEqual(rest, defaultConfig());
});

test('missing collection: GET and PATCH → 404; DELETE → false', async () => {
  const msg = 'Not found: Collection `ghost` doesn\'t exist!';
  expectError(await req('GET', col('ghost')), 404, msg);
  expectError(await req('PATCH', col('ghost'), { optimizers_config: { indexing_threshold: 1 } }), 404, msg);
  assert.equal(expectOk(await req('DELETE', col('ghost'))), false);
});

test('DELETE an existing collection → true, then it is gone', async () => {
  assert.equal(await create('doomed'), true);
  assert.equal(expectOk(await req('DELETE', col('doomed'))), true);
  expectError(await req('GET', col('doomed')), 404, 'Not found: Collection `doomed` doesn\'t exist!');
  assert.deepEqual(expectOk(await req('GET', col('doomed', '/exists'))), { exists: false });
  assert.equal(expectOk(await req('DELETE', col('doomed'))), false);
  // the name can be used again
  assert.equal(await create('doomed', { vectors: { size: 2, distance: 'Dot' } }), true);
  assert.deepEqual((await info('doomed')).config.params.vectors, { size: 2, distance: 'Dot' });
});

test('GET /collections lists every collection by name, sorted', async () => {
  for (const n of ['zeta', 'alpha', 'Mid', 'beta_2', 'beta-1']) await create(`ls_${n}`);
  const r = expectOk(await req('GET', `${srv.url}/collections`));
  assert.deepEqual(Object.keys(r), ['collections']);
  const names = r.collections.map((c) => c.name);
  for (const c of r.collections) assert.deepEqual(Object.keys(c), ['name']);
  const sorted = [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  assert.deepEqual(names, sorted);
  for (const n of ['zeta', 'alpha', 'Mid', 'beta_2', 'beta-1']) assert.ok(names.includes(`ls_${n}`), n);
  assert.equal(new Set(names).size, names.length, 'no duplicates');
});

test('GET /collections/{name}/exists', async () => {
  await create('there');
  assert.deepEqual(expectOk(await req('GET', col('there', '/exists'))), { exists: true });
  assert.deepEqual(expectOk(await req('GET', col('not_there', '/exists'))), { exists: false });
});

test('PATCH changes optimizer, hnsw and params; the rest is unchanged', async () => {
  await create('upd', { ...VEC4, hnsw_config: { m: 8 } });
  const body = {
    optimizers_config: { indexing_threshold: 20000 },
    hnsw_config: { ef_construct: 200 },
    params: { on_disk_payload: false },
  };
  assert.equal(expectOk(await req('PATCH', col('upd'), body)), true);
  const expected = defaultConfig();
  expected.hnsw_config.m = 8;
  expected.hnsw_config.ef_construct = 200;
  expected.optimizer_config.indexing_threshold = 20000;
  expected.params.on_disk_payload = false;
  const r = await info('upd');
  assert.deepEqual(r.config, expected);
  assert.equal(r.status, 'green');
  assert.equal(r.points_count, 0);
  // an empty PATCH is fine and changes nothing
  assert.equal(expectOk(await req('PATCH', col('upd'), {})), true);
  assert.deepEqual((await info('upd')).config, expected);
});

test('PATCH of a vector the collection does not have → 400, nothing changed', async () => {
  await create('upd_bad');
  const before = (await info('upd_bad')).config;
  expectError(
    await req('PATCH', col('upd_bad'), { vectors: { nope: { on_disk: true } } }),
    400,
    'Wrong input: Not existing vector name error: nope',
  );
  // one bad field among good ones: nothing is applied
  expectError(
    await req('PATCH', col('upd_bad'), {
      optimizers_config: { indexing_threshold: 30000 },
      hnsw_config: { ef_construct: 300 },
      params: { on_disk_payload: false },
      vectors: { nope: { on_disk: true } },
    }),
    400,
    'Wrong input: Not existing vector name error: nope',
  );
  assert.deepEqual((await info('upd_bad')).config, before);
});

test('PATCH with one invalid value → 422, nothing changed', async () => {
  await create('upd_inv');
  const before = (await info('upd_inv')).config;
  expectError(
    await req('PATCH', col('upd_inv'), {
      optimizers_config: { indexing_threshold: 30000 },
      hnsw_config: { ef_construct: 1 },
    }),
    422,
    'Validation error in JSON body: [hnsw_config.ef_construct: value 1 invalid, must be 4 or larger]',
  );
  assert.deepEqual((await info('upd_inv')).config, before);
});

test('PATCH of a named vector that exists → true', async () => {
  await create('upd_named', { vectors: { image: { size: 4, distance: 'Dot' } } });
  assert.equal(expectOk(await req('PATCH', col('upd_named'), { vectors: { image: { on_disk: true } } })), true);
  assert.deepEqual((await info('upd_named')).config.params.vectors, {
    image: { size: 4, distance: 'Dot', on_disk: true },
  });
});
