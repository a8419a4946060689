// Scroll with order_by over integer, float and datetime indexes, against a
// sort in JS: asc / desc, start_from (numbers, fractions, datetimes in
// several forms with sub-microsecond parts), limits from 1 to everything,
// with and without filters (on other keys, on the same key, has_id). A
// point with several values comes once per distinct value; values of other
// types (4.0 or 2.5 in an integer field, strings, invalid datetimes) are
// not ordered. Ties are cut at the limit in the server's order, so a page
// is checked by its value sequence and its (id, value) pairs (at the last
// value: a subset of the tied pairs). Also the record shape (order_value),
// order_by after writes, and the errors (no range index, offset, bad
// direction or start_from).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, req, expectOk, expectError } from './helpers.mjs';
import { reader, rng, randInt, shuffle, uuid } from './read_lib.mjs';
import { flt, elems, isNum, numOf, fmtDt, parseDt, orderEntries, checkOrderPage, indexApi, toJson } from './index_lib.mjs';

const C = 'ord';
const r = rng(777);
const KWS = ['a', 'b', 'c', 'd', 'e'];
const INSTANTS = Array.from({ length: 120 }, (_, k) => {
  const sec = BigInt(Math.floor(-1500000000 + r() * 4000000000));
  const sub = k % 3 === 0 ? 0n : k % 3 === 1 ? BigInt(randInt(r, 1_000_000)) * 1000n : BigInt(randInt(r, 1_000_000_000));
  return sec * 1_000_000_000n + sub;
});
// two instants less than a microsecond apart, and one just before the epoch
INSTANTS.push(1_600_000_000_000_000_100n, 1_600_000_000_000_000_900n, -1n, -999n);

const pick = (arr) => arr[randInt(r, arr.length)];
function genI() {
  const c = r();
  const iv = () => randInt(r, 201) - 100;
  if (c < 0.08) return undefined;
  if (c < 0.1) return null;
  if (c < 0.22) return Array.from({ length: randInt(r, 5) }, () => (r() < 0.85 ? iv() : r() < 0.5 ? iv() + 0.5 : flt(iv())));
  if (c < 0.25) return [iv(), iv()].map((x) => [x, x]).flat(); // repeats: once per distinct value
  if (c < 0.28) return iv() + 0.5;
  if (c < 0.3) return flt(iv());
  if (c < 0.32) return String(iv());
  return iv();
}
function genFl() {
  const c = r();
  const fv = () => Math.round((r() * 100 - 50) * 100) / 100;
  if (c < 0.08) return undefined;
  if (c < 0.1) return null;
  if (c < 0.2) return Array.from({ length: randInt(r, 4) }, () => (r() < 0.7 ? fv() : randInt(r, 50)));
  if (c < 0.25) return randInt(r, 101) - 50;
  if (c < 0.27) return [flt(0), flt(-0), flt(7)][randInt(r, 3)];
  if (c < 0.29) return 'x';
  return fv();
}
function genDt() {
  const dt = () => fmtDt(r, pick(INSTANTS));
  const c = r();
  if (c < 0.08) return undefined;
  if (c < 0.1) return null;
  if (c < 0.2) return Array.from({ length: randInt(r, 4) }, dt);
  if (c < 0.23) return pick(['not a date', '2021-02-29', 17, '2020-01-01T25:00:00Z']);
  return dt();
}

const POINTS = [];
{
  const ids = [];
  for (let k = 0; k < 1300; k++) ids.push(3 * k + 1);
  for (let k = 0; k < 200; k++) ids.push(uuid(r));
  shuffle(r, ids);
  for (const id of ids) {
    const p = { kw: pick(KWS), ir: randInt(r, 10) };
    for (const [k, v] of [['i', genI()], ['fl', genFl()], ['dt', genDt()]]) if (v !== undefined) p[k] = v;
    if (r() < 0.3) p.t = 'some text';
    POINTS.push({ id, payload: p });
  }
}
// the two instants 800 ns apart, surely in the data
POINTS.push({ id: 5000, payload: { kw: 'a', ir: 1, dt: '2020-09-13T12:26:40.0000001Z' } });
POINTS.push({ id: 5001, payload: { kw: 'b', ir: 2, dt: ['2020-09-13T14:26:40.0000009+02:00', 'x'] } });
const HAS_ID = POINTS.filter((_, k) => k % 11 === 0).map((p) => p.id);

let srv, R, X;
before(async () => {
  srv = await startServer();
  R = reader(srv.url);
  X = indexApi(srv.url);
  expectOk(await req('PUT', `${srv.url}/collections/${C}`, { vectors: { size: 2, distance: 'Dot' } }));
  await X.create(C, 'i', 'integer'); // before the points: filled as they come
  await X.upsert(C, POINTS);
  await X.create(C, 'fl', 'float'); // after: built from the points
  await X.create(C, 'dt', 'datetime');
  await X.create(C, 'ir', { type: 'integer', range: false });
  await X.create(C, 'kw', 'keyword');
  await X.create(C, 't', 'text');
});
after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, srv.stderr());
});

const FILTERS = [
  [undefined, () => true],
  [{ must: [{ key: 'kw', match: { value: 'a' } }] }, (p) => p.kw === 'a'],
  [{ must_not: [{ key: 'kw', match: { any: ['b', 'c'] } }] }, (p) => p.kw !== 'b' && p.kw !== 'c'],
  [{ must: [{ has_id: HAS_ID }] }, (_, id) => HAS_ID.includes(id)],
  [{ must: [{ key: 'ir', match: { value: 3 } }, { key: 'kw', match: { value: 'e' } }] }, (p) => p.ir === 3 && p.kw === 'e'],
  [{ must: [{ key: 'kw', match: { value: 'nothing' } }] }, () => false],
];

/** One order_by scroll: the result (checked against the JS sort). */
async function ordered(key, type, { desc, start, startText, limit, filter, pred }) {
  const order_by = { key };
  if (desc !== undefined) order_by.direction = desc ? 'desc' : 'asc';
  if (startText !== undefined) order_by.start_from = startText;
  const body = { order_by, with_payload: false };
  if (limit !== undefined) body.limit = limit;
  if (filter) body.filter = filter;
  const page = expectOk(await R.scrollRes(C, body));
  const entries = orderEntries(POINTS, key, type, pred);
  checkOrderPage(page, entries, { desc: !!desc, start, limit: limit ?? 10, what: JSON.stringify(body) });
  return page;
}

test('the data: several values per point, ties, values of other types', () => {
  const ints = orderEntries(POINTS, 'i', 'integer');
  const perPoint = new Map();
  for (const e of ints) perPoint.set(String(e.id), (perPoint.get(String(e.id)) ?? 0) + 1);
  assert.ok([...perPoint.values()].filter((n) => n > 1).length > 50, 'points with several values');
  assert.ok(new Set(ints.map((e) => e.value)).size < ints.length / 5, 'many ties');
  const dts = orderEntries(POINTS, 'dt', 'datetime');
  assert.ok(dts.length > POINTS.length * 0.8);
  assert.ok(dts.some((e) => e.value < 0) && dts.some((e) => e.value > 0));
});

test('order_by integer: asc / desc, start_from, limits, filters', async () => {
  for (const [filter, pred] of FILTERS) {
    for (const desc of [undefined, false, true]) {
      for (const limit of [1, 10, 137, 100000]) await ordered('i', 'integer', { desc, limit, filter, pred });
      for (const start of [0, 50, -100, 100, 101, -101, 7.5, -7.5]) {
        for (const limit of [3, 60]) await ordered('i', 'integer', { desc, start, startText: start, limit, filter, pred });
      }
    }
  }
  // the plain form "key": ascending, limit 10
  const page = expectOk(await R.scrollRes(C, { order_by: 'i' }));
  checkOrderPage(page, orderEntries(POINTS, 'i', 'integer'), { limit: 10, what: 'order_by: "i"' });
  // a filter on the ordered key itself
  await ordered('i', 'integer', { desc: true, limit: 50, filter: { must: [{ key: 'i', range: { lt: 0 } }] }, pred: (p) => elems(p, 'i').some((v) => isNum(v) && numOf(v) < 0) });
});

test('order_by float: asc / desc, start_from, limits, filters', async () => {
  for (const [filter, pred] of FILTERS) {
    for (const desc of [false, true]) {
      for (const limit of [1, 10, 137, 100000]) await ordered('fl', 'float', { desc, limit, filter, pred });
      for (const start of [0, -0.0, 25.25, -50, 50, 7, -49.995]) {
        for (const limit of [3, 60]) await ordered('fl', 'float', { desc, start: start === 0 ? 0 : start, startText: start, limit, filter, pred });
      }
    }
  }
});

test('order_by datetime: order_value in microseconds; start_from in several forms', async () => {
  const starts = [
    '1970-01-01T00:00:00Z', '1970-01-01', '2000-01-01 00:00:00', '1999-12-31T19:00:00-05:00', '1950-06-01T12:00',
    '2020-09-13T12:26:40.0000005Z', // between the two instants less than a microsecond apart
    fmtDt(rng(1), INSTANTS[2]), fmtDt(rng(2), INSTANTS[4]), '1969-12-31T23:59:59.999999999Z',
  ];
  for (const [filter, pred] of FILTERS) {
    for (const desc of [false, true]) {
      for (const limit of [1, 10, 137, 100000]) await ordered('dt', 'datetime', { desc, limit, filter, pred });
      for (const s of starts) {
        for (const limit of [3, 60]) await ordered('dt', 'datetime', { desc, start: parseDt(s), startText: s, limit, filter, pred });
      }
    }
  }
  // the two instants 800 ns apart: both come, with the same order_value
  const page = expectOk(await R.scrollRes(C, { order_by: { key: 'dt', start_from: '2020-09-13T12:26:40Z' }, limit: 100, with_payload: false }));
  const at = page.points.filter((p) => p.order_value === 1_600_000_000_000_000);
  const pairs = orderEntries(POINTS, 'dt', 'datetime').filter((e) => e.value === 1_600_000_000_000_000);
  assert.equal(at.length, pairs.length, JSON.stringify(page.points.slice(0, 5)));
});

test('records carry payload, vector and order_value as selected', async () => {
  const byId = new Map(POINTS.map((p) => [String(p.id), p]));
  const body = { order_by: { key: 'i', direction: 'desc' }, limit: 25, with_payload: true, with_vector: true };
  const page = expectOk(await R.scrollRes(C, body));
  assert.equal(page.points.length, 25);
  for (const p of page.points) {
    assert.deepEqual(Object.keys(p), ['id', 'payload', 'vector', 'order_value']);
    assert.deepEqual(p.payload, JSON.parse(toJson(byId.get(String(p.id)).payload)));
    assert.deepEqual(p.vector, [1, 0]);
    assert.ok(Number.isInteger(p.order_value));
  }
  const sel = expectOk(await R.scrollRes(C, { order_by: 'fl', limit: 5, with_payload: ['kw'] }));
  for (const p of sel.points) {
    assert.deepEqual(Object.keys(p), ['id', 'payload', 'vector', 'order_value']);
    assert.deepEqual(p.payload, { kw: byId.get(String(p.id)).payload.kw });
    assert.equal(p.vector, null);
  }
});

test('order_by follows writes', async () => {
  const c = 'ordw';
  expectOk(await req('PUT', `${srv.url}/collections/${c}`, { vectors: { size: 2, distance: 'Dot' } }));
  await X.create(c, 'v', 'integer');
  const pts = Array.from({ length: 50 }, (_, k) => ({ id: k + 1, payload: { v: k % 10 } }));
  await X.upsert(c, pts);
  const check = async (what) => {
    for (const desc of [false, true]) {
      const page = expectOk(await R.scrollRes(c, { order_by: { key: 'v', direction: desc ? 'desc' : 'asc' }, limit: 1000, with_payload: false }));
      checkOrderPage(page, orderEntries(pts, 'v', 'integer'), { desc, limit: 1000, what });
    }
  };
  await check('initial');
  pts[3].payload = { v: [100, -100, 100] };
  pts[4].payload = { v: 2.5 };
  await X.upsert(c, [pts[3], pts[4]]);
  await check('after upsert');
  expectOk(await req('POST', `${srv.url}/collections/${c}/points/payload?wait=true`, { payload: { v: 55 }, points: [7, 8] }));
  pts[6].payload.v = 55;
  pts[7].payload.v = 55;
  expectOk(await req('POST', `${srv.url}/collections/${c}/points/delete?wait=true`, { points: [1, 4] }));
  pts.splice(3, 1);
  pts.splice(0, 1);
  await check('after set_payload and delete');
  expectOk(await req('POST', `${srv.url}/collections/${c}/points/payload/clear?wait=true`, { points: [10] }));
  pts.find((p) => p.id === 10).payload = {};
  await check('after clear_payload');
  const top = expectOk(await R.scrollRes(c, { order_by: { key: 'v', direction: 'desc' }, limit: 2, with_payload: false }));
  assert.deepEqual(top.points.map((p) => [p.id, p.order_value]).sort(), [[7, 55], [8, 55]]);
});

test('order_by errors', async () => {
  const noIndex = (key) =>
    `Bad request: No range index for \`order_by\` key: \`${key}\`. Please create one to use \`order_by\`. ` +
    'Check https://qdrant.tech/documentation/concepts/indexing/#payload-index to see which payload schemas support Range conditions';
  for (const key of ['kw', 't', 'ir', 'nothing', 'i[]', 'fl.x']) {
    expectError(await R.scrollRes(C, { order_by: key }), 400, noIndex(key));
    expectError(await R.scrollRes(C, { order_by: { key, direction: 'desc' } }), 400, noIndex(key));
  }
  const offsetMsg = /^Wrong input: Cannot use an `offset` when using `order_by`/;
  expectError(await R.scrollRes(C, { order_by: 'i', offset: 1 }), 400, offsetMsg);
  expectError(await R.scrollRes(C, { order_by: { key: 'dt', start_from: '2000-01-01' }, offset: POINTS[0].id }), 400, offsetMsg);
  expectError(await R.scrollRes(C, { order_by: { key: 'i', direction: 'up' } }), 400, /^Format error in JSON body: /);
  expectError(await R.scrollRes(C, { order_by: { key: 'i', start_from: 'abc' } }), 400, /^Format error in JSON body: /);
  expectError(await R.scrollRes(C, { order_by: { key: 'dt', start_from: 'not a date' } }), 400, /^Format error in JSON body: /);
  expectError(await R.scrollRes(C, { order_by: 5 }), 400, /^Format error in JSON body: /);
  expectError(await R.scrollRes(C, { order_by: { direction: 'asc' } }), 400, /^Format error in JSON body: /);
  // the index goes: order_by goes; it comes back: so does order_by
  await X.remove(C, 'fl');
  expectError(await R.scrollRes(C, { order_by: 'fl' }), 400, noIndex('fl'));
  await X.create(C, 'fl', 'float');
  await ordered('fl', 'float', { desc: true, limit: 40 });
  // an integer index without range cannot order; replaced by one with range it can
  await X.create(C, 'ir', { type: 'integer', lookup: false, range: true });
  await ordered('ir', 'integer', { limit: 30 });
  await X.create(C, 'ir', { type: 'integer', range: false });
  expectError(await R.scrollRes(C, { order_by: 'ir' }), 400, noIndex('ir'));
  // a float index orders integers too
  await X.create(C, 'ir', 'float');
  await ordered('ir', 'float', { desc: true, start: 5, startText: 5, limit: 30 });
  // a missing collection
  expectError(await R.scrollRes('nope', { order_by: 'i' }), 404, "Not found: Collection `nope` doesn't exist!");
});
