// The random "wild" data of the payload-index tests (index.test.mjs,
// index_twin.test.mjs): 3,000 points (fixed seed) whose payloads have
// arrays of values, missing keys, nulls, empty arrays, values of other
// types, 4.0 in an integer field, i64 / u64 extremes, invalid geo points
// and datetimes, the same instant written in several forms; the indexes
// to create on them; and filters using every condition type an index can
// answer, and those it cannot. Not a test file itself.
import { rng, randInt, shuffle, uuid, cmpId } from './read_lib.mjs';
import { Lit, flt, fmtDt } from './index_lib.mjs';

const N_INT = 2600, N_UUID = 400;

// ---- the data ------------------------------------------------------------------------------

const r = rng(4242);
export const KW = Array.from({ length: 40 }, (_, i) => `w${i}`);
const SKU = ['A', 'B', 'C', 'D', 'E', 'F'];
const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'Epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa', 'lambda', 'mu'];
export const U = Array.from({ length: 30 }, () => uuid(r));
/** Skewed pick: low indexes are common, high ones rare. */
const skew = (arr) => arr[Math.floor(arr.length * r() ** 2)];
const maybeArray = (gen, max = 4) => Array.from({ length: randInt(r, max + 1) }, gen);

// 300 instants between 1900 and 2100 (some with micro- or nanosecond parts), written in several forms
const INSTANTS = Array.from({ length: 300 }, (_, i) => {
  const sec = BigInt(Math.floor(-2208988800 + r() * 6311433600));
  const k = i % 5;
  const sub = k === 0 ? 0n : k === 1 ? 0n : k === 2 ? BigInt(randInt(r, 1000)) * 1_000_000n : k === 3 ? BigInt(randInt(r, 1_000_000)) * 1000n : BigInt(randInt(r, 1_000_000_000));
  return (k === 1 ? (sec / 86400n) * 86400n : sec) * 1_000_000_000n + sub;
});

const BIG = [new Lit('9223372036854775807', 'int'), new Lit('-9223372036854775808', 'int'), new Lit('18446744073709551615', 'u64'),
  new Lit('9223372036854775808', 'u64'), new Lit('1e300', 'float'), new Lit('-2.5e-300', 'float')];

function genKw() {
  const c = r();
  if (c < 0.08) return undefined;
  if (c < 0.12) return null;
  if (c < 0.25) return maybeArray(() => { const d = r(); return d < 0.85 ? skew(KW) : d < 0.9 ? null : d < 0.95 ? randInt(r, 10) : ''; });
  if (c < 0.29) return randInt(r, 50);
  if (c < 0.31) return r() < 0.5;
  if (c < 0.33) return { x: skew(KW) };
  if (c < 0.35) return [[skew(KW)]];
  if (c < 0.37) return '';
  if (c < 0.38) return `Ünï ${skew(KW)}`;
  return skew(KW);
}
function genInt(lo, hi) {
  const iv = () => lo + randInt(r, hi - lo + 1);
  const c = r();
  if (c < 0.08) return undefined;
  if (c < 0.11) return null;
  if (c < 0.22) return maybeArray(() => { const d = r(); return d < 0.8 ? iv() : d < 0.88 ? iv() + 0.5 : d < 0.94 ? flt(iv()) : String(iv()); });
  if (c < 0.25) return iv() + 0.5;
  if (c < 0.27) return flt(iv()); // 4.0: a float, not an integer
  if (c < 0.29) return String(iv());
  if (c < 0.30) return r() < 0.5;
  if (c < 0.305) return BIG[randInt(r, BIG.length)];
  if (c < 0.31) return { v: iv() };
  if (c < 0.315) return [[iv()]];
  return iv();
}
function genFloat() {
  const fv = () => Math.round((r() * 2000 - 1000) * 1000) / 1000;
  const c = r();
  if (c < 0.08) return undefined;
  if (c < 0.11) return null;
  if (c < 0.2) return maybeArray(() => (r() < 0.7 ? fv() : r() < 0.5 ? randInt(r, 100) : flt(randInt(r, 100))));
  if (c < 0.27) return randInt(r, 2001) - 1000;
  if (c < 0.3) return [flt(0), flt(-0), flt(12), flt(-500)][randInt(r, 4)];
  if (c < 0.32) return String(fv());
  if (c < 0.325) return BIG[randInt(r, BIG.length)];
  return fv();
}
function genBool() {
  const c = r();
  if (c < 0.1) return undefined;
  if (c < 0.13) return null;
  if (c < 0.2) return [[true, false], [true], [false, false], []][randInt(r, 4)];
  if (c < 0.23) return ['true', 'false'][randInt(r, 2)];
  if (c < 0.26) return randInt(r, 2);
  return r() < 0.3;
}
function genUuid() {
  const c = r();
  if (c < 0.1) return undefined;
  if (c < 0.12) return null;
  if (c < 0.2) return maybeArray(() => skew(U), 3);
  if (c < 0.25) return skew(U).toUpperCase();
  if (c < 0.27) return 'not-a-uuid';
  if (c < 0.29) return randInt(r, 9);
  return skew(U);
}
function genGeo() {
  const eu = () => ({ lon: Math.round((r() * 40 - 10) * 1e4) / 1e4, lat: Math.round((35 + r() * 25) * 1e4) / 1e4 });
  const c = r();
  if (c < 0.1) return undefined;
  if (c < 0.12) return null;
  if (c < 0.22) return maybeArray(eu, 3);
  if (c < 0.235) return [{ lon: 200, lat: 10 }, { lon: 10, lat: -95 }, { lon: -180.5, lat: 0 }][randInt(r, 3)];
  if (c < 0.245) return { lon: '10', lat: 50 };
  if (c < 0.25) return 'Berlin';
  if (c < 0.27) return { ...eu(), alt: 100 };
  if (c < 0.3) return { lon: (r() < 0.5 ? -1 : 1) * (179 + Math.round(r() * 1e4) / 1e4), lat: Math.round((r() * 40 - 20) * 1e4) / 1e4 };
  if (c < 0.31) return { lon: Math.round((r() * 360 - 180) * 1e3) / 1e3, lat: 89 + Math.round(r() * 1e3) / 1e3 };
  if (c < 0.33) return { lon: Math.round((r() * 360 - 180) * 1e3) / 1e3, lat: Math.round((r() * 180 - 90) * 1e3) / 1e3 };
  return eu();
}
function genDt() {
  const dt = () => fmtDt(r, INSTANTS[Math.floor(INSTANTS.length * r())]);
  const c = r();
  if (c < 0.08) return undefined;
  if (c < 0.1) return null;
  if (c < 0.18) return maybeArray(dt, 3);
  if (c < 0.21) return ['not a date', '2021-02-29T00:00:00Z', '2020-13-01', '2020-01-01T24:00:00Z', '', '2020-1-1x'][randInt(r, 6)];
  if (c < 0.23) return randInt(r, 2000000000);
  return dt();
}
function genText() {
  const sentence = () => Array.from({ length: 1 + randInt(r, 5) }, () => skew(WORDS)).join(r() < 0.2 ? ', ' : ' ') + (r() < 0.2 ? '!' : '');
  const c = r();
  if (c < 0.1) return undefined;
  if (c < 0.15) return maybeArray(sentence, 2);
  if (c < 0.17) return randInt(r, 9);
  return sentence();
}
function genM() {
  const c = r();
  if (c < 0.05) return undefined;
  if (c < 0.1) return [{ lvl: randInt(r, 10), tag: skew(KW) }, { lvl: randInt(r, 10) }]; // m.lvl does not enter arrays
  if (c < 0.13) return 'm';
  const m = {};
  const d = r();
  if (d < 0.85) m.lvl = randInt(r, 10);
  else if (d < 0.92) m.lvl = [randInt(r, 10), randInt(r, 10)];
  else if (d < 0.95) m.lvl = flt(randInt(r, 10));
  if (r() < 0.9) m.tag = skew(KW.slice(0, 12));
  return m;
}
function genItems() {
  const c = r();
  if (c < 0.08) return undefined;
  if (c < 0.12) return { sku: skew(SKU), qty: randInt(r, 10) }; // not an array: items[] yields nothing
  return maybeArray(() => ({ sku: skew(SKU), qty: r() < 0.9 ? randInt(r, 10) : randInt(r, 10) + 0.5 }));
}

/** A random payload (the next one of the fixed sequence). */
export function wildPayload() {
  const p = {};
  if (r() < 0.02) return p; // an empty payload
  const set = (k, v) => {
    if (v !== undefined) p[k] = v;
  };
  set('kw', genKw());
  set('n', genInt(-50, 150));
  set('r', genInt(0, 30));
  set('s', genInt(-1000, 1000));
  set('f', genFloat());
  set('b', genBool());
  set('u', genUuid());
  set('g', genGeo());
  set('d', genDt());
  set('t', genText());
  set('m', genM());
  set('items', genItems());
  return p;
}

export const POINTS = [];
{
  const ids = [];
  for (let k = 0; k < N_INT; k++) ids.push(5 * k + 2);
  for (let k = 0; k < N_UUID; k++) ids.push(uuid(r));
  shuffle(r, ids);
  for (const id of ids) POINTS.push({ id, payload: wildPayload() });
}
export const SORTED_IDS = POINTS.map((p) => p.id).sort(cmpId);
export const MID_ID = SORTED_IDS[Math.floor(SORTED_IDS.length * 0.4)];

// The indexes (field -> schema).
export const INDEXES = {
  kw: 'keyword',
  n: 'integer',
  r: { type: 'integer', lookup: true, range: false },
  s: { type: 'integer', lookup: false, range: true },
  f: 'float',
  b: 'bool',
  u: 'uuid',
  g: 'geo',
  d: 'datetime',
  t: 'text',
  'm.lvl': 'integer',
  'm.tag': 'keyword',
  'items[].sku': 'keyword',
  'items[].qty': { type: 'integer', lookup: false, range: true },
};
export const typeOf = (schema) => (typeof schema === 'string' ? schema : schema.type);

// ---- the filters ---------------------------------------------------------------------------

const M = (cond) => ({ must: [cond] });
const mv = (key, value) => ({ key, match: { value } });
const rg = (key, range) => ({ key, range });
const box = (tl, br) => ({ key: 'g', geo_bounding_box: { top_left: { lon: tl[0], lat: tl[1] }, bottom_right: { lon: br[0], lat: br[1] } } });
const circle = (lon, lat, radius) => ({ key: 'g', geo_radius: { center: { lon, lat }, radius } });
const ring = (pts) => ({ points: pts.map(([lon, lat]) => ({ lon, lat })) });
const dtOf = (i) => fmtDt(rng(i), INSTANTS[i]); // an instant of the data, in some form

export const FILTERS = [
  // keyword
  M(mv('kw', 'w0')), M(mv('kw', 'w3')), M(mv('kw', 'w17')), M(mv('kw', 'w39')), M(mv('kw', '')), M(mv('kw', 'none')),
  M(mv('kw', 'Ünï w1')), M(mv('kw', 5)), M(mv('kw', true)),
  M({ key: 'kw', match: { any: ['w1', 'w5', 'w9', 'nope'] } }), M({ key: 'kw', match: { any: [] } }), M({ key: 'kw', match: { any: [3, 4] } }),
  M({ key: 'kw', match: { except: KW.slice(0, 38) } }), M({ key: 'kw', match: { except: [] } }), M({ key: 'kw', match: { except: ['w0'] } }),
  M({ key: 'kw', match: { except: [1, 2] } }),
  M({ key: 'kw', match: { text: 'w1' } }), M({ key: 'kw', match: { prefix: 'w2' } }), M({ key: 'kw', match: { phrase: '3' } }),
  M({ key: 'kw', match: { text_any: 'w33 w38 Ünï' } }),
  M({ key: 'kw', values_count: { gte: 2 } }), M({ key: 'kw', values_count: { lt: 1 } }), M({ is_empty: { key: 'kw' } }), M({ is_null: { key: 'kw' } }),
  M({ key: 'kw', is_empty: false }),
  // integer (lookup and range)
  M(mv('n', 7)), M(mv('n', 0)), M(mv('n', -50)), M(mv('n', 150)), M(mv('n', 9999)), M(mv('n', '7')),
  M({ key: 'n', match: { any: [1, 2, 3, -5, 100] } }), M({ key: 'n', match: { any: ['1', '2'] } }),
  M({ key: 'n', match: { except: [1, 2, 3] } }), M({ key: 'n', match: { except: Array.from({ length: 201 }, (_, i) => i - 50) } }),
  M(rg('n', { gte: 10, lt: 20 })), M(rg('n', { gt: 99.5 })), M(rg('n', { lte: -40 })), M(rg('n', { gte: -3.5, lte: 3.5 })),
  M(rg('n', { gt: 7, lt: 8 })), M(rg('n', { gte: 7.5, lte: 7.5 })), M(rg('n', { gte: 1e18 })), M(rg('n', { lt: -1e18 })), M(rg('n', {})),
  M(rg('n', { gte: 9223372036854775807 })), M(rg('n', { gt: 1.8446744073709552e19 })),
  M({ key: 'n', values_count: { gt: 2 } }), M({ is_empty: { key: 'n' } }), M({ is_null: { key: 'n' } }),
  M(mv('r', 3)), M({ key: 'r', match: { any: [0, 30] } }), M(rg('r', { gte: 28 })), M({ key: 'r', match: { except: [5] } }),
  M(mv('s', 17)), M(rg('s', { gte: -10, lte: 10 })), M(rg('s', { gt: 990 })),
  M(mv('m.lvl', 3)), M(rg('m.lvl', { gte: 8 })), M(mv('m.tag', 'w2')), M({ key: 'm.tag', match: { any: ['w10', 'w11'] } }),
  M(mv('items[].sku', 'E')), M(mv('items[].sku', 'A')), M(rg('items[].qty', { gte: 9 })), M(rg('items[].qty', { gt: 8, lt: 9 })),
  M(mv('items[].qty', 4)),
  // float
  M(rg('f', { gt: 500 })), M(rg('f', { gte: 0, lte: 0 })), M(rg('f', { gte: -0.0, lt: 1e-9 })), M(rg('f', { lt: -999 })),
  M(rg('f', { gte: 10, lte: 10.5 })), M(rg('f', { gte: 1e299 })), M(rg('f', { lt: 0, gt: -1e-299 })), M(rg('f', {})),
  M(mv('f', 12)), M({ key: 'f', values_count: { gte: 3 } }), M({ is_null: { key: 'f' } }),
  // bool
  M(mv('b', true)), M(mv('b', false)), M({ key: 'b', match: { any: ['true'] } }), M({ is_empty: { key: 'b' } }),
  M({ must_not: [mv('b', true)] }),
  // uuid
  M(mv('u', U[0])), M(mv('u', U[7])), M(mv('u', U[7].toUpperCase())), M(mv('u', U[29])), M(mv('u', 'not-a-uuid')),
  M({ key: 'u', match: { any: [U[1], U[2], U[3].toUpperCase()] } }), M({ key: 'u', match: { except: U.slice(0, 20) } }),
  M({ key: 'u', match: { except: [U[0]] } }), M({ key: 'u', values_count: { gte: 2 } }), M({ is_null: { key: 'u' } }),
  // datetime
  M(rg('d', { gte: '2000-01-01T00:00:00Z' })), M(rg('d', { lt: '1970-01-01' })),
  M(rg('d', { gt: '1950-06-01T12:00:00+05:30', lte: '1951-06-01 00:00:00' })),
  M(rg('d', { gte: dtOf(2), lte: dtOf(2) })), M(rg('d', { gte: dtOf(4), lte: dtOf(4) })), M(rg('d', { gte: dtOf(3), lt: dtOf(3) })),
  M(rg('d', { gt: dtOf(11), lt: '2100-01-01T00:00:00.000000001Z' })), M(rg('d', {})),
  M({ key: 'd', values_count: { gte: 2 } }), M({ is_empty: { key: 'd' } }),
  // geo
  M(box([0, 50], [10, 45])), M(box([-10, 60], [30, 35])), M(box([179, 20], [-179, -20])), M(box([-180, 90], [180, -90])),
  M(box([5, 40], [5.5, 39.5])), M(circle(10, 50, 100000)), M(circle(10, 50, 2000000)), M(circle(180, 0, 500000)),
  M(circle(0, 90, 200000)), M(circle(13.4, 52.5, 1)),
  M({ key: 'g', geo_polygon: { exterior: ring([[0, 40], [20, 40], [20, 55], [0, 55], [0, 40]]) } }),
  M({ key: 'g', geo_polygon: { exterior: ring([[0, 40], [20, 40], [20, 55], [0, 55], [0, 40]]), interiors: [ring([[5, 45], [15, 45], [15, 50], [5, 50], [5, 45]])] } }),
  M({ key: 'g', geo_polygon: { exterior: ring([[-10, 35], [30, 35], [10, 60], [-10, 35]]) } }),
  M({ key: 'g', values_count: { gte: 2 } }), M({ is_empty: { key: 'g' } }), M({ is_null: { key: 'g' } }),
  // text (with the text index: tokens, without: substrings; index.test.mjs compares each with its own reference)
  M({ key: 't', match: { text: 'eta' } }), M({ key: 't', match: { text: 'alpha beta' } }), M({ key: 't', match: { text_any: 'Epsilon mu' } }),
  M({ key: 't', match: { phrase: 'gamma delta' } }), M({ key: 't', match: { prefix: 'alp' } }), M({ key: 't', match: { text: 'epsilon' } }),
  // combinations
  { must: [mv('kw', 'w3'), rg('n', { gte: 0, lt: 50 })] },
  { must: [mv('n', 7), mv('b', true)] },
  { must: [box([-10, 60], [30, 35]), rg('d', { gte: '1990-01-01T00:00:00Z' })] },
  { must: [mv('u', U[1]), mv('kw', 'w0')] },
  { must: [rg('f', { gt: 0 }), rg('n', { lt: 0 }), mv('r', 4)] },
  { must: [{ key: 'kw', match: { any: ['w1', 'w2'] } }], must_not: [rg('n', { gte: 0, lte: 100 })] },
  { should: [mv('kw', 'w1'), mv('n', 7)] },
  { must: [mv('kw', 'w2')], should: [mv('b', true), rg('f', { gt: 0 })] },
  { must: [mv('u', U[0])], must_not: [mv('kw', 'w0')] },
  { must_not: [mv('kw', 'w0'), mv('n', 3)] },
  { must: [{ nested: { key: 'items', filter: { must: [mv('sku', 'A'), rg('qty', { gte: 5 })] } } }, mv('kw', 'w4')] },
  { must: [{ nested: { key: 'items', filter: { must: [mv('sku', 'B')], must_not: [rg('qty', { lt: 9 })] } } }] },
  { must: [{ must: [mv('kw', 'w1')] }, { should: [mv('n', 5), mv('n', 6)] }] },
  { must: [mv('kw', 'w5')], min_should: { conditions: [mv('b', true), rg('n', { gt: 50 }), mv('m.lvl', 1)], min_count: 1 } },
  { min_should: { conditions: [mv('kw', 'w1'), mv('kw', 'w2'), rg('n', { gt: 140 })], min_count: 1 } },
  { must: [{ has_id: SORTED_IDS.filter((_, k) => k % 7 === 0) }, mv('kw', 'w0')] },
  { must: [rg('n', { gte: 0, lt: 10 }), { is_empty: { key: 'kw' } }] },
  { must: [mv('kw', 'w6'), { key: 'n', values_count: { gte: 1 } }] },
  { must: [mv('m.tag', 'w3'), mv('m.lvl', 3)] },
  { must: [mv('kw', 'w7'), { key: 't', match: { text: 'alpha' } }] },
  { must: [circle(10, 50, 500000), mv('b', false)], must_not: [{ is_null: { key: 'd' } }] },
  { must: [mv('kw', 'w1')], must_not: [{ must: [mv('n', 1)] }] },
  { must: mv('kw', 'w8') },
  {},
  // corners: two conditions on one key, repeated / unsorted lists, empty ranges and texts, long lists
  { must: [mv('n', 7), rg('n', { gte: 0, lt: 10 })] },
  { must: [mv('kw', 'w1'), mv('kw', 'w2')] },
  M({ key: 'n', match: { any: [9, 1, 1, -3, 9] } }), M({ key: 'kw', match: { any: ['w9', 'w1', 'w9', ''] } }),
  M({ key: 'kw', match: { except: ['w2', 'w0', 'w2'] } }), M({ key: 's', match: { except: [17, -17] } }),
  M(rg('n', { gt: 10, lt: 5 })), M(rg('d', { gt: '2000-01-01T00:00:00Z', lt: '1999-01-01T00:00:00Z' })),
  M({ key: 'kw', match: { text: '' } }), M({ key: 'kw', match: { prefix: '' } }),
  M({ key: 'kw', match: { any: Array.from({ length: 500 }, (_, i) => `w${i * 7}`) } }),
  M({ key: 'n', match: { any: Array.from({ length: 300 }, (_, i) => i * 3 - 300) } }),
  M({ key: 'u', match: { any: [...U.slice(0, 5), 'not-a-uuid'] } }), M({ key: 'u', match: { except: ['not-a-uuid'] } }),
  M(circle(10, 50, 20000000)), M(box([-180, 90], [180, 89])),
];
/** Where the combinations (and corners) start in FILTERS. */
export const FIRST_COMBINATION = FILTERS.findIndex((f) => f.must?.length === 2 && f.must[0].match?.value === 'w3');


