// Count and facet against a brute-force computation in JS over the same
// 2,000 random points (integer and UUID ids): several filters for count
// (each also checked with scroll); facet on a string key (some values in
// arrays, some null, some missing), an integer key, an array-of-strings key
// with repeated elements, a boolean key and nested paths, with and without
// filters and limits.
//
// Documented difference: Qdrant answers facet only for keys with a keyword /
// integer / bool payload index; Quiver needs no index, so these requests
// would be refused by Qdrant until such indexes are created.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, req, expectOk, expectError } from './helpers.mjs';
import { reader, rng, randInt, shuffle, uuid, cmpId } from './read_lib.mjs';

const C = 'cf';
const COLORS = ['red', 'green', 'blue', 'yellow', 'black', 'white'];
const TAGS = ['t0', 't1', 't2', 't3', 't4', 't5', 't6', 't7'];
const SKUS = ['A', 'B', 'C', 'D', 'E'];
const REGIONS = ['eu', 'us', 'asia'];

// ---- the data ---------------------------------------------------------------------------

const r = rng(99);
const POINTS = [];
{
  const ids = [];
  for (let k = 0; k < 1700; k++) ids.push(3 * k + 1);
  for (let k = 0; k < 300; k++) ids.push(uuid(r));
  shuffle(r, ids);
  ids.forEach((id, i) => {
    const p = { name: `item ${i}` };
    const c = r();
    if (c < 0.1) {
      /* no color */
    } else if (c < 0.15) p.color = null;
    else if (c < 0.22) p.color = Array.from({ length: 1 + randInt(r, 3) }, () => COLORS[randInt(r, 6)]);
    else p.color = COLORS[randInt(r, 6)];
    if (r() < 0.9) p.size = randInt(r, 21);
    if (r() < 0.9) p.tags = Array.from({ length: randInt(r, 5) }, () => TAGS[randInt(r, 8)]); // repeats possible, [] too
    p.price = (randInt(r, 10000) + 0.5) / 100; // never an integer
    if (r() < 0.8) p.flag = r() < 0.3;
    p.meta = { level: randInt(r, 4), region: REGIONS[randInt(r, 3)] };
    p.items = Array.from({ length: randInt(r, 4) }, () => ({ sku: SKUS[randInt(r, 5)], qty: randInt(r, 6) }));
    POINTS.push({ id, payload: p });
  });
}
const SORTED_IDS = POINTS.map((p) => p.id).sort(cmpId);
const byKey = new Map(POINTS.map((p) => [String(p.id), p]));

// ---- brute force -------------------------------------------------------------------------

/** Values at a path like "a", "a.b" or "a[].b" (Qdrant's value_get). */
function valuesAt(payload, path) {
  let cur = [payload];
  for (const part of path.split('.')) {
    const all = part.endsWith('[]');
    const key = all ? part.slice(0, -2) : part;
    const next = [];
    for (const v of cur) {
      if (v && typeof v === 'object' && !Array.isArray(v) && key in v) {
        const x = v[key];
        if (all) {
          if (Array.isArray(x)) next.push(...x);
        } else next.push(x);
      }
    }
    cur = next;
  }
  return cur;
}
/** True when some value at path (an array: some element of it) passes fn. */
const any = (p, path, fn) => valuesAt(p, path).some((v) => (Array.isArray(v) ? v.some(fn) : fn(v)));
const isInt = (v) => Number.isInteger(v);

/** Facet by brute force: each point counts once per distinct value. */
function bruteFacet(key, pred = () => true, limit = 10) {
  const counts = new Map();
  for (const { id, payload } of POINTS) {
    if (!pred(payload, id)) continue;
    const seen = new Set();
    for (const v of valuesAt(payload, key)) {
      for (const x of Array.isArray(v) ? v : [v]) {
        if (typeof x === 'string' || isInt(x) || typeof x === 'boolean') seen.add(x);
      }
    }
    for (const x of seen) counts.set(x, (counts.get(x) ?? 0) + 1);
  }
  const cmpVal = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  return [...counts]
    .map(([value, count]) => ({ value, count }))
    .sort((a, b) => b.count - a.count || cmpVal(a.value, b.value))
    .slice(0, limit);
}

// Filters and the same predicate in JS.
const FILTERS = [
  ['color = red', { must: [{ key: 'color', match: { value: 'red' } }] }, (p) => any(p, 'color', (v) => v === 'red')],
  ['size in [5, 12)', { must: [{ key: 'size', range: { gte: 5, lt: 12 } }] }, (p) => any(p, 'size', (v) => v >= 5 && v < 12)],
  ['tags any t1, t3', { must: { key: 'tags', match: { any: ['t1', 't3'] } } }, (p) => any(p, 'tags', (v) => v === 't1' || v === 't3')],
  ['not red', { must_not: [{ key: 'color', match: { value: 'red' } }] }, (p) => !any(p, 'color', (v) => v === 'red')],
  ['blue or size > 18', { should: [{ key: 'color', match: { value: 'blue' } }, { key: 'size', range: { gt: 18 } }] },
    (p) => any(p, 'color', (v) => v === 'blue') || any(p, 'size', (v) => v > 18)],
  ['2 of green, flag, size <= 3',
    { min_should: { conditions: [{ key: 'color', match: { value: 'green' } }, { key: 'flag', match: { value: true } }, { key: 'size', range: { lte: 3 } }], min_count: 2 } },
    (p) => [any(p, 'color', (v) => v === 'green'), any(p, 'flag', (v) => v === true), any(p, 'size', (v) => v <= 3)].filter(Boolean).length >= 2],
  ['an item A with qty >= 3', { must: [{ nested: { key: 'items', filter: { must: [{ key: 'sku', match: { value: 'A' } }, { key: 'qty', range: { gte: 3 } }] } } }] },
    (p) => p.items.some((it) => it.sku === 'A' && it.qty >= 3)],
  ['some item A and some qty >= 3', { must: [{ key: 'items[].sku', match: { value: 'A' } }, { key: 'items[].qty', range: { gte: 3 } }] },
    (p) => p.items.some((it) => it.sku === 'A') && p.items.some((it) => it.qty >= 3)],
  ['tags empty', { must: [{ is_empty: { key: 'tags' } }] }, (p) => p.tags === undefined || p.tags.length === 0],
  ['color null', { must: [{ is_null: { key: 'color' } }] }, (p) => p.color === null],
  ['level 1 or 2, region not eu', { must: [{ key: 'meta.level', match: { any: [1, 2] } }, { key: 'meta.region', match: { except: ['eu'] } }] },
    (p) => [1, 2].includes(p.meta.level) && p.meta.region !== 'eu'],
  ['color except red, green', { must: [{ key: 'color', match: { except: ['red', 'green'] } }] },
    (p) => any(p, 'color', (v) => v !== null && v !== 'red' && v !== 'green')],
  ['at least 2 tags', { must: [{ key: 'tags', values_count: { gte: 2 } }] }, (p) => Array.isArray(p.tags) && p.tags.length >= 2],
  ['price in (20.25, 70.5]', { must: [{ key: 'price', range: { gt: 20.25, lte: 70.5 } }] }, (p) => p.price > 20.25 && p.price <= 70.5],
  ['name contains "12"', { must: [{ key: 'name', match: { text: '12' } }] }, (p) => p.name.includes('12')],
  ['some ids', { must: [{ has_id: SORTED_IDS.filter((_, k) => k % 9 === 0) }] }, (_, id) => SORTED_IDS.indexOf(id) % 9 === 0],
  ['nothing (should: [])', { should: [] }, () => false],
  ['everything (must: [])', { must: [] }, () => true],
  ['not (flag or level 0)', { must_not: [{ key: 'flag', match: { value: true } }, { key: 'meta.level', match: { value: 0 } }] },
    (p) => p.flag !== true && p.meta.level !== 0],
];
const bruteIds = (pred) => SORTED_IDS.filter((id) => pred(byKey.get(String(id)).payload, id));

let srv, R;
before(async () => {
  srv = await startServer();
  R = reader(srv.url);
  expectOk(await req('PUT', `${srv.url}/collections/${C}`, { vectors: { size: 2, distance: 'Dot' } }));
  await R.upsertAll(C, POINTS.map(({ id, payload }) => ({ id, vector: [1, 0], payload })), 500);
});
after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, srv.stderr());
});

test('count: no filter, exact or not', async () => {
  assert.equal(await R.count(C), 2000);
  assert.equal(await R.count(C, { exact: true }), 2000);
  assert.equal(await R.count(C, { exact: false }), 2000);
  assert.equal(await R.count(C, { filter: null }), 2000);
  expectError(await R.countRes(C, { exact: 'yes' }), 400, /^Format error in JSON body: /);
});

test('count and scroll with filters = brute force', async () => {
  for (const [name, filter, pred] of FILTERS) {
    const ids = bruteIds(pred);
    assert.equal(await R.count(C, { filter }), ids.length, `count: ${name}`);
    assert.equal(await R.count(C, { filter, exact: true }), ids.length, `count exact: ${name}`);
    const { points } = await R.scrollAll(C, { filter, with_payload: false }, 1000, 10);
    assert.deepEqual(points.map((p) => p.id), ids, `scroll: ${name}`);
  }
  // the data is not degenerate: most filters select something, but not everything
  const sizes = FILTERS.map(([, , pred]) => bruteIds(pred).length);
  assert.ok(sizes.filter((n) => n > 0 && n < 2000).length >= FILTERS.length - 2, JSON.stringify(sizes));
});

test('facet on a string key (single values, arrays, nulls, missing) = brute force', async () => {
  const hits = await R.facet(C, { key: 'color' });
  assert.deepEqual(hits, bruteFacet('color'));
  assert.equal(hits.length, 6, 'all six colors, nothing for null or missing');
  assert.deepEqual(await R.facet(C, { key: 'color', limit: 2 }), bruteFacet('color', undefined, 2));
  assert.deepEqual(await R.facet(C, { key: 'color', exact: true }), hits);
  assert.deepEqual(await R.facet(C, { key: 'color', exact: false }), hits);
  // with filters
  for (const [name, filter, pred] of FILTERS) {
    assert.deepEqual(await R.facet(C, { key: 'color', filter }), bruteFacet('color', pred), `facet color, ${name}`);
  }
  // a point with ["red", "red", "blue"] counts once for red: the counts never exceed the points
  for (const h of hits) assert.ok(h.count <= 2000);
});

test('facet on an integer key = brute force; ties by value ascending; limit', async () => {
  const all = bruteFacet('size', undefined, 100);
  assert.equal(all.length, 21);
  assert.deepEqual(await R.facet(C, { key: 'size' }), all.slice(0, 10), 'default limit 10');
  assert.deepEqual(await R.facet(C, { key: 'size', limit: 3 }), all.slice(0, 3));
  assert.deepEqual(await R.facet(C, { key: 'size', limit: 100 }), all);
  assert.deepEqual(await R.facet(C, { key: 'size', limit: 21 }), all);
  for (const h of all) assert.ok(Number.isInteger(h.value));
  for (const [name, filter, pred] of FILTERS.slice(0, 8)) {
    assert.deepEqual(await R.facet(C, { key: 'size', filter, limit: 25 }), bruteFacet('size', pred, 25), `facet size, ${name}`);
  }
  // equal counts are ordered by value: many ties in a small filtered set
  const filter = { must: [{ has_id: SORTED_IDS.slice(0, 40) }] };
  const expected = bruteFacet('size', (_, id) => SORTED_IDS.indexOf(id) < 40, 30);
  assert.ok(expected.some((h, k) => k > 0 && h.count === expected[k - 1].count), 'there are ties');
  assert.deepEqual(await R.facet(C, { key: 'size', filter, limit: 30 }), expected);
});

test('facet on an array-of-strings key with repeats, a boolean key and nested paths', async () => {
  const tags = bruteFacet('tags', undefined, 20);
  assert.equal(tags.length, 8);
  assert.deepEqual(await R.facet(C, { key: 'tags', limit: 20 }), tags);
  assert.deepEqual(await R.facet(C, { key: 'tags', limit: 5 }), tags.slice(0, 5));
  const withTags = POINTS.filter((p) => Array.isArray(p.payload.tags) && p.payload.tags.length).length;
  assert.ok(tags.every((h) => h.count <= withTags), 'a point counts once per tag even when the tag repeats');
  // the same with "tags[]"
  assert.deepEqual(await R.facet(C, { key: 'tags[]', limit: 20 }), tags);

  const flags = bruteFacet('flag');
  assert.deepEqual(flags.map((h) => typeof h.value), ['boolean', 'boolean']);
  assert.deepEqual(await R.facet(C, { key: 'flag' }), flags);

  assert.deepEqual(await R.facet(C, { key: 'meta.region' }), bruteFacet('meta.region'));
  assert.deepEqual(await R.facet(C, { key: 'meta.level' }), bruteFacet('meta.level'));
  assert.deepEqual(await R.facet(C, { key: 'items[].sku' }), bruteFacet('items[].sku'));
  assert.deepEqual(await R.facet(C, { key: 'items[].qty', filter: FILTERS[6][1] }), bruteFacet('items[].qty', FILTERS[6][2]));
  // a key with no facet values: floats, objects, missing
  assert.deepEqual(await R.facet(C, { key: 'price' }), []);
  assert.deepEqual(await R.facet(C, { key: 'meta' }), []);
  assert.deepEqual(await R.facet(C, { key: 'nothing' }), []);
});

test('facet on a boolean key: one hit per value, counted over all points', async () => {
  expectOk(await req('PUT', `${srv.url}/collections/bools`, { vectors: { size: 1, distance: 'Dot' } }));
  await R.upsertAll('bools', [
    { id: 1, vector: [1], payload: { f: true } },
    { id: 2, vector: [1], payload: { f: true } },
    { id: 3, vector: [1], payload: { f: false } },
    { id: 4, vector: [1], payload: { f: true } },
    { id: 5, vector: [1], payload: { f: [true, false, true] } },
    { id: 6, vector: [1], payload: { f: 'true' } },
  ]);
  assert.deepEqual(await R.facet('bools', { key: 'f' }), [
    { value: true, count: 4 },
    { value: false, count: 2 },
    { value: 'true', count: 1 },
  ]);
});

test('facet request errors', async () => {
  expectError(await R.facetRes(C, {}), 400, /^Format error in JSON body: .*key/);
  expectError(await R.facetRes(C, { key: 5 }), 400, /^Format error in JSON body: /);
  expectError(await R.facetRes(C, { key: 'color', limit: 0 }), 422, 'Validation error in JSON body: [limit: value 0 invalid, must be 1 or larger]');
  expectError(await R.facetRes(C, { key: 'color', limit: -3 }), 400, /^Format error in JSON body: /);
  expectError(await R.facetRes(C, { key: 'color', filter: { must: [{ key: 'color' }] } }), 422, /filter\.must\[0\]/);
  expectError(await R.facetRes(C, { key: 'color', filter: { bogus: [] } }), 400, /^Format error in JSON body: .*bogus/);
});
