// Scroll over 10,000 points with mixed ids (7,000 integers uploaded in a
// random order, 3,000 UUIDs): pages of 1,000 and of 7, with and without a
// filter, offsets that are and are not ids; and scrolling while a parallel
// loop keeps writing (new ids in between the old ones, payload updates and
// re-upserts of old points): every original point is still seen exactly
// once, in increasing id order, and nothing is seen twice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, req, expectOk } from './helpers.mjs';
import { reader, rng, randInt, shuffle, uuid, cmpId, idKey, assertIncreasing } from './read_lib.mjs';
import { expectUpdate } from './points_lib.mjs';

const C = 'big';
const r = rng(20240611);

// ---- the data: ids, payloads ------------------------------------------------------------

const intIds = new Set();
while (intIds.size < 6900) intIds.add(randInt(r, 14_000)); // leaves ~7,100 gaps below 14,000
while (intIds.size < 6950) intIds.add(2 ** 32 - 40 + randInt(r, 80)); // around 2^32
while (intIds.size < 6999) intIds.add(randInt(r, 2 ** 21) * 2 ** 32 + randInt(r, 2 ** 32)); // up to 2^53
intIds.add(Number.MAX_SAFE_INTEGER);
const uuidIds = new Set(['00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff']);
while (uuidIds.size < 3000) uuidIds.add(uuid(r));

const ORIGINAL = [...intIds, ...uuidIds];
assert.equal(ORIGINAL.length, 10_000);
/** idKey -> {id, payload} as the server must hold it now. */
const state = new Map();
ORIGINAL.forEach((id, i) => state.set(idKey(id), { id, payload: { i, g: i % 5, name: `p${i}` } }));
const ORIGINAL_KEYS = new Set(state.keys());
const SORTED = [...ORIGINAL].sort(cmpId);
const payloadOf = (id) => state.get(idKey(id)).payload;
const sorted = (pred) => SORTED.filter((id) => pred(payloadOf(id), id));

let srv, R;
before(async () => {
  srv = await startServer();
  R = reader(srv.url);
  expectOk(await req('PUT', `${srv.url}/collections/${C}`, { vectors: { size: 4, distance: 'Dot' } }));
  const pts = ORIGINAL.map((id, i) => ({
    id: i % 4 === 0 && typeof id === 'string' ? id.toUpperCase() : id,
    vector: [i % 7, 1, 2, 3],
    payload: { i, g: i % 5, name: `p${i}` },
  }));
  await R.upsertAll(C, shuffle(r, pts), 1000);
});
after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, srv.stderr());
});

/** Check a full scroll's points against `state` (all of them, in order). */
function checkAll(points, ids, what) {
  assert.equal(points.length, ids.length, `${what}: number of points`);
  assertIncreasing(points.map((p) => p.id), what);
  for (let k = 0; k < ids.length; k++) {
    if (points[k].id !== ids[k]) assert.fail(`${what}: at ${k} got id ${JSON.stringify(points[k].id)}, expected ${JSON.stringify(ids[k])}`);
    assert.deepEqual(points[k].payload, payloadOf(ids[k]), `${what}: payload of ${ids[k]}`);
    assert.equal(points[k].vector, null);
  }
}

test('pages of 1,000 without a filter: 10 pages, all 10,000 points once, integers then UUIDs', async () => {
  assert.equal(await R.count(C), 10_000);
  const { points, pages } = await R.scrollAll(C, {}, 1000);
  assert.equal(pages, 10, 'exactly 10 full pages, the last one says null');
  checkAll(points, SORTED, 'unfiltered');
  assert.equal(points[0].id, Math.min(...intIds));
  assert.equal(points[6999].id, Number.MAX_SAFE_INTEGER);
  assert.equal(points[7000].id, '00000000-0000-0000-0000-000000000000');
  assert.equal(points[9999].id, 'ffffffff-ffff-ffff-ffff-ffffffffffff');
  // the default page size is 10
  const first = await R.scroll(C, {});
  assert.deepEqual(first.points.map((p) => p.id), SORTED.slice(0, 10));
  assert.equal(first.next_page_offset, SORTED[10]);
});

test('pages of 1,000 with filters: exactly the matching points, in order', async () => {
  const cases = [
    [{ must: [{ key: 'g', match: { any: [1, 3] } }] }, (p) => p.g === 1 || p.g === 3],
    [{ must_not: [{ key: 'g', match: { value: 0 } }], must: [{ key: 'i', range: { gte: 2500, lt: 7500 } }] },
      (p) => p.g !== 0 && p.i >= 2500 && p.i < 7500],
    [{ should: [{ key: 'i', range: { lt: 700 } }, { key: 'i', range: { gte: 9600 } }] }, (p) => p.i < 700 || p.i >= 9600],
    [{ must: [{ key: 'name', match: { value: 'p4242' } }] }, (p) => p.i === 4242],
    [{ must: [{ key: 'name', match: { value: 'nobody' } }] }, () => false],
  ];
  for (const [filter, pred] of cases) {
    const ids = sorted(pred);
    const what = JSON.stringify(filter);
    const { points, pages } = await R.scrollAll(C, { filter }, 1000);
    checkAll(points, ids, what);
    assert.equal(pages, Math.max(1, Math.ceil(ids.length / 1000)), `${what}: pages`);
    assert.equal(await R.count(C, { filter }), ids.length, `${what}: count`);
  }
});

test('pages of 7: a filtered subset, and from offsets that are and are not ids', async () => {
  // a filtered subset of 300 points: 42 full pages and one of 6
  const filter = { must: [{ key: 'g', match: { value: 0 } }, { key: 'i', range: { lt: 1500 } }] };
  const ids = sorted((p) => p.g === 0 && p.i < 1500);
  assert.equal(ids.length, 300);
  const { points, pages } = await R.scrollAll(C, { filter, with_payload: true }, 7, 100);
  assert.equal(pages, 43);
  checkAll(points, ids, 'pages of 7, filtered');

  // without a filter, from the 100th-last integer id across into the UUIDs: 40 pages
  let at = 6900;
  let offset = SORTED[at];
  for (let page = 0; page < 40; page++) {
    const res = await R.scroll(C, { limit: 7, offset, with_payload: false });
    assert.deepEqual(res.points.map((p) => p.id), SORTED.slice(at, at + 7), `page ${page} from ${offset}`);
    for (const p of res.points) assert.equal(p.payload, null);
    at += 7;
    assert.equal(res.next_page_offset, SORTED[at]);
    offset = res.next_page_offset;
  }

  // an offset that is not an id starts at the next id
  let gap = 1;
  while (intIds.has(gap)) gap++;
  let res = await R.scroll(C, { limit: 7, offset: gap });
  assert.deepEqual(res.points.map((p) => p.id), sorted((_, id) => cmpId(id, gap) > 0).slice(0, 7));
  const u = 'abcdef01-2345-4678-9abc-def012345678';
  assert.ok(!uuidIds.has(u));
  res = await R.scroll(C, { limit: 7, offset: u.toUpperCase(), with_payload: false });
  const after = sorted((_, id) => cmpId(id, u) > 0);
  assert.deepEqual(res.points.map((p) => p.id), after.slice(0, 7));
  assert.equal(res.next_page_offset, after[7]);
  // an integer offset past every integer: the UUIDs come next
  res = await R.scroll(C, { limit: 3, offset: Number.MAX_SAFE_INTEGER });
  assert.deepEqual(res.points.map((p) => p.id), [Number.MAX_SAFE_INTEGER, '00000000-0000-0000-0000-000000000000', SORTED[7001]]);
  // the last id: one point, no next page; the offset with a filter that does not match it: the next match
  res = await R.scroll(C, { limit: 7, offset: 'ffffffff-ffff-ffff-ffff-ffffffffffff' });
  assert.deepEqual(res, { points: [{ id: 'ffffffff-ffff-ffff-ffff-ffffffffffff', payload: payloadOf('ffffffff-ffff-ffff-ffff-ffffffffffff'), vector: null }], next_page_offset: null });
  const g0 = sorted((p) => p.g === 0);
  const notG0 = SORTED.find((id) => payloadOf(id).g !== 0 && cmpId(id, g0[10]) > 0);
  res = await R.scroll(C, { limit: 2, offset: notG0, filter: { must: { key: 'g', match: { value: 0 } } }, with_payload: false });
  const expect = g0.filter((id) => cmpId(id, notG0) > 0);
  assert.deepEqual(res.points.map((p) => p.id), expect.slice(0, 2));
  assert.equal(res.next_page_offset, expect[2]);
});

test('scrolling while another loop writes: originals once each, order increasing, no repeats', async (t) => {
  // New ids: integers in the gaps between the originals (and beyond), and UUIDs.
  const w = rng(7);
  const newIds = new Set();
  while (newIds.size < 300) {
    const id = randInt(w, 14_100);
    if (!intIds.has(id)) newIds.add(id);
  }
  while (newIds.size < 400) newIds.add(uuid(w));
  const NEW = shuffle(w, [...newIds]);
  const NEW_KEYS = new Set(NEW.map(idKey));
  const oldIds = [...ORIGINAL];

  const write = async (suffix, body, method = 'POST') =>
    expectUpdate(expectOk(await req(method, `${srv.url}/collections/${C}${suffix}?wait=true`, body)));

  let writerDone = false;
  let writes = 0;
  const writer = (async () => {
    try {
      for (let k = 0; k < 40; k++) {
        // 10 new points
        const batch = NEW.slice(10 * k, 10 * k + 10).map((id, j) => {
          const i = 10_000 + 10 * k + j;
          return { id, vector: [1, 0, 0, 0], payload: { i, g: i % 5, name: `p${i}` } };
        });
        await write('/points', { points: batch }, 'PUT');
        for (const p of batch) state.set(idKey(p.id), { id: p.id, payload: p.payload });
        // set_payload on 10 old points
        const some = Array.from({ length: 10 }, () => oldIds[randInt(w, oldIds.length)]);
        await write('/points/payload', { payload: { v: k }, points: some });
        for (const id of some) Object.assign(state.get(idKey(id)).payload, { v: k });
        // every other round: 5 old points upserted again (whole payload replaced)
        if (k % 2 === 0) {
          const again = Array.from({ length: 5 }, () => oldIds[randInt(w, oldIds.length)]);
          const pts = again.map((id) => {
            const { i, g, name } = payloadOf(id);
            return { id, vector: [0, 1, 0, 0], payload: { i, g, name, u: `round ${k}` } };
          });
          await write('/points', { points: pts }, 'PUT');
          for (const p of pts) state.set(idKey(p.id), { id: p.id, payload: p.payload });
        }
        writes++;
      }
    } finally {
      writerDone = true;
    }
  })();

  // Scroll passes until the writer is done (at most 60): unfiltered in pages
  // of 1,000, filtered (g in {1, 3}) in pages of 1,000, unfiltered in pages of 250.
  const kinds = [
    { limit: 1000, filter: null, pred: () => true },
    { limit: 1000, filter: { must: [{ key: 'g', match: { any: [1, 3] } }] }, pred: (p) => p.g === 1 || p.g === 3 },
    { limit: 250, filter: null, pred: () => true },
  ];
  const originalsMatching = kinds.map((k) => sorted(k.pred).length);
  let passes = 0, overlapped = 0, sawNew = 0;
  const scroller = (async () => {
    while (passes === 0 || (!writerDone && passes < 60)) {
      const kind = passes % kinds.length;
      const { limit, filter, pred } = kinds[kind];
      const during = !writerDone;
      const { points } = await R.scrollAll(C, filter ? { filter } : {}, limit, 200);
      const what = `pass ${passes} (${JSON.stringify(filter)}, limit ${limit})`;
      assertIncreasing(points.map((p) => p.id), what);
      let originals = 0;
      for (const p of points) {
        const key = idKey(p.id);
        if (ORIGINAL_KEYS.has(key)) originals++;
        else if (NEW_KEYS.has(key)) sawNew++;
        else assert.fail(`${what}: a point that was never written: ${JSON.stringify(p.id)}`);
        // an old point is seen with its old or its new payload: i, g and name never change
        const { i, g, name } = payloadOf(p.id) ?? {};
        assert.deepEqual([p.payload.i, p.payload.g, p.payload.name], [i, g, name], `${what}: payload of ${p.id}`);
        assert.ok(pred(p.payload), `${what}: ${p.id} does not match the filter`);
      }
      assert.equal(originals, originalsMatching[kind], `${what}: every original point exactly once`);
      passes++;
      if (during && !writerDone) overlapped++;
    }
  })();
  await Promise.all([writer, scroller]);
  assert.equal(writes, 40);
  assert.ok(passes >= 1 && passes <= 60, `passes: ${passes}`);
  // How much the passes overlapped the writes depends on timing; the checks above hold either way.
  t.diagnostic(`${passes} scroll passes, ${overlapped} of them during the writes; new points seen ${sawNew} times`);

  // Once the writes are done: everything, with its final payload.
  const all = [...state.values()].map((p) => p.id).sort(cmpId);
  assert.equal(all.length, 10_400);
  const { points } = await R.scrollAll(C, {}, 1000);
  checkAll(points, all, 'after the writes');
  assert.equal(await R.count(C), 10_400);
  const filtered = await R.scrollAll(C, { filter: kinds[1].filter }, 1000);
  checkAll(filtered.points, all.filter((id) => kinds[1].pred(payloadOf(id))), 'after the writes, filtered');
});
