// The official JS client (@qdrant/js-client-rest 1.19.0) against a real server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client, clientIdle, warnings, defaultConfig } from './helpers.mjs';

let srv;
let qc;
before(async () => {
  srv = await startServer();
  qc = client(srv.url);
});
after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, srv.stderr());
});

const VECTORS = { size: 4, distance: 'Cosine' };

test('versionInfo, and no version-compatibility warning', async () => {
  const v = await qc.versionInfo();
  assert.equal(v.title, 'quiver - vector search engine');
  assert.equal(v.version, '1.19.0');
  assert.match(v.commit, /^[0-9a-f]{40}$/);
  // wait for the client's own background version check to finish
  await clientIdle();
  assert.deepEqual(warnings, []);
});

test('createCollection, collectionExists, getCollection, getCollections', async () => {
  assert.equal(await qc.createCollection('jc', { vectors: VECTORS }), true);
  assert.deepEqual(await qc.collectionExists('jc'), { exists: true });
  assert.deepEqual(await qc.collectionExists('jc_missing'), { exists: false });
  const info = await qc.getCollection('jc');
  assert.equal(info.status, 'green');
  assert.equal(info.optimizer_status, 'ok');
  assert.equal(info.points_count, 0);
  assert.deepEqual(info.config, defaultConfig());
  assert.equal(await qc.createCollection('jb', { vectors: { image: { size: 3, distance: 'Dot' } } }), true);
  const list = await qc.getCollections();
  assert.deepEqual(list, { collections: [{ name: 'jb' }, { name: 'jc' }] });
});

test('createCollection on an existing name rejects with status 409', async () => {
  await assert.rejects(qc.createCollection('jc', { vectors: VECTORS }), (e) => {
    assert.equal(e.status, 409);
    assert.deepEqual(e.data?.status, { error: 'Wrong input: Collection `jc` already exists!' });
    return true;
  });
});

test('getCollection of a missing collection rejects with status 404', async () => {
  await assert.rejects(qc.getCollection('jc_missing'), (e) => {
    assert.equal(e.status, 404);
    assert.deepEqual(e.data?.status, { error: "Not found: Collection `jc_missing` doesn't exist!" });
    return true;
  });
});

test('updateCollection', async () => {
  assert.equal(
    await qc.updateCollection('jc', {
      optimizers_config: { indexing_threshold: 20000 },
      hnsw_config: { ef_construct: 200 },
      params: { on_disk_payload: false },
    }),
    true,
  );
  const expected = defaultConfig();
  expected.optimizer_config.indexing_threshold = 20000;
  expected.hnsw_config.ef_construct = 200;
  expected.params.on_disk_payload = false;
  assert.deepEqual((await qc.getCollection('jc')).config, expected);
});

test('updateCollectionAliases create/rename/delete, getAliases, getCollectionAliases', async () => {
  assert.equal(
    await qc.updateCollectionAliases({
      actions: [
        { create_alias: { collection_name: 'jc', alias_name: 'ja' } },
        { create_alias: { collection_name: 'jb', alias_name: 'jz' } },
      ],
    }),
    true,
  );
  const sort = (r) => ({ aliases: [...r.aliases].sort((a, b) => a.alias_name.localeCompare(b.alias_name)) });
  assert.deepEqual(sort(await qc.getAliases()), {
    aliases: [
      { alias_name: 'ja', collection_name: 'jc' },
      { alias_name: 'jz', collection_name: 'jb' },
    ],
  });
  assert.deepEqual(await qc.getCollectionAliases('jc'), { aliases: [{ alias_name: 'ja', collection_name: 'jc' }] });
  assert.deepEqual(await qc.collectionExists('ja'), { exists: true });
  assert.deepEqual((await qc.getCollection('ja')).config, (await qc.getCollection('jc')).config);

  assert.equal(
    await qc.updateCollectionAliases({ actions: [{ rename_alias: { old_alias_name: 'ja', new_alias_name: 'jr' } }] }),
    true,
  );
  assert.deepEqual(await qc.getCollectionAliases('jc'), { aliases: [{ alias_name: 'jr', collection_name: 'jc' }] });

  assert.equal(await qc.updateCollectionAliases({ actions: [{ delete_alias: { alias_name: 'jr' } }] }), true);
  assert.deepEqual(await qc.getCollectionAliases('jc'), { aliases: [] });
  assert.deepEqual(await qc.getAliases(), { aliases: [{ alias_name: 'jz', collection_name: 'jb' }] });

  await assert.rejects(
    qc.updateCollectionAliases({ actions: [{ rename_alias: { old_alias_name: 'zzz', new_alias_name: 'q' } }] }),
    (e) => {
      assert.equal(e.status, 404);
      assert.deepEqual(e.data?.status, { error: 'Not found: Alias zzz does not exists!' });
      return true;
    },
  );
});

test('deleteCollection', async () => {
  assert.equal(await qc.deleteCollection('jb'), true);
  assert.deepEqual(await qc.collectionExists('jb'), { exists: false });
  assert.deepEqual(await qc.getAliases(), { aliases: [] }, "the collection's alias went with it");
  assert.equal(await qc.deleteCollection('jb'), false);
  assert.deepEqual(await qc.getCollections(), { collections: [{ name: 'jc' }] });
});

test('a second client prints no warning either', async () => {
  const other = client(srv.url);
  assert.deepEqual(await other.getCollections(), { collections: [{ name: 'jc' }] });
  await clientIdle();
  assert.deepEqual(warnings, []);
});
