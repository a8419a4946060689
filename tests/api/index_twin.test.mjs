// Index upkeep on wild data: the same writes go to two collections with the
// same 3,000 random points (index_wild.mjs: arrays, nulls, other types,
// 4.0 in integer fields, invalid geo points and datetimes, ...), one with
// every kind of payload index (half created before the points, half
// after), one without. After each kind of write — upserts with new
// payloads, set_payload (top level with nulls that remove keys, with the
// key "m", by filter), overwrite_payload, delete_payload (keys, "m.lvl",
// "items[].qty"), clear_payload, deletes, a batch of all of them, a batch
// that fails when applied — both collections hold the same payloads (and
// a JS model agrees), give identical counts, scrolls and facets for the
// filters, and the indexed one's payload_schema points equal a brute-force
// count over the model.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, req, expectOk, expectError } from './helpers.mjs';
import { reader, rng, randInt, shuffle, uuid, cmpId } from './read_lib.mjs';
import { flt, toJson, clone, isObj, schemaPoints, indexApi, schemaEntry } from './index_lib.mjs';
import { POINTS, INDEXES, FILTERS, FIRST_COMBINATION, typeOf, wildPayload } from './index_wild.mjs';
import { stripTime } from './points_lib.mjs';

const A = 'plain', B = 'indexed';
const r = rng(8080);
// every fourth filter, and all the combinations and corners at the end; not
// match.phrase on t, which a text index without phrase_matching makes match
// nothing (as in Qdrant; index.test.mjs compares it with a text-index twin)
const CHECKED = FILTERS.filter((f, k) => (k % 4 === 0 || k >= FIRST_COMBINATION) &&
  !/"key":"t","match":\{"phrase"/.test(JSON.stringify(f)));

/** id key -> {id, payload} (payload values as written: Lit kept) */
const model = new Map();
const key = (id) => (typeof id === 'number' ? `n${id}` : `u${id}`);
const ids = () => [...model.values()].map((p) => p.id).sort(cmpId);
const pickIds = (n) => shuffle(r, ids()).slice(0, n);

let srv, R, X;
const url = (c, suffix, query = 'wait=true') => `${srv.url}/collections/${c}${suffix}${query ? `?${query}` : ''}`;

/** The same write to both collections: the same outcome. Returns the status. */
async function both(method, suffix, body, { query = 'wait=true', status = 200 } = {}) {
  const raw = toJson(body);
  const ra = await req(method, url(A, suffix, query), undefined, { raw });
  const rb = await req(method, url(B, suffix, query), undefined, { raw });
  if (status === 200) {
    const a = expectOk(ra), b = expectOk(rb);
    const st = (x) => [].concat(x).map((u) => u.status);
    assert.deepEqual(st(b), st(a), `${method} ${suffix}: same update statuses`);
  } else {
    const msg = expectError(ra, status);
    expectError(rb, status, msg);
  }
}
/** Ids the unindexed collection selects with filter (what a write by filter will touch). */
async function selectedBy(filter) {
  const { points } = await R.scrollAll(A, { filter, with_payload: false }, 1000, 20);
  return points.map((p) => p.id);
}

// the model's operations (Qdrant's semantics)
function merge(obj, patch) {
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete obj[k];
    else obj[k] = clone(v);
  }
}
function setPayload(id, patch, k) {
  const p = model.get(key(id)).payload;
  if (!k) return merge(p, patch);
  if (!isObj(p[k])) p[k] = {};
  merge(p[k], patch);
}
function deleteKeys(id, keys) {
  const p = model.get(key(id)).payload;
  for (const k of keys) {
    if (k === 'items[].qty') {
      if (Array.isArray(p.items)) for (const it of p.items) if (isObj(it)) delete it.qty;
    } else if (k.includes('.')) {
      const [a, b] = k.split('.');
      if (isObj(p[a])) delete p[a][b];
    } else delete p[k];
  }
}
/** A patch: a few keys of a random payload (null values remove keys). */
function patch() {
  const src = wildPayload();
  const keys = shuffle(r, Object.keys(src)).slice(0, 1 + randInt(r, 3));
  const out = {};
  for (const k of keys) out[k] = src[k];
  if (r() < 0.3) out[shuffle(r, ['kw', 'n', 'g', 'd', 'b'])[0]] = null;
  return out;
}

/** Both collections agree on everything; the model agrees; payload_schema points = brute force. */
async function compare(phase, { answers = true } = {}) {
  // the payloads: both collections, and the model
  const all = { with_payload: true, limit: 100000 };
  const ta = stripTime((await req('POST', url(A, '/points/scroll', ''), all)).text);
  const tb = stripTime((await req('POST', url(B, '/points/scroll', ''), all)).text);
  assert.equal(tb, ta, `${phase}: the same points and payloads`);
  const got = JSON.parse(ta).result.points.map((p) => ({ id: p.id, payload: p.payload }));
  const want = ids().map((id) => ({ id, payload: JSON.parse(toJson(model.get(key(id)).payload)) }));
  assert.deepEqual(got, want, `${phase}: the model agrees`);
  // the answers
  for (const filter of answers ? CHECKED : []) {
    const what = `${phase}: ${JSON.stringify(filter).slice(0, 300)}`;
    const n = await R.count(A, { filter });
    assert.equal(await R.count(B, { filter }), n, `count ${what}`);
    const sa = await R.scrollAll(A, { filter, with_payload: false }, 1000, 20);
    const sb = await R.scrollAll(B, { filter, with_payload: false }, 1000, 20);
    assert.deepEqual(sb.points, sa.points, `scroll ${what}`);
    assert.equal(sa.points.length, n);
    assert.deepEqual(await R.facet(B, { key: 'kw', filter, limit: 60 }), await R.facet(A, { key: 'kw', filter, limit: 60 }), `facet ${what}`);
  }
  // payload_schema
  const pts = [...model.values()];
  const schema = await X.schema(B);
  for (const [field, s] of Object.entries(INDEXES)) {
    assert.deepEqual(schema[field], schemaEntry(s, schemaPoints(pts, field, typeOf(s))), `${phase}: payload_schema.${field}`);
  }
  assert.deepEqual(await X.schema(A), {});
}

before(async () => {
  srv = await startServer();
  R = reader(srv.url);
  X = indexApi(srv.url);
  for (const c of [A, B]) expectOk(await req('PUT', url(c, '', ''), { vectors: { size: 2, distance: 'Dot' } }));
  const entries = Object.entries(INDEXES);
  for (const [field, s] of entries.slice(0, 7)) await X.create(B, field, s);
  await X.upsert(A, POINTS);
  await X.upsert(B, POINTS);
  for (const [field, s] of entries.slice(7)) await X.create(B, field, s);
  for (const p of POINTS) model.set(key(p.id), { id: p.id, payload: clone(p.payload) });
});
after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, srv.stderr());
});

test('initial (the answers: see index.test.mjs)', async () => {
  await compare('initial', { answers: false });
});

test('upserts with new payloads, and new points', async () => {
  const pts = pickIds(300).map((id) => ({ id, payload: wildPayload() }));
  for (let k = 0; k < 40; k++) pts.push({ id: 900000 + k, payload: wildPayload() });
  for (let k = 0; k < 20; k++) pts.push({ id: uuid(r), payload: wildPayload() });
  await both('PUT', '/points', { points: pts.map((p) => ({ id: p.id, vector: [1, 0], payload: p.payload })) });
  for (const p of pts) model.set(key(p.id), { id: p.id, payload: clone(p.payload) });
  await compare('after upserts');
});

test('set_payload: by ids with nulls, with key "m", by filter; overwrite_payload', async () => {
  for (const id of pickIds(60)) {
    const pa = patch();
    await both('POST', '/points/payload', { payload: pa, points: [id] });
    setPayload(id, pa);
  }
  const group = pickIds(100);
  await both('POST', '/points/payload', { payload: { kw: ['w1', 5, null], n: flt(4) }, points: group });
  for (const id of group) setPayload(id, { kw: ['w1', 5, null], n: flt(4) });
  for (const [m, lvl, tag] of [[pickIds(40), [1, flt(2)], 'w1'], [pickIds(40), 7, 'w2'], [pickIds(40), flt(3), 'w3'], [pickIds(20), null, 'w4']]) {
    await both('POST', '/points/payload', { payload: { lvl, tag }, key: 'm', points: m });
    for (const id of m) setPayload(id, { lvl, tag }, 'm');
  }
  const filter = FILTERS[1]; // kw = w3
  const sel = await selectedBy(filter);
  assert.ok(sel.length > 0);
  await both('POST', '/points/payload', { payload: { kw: 'w4', s: 17 }, filter });
  for (const id of sel) setPayload(id, { kw: 'w4', s: 17 });
  const over = pickIds(50).map((id) => [id, wildPayload()]);
  for (const [id, p] of over) {
    await both('PUT', '/points/payload', { payload: p, points: [id] });
    model.get(key(id)).payload = clone(p);
  }
  await compare('after set / overwrite payload');
});

test('delete_payload and clear_payload, by ids and by filter', async () => {
  const group = pickIds(200);
  await both('POST', '/points/payload/delete', { keys: ['kw', 'm.lvl', 'items[].qty', 'g'], points: group });
  for (const id of group) deleteKeys(id, ['kw', 'm.lvl', 'items[].qty', 'g']);
  const filter = { must: [{ key: 'b', match: { value: true } }] };
  const sel = await selectedBy(filter);
  await both('POST', '/points/payload/delete', { keys: ['n', 'd', 'u'], filter });
  for (const id of sel) deleteKeys(id, ['n', 'd', 'u']);
  const clear = pickIds(100);
  await both('POST', '/points/payload/clear', { points: clear });
  for (const id of clear) model.get(key(id)).payload = {};
  const f2 = { must: [{ key: 'n', range: { gte: 100 } }] };
  const sel2 = await selectedBy(f2);
  assert.ok(sel2.length > 0);
  await both('POST', '/points/payload/clear', { filter: f2 });
  for (const id of sel2) model.get(key(id)).payload = {};
  await compare('after delete / clear payload');
});

test('deletes by ids and by filter', async () => {
  const gone = pickIds(200);
  await both('POST', '/points/delete', { points: gone });
  for (const id of gone) model.delete(key(id));
  const filter = { must: [{ key: 'g', geo_radius: { center: { lon: 10, lat: 50 }, radius: 600000 } }] };
  const sel = await selectedBy(filter);
  assert.ok(sel.length > 0);
  await both('POST', '/points/delete', { filter });
  for (const id of sel) model.delete(key(id));
  await compare('after deletes');
});

test('a batch of every kind of write; a batch that fails when applied', async () => {
  const [a, b, c, d, e, f] = pickIds(6);
  const pa = wildPayload(), pn = wildPayload(), pb = patch(), pc = wildPayload();
  const filter = FILTERS[2]; // kw = w17
  const ops = [
    { delete: { points: [a] } },
    { upsert: { points: [{ id: a, vector: [1, 0], payload: pa }, { id: 950000, vector: [1, 0], payload: pn }, { id: 950001, vector: [1, 0], payload: { kw: 'w17' } }] } },
    { delete: { points: [950001] } },
    { set_payload: { payload: pb, points: [b] } },
    { overwrite_payload: { payload: pc, points: [c] } },
    { delete_payload: { keys: ['kw', 'items[].qty'], points: [d] } },
    { clear_payload: { points: [e] } },
    { set_payload: { payload: { lvl: 9 }, key: 'm', points: [e, f] } },
    { delete: { filter } },
  ];
  // the failing one first: nothing changes
  const failing = [...ops, { update_vectors: { points: [{ id: 999999, vector: [0, 1] }] } }];
  await both('POST', '/points/batch', { operations: failing }, { status: 404 });
  await both('POST', '/points/batch', { operations: failing }, { query: 'wait=false' });
  await both('POST', '/points/delete', { points: [987654] }); // the barrier
  await compare('after failed batches');
  // then the batch
  await both('POST', '/points/batch', { operations: ops });
  model.set(key(a), { id: a, payload: clone(pa) });
  model.set(key(950000), { id: 950000, payload: clone(pn) });
  setPayload(b, pb);
  model.get(key(c)).payload = clone(pc);
  deleteKeys(d, ['kw', 'items[].qty']);
  model.get(key(e)).payload = {};
  setPayload(e, { lvl: 9 }, 'm');
  setPayload(f, { lvl: 9 }, 'm');
  const sel = await selectedBy(filter); // (none left: all were deleted)
  assert.deepEqual(sel, []);
  for (const p of [...model.values()]) {
    const kw = p.payload.kw;
    if (kw === 'w17' || (Array.isArray(kw) && kw.includes('w17'))) model.delete(key(p.id));
  }
  await compare('after a batch');
});
