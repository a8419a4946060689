// Payload indexes are kept in step with every write and survive restarts:
// after each kind of write — upserts replacing payloads, set_payload (by
// ids, by filter, with a key), overwrite_payload, delete_payload (keys and
// nested keys), clear_payload, deletes by ids and by filter, a batch mixing
// them (a point deleted and re-inserted, inserted and deleted, ...), a
// batch and a request that fail when applied (with and without wait) —
// counts, scrolls, facets, order_by pages and payload_schema points equal
// a brute-force computation in JS over a model of the collection. Then the
// server is stopped (SIGTERM, later kill -9, with a checkpoint and writes
// in the log after it, and index changes) and restarted on the same
// storage: the same answers.
import { test, before, after } from 'node:test';
import { existsSync } from 'node:fs';
import assert from 'node:assert/strict';
import { startServer, tempDir, req, expectOk, expectError } from './helpers.mjs';
import { reader, rng, randInt, shuffle, uuid, cmpId } from './read_lib.mjs';
import { elems, valuesAt, isObj, parseDt, schemaPoints, orderEntries, checkOrderPage, indexApi, schemaEntry, clone } from './index_lib.mjs';

const C = 'iw';
const r = rng(2024);
const KW = Array.from({ length: 20 }, (_, i) => `w${i}`);
const U = Array.from({ length: 12 }, () => uuid(r));
const skew = (arr) => arr[Math.floor(arr.length * r() ** 2)];
const EPOCH_2000 = 946684800;

// ---- the model: payloads whose semantics are unambiguous in JS --------------------------
// (floats are never integral, so 5 is always an integer and 5.5 a float)

function genPayload() {
  const p = {};
  const c = () => r();
  let x = c();
  if (x < 0.6) p.kw = skew(KW);
  else if (x < 0.75) p.kw = Array.from({ length: randInt(r, 4) }, () => skew(KW));
  else if (x < 0.8) p.kw = null;
  else if (x < 0.85) p.kw = randInt(r, 5);
  x = c();
  if (x < 0.6) p.n = randInt(r, 121) - 20;
  else if (x < 0.72) p.n = Array.from({ length: randInt(r, 4) }, () => randInt(r, 121) - 20);
  else if (x < 0.8) p.n = randInt(r, 100) + 0.5;
  else if (x < 0.84) p.n = String(randInt(r, 100));
  else if (x < 0.87) p.n = null;
  x = c();
  if (x < 0.6) p.f = Math.round((r() * 1000 - 200) * 100) / 100 + 0.001;
  else if (x < 0.7) p.f = randInt(r, 500);
  else if (x < 0.8) p.f = [randInt(r, 500) + 0.25, randInt(r, 500)];
  else if (x < 0.83) p.f = 'f';
  x = c();
  if (x < 0.7) p.b = r() < 0.3;
  else if (x < 0.8) p.b = [true, false];
  else if (x < 0.85) p.b = 'true';
  x = c();
  const dt = () => new Date((EPOCH_2000 + randInt(r, 30 * 365) * 86400 + randInt(r, 86400)) * 1000).toISOString().replace('.000Z', 'Z');
  if (x < 0.7) p.d = dt();
  else if (x < 0.8) p.d = [dt(), dt()];
  else if (x < 0.85) p.d = 'bad';
  x = c();
  const geo = () => ({ lon: Math.round((r() * 40 - 10) * 1e4) / 1e4, lat: Math.round((35 + r() * 25) * 1e4) / 1e4 });
  if (x < 0.7) p.g = geo();
  else if (x < 0.8) p.g = [geo(), geo()];
  x = c();
  if (x < 0.8) p.u = skew(U);
  x = c();
  if (x < 0.85) p.m = { lvl: randInt(r, 6), name: 'x' };
  else if (x < 0.9) p.m = { name: 'y' };
  return p;
}

/** id key -> {id, payload} */
const model = new Map();
const key = (id) => (typeof id === 'number' ? `n${id}` : `u${id}`);
const modelPoints = () => [...model.values()];
const modelIds = () => modelPoints().map((p) => p.id).sort(cmpId);

// ---- brute-force conditions ------------------------------------------------------------

const any = (p, k, fn) => elems(p, k).some(fn);
const isInt = Number.isInteger;
const isEmpty = (p, k) => valuesAt(p, k).every((v) => v === null || (Array.isArray(v) && v.length === 0));
const DLO = parseDt('2010-01-01T00:00:00Z'), DHI = parseDt('2015-01-01T00:00:00Z');
const inBox = (v) => isObj(v) && v.lon >= 0 && v.lon <= 10 && v.lat >= 45 && v.lat <= 50;
const BOX = { key: 'g', geo_bounding_box: { top_left: { lon: 0, lat: 50 }, bottom_right: { lon: 10, lat: 45 } } };
const DRANGE = { key: 'd', range: { gte: '2010-01-01T00:00:00Z', lt: '2015-01-01T00:00:00Z' } };
const inD = (v) => { const t = parseDt(v); return t !== null && t >= DLO && t < DHI; };

const FILTERS = [
  ['kw = w3', { must: [{ key: 'kw', match: { value: 'w3' } }] }, (p) => any(p, 'kw', (v) => v === 'w3')],
  ['kw any w1 w7', { must: [{ key: 'kw', match: { any: ['w1', 'w7'] } }] }, (p) => any(p, 'kw', (v) => v === 'w1' || v === 'w7')],
  ['kw except w0 w1', { must: [{ key: 'kw', match: { except: ['w0', 'w1'] } }] }, (p) => any(p, 'kw', (v) => v !== null && v !== 'w0' && v !== 'w1')],
  ['n = 5', { must: [{ key: 'n', match: { value: 5 } }] }, (p) => any(p, 'n', (v) => v === 5)],
  ['n any 1 2 3', { must: [{ key: 'n', match: { any: [1, 2, 3] } }] }, (p) => any(p, 'n', (v) => v === 1 || v === 2 || v === 3)],
  ['n except 5 6', { must: [{ key: 'n', match: { except: [5, 6] } }] }, (p) => any(p, 'n', (v) => v !== null && v !== 5 && v !== 6)],
  ['n in [10, 30)', { must: [{ key: 'n', range: { gte: 10, lt: 30 } }] }, (p) => any(p, 'n', (v) => typeof v === 'number' && v >= 10 && v < 30)],
  ['f in (100, 400]', { must: [{ key: 'f', range: { gt: 100, lte: 400 } }] }, (p) => any(p, 'f', (v) => typeof v === 'number' && v > 100 && v <= 400)],
  ['b = true', { must: [{ key: 'b', match: { value: true } }] }, (p) => any(p, 'b', (v) => v === true)],
  ['b = false', { must: [{ key: 'b', match: { value: false } }] }, (p) => any(p, 'b', (v) => v === false)],
  ['u = U2', { must: [{ key: 'u', match: { value: U[2] } }] }, (p) => any(p, 'u', (v) => v === U[2])],
  ['d in 2010..2015', { must: [DRANGE] }, (p) => any(p, 'd', inD)],
  ['g in box', { must: [BOX] }, (p) => any(p, 'g', inBox)],
  ['m.lvl = 2', { must: [{ key: 'm.lvl', match: { value: 2 } }] }, (p) => any(p, 'm.lvl', (v) => v === 2)],
  ['kw = w2 and n < 50', { must: [{ key: 'kw', match: { value: 'w2' } }, { key: 'n', range: { lt: 50 } }] },
    (p) => any(p, 'kw', (v) => v === 'w2') && any(p, 'n', (v) => typeof v === 'number' && v < 50)],
  ['b and not kw w0/w1', { must: [{ key: 'b', match: { value: true } }], must_not: [{ key: 'kw', match: { any: ['w0', 'w1'] } }] },
    (p) => any(p, 'b', (v) => v === true) && !any(p, 'kw', (v) => v === 'w0' || v === 'w1')],
  ['kw empty', { must: [{ is_empty: { key: 'kw' } }] }, (p) => isEmpty(p, 'kw')],
  ['n = 7 or kw = w5', { should: [{ key: 'n', match: { value: 7 } }, { key: 'kw', match: { value: 'w5' } }] },
    (p) => any(p, 'n', (v) => v === 7) || any(p, 'kw', (v) => v === 'w5')],
  ['box and d range', { must: [BOX, DRANGE] }, (p) => any(p, 'g', inBox) && any(p, 'd', inD)],
  ['u any U0 U1, not b', { must: [{ key: 'u', match: { any: [U[0], U[1]] } }], must_not: [{ key: 'b', match: { value: true } }] },
    (p) => any(p, 'u', (v) => v === U[0] || v === U[1]) && !any(p, 'b', (v) => v === true)],
  ['m.lvl >= 4 and kw = w0', { must: [{ key: 'm.lvl', range: { gte: 4 } }, { key: 'kw', match: { value: 'w0' } }] },
    (p) => any(p, 'm.lvl', (v) => typeof v === 'number' && v >= 4) && any(p, 'kw', (v) => v === 'w0')],
];
const filterPred = (filter) => FILTERS.find(([, f]) => f === filter)[2];

// The indexes (field -> schema); some are created before the points, the rest after.
const EARLY = { kw: 'keyword', n: 'integer' };
const LATE = { f: 'float', b: 'bool', d: 'datetime', g: 'geo', u: 'uuid', 'm.lvl': { type: 'integer', lookup: true, range: true } };
let INDEXES = { ...EARLY, ...LATE };
const typeOf = (s) => (typeof s === 'string' ? s : s.type);

function bruteFacet(k, pred, limit) {
  const counts = new Map();
  for (const { id, payload } of model.values()) {
    if (!pred(payload, id)) continue;
    const seen = new Set();
    for (const x of elems(payload, k)) if (typeof x === 'string' || isInt(x) || typeof x === 'boolean') seen.add(x);
    for (const x of seen) counts.set(x, (counts.get(x) ?? 0) + 1);
  }
  const cmpVal = (a, b) => (typeof a !== typeof b ? (typeof a < typeof b ? -1 : 1) : a < b ? -1 : a > b ? 1 : 0);
  return [...counts].map(([value, count]) => ({ value, count })).sort((a, b) => b.count - a.count || cmpVal(a.value, b.value)).slice(0, limit);
}

// ---- the server ------------------------------------------------------------------------

let srv, R, X, storage;
async function start() {
  srv = await startServer({ storage });
  R = reader(srv.url);
  X = indexApi(srv.url);
}
const U_ = (suffix) => `${srv.url}/collections/${C}${suffix}`;
const write = async (method, suffix, body, query = 'wait=true') => {
  const res = expectOk(await req(method, U_(`${suffix}?${query}`), body));
  return res;
};

/** Everything the server says equals the brute force over the model. */
async function verify(phase) {
  const pts = modelPoints();
  const ids = modelIds();
  assert.equal(await R.count(C), ids.length, `${phase}: points`);
  for (const [name, filter, pred] of FILTERS) {
    const want = ids.filter((id) => pred(model.get(key(id)).payload, id));
    assert.equal(await R.count(C, { filter }), want.length, `${phase}: count ${name}`);
    const { points } = await R.scrollAll(C, { filter, with_payload: false }, 600, 20);
    assert.deepEqual(points.map((p) => p.id), want, `${phase}: scroll ${name}`);
  }
  for (const [, filter, pred] of [FILTERS[1], FILTERS[6], FILTERS[11], FILTERS[15]]) {
    assert.deepEqual(await R.facet(C, { key: 'kw', filter, limit: 30 }), bruteFacet('kw', pred, 30), `${phase}: facet kw ${JSON.stringify(filter)}`);
  }
  assert.deepEqual(await R.facet(C, { key: 'n', limit: 200 }), bruteFacet('n', () => true, 200), `${phase}: facet n`);
  // order_by on the range indexes, with and without a filter
  for (const [k, type] of Object.entries(INDEXES).map(([k, s]) => [k, typeOf(s)]).filter(([, t]) => ['integer', 'float', 'datetime'].includes(t))) {
    for (const desc of [false, true]) {
      for (const filter of [undefined, FILTERS[0][1]]) {
        const pred = filter ? filterPred(filter) : () => true;
        const body = { order_by: { key: k, direction: desc ? 'desc' : 'asc' }, limit: 40, with_payload: false, filter };
        checkOrderPage(expectOk(await R.scrollRes(C, body)), orderEntries(pts, k, type, pred), { desc, limit: 40, what: `${phase}: ${JSON.stringify(body)}` });
      }
    }
  }
  // payload_schema
  const want = {};
  for (const [k, s] of Object.entries(INDEXES)) want[k] = schemaEntry(s, schemaPoints(pts, k, typeOf(s)));
  assert.deepEqual(await X.schema(C), want, `${phase}: payload_schema`);
}

/** Apply a selector (ids or a filter) to the model: the selected points. */
const selected = (sel) => (sel.points ? sel.points.map((id) => model.get(key(id))).filter(Boolean) : modelPoints().filter((p) => filterPred(sel.filter)(p.payload, p.id)));
/** set_payload: merge (a key: into the object at that top-level key, made an object if it is not one). */
function setPayload(p, patch, k) {
  if (k) {
    if (!isObj(p.payload[k])) p.payload[k] = {};
    Object.assign(p.payload[k], clone(patch));
  } else Object.assign(p.payload, clone(patch));
}
function deleteKeys(p, keys) {
  for (const k of keys) {
    const [a, b] = k.split('.');
    if (b === undefined) delete p.payload[a];
    else if (isObj(p.payload[a])) delete p.payload[a][b];
  }
}

before(async () => {
  storage = tempDir();
  await start();
  // a small log: checkpoints (points.snap) happen along the way, so a restart reads a checkpoint and a log
  expectOk(await req('PUT', U_(''), { vectors: { size: 2, distance: 'Dot' }, wal_config: { wal_capacity_mb: 1 } }));
  for (const [k, s] of Object.entries(EARLY)) await X.create(C, k, s);
  const ids = [];
  for (let k = 0; k < 1800; k++) ids.push(4 * k + 3);
  for (let k = 0; k < 200; k++) ids.push(uuid(r));
  shuffle(r, ids);
  for (const id of ids) model.set(key(id), { id, payload: genPayload() });
  await X.upsert(C, modelPoints());
  for (const [k, s] of Object.entries(LATE)) await X.create(C, k, s);
});
after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, srv.stderr());
});

test('indexes built before and after the points', async () => {
  await verify('initial');
  // the data is not degenerate
  const ids = modelIds();
  const sizes = FILTERS.map(([, , pred]) => ids.filter((id) => pred(model.get(key(id)).payload, id)).length);
  assert.ok(sizes.every((n) => n > 0 && n < ids.length), JSON.stringify(sizes));
  assert.ok(sizes.filter((n) => n < ids.length / 3).length >= FILTERS.length * 0.6, JSON.stringify(sizes));
});

test('upserts replacing payloads, and new points', async () => {
  const all = modelPoints();
  const changed = shuffle(r, [...all]).slice(0, 400).map((p) => ({ id: p.id, payload: genPayload() }));
  for (let k = 0; k < 150; k++) changed.push({ id: 100000 + k, payload: genPayload() });
  await X.upsert(C, changed, { size: 137 });
  for (const p of changed) model.set(key(p.id), p);
  await verify('after upserts');
});

test('set_payload (ids, filter, key) and overwrite_payload', async () => {
  const ids = shuffle(r, modelIds()).slice(0, 120);
  await write('POST', '/points/payload', { payload: { kw: 'w3', b: true }, points: ids.slice(0, 60) });
  for (const p of selected({ points: ids.slice(0, 60) })) setPayload(p, { kw: 'w3', b: true });
  const sel = { filter: FILTERS[6][1] }; // n in [10, 30)
  const targets = selected(sel);
  await write('POST', '/points/payload', { payload: { f: 123.5, n: 'changed' }, ...sel });
  for (const p of targets) setPayload(p, { f: 123.5, n: 'changed' });
  // with a key: into m (some points have none: it is created)
  await write('POST', '/points/payload', { payload: { lvl: 2 }, key: 'm', points: ids.slice(60, 100) });
  for (const p of selected({ points: ids.slice(60, 100) })) setPayload(p, { lvl: 2 }, 'm');
  await write('PUT', '/points/payload', { payload: { kw: ['w1', 'w7'], n: [1, 2, 3], g: { lon: 5, lat: 47 } }, points: ids.slice(100, 120) });
  for (const p of selected({ points: ids.slice(100, 120) })) p.payload = { kw: ['w1', 'w7'], n: [1, 2, 3], g: { lon: 5, lat: 47 } };
  await verify('after set / overwrite payload');
});

test('delete_payload (keys, nested keys, by filter) and clear_payload (ids, filter)', async () => {
  const ids = shuffle(r, modelIds()).slice(0, 200);
  await write('POST', '/points/payload/delete', { keys: ['kw', 'm.lvl', 'nothing'], points: ids.slice(0, 80) });
  for (const p of selected({ points: ids.slice(0, 80) })) deleteKeys(p, ['kw', 'm.lvl']);
  const sel = { filter: FILTERS[9][1] }; // b = false
  const targets = selected(sel);
  await write('POST', '/points/payload/delete', { keys: ['d', 'g'], ...sel });
  for (const p of targets) deleteKeys(p, ['d', 'g']);
  await write('POST', '/points/payload/clear', { points: ids.slice(80, 140) });
  for (const p of selected({ points: ids.slice(80, 140) })) p.payload = {};
  const sel2 = { filter: FILTERS[10][1] }; // u = U2
  const targets2 = selected(sel2);
  await write('POST', '/points/payload/clear', sel2);
  for (const p of targets2) p.payload = {};
  await verify('after delete / clear payload');
});

test('deletes by ids and by filter', async () => {
  const ids = shuffle(r, modelIds()).slice(0, 150);
  await write('POST', '/points/delete', { points: [...ids, 987654] });
  for (const id of ids) model.delete(key(id));
  const sel = { filter: FILTERS[12][1] }; // g in box
  const targets = selected(sel);
  assert.ok(targets.length > 0);
  await write('POST', '/points/delete', sel);
  for (const p of targets) model.delete(key(p.id));
  await verify('after deletes');
});

test('a batch mixing writes: re-inserted, inserted-then-deleted, set-then-overwritten points', async () => {
  const ids = shuffle(r, modelIds()).slice(0, 10);
  const [a, b, c, d, e] = ids;
  const pa = genPayload(), pc = genPayload(), pnew = genPayload();
  const ops = [
    { delete: { points: [a] } },
    { upsert: { points: [{ id: a, vector: [1, 0], payload: pa }] } }, // back, with a new payload
    { upsert: { points: [{ id: 200000, vector: [1, 0], payload: pnew }, { id: 200001, vector: [1, 0], payload: { kw: 'w3' } }] } },
    { delete: { points: [200001] } }, // inserted and deleted in the same batch
    { set_payload: { payload: { kw: 'w5', n: 7 }, points: [b] } },
    { overwrite_payload: { payload: { n: 5 }, points: [b] } },
    { clear_payload: { points: [c] } },
    { set_payload: { payload: pc, points: [c] } },
    { delete_payload: { keys: ['n', 'kw'], points: [d] } },
    { set_payload: { payload: { n: [5, 7], kw: 'w0' }, points: [d] } },
    { delete: { points: [e] } },
    { delete: { filter: { must: [{ key: 'kw', match: { value: 'w19' } }] } } },
  ];
  const res = expectOk(await req('POST', U_('/points/batch?wait=true'), { operations: ops }));
  assert.equal(res.length, ops.length);
  model.set(key(a), { id: a, payload: clone(pa) });
  model.set(key(200000), { id: 200000, payload: clone(pnew) });
  model.get(key(b)).payload = { n: 5 };
  model.get(key(c)).payload = clone(pc);
  deleteKeys(model.get(key(d)), ['n', 'kw']);
  setPayload(model.get(key(d)), { n: [5, 7], kw: 'w0' });
  model.delete(key(e));
  for (const p of modelPoints()) if (elems(p.payload, 'kw').includes('w19')) model.delete(key(p.id));
  await verify('after a mixed batch');
});

test('a batch and a request that fail when applied change no index', async () => {
  const ids = shuffle(r, modelIds()).slice(0, 6);
  const ops = [
    { upsert: { points: [{ id: ids[0], vector: [1, 0], payload: { kw: 'w3', n: 5, b: true } }, { id: 300000, vector: [1, 0], payload: { kw: 'w1' } }] } },
    { set_payload: { payload: { kw: 'w2', n: 11 }, filter: FILTERS[0][1] } },
    { overwrite_payload: { payload: { u: U[2] }, points: [ids[1]] } },
    { delete_payload: { keys: ['kw'], filter: FILTERS[1][1] } },
    { clear_payload: { points: [ids[2]] } },
    { delete: { points: [ids[3]] } },
    { delete: { filter: FILTERS[8][1] } },
    { update_vectors: { points: [{ id: 999999, vector: [0, 1] }] } },
  ];
  expectError(await req('POST', U_('/points/batch?wait=true'), { operations: ops }), 404, 'Not found: No point with id 999999 found');
  for (const query of ['wait=false', '']) {
    const ack = expectOk(await req('POST', U_(`/points/batch${query ? `?${query}` : ''}`), { operations: ops }));
    assert.equal(ack.length, ops.length, 'without wait: acknowledged, fails when applied');
  }
  // single requests failing on a missing point
  expectError(await req('POST', U_('/points/payload?wait=true'), { payload: { kw: 'w3' }, points: [ids[4], 999999] }), 404, 'Not found: No point with id 999999 found');
  expectError(await req('POST', U_('/points/payload/delete?wait=true'), { keys: ['kw'], points: [ids[5], 999999] }), 404, 'Not found: No point with id 999999 found');
  // the barrier: a wait=true write after them
  await write('POST', '/points/delete', { points: [987654] });
  await verify('after failed writes');
});

test('an index created while writes are queued (wait=false) misses none of them', async () => {
  await X.remove(C, 'f');
  await X.remove(C, 'kw');
  const changed = shuffle(r, modelIds()).slice(0, 400).map((id) => ({ id, payload: genPayload() }));
  const writes = [];
  for (let k = 0; k < changed.length; k += 50) writes.push(X.upsert(C, changed.slice(k, k + 50), { query: 'wait=false' }));
  // the index requests go out while the upserts are queued or being applied
  await Promise.all([...writes.slice(0, 4), X.create(C, 'f', 'float'), ...writes.slice(4), X.create(C, 'kw', 'keyword')]);
  for (const p of changed) model.set(key(p.id), p);
  await write('POST', '/points/delete', { points: [987654] }); // the barrier
  INDEXES = { kw: 'keyword', n: 'integer', ...LATE }; // (f and kw are last now)
  assert.deepEqual(Object.keys(await X.schema(C)).sort(), Object.keys(INDEXES).sort());
  await verify('after an index built under writes');
});

test('restart after SIGTERM: payload_schema and answers unchanged', async () => {
  const schemaBefore = await X.schema(C);
  assert.equal(await srv.stop(), 0, srv.stderr());
  await start();
  assert.deepEqual(await X.schema(C), schemaBefore);
  await verify('after SIGTERM and restart');
});

test('restart after kill -9 with writes and index changes in the log', async () => {
  // bulky writes: the log outgrows 1 MB, a checkpoint is written; the writes below stay in the log
  const bulky = shuffle(r, modelIds()).slice(0, 700).map((id) => ({ id, payload: { ...genPayload(), pad: 'x'.repeat(2000) } }));
  await X.upsert(C, bulky, { size: 100 });
  for (const p of bulky) model.set(key(p.id), p);
  await write('POST', '/points/delete', { points: [987654] });
  assert.ok(existsSync(`${storage}/collections/${C}/points.snap`), 'a checkpoint was written');
  // writes
  const changed = shuffle(r, modelIds()).slice(0, 100).map((id) => ({ id, payload: genPayload() }));
  await X.upsert(C, changed);
  for (const p of changed) model.set(key(p.id), p);
  const gone = shuffle(r, modelIds()).slice(0, 50);
  await write('POST', '/points/delete', { points: gone });
  for (const id of gone) model.delete(key(id));
  // index changes: one deleted, one replaced by another type, one new on a key in m
  await X.remove(C, 'u');
  await X.create(C, 'b', 'keyword');
  await X.create(C, 'm.name', 'keyword');
  INDEXES = { ...INDEXES, b: 'keyword', 'm.name': 'keyword' };
  delete INDEXES.u;
  await write('POST', '/points/payload', { payload: { b: 'yes', name: 'z' }, points: modelIds().slice(0, 30) });
  for (const p of selected({ points: modelIds().slice(0, 30) })) setPayload(p, { b: 'yes', name: 'z' });
  const schemaBefore = await X.schema(C);
  assert.equal(schemaBefore.b.data_type, 'keyword');
  assert.equal(schemaBefore['m.name'].points, schemaPoints(modelPoints(), 'm.name', 'keyword'));
  await verify('before kill -9');
  await srv.kill9();
  await start();
  assert.deepEqual(await X.schema(C), schemaBefore);
  await verify('after kill -9 and restart');
  // and it goes on: a write after the restart reaches the rebuilt indexes
  const more = modelIds().slice(30, 90).map((id) => ({ id, payload: genPayload() }));
  await X.upsert(C, more);
  for (const p of more) model.set(key(p.id), p);
  await verify('writes after the restart');
  // one more clean restart
  assert.equal(await srv.stop(), 0, srv.stderr());
  await start();
  await verify('after a second restart');
});
