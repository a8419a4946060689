// Persistence across restarts (SIGTERM and kill -9) and the storage lock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, tempDir, req, expectOk, expectError, VEC4 } from './helpers.mjs';

const byAlias = (a, b) => (a.alias_name < b.alias_name ? -1 : a.alias_name > b.alias_name ? 1 : 0);

async function snapshot(url, names) {
  const list = expectOk(await req('GET', `${url}/collections`)).collections.map((c) => c.name);
  const infos = {};
  for (const n of names) {
    const r = expectOk(await req('GET', `${url}/collections/${n}`));
    infos[n] = { config: r.config, status: r.status, points_count: r.points_count, payload_schema: r.payload_schema };
  }
  const aliases = [...expectOk(await req('GET', `${url}/aliases`)).aliases].sort(byAlias);
  return { list, infos, aliases };
}

async function populate(url) {
  const put = async (name, body) => assert.equal(expectOk(await req('PUT', `${url}/collections/${name}`, body)), true);
  await put('plain', VEC4);
  await put('x', {
    vectors: {
      image: { size: 4, distance: 'Dot' },
      text: { size: 8, distance: 'Euclid', on_disk: true },
    },
    sparse_vectors: { sparse: { modifier: 'idf' } },
    hnsw_config: { m: 32 },
    optimizers_config: { deleted_threshold: 0.5 },
    wal_config: { wal_capacity_mb: 64 },
    on_disk_payload: false,
    metadata: { owner: 'tests', nested: { n: 1.5, list: [1, 'two', null] } },
  });
  await put('gone', VEC4);
  await put('patched', VEC4);
  assert.equal(expectOk(await req('PATCH', `${url}/collections/patched`, {
    optimizers_config: { indexing_threshold: 20000 },
    hnsw_config: { ef_construct: 200 },
  })), true);
  assert.equal(expectOk(await req('POST', `${url}/collections/aliases`, {
    actions: [
      { create_alias: { collection_name: 'x', alias_name: 'ax' } },
      { create_alias: { collection_name: 'plain', alias_name: 'ap' } },
      { create_alias: { collection_name: 'gone', alias_name: 'ag' } },
      { create_alias: { collection_name: 'plain', alias_name: 'tmp' } },
    ],
  })), true);
  assert.equal(expectOk(await req('POST', `${url}/collections/aliases`, {
    actions: [{ rename_alias: { old_alias_name: 'tmp', new_alias_name: 'renamed' } }],
  })), true);
  assert.equal(expectOk(await req('DELETE', `${url}/collections/gone`)), true);
}

const NAMES = ['plain', 'x', 'patched'];
const EXPECTED_ALIASES = [
  { alias_name: 'ap', collection_name: 'plain' },
  { alias_name: 'ax', collection_name: 'x' },
  { alias_name: 'renamed', collection_name: 'plain' },
];

test('everything survives a SIGTERM restart unchanged', async () => {
  const storage = tempDir();
  const s1 = await startServer({ storage });
  await populate(s1.url);
  const before = await snapshot(s1.url, NAMES);
  assert.deepEqual(before.aliases, EXPECTED_ALIASES);
  assert.equal(before.infos.x.config.hnsw_config.m, 32);
  assert.equal(await s1.stop('SIGTERM'), 0, s1.stderr());

  const s2 = await startServer({ storage });
  try {
    const after = await snapshot(s2.url, NAMES);
    assert.deepEqual(after, before);
    assert.deepEqual(Object.keys(after.infos.x.config.params.vectors), ['image', 'text']);
    expectError(await req('GET', `${s2.url}/collections/gone`), 404, "Not found: Collection `gone` doesn't exist!");
    assert.deepEqual(expectOk(await req('GET', `${s2.url}/collections/ag/exists`)), { exists: false });
    // and the restarted server keeps working on that storage
    assert.equal(expectOk(await req('PUT', `${s2.url}/collections/later`, VEC4)), true);
    expectError(await req('PUT', `${s2.url}/collections/x`, VEC4), 409, 'Wrong input: Collection `x` already exists!');
  } finally {
    assert.equal(await s2.stop(), 0, s2.stderr());
  }

  // a third start sees the collection created by the second
  const s3 = await startServer({ storage });
  try {
    assert.deepEqual(expectOk(await req('GET', `${s3.url}/collections/later/exists`)), { exists: true });
    assert.deepEqual((await snapshot(s3.url, NAMES)).infos, before.infos);
  } finally {
    assert.equal(await s3.stop(), 0, s3.stderr());
  }
});

test('acknowledged changes survive kill -9', async () => {
  const storage = tempDir();
  const s1 = await startServer({ storage });
  await populate(s1.url);
  const before = await snapshot(s1.url, NAMES);
  await s1.kill9();

  const s2 = await startServer({ storage });
  try {
    const after = await snapshot(s2.url, NAMES);
    assert.deepEqual(after.list.sort(), ['patched', 'plain', 'x']);
    assert.deepEqual(after.infos, before.infos);
    assert.deepEqual(after.aliases, EXPECTED_ALIASES);
  } finally {
    assert.equal(await s2.stop(), 0, s2.stderr());
  }
});

test('a second server on the same storage refuses to start', async () => {
  const storage = tempDir();
  const s1 = await startServer({ storage });
  try {
    assert.equal(expectOk(await req('PUT', `${s1.url}/collections/held`, VEC4)), true);
    const err = await startServer({ storage }).then(
      (s2) => {
        s2.stop('SIGKILL');
        assert.fail('the second server started on a storage dir in use');
      },
      (e) => e,
    );
    assert.equal(typeof err.exitCode, 'number', err.message);
    assert.notEqual(err.exitCode, 0);
    assert.match(err.stderr, /in use by another Quiver process/);
    // the first server is unaffected
    assert.deepEqual(expectOk(await req('GET', `${s1.url}/collections/held/exists`)), { exists: true });
  } finally {
    assert.equal(await s1.stop(), 0, s1.stderr());
  }
  // once the first has stopped, the storage can be opened again
  const s3 = await startServer({ storage });
  assert.deepEqual(expectOk(await req('GET', `${s3.url}/collections/held/exists`)), { exists: true });
  assert.equal(await s3.stop(), 0, s3.stderr());
});
