// HNSW graphs saved with the checkpoints: a restart loads them instead of
// building them again (same results, same indexed_vectors_count, green at
// once); a damaged or truncated graph file is ignored with a warning and the
// graph built again; kill -9 while indexing loses nothing; deletes are
// repaired in the background and recall holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, truncateSync, statSync } from 'node:fs';
import { startServer, tempDir, req, expectOk, infoUntil } from './helpers.mjs';
import { rng } from './read_lib.mjs';

const DIM = 16;
const N = 6000;
const r = rng(2026);
const centres = Array.from({ length: 30 }, () => Array.from({ length: DIM }, () => r() * 2 - 1));
const POINTS = Array.from({ length: N }, (_, i) => ({
  id: i + 1,
  vector: centres[i % 30].map((x) => x + (r() - 0.5) * 0.8),
  payload: { i },
}));
const QUERIES = Array.from({ length: 30 }, (_, i) => POINTS[(i * 397) % N].vector.map((x) => x + (r() - 0.5) * 0.2));
const CONFIG = {
  vectors: { size: DIM, distance: 'Cosine' },
  hnsw_config: { m: 16, ef_construct: 64, full_scan_threshold: 10 },
  optimizers_config: { indexing_threshold: 10 },
};

const ok = async (srv, method, path, body) => expectOk(await req(method, srv.url + path, body));

// Wait for an observable condition (the collection's status), bounded.
const green = (srv, name) => infoUntil(srv.url, name, (info) => info.status === 'green');

async function upload(srv, name, points = POINTS) {
  await ok(srv, 'PUT', `/collections/${name}`, CONFIG);
  for (let i = 0; i < points.length; i += 1000)
    await ok(srv, 'PUT', `/collections/${name}/points?wait=true`, { points: points.slice(i, i + 1000) });
}

const searchAll = (srv, name, params = {}) =>
  Promise.all(QUERIES.map((vector) => ok(srv, 'POST', `/collections/${name}/points/search`, { vector, limit: 10, params })));

async function recall(srv, name) {
  const approx = await searchAll(srv, name);
  const exact = await searchAll(srv, name, { exact: true });
  let sum = 0;
  for (let i = 0; i < QUERIES.length; i++) {
    const got = new Set(approx[i].map((h) => h.id));
    sum += exact[i].filter((h) => got.has(h.id)).length / exact[i].length;
  }
  return sum / QUERIES.length;
}

const graphFiles = (storage, name) =>
  readdirSync(`${storage}/collections/${name}`).filter((f) => /^hnsw-\d+-\d+\.graph$/.test(f));

test('a restart loads the saved graph: same results, same count, green at once', async () => {
  const storage = tempDir();
  let srv = await startServer({ storage });
  await upload(srv, 'g');
  const info = await green(srv, 'g');
  assert.equal(info.indexed_vectors_count, N);
  const before = await searchAll(srv, 'g');
  assert.equal(await srv.stop(), 0, srv.stderr());
  assert.equal(graphFiles(storage, 'g').length, 1, 'one graph file written at shutdown');

  srv = await startServer({ storage });
  // The first request after the restart: no waiting for the indexer.
  const after = await ok(srv, 'GET', '/collections/g');
  assert.equal(after.status, 'green');
  assert.equal(after.indexed_vectors_count, N);
  assert.match(srv.stderr(), /graph of vector "" loaded: 6000 nodes, 0 pending/);
  assert.deepEqual(await searchAll(srv, 'g'), before, 'graph search answers as before the restart');
  assert.ok(await recall(srv, 'g') >= 0.95);

  // Writes after the restart mark their slots; the next restart sees them.
  await ok(srv, 'POST', '/collections/g/points/delete?wait=true', { points: [1, 2, 3] });
  await ok(srv, 'PUT', '/collections/g/points?wait=true', { points: [{ id: 900001, vector: POINTS[0].vector }] });
  await green(srv, 'g');
  const again = await searchAll(srv, 'g');
  assert.equal(await srv.stop(), 0, srv.stderr());
  const files = graphFiles(storage, 'g');
  assert.equal(files.length, 1, `old graph files removed: ${files}`);
  srv = await startServer({ storage });
  assert.equal((await ok(srv, 'GET', '/collections/g')).indexed_vectors_count, N - 3 + 1);
  assert.deepEqual(await searchAll(srv, 'g'), again);
  const top = await ok(srv, 'POST', '/collections/g/points/search', { vector: POINTS[0].vector, limit: 3 });
  assert.equal(top[0].id, 900001);
  assert.ok(!top.some((h) => h.id <= 3));
  assert.equal(await srv.stop(), 0, srv.stderr());
});

for (const [what, damage] of [
  ['a flipped byte', (path) => {
    const b = readFileSync(path);
    b[Math.floor(b.length / 2)] ^= 0x40;
    writeFileSync(path, b);
  }],
  ['a truncated file', (path) => truncateSync(path, Math.floor(statSync(path).size * 0.7))],
  ['a header of another checkpoint', (path) => {
    const b = readFileSync(path);
    b[16] ^= 1; // the checkpoint's operation id
    writeFileSync(path, b);
  }],
]) {
  test(`${what} in the graph file: warning, the graph is built again, results right`, async () => {
    const storage = tempDir();
    let srv = await startServer({ storage });
    await upload(srv, 'd');
    await green(srv, 'd');
    const exact = await searchAll(srv, 'd', { exact: true });
    assert.equal(await srv.stop(), 0, srv.stderr());
    const [file] = graphFiles(storage, 'd');
    damage(`${storage}/collections/d/${file}`);

    srv = await startServer({ storage });
    assert.match(srv.stderr(), /WARN.*graph file hnsw-\d+-0\.graph not used \(.+\); the graph of vector "" is built again/);
    assert.deepEqual(await searchAll(srv, 'd', { exact: true }), exact);
    const info = await green(srv, 'd');
    assert.equal(info.indexed_vectors_count, N);
    assert.ok(await recall(srv, 'd') >= 0.95);
    // The rebuilt graph is saved again at the next shutdown, and loads.
    assert.equal(await srv.stop(), 0, srv.stderr());
    srv = await startServer({ storage });
    assert.match(srv.stderr(), /graph of vector "" loaded: 6000 nodes/);
    assert.equal(await srv.stop(), 0, srv.stderr());
  });
}

test('a changed hnsw_config or a vector change never loads a stale graph', async () => {
  const storage = tempDir();
  let srv = await startServer({ storage });
  await upload(srv, 'c');
  await green(srv, 'c');
  // A PATCH rebuilds the graph with its m (hnsw_config.test.mjs): once that
  // is done, what the shutdown saves fits the config and loads.
  await ok(srv, 'PATCH', '/collections/c', { hnsw_config: { m: 8 } });
  await green(srv, 'c');
  assert.equal(await srv.stop(), 0, srv.stderr());
  srv = await startServer({ storage });
  assert.doesNotMatch(srv.stderr(), /not used/);
  assert.match(srv.stderr(), /graph of vector "" loaded/);
  await green(srv, 'c');
  assert.ok(await recall(srv, 'c') >= 0.95);
  // The config changed behind the server's back: the graph does not fit it.
  assert.equal(await srv.stop(), 0, srv.stderr());
  const cfgPath = `${storage}/collections/c/config.json`;
  const stored = JSON.parse(readFileSync(cfgPath, 'utf8'));
  stored.config.hnsw_config.m = 12;
  writeFileSync(cfgPath, JSON.stringify(stored));
  srv = await startServer({ storage });
  assert.match(srv.stderr(), /graph file hnsw-\d+-0\.graph not used \(built with other hnsw_config parameters\)/);
  await green(srv, 'c');
  assert.ok(await recall(srv, 'c') >= 0.95);
  // A vector added: the checkpoint of the change leaves no graph file behind.
  await ok(srv, 'PUT', '/collections/c/vectors/extra', { dense: { size: 4, distance: 'Dot' } });
  assert.deepEqual(graphFiles(storage, 'c'), []);
  await green(srv, 'c');
  assert.equal(await srv.stop(), 0, srv.stderr());
  srv = await startServer({ storage });
  assert.match(srv.stderr(), /graph of vector "" loaded: 6000 nodes/);
  assert.ok(await recall(srv, 'c') >= 0.95);
  assert.equal(await srv.stop(), 0, srv.stderr());
});

test('kill -9 while indexing, then restart: everything findable', async () => {
  const storage = tempDir();
  let srv = await startServer({ storage });
  // A checkpoint every MB of log, so that one lands while the graph is being
  // built (its pending slots are saved with it) and the rest is replayed.
  await ok(srv, 'PUT', '/collections/k', { ...CONFIG, wal_config: { wal_capacity_mb: 1 } });
  // Three passes (the last two move every point a little): ~2 MB of log.
  const moved = (pass) => POINTS.map((p) => ({ ...p, vector: p.vector.map((x, j) => (j === pass ? x + 0.01 : x)) }));
  for (const points of [POINTS, moved(1), moved(2)])
    for (let i = 0; i < N; i += 500)
      await ok(srv, 'PUT', '/collections/k/points?wait=true', { points: points.slice(i, i + 500) });
  await srv.kill9();
  const final = moved(2);
  srv = await startServer({ storage });
  const info = await ok(srv, 'GET', '/collections/k');
  assert.equal(info.points_count, N);
  // Every point is its own nearest neighbour, indexed or not yet.
  for (const i of [0, 1, 777, 2999, 4242, N - 1]) {
    const hits = await ok(srv, 'POST', '/collections/k/points/search', { vector: final[i].vector, limit: 1 });
    assert.equal(hits[0].id, i + 1);
  }
  assert.equal((await green(srv, 'k')).indexed_vectors_count, N);
  assert.ok(await recall(srv, 'k') >= 0.95);
  assert.equal(await srv.stop(), 0, srv.stderr());
});

test('half the points deleted: tombstones repaired in the background, recall holds, slots reused', async () => {
  const storage = tempDir();
  let srv = await startServer({ storage });
  await upload(srv, 't');
  await green(srv, 't');
  const gone = POINTS.filter((_, i) => i % 2 === 1).map((p) => p.id);
  for (let i = 0; i < gone.length; i += 1000)
    await ok(srv, 'POST', '/collections/t/points/delete?wait=true', { points: gone.slice(i, i + 1000) });
  // Green once the repair (Qdrant's vacuum settings: 3000 tombstones, over
  // 1000 and 20% of the graph) has run; the log says what it dropped.
  const info = await green(srv, 't');
  assert.equal(info.points_count, N / 2);
  assert.equal(info.indexed_vectors_count, N / 2);
  // (the first repair may start before the last delete: the drops add up)
  const repairs = [...srv.stderr().matchAll(/graph of vector "" repaired: (\d+) tombstones dropped, (\d+) nodes left \((\d+) tombstones\)/g)];
  assert.ok(repairs.length >= 1, srv.stderr());
  assert.equal(repairs.reduce((n, m) => n + Number(m[1]), 0), 3000);
  assert.deepEqual(repairs.at(-1).slice(2), ['3000', '0']);
  for (const id of [2, 4, 5998, 6000]) {
    const hits = await ok(srv, 'POST', '/collections/t/points/search', { vector: POINTS[id - 1].vector, limit: 10 });
    assert.ok(!hits.some((h) => h.id % 2 === 0), 'no deleted point returned');
  }
  assert.ok(await recall(srv, 't') >= 0.95);
  // The freed slots take new points, which the graph finds.
  const fresh = POINTS.filter((_, i) => i % 2 === 1).slice(0, 2000).map((p) => ({ ...p, id: p.id + 100000 }));
  for (let i = 0; i < fresh.length; i += 1000)
    await ok(srv, 'PUT', '/collections/t/points?wait=true', { points: fresh.slice(i, i + 1000) });
  assert.equal((await green(srv, 't')).indexed_vectors_count, N / 2 + 2000);
  const top = await ok(srv, 'POST', '/collections/t/points/search', { vector: fresh[7].vector, limit: 1 });
  assert.equal(top[0].id, fresh[7].id);
  assert.ok(await recall(srv, 't') >= 0.95);
  // The repaired graph is what the next restart loads.
  const before = await searchAll(srv, 't');
  assert.equal(await srv.stop(), 0, srv.stderr());
  srv = await startServer({ storage });
  assert.match(srv.stderr(), /graph of vector "" loaded: 5000 nodes, 0 pending/);
  assert.deepEqual(await searchAll(srv, 't'), before);
  assert.equal(await srv.stop(), 0, srv.stderr());
});

// on_disk vectors (issue 9): kept in mapped chunk files, they answer as
// in-memory ones do, through a clean restart, writes after it, and kill -9.
test('on_disk vectors: same answers as in memory, across a restart and kill -9', async () => {
  const storage = tempDir();
  let srv = await startServer({ storage });
  const onDisk = { ...CONFIG, vectors: { ...CONFIG.vectors, on_disk: true } };
  await ok(srv, 'PUT', '/collections/mem', CONFIG);
  await ok(srv, 'PUT', '/collections/disk', onDisk);
  for (let i = 0; i < N; i += 1000) {
    await ok(srv, 'PUT', '/collections/mem/points?wait=true', { points: POINTS.slice(i, i + 1000) });
    await ok(srv, 'PUT', '/collections/disk/points?wait=true', { points: POINTS.slice(i, i + 1000) });
  }
  const exact = { exact: true };
  const want = await searchAll(srv, 'mem', exact);
  assert.deepEqual(await searchAll(srv, 'disk', exact), want);
  assert.equal(await srv.stop(), 0, srv.stderr());
  assert.ok(readdirSync(`${storage}/collections/disk`).some((f) => /^vec-\d+\.dat$/.test(f)), 'a chunk file');

  srv = await startServer({ storage });
  assert.deepEqual(await searchAll(srv, 'disk', exact), want, 'after a restart');
  const info = await ok(srv, 'GET', '/collections/disk');
  assert.equal(info.config.params.vectors.on_disk, true);
  // Writes to mapped chunks after the restart, then kill -9: the log replays them.
  const moved = POINTS.slice(0, 500).map((p) => ({ ...p, vector: p.vector.map((x) => -x) }));
  await ok(srv, 'PUT', '/collections/mem/points?wait=true', { points: moved });
  await ok(srv, 'PUT', '/collections/disk/points?wait=true', { points: moved });
  const after = await searchAll(srv, 'mem', exact);
  assert.deepEqual(await searchAll(srv, 'disk', exact), after);
  await srv.kill9();
  srv = await startServer({ storage });
  assert.deepEqual(await searchAll(srv, 'disk', exact), after, 'after kill -9');
  const got = await ok(srv, 'POST', '/collections/disk/points', { ids: [1, 600], with_vector: true });
  const mem = await ok(srv, 'POST', '/collections/mem/points', { ids: [1, 600], with_vector: true });
  assert.deepEqual(got, mem);
  assert.equal(await srv.stop(), 0, srv.stderr());
});
