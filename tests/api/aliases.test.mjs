// Collection aliases: create/rename/delete, listing, resolution, atomicity.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, req, expectOk, expectError, VEC4 } from './helpers.mjs';

let srv;
const col = (name, suffix = '') => `${srv.url}/collections/${name}${suffix}`;
const create = async (name, body = VEC4) => assert.equal(expectOk(await req('PUT', col(name), body)), true);
const actions = (...acts) => req('POST', `${srv.url}/collections/aliases`, { actions: acts });
const createAlias = (collection_name, alias_name) => ({ create_alias: { collection_name, alias_name } });
const renameAlias = (old_alias_name, new_alias_name) => ({ rename_alias: { old_alias_name, new_alias_name } });
const deleteAlias = (alias_name) => ({ delete_alias: { alias_name } });
const byAlias = (a, b) => (a.alias_name < b.alias_name ? -1 : a.alias_name > b.alias_name ? 1 : 0);

async function allAliases() {
  const r = expectOk(await req('GET', `${srv.url}/aliases`));
  assert.deepEqual(Object.keys(r), ['aliases']);
  for (const a of r.aliases) assert.deepEqual(Object.keys(a).sort(), ['alias_name', 'collection_name']);
  return [...r.aliases].sort(byAlias);
}
async function aliasesOf(name) {
  const r = expectOk(await req('GET', col(name, '/aliases')));
  assert.deepEqual(Object.keys(r), ['aliases']);
  return [...r.aliases].sort(byAlias);
}
const exists = async (name) => expectOk(await req('GET', col(name, '/exists'))).exists;

before(async () => {
  srv = await startServer();
});
after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, srv.stderr());
});

test('create an alias; it is listed globally and per collection', async () => {
  await create('c1');
  assert.equal(expectOk(await actions(createAlias('c1', 'a1'))), true);
  const mine = (await allAliases()).filter((a) => a.collection_name === 'c1');
  assert.deepEqual(mine, [{ alias_name: 'a1', collection_name: 'c1' }]);
  assert.deepEqual(await aliasesOf('c1'), [{ alias_name: 'a1', collection_name: 'c1' }]);
});

test('an alias works wherever a collection name does', async () => {
  await create('c2', { vectors: { size: 7, distance: 'Euclid' }, hnsw_config: { m: 24 } });
  assert.equal(expectOk(await actions(createAlias('c2', 'a2'))), true);
  const direct = expectOk(await req('GET', col('c2')));
  const viaAlias = expectOk(await req('GET', col('a2')));
  assert.deepEqual(viaAlias, direct);
  assert.equal(viaAlias.config.params.vectors.size, 7);
  assert.equal(await exists('a2'), true);
  // updating through the alias changes the collection
  assert.equal(expectOk(await req('PATCH', col('a2'), { optimizers_config: { indexing_threshold: 123 } })), true);
  assert.equal(expectOk(await req('GET', col('c2'))).config.optimizer_config.indexing_threshold, 123);
  // the alias is not a collection of its own
  const names = expectOk(await req('GET', `${srv.url}/collections`)).collections.map((c) => c.name);
  assert.ok(names.includes('c2'));
  assert.ok(!names.includes('a2'), names.join(','));
});

test('several aliases for one collection', async () => {
  await create('c3');
  assert.equal(expectOk(await actions(createAlias('c3', 'a3x'), createAlias('c3', 'a3y'))), true);
  assert.deepEqual(await aliasesOf('c3'), [
    { alias_name: 'a3x', collection_name: 'c3' },
    { alias_name: 'a3y', collection_name: 'c3' },
  ]);
});

test('rename an alias', async () => {
  await create('c4');
  assert.equal(expectOk(await actions(createAlias('c4', 'a4'))), true);
  assert.equal(expectOk(await actions(renameAlias('a4', 'b4'))), true);
  assert.deepEqual(await aliasesOf('c4'), [{ alias_name: 'b4', collection_name: 'c4' }]);
  assert.equal(await exists('a4'), false);
  assert.equal(await exists('b4'), true);
  const all = await allAliases();
  assert.ok(!all.some((a) => a.alias_name === 'a4'));
  expectError(await req('GET', col('a4')), 404, "Not found: Collection `a4` doesn't exist!");
});

test('rename of a missing alias → 404', async () => {
  expectError(await actions(renameAlias('zzz', 'yyy')), 404, 'Not found: Alias zzz does not exists!');
  assert.equal(await exists('yyy'), false);
});

test('delete an alias; deleting a missing alias is fine', async () => {
  await create('c5');
  assert.equal(expectOk(await actions(createAlias('c5', 'a5'))), true);
  assert.equal(expectOk(await actions(deleteAlias('a5'))), true);
  assert.deepEqual(await aliasesOf('c5'), []);
  assert.equal(await exists('a5'), false);
  assert.equal(await exists('c5'), true, 'the collection stays');
  assert.equal(expectOk(await actions(deleteAlias('a5'))), true);
  assert.equal(expectOk(await actions(deleteAlias('never_existed'))), true);
});

test('create_alias to a missing collection → 404', async () => {
  expectError(await actions(createAlias('nope', 'a_nope')), 404, "Not found: Collection `nope` doesn't exist!");
  assert.equal(await exists('a_nope'), false);
});

test('an alias cannot take an existing collection name', async () => {
  await create('c6');
  await create('X');
  expectError(await actions(createAlias('c6', 'X')), 409, 'Wrong input: Collection `X` already exists!');
  // X is still its own collection
  assert.deepEqual(expectOk(await req('GET', col('X'))).config.params.vectors, VEC4.vectors);
  assert.deepEqual(await aliasesOf('c6'), []);
});

test('a collection cannot take an existing alias name', async () => {
  await create('c7');
  assert.equal(expectOk(await actions(createAlias('c7', 'a'))), true);
  expectError(await req('PUT', col('a'), VEC4), 400,
    "Wrong input: Can't create collection with name a. Alias with the same name already exists");
  assert.deepEqual(await aliasesOf('c7'), [{ alias_name: 'a', collection_name: 'c7' }]);
});

test('alias actions are atomic: a failing batch changes nothing', async () => {
  await create('c8');
  expectError(
    await actions(createAlias('c8', 'a8_first'), createAlias('missing8', 'a8_second')),
    404,
    "Not found: Collection `missing8` doesn't exist!",
  );
  assert.equal(await exists('a8_first'), false);
  assert.equal(await exists('a8_second'), false);
  assert.deepEqual(await aliasesOf('c8'), []);

  // a failing rename after a delete keeps the deleted alias
  assert.equal(expectOk(await actions(createAlias('c8', 'a8_keep'))), true);
  expectError(await actions(deleteAlias('a8_keep'), renameAlias('zzz', 'y8')), 404,
    'Not found: Alias zzz does not exists!');
  assert.deepEqual(await aliasesOf('c8'), [{ alias_name: 'a8_keep', collection_name: 'c8' }]);
});

test('actions in one batch apply in order', async () => {
  await create('c9');
  assert.equal(
    expectOk(await actions(createAlias('c9', 'a9'), renameAlias('a9', 'b9'), createAlias('c9', 'd9'), deleteAlias('d9'))),
    true,
  );
  assert.deepEqual(await aliasesOf('c9'), [{ alias_name: 'b9', collection_name: 'c9' }]);
});

test('deleting a collection deletes its aliases', async () => {
  await create('c10');
  assert.equal(expectOk(await actions(createAlias('c10', 'a10'), createAlias('c10', 'b10'))), true);
  assert.equal(expectOk(await req('DELETE', col('c10'))), true);
  const all = await allAliases();
  assert.ok(!all.some((a) => a.collection_name === 'c10' || a.alias_name === 'a10' || a.alias_name === 'b10'),
    JSON.stringify(all));
  assert.equal(await exists('a10'), false);
  // the names are free again
  await create('a10');
  assert.equal(await exists('a10'), true);
});

test('missing "actions" → 400 format error', async () => {
  const res = await req('POST', `${srv.url}/collections/aliases`, {});
  expectError(res, 400, /^Format error in JSON body: /);
  const res2 = await req('POST', `${srv.url}/collections/aliases`, undefined, { raw: '{"actions": [' });
  expectError(res2, 400, /^Format error in JSON body: .+ at line \d+ column \d+$/);
});
