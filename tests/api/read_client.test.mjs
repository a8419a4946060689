// The read path through the official JS client (@qdrant/js-client-rest
// 1.19.0): scroll loops with and without filters and selectors, count,
// facet, and the errors as the client reports them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client, clientIdle, warnings } from './helpers.mjs';
import { rng, shuffle, uuid, cmpId, assertIncreasing } from './read_lib.mjs';

const C = 'jr';
const r = rng(5);
const POINTS = [];
for (let i = 0; i < 500; i++) POINTS.push({ id: 2 * i + 1, i });
for (let i = 500; i < 600; i++) POINTS.push({ id: uuid(r), i });
for (const p of POINTS) {
  p.payload = { group: `g${p.i % 4}`, n: p.i, tags: p.i % 3 ? ['odd'] : ['even', 'three'], info: { half: p.i < 300 } };
  p.vector = [p.i % 8, 0.5, -0.25];
}
const SORTED = [...POINTS].sort((a, b) => cmpId(a.id, b.id));

let srv, qc;
before(async () => {
  srv = await startServer();
  qc = client(srv.url);
  assert.equal(await qc.createCollection(C, { vectors: { size: 3, distance: 'Dot' } }), true);
  const pts = shuffle(r, POINTS.map(({ id, vector, payload }) => ({ id, vector, payload })));
  for (let k = 0; k < pts.length; k += 200) await qc.upsert(C, { wait: true, points: pts.slice(k, k + 200) });
});
after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, srv.stderr());
});

/** The client's scroll loop: every page until next_page_offset is null (at most maxPages). */
async function scrollAll(args, maxPages = 200) {
  const all = [];
  let offset;
  for (let pages = 0; ; pages++) {
    assert.ok(pages < maxPages, 'the loop must end');
    const res = await qc.scroll(C, { ...args, offset });
    assert.deepEqual(Object.keys(res).sort(), ['next_page_offset', 'points']);
    all.push(...res.points);
    if (res.next_page_offset === null) return all;
    assert.equal(res.points.length, args.limit ?? 10);
    offset = res.next_page_offset;
  }
}

test('scroll loop: defaults, every point once in id order', async () => {
  // the client's defaults: limit 10, payload yes, vector no
  const first = await qc.scroll(C);
  assert.deepEqual(first.points, SORTED.slice(0, 10).map((p) => ({ id: p.id, payload: p.payload, vector: null })));
  assert.equal(first.next_page_offset, SORTED[10].id);

  const all = await scrollAll({ limit: 64 });
  assertIncreasing(all.map((p) => p.id));
  assert.deepEqual(all, SORTED.map((p) => ({ id: p.id, payload: p.payload, vector: null })));

  const withVectors = await scrollAll({ limit: 250, with_vector: true, with_payload: false });
  assert.deepEqual(withVectors, SORTED.map((p) => ({ id: p.id, payload: null, vector: p.vector })));
});

test('scroll loop with filters and payload selectors', async () => {
  const cases = [
    [{ must: [{ key: 'group', match: { value: 'g1' } }] }, (p) => p.i % 4 === 1],
    [{ must: [{ key: 'tags', match: { any: ['three'] } }], must_not: [{ key: 'info.half', match: { value: true } }] }, (p) => p.i % 3 === 0 && p.i >= 300],
    [{ should: [{ key: 'n', range: { lt: 5 } }, { has_id: [SORTED.at(-1).id] }] }, (p) => p.i < 5 || p === SORTED.at(-1)],
    [{ must: [{ key: 'group', match: { value: 'none' } }] }, () => false],
  ];
  for (const [filter, pred] of cases) {
    const got = await scrollAll({ limit: 37, filter, with_payload: ['n'] });
    const expected = SORTED.filter(pred).map((p) => ({ id: p.id, payload: { n: p.i }, vector: null }));
    assert.deepEqual(got, expected, JSON.stringify(filter));
    assert.deepEqual(await qc.count(C, { filter }), { count: expected.length });
    assert.deepEqual(await qc.count(C, { filter, exact: true }), { count: expected.length });
  }
  const inc = await qc.scroll(C, { limit: 2, with_payload: { include: ['info.half', 'group'] } });
  assert.deepEqual(inc.points.map((p) => p.payload), SORTED.slice(0, 2).map((p) => ({ group: p.payload.group, info: { half: true } })));
  const exc = await qc.scroll(C, { limit: 2, with_payload: { exclude: ['tags', 'info'] } });
  assert.deepEqual(exc.points.map((p) => p.payload), SORTED.slice(0, 2).map((p) => ({ group: p.payload.group, n: p.i })));
  // an offset given by the caller, UUID in upper case
  const u = SORTED[550];
  const page = await qc.scroll(C, { limit: 3, offset: u.id.toUpperCase(), with_payload: false });
  assert.deepEqual(page.points.map((p) => p.id), SORTED.slice(550, 553).map((p) => p.id));
  assert.equal(page.next_page_offset, SORTED[553].id);
});

test('count and facet', async () => {
  assert.deepEqual(await qc.count(C), { count: 600 });
  assert.deepEqual(await qc.count(C, { exact: false }), { count: 600 });
  assert.deepEqual(await qc.count(C, { filter: { must: [{ key: 'info.half', match: { value: false } }] } }), { count: 300 });

  assert.deepEqual(await qc.facet(C, { key: 'group' }), {
    hits: [{ value: 'g0', count: 150 }, { value: 'g1', count: 150 }, { value: 'g2', count: 150 }, { value: 'g3', count: 150 }],
  });
  assert.deepEqual(await qc.facet(C, { key: 'tags', limit: 2 }), { hits: [{ value: 'odd', count: 400 }, { value: 'even', count: 200 }] });
  assert.deepEqual(await qc.facet(C, { key: 'group', filter: { must: [{ key: 'n', range: { lt: 6 } }] }, exact: true }), {
    hits: [{ value: 'g0', count: 2 }, { value: 'g1', count: 2 }, { value: 'g2', count: 1 }, { value: 'g3', count: 1 }],
  });
  assert.deepEqual(await qc.facet(C, { key: 'info.half' }), { hits: [{ value: false, count: 300 }, { value: true, count: 300 }] });
});

test('errors through the client; no client warnings', async () => {
  await assert.rejects(qc.scroll(C, { limit: 0 }), (e) => {
    assert.equal(e.status, 422);
    assert.deepEqual(e.data?.status, { error: 'Validation error in JSON body: [limit: value 0 invalid, must be 1 or larger]' });
    return true;
  });
  await assert.rejects(qc.scroll(C, { filter: { must: [], nope: 1 } }), (e) => {
    assert.equal(e.status, 400);
    assert.match(e.data?.status?.error, /^Format error in JSON body: .*nope/);
    return true;
  });
  await assert.rejects(qc.count(C, { filter: { must: [{ key: 'group' }] } }), (e) => {
    assert.ok(e.status >= 400 && e.status < 500, String(e.status));
    assert.match(e.data?.status?.error, /filter\.must\[0\]/);
    return true;
  });
  await assert.rejects(qc.scroll(C, { with_vector: ['nope'] }), (e) => {
    assert.equal(e.status, 400);
    assert.deepEqual(e.data?.status, { error: 'Wrong input: Not existing vector name error: nope' });
    return true;
  });
  for (const call of [() => qc.scroll('jnope'), () => qc.count('jnope'), () => qc.facet('jnope', { key: 'x' })]) {
    await assert.rejects(call(), (e) => {
      assert.equal(e.status, 404);
      assert.deepEqual(e.data?.status, { error: "Not found: Collection `jnope` doesn't exist!" });
      return true;
    });
  }
  await clientIdle();
  assert.deepEqual(warnings, []);
});
