// Payload indexes through the official JS client (@qdrant/js-client-rest
// 1.19.0): createPayloadIndex (bare and params forms, wait), the
// payload_schema of getCollection, scroll with order_by (the client's
// shapes), count / facet with indexed filters, deletePayloadIndex, and
// the errors as the client reports them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client, clientIdle, warnings } from './helpers.mjs';
import { rng, randInt, shuffle } from './read_lib.mjs';

const C = 'jix';
const r = rng(31);
const POINTS = Array.from({ length: 300 }, (_, k) => {
  const payload = { city: ['Berlin', 'Paris', 'Rome', 'Oslo'][k % 4], pop: randInt(r, 1000), score: Math.round(r() * 1e4) / 100 };
  if (k % 5 === 0) payload.pop = [payload.pop, randInt(r, 1000)];
  if (k % 7 === 0) delete payload.score;
  payload.when = new Date(Date.UTC(2020, 0, 1) + randInt(r, 365) * 86400000).toISOString();
  return { id: k + 1, vector: [1, 0], payload };
});

let srv, qc;
before(async () => {
  srv = await startServer();
  qc = client(srv.url);
  assert.equal(await qc.createCollection(C, { vectors: { size: 2, distance: 'Dot' } }), true);
  const pts = shuffle(r, [...POINTS]);
  for (let k = 0; k < pts.length; k += 100) await qc.upsert(C, { wait: true, points: pts.slice(k, k + 100) });
});
after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, srv.stderr());
});

const popValues = (p) => [].concat(p.payload.pop);

test('createPayloadIndex and payload_schema', async () => {
  const a = await qc.createPayloadIndex(C, { field_name: 'city', field_schema: 'keyword', wait: true });
  assert.deepEqual(Object.keys(a).sort(), ['operation_id', 'status']);
  assert.equal(a.status, 'completed');
  const b = await qc.createPayloadIndex(C, { field_name: 'pop', field_schema: { type: 'integer', lookup: true, range: true }, wait: true });
  assert.equal(b.status, 'completed');
  assert.ok(b.operation_id > a.operation_id);
  await qc.createPayloadIndex(C, { field_name: 'score', field_schema: 'float', wait: true });
  await qc.createPayloadIndex(C, { field_name: 'when', field_schema: 'datetime', wait: true });
  const info = await qc.getCollection(C);
  assert.deepEqual(info.payload_schema, {
    city: { data_type: 'keyword', points: 300 },
    pop: { data_type: 'integer', params: { type: 'integer', lookup: true, range: true }, points: 300 },
    score: { data_type: 'float', points: POINTS.filter((p) => 'score' in p.payload).length },
    when: { data_type: 'datetime', points: 300 },
  });
});

test('count, scroll and facet with indexed filters', async () => {
  const filter = { must: [{ key: 'city', match: { value: 'Rome' } }, { key: 'pop', range: { gte: 500 } }] };
  const want = POINTS.filter((p) => p.payload.city === 'Rome' && popValues(p).some((v) => v >= 500)).map((p) => p.id);
  assert.deepEqual(await qc.count(C, { filter, exact: true }), { count: want.length });
  const res = await qc.scroll(C, { filter, limit: 1000, with_payload: false });
  assert.deepEqual(res.points.map((p) => p.id), want);
  const facet = await qc.facet(C, { key: 'city', filter: { must: [{ key: 'pop', range: { lt: 100 } }] } });
  const counts = {};
  for (const p of POINTS) if (popValues(p).some((v) => v < 100)) counts[p.payload.city] = (counts[p.payload.city] ?? 0) + 1;
  assert.deepEqual(
    facet.hits,
    Object.entries(counts).map(([value, count]) => ({ value, count })).sort((x, y) => y.count - x.count || (x.value < y.value ? -1 : 1)),
  );
});

test('scroll with order_by: integer, float, datetime', async () => {
  const desc = await qc.scroll(C, { order_by: { key: 'pop', direction: 'desc' }, limit: 15, with_payload: true });
  assert.equal(desc.next_page_offset, null);
  const pops = POINTS.flatMap((p) => [...new Set(popValues(p))]).sort((x, y) => y - x);
  assert.deepEqual(desc.points.map((p) => p.order_value), pops.slice(0, 15));
  for (const p of desc.points) {
    assert.deepEqual(Object.keys(p), ['id', 'payload', 'vector', 'order_value']);
    assert.ok(popValues(POINTS[p.id - 1]).includes(p.order_value));
    assert.deepEqual(p.payload, POINTS[p.id - 1].payload);
  }
  // start_from and a filter
  const asc = await qc.scroll(C, {
    order_by: { key: 'score', start_from: 50 },
    filter: { must: [{ key: 'city', match: { value: 'Oslo' } }] },
    limit: 20,
    with_payload: false,
  });
  const scores = POINTS.filter((p) => p.payload.city === 'Oslo' && p.payload.score >= 50).map((p) => p.payload.score).sort((x, y) => x - y);
  assert.deepEqual(asc.points.map((p) => p.order_value), scores.slice(0, 20));
  // datetime: microseconds since the epoch
  const dt = await qc.scroll(C, { order_by: { key: 'when', direction: 'desc', start_from: '2020-06-30T00:00:00Z' }, limit: 5, with_payload: true });
  const whens = POINTS.map((p) => Date.parse(p.payload.when) * 1000).filter((t) => t <= Date.parse('2020-06-30T00:00:00Z') * 1000).sort((x, y) => y - x);
  assert.deepEqual(dt.points.map((p) => p.order_value), whens.slice(0, 5));
  for (const p of dt.points) assert.equal(Date.parse(p.payload.when) * 1000, p.order_value);
  // the plain form
  const plain = await qc.scroll(C, { order_by: 'pop', limit: 3, with_payload: false });
  assert.deepEqual(plain.points.map((p) => p.order_value), [...pops].reverse().slice(0, 3));
});

test('errors as the client reports them', async () => {
  await assert.rejects(qc.scroll(C, { order_by: 'city' }), (e) => {
    assert.equal(e.status, 400);
    assert.match(e.data?.status?.error, /No range index for `order_by` key: `city`/);
    return true;
  });
  await assert.rejects(qc.scroll(C, { order_by: 'pop', offset: 5 }), (e) => {
    assert.equal(e.status, 400);
    assert.match(e.data?.status?.error, /Cannot use an `offset` when using `order_by`/);
    return true;
  });
  await assert.rejects(qc.createPayloadIndex(C, { field_name: 'x', field_schema: 'nope', wait: true }), (e) => {
    assert.equal(e.status, 400);
    assert.match(e.data?.status?.error, /unknown variant `nope`/);
    return true;
  });
  await assert.rejects(qc.createPayloadIndex('missing', { field_name: 'x', field_schema: 'keyword', wait: true }), (e) => {
    assert.equal(e.status, 404);
    assert.deepEqual(e.data?.status, { error: "Not found: Collection `missing` doesn't exist!" });
    return true;
  });
});

test('deletePayloadIndex', async () => {
  const res = await qc.deletePayloadIndex(C, 'pop', { wait: true });
  assert.equal(res.status, 'completed');
  assert.deepEqual(Object.keys((await qc.getCollection(C)).payload_schema), ['city', 'score', 'when']);
  await assert.rejects(qc.scroll(C, { order_by: 'pop' }), (e) => e.status === 400);
  // deleting an index that is not there is fine
  assert.equal((await qc.deletePayloadIndex(C, 'pop', { wait: true })).status, 'completed');
  // answers do not change
  const filter = { must: [{ key: 'pop', range: { gte: 900 } }] };
  assert.deepEqual(await qc.count(C, { filter }), { count: POINTS.filter((p) => popValues(p).some((v) => v >= 900)).length });
  await clientIdle();
  assert.deepEqual(warnings, []);
});
