// Small helpers shared by the write-path tests (points*.test.mjs, seed,
// atomic, crash): write/read points through the REST API and take exact
// snapshots of a collection's state. Not a test file itself.
import assert from 'node:assert/strict';
import { req, expectOk, expectError } from './helpers.mjs';

/** Remove the envelope's "time" so two answers can be compared byte for byte. */
export const stripTime = (text) => text.replace(/,"time":[^,}]*}\s*$/, '}');

/** Compare ids the way the tests want to list them: numbers first, then UUIDs. */
export function byId(a, b) {
  const x = a.id, y = b.id;
  if (typeof x === 'number' && typeof y === 'number') return x - y;
  if (typeof x === 'number') return -1;
  if (typeof y === 'number') return 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Expect a single update result {operation_id, status}; return it. */
export function expectUpdate(result, status = 'completed') {
  assert.ok(result && typeof result === 'object' && !Array.isArray(result), `update result: ${JSON.stringify(result)}`);
  assert.deepEqual(Object.keys(result).sort(), ['operation_id', 'status'], JSON.stringify(result));
  assert.ok(Number.isInteger(result.operation_id) && result.operation_id >= 0, JSON.stringify(result));
  assert.equal(result.status, status, JSON.stringify(result));
  return result;
}

/** Expect a /points/batch result: n update results with consecutive operation ids. */
export function expectBatch(result, n, status = 'completed') {
  assert.ok(Array.isArray(result), `batch result must be a list: ${JSON.stringify(result)}`);
  assert.equal(result.length, n, `one result per operation: ${JSON.stringify(result)}`);
  result.forEach((r) => expectUpdate(r, status));
  for (let i = 1; i < n; i++) {
    assert.equal(result[i].operation_id, result[0].operation_id + i, `consecutive ids: ${JSON.stringify(result)}`);
  }
  return result;
}

/** A REST client for one server. Writes default to ?wait=true. */
export function api(url) {
  const u = (c, suffix = '', query = '') => `${url}/collections/${c}${suffix}${query ? `?${query}` : ''}`;
  const self = {
    url,
    u,
    async create(c, body) {
      assert.equal(expectOk(await req('PUT', u(c), body)), true);
    },
    /** Raw write request; returns the response. */
    send(method, c, suffix, body, { query = 'wait=true', raw } = {}) {
      return req(method, u(c, suffix, query), body, raw !== undefined ? { raw } : {});
    },
    /** A write that must succeed; returns the result (an update result or a list). */
    async write(method, c, suffix, body, opts) {
      return expectOk(await self.send(method, c, suffix, body, opts));
    },
    upsert: (c, points, opts) => self.write('PUT', c, '/points', { points }, opts).then((r) => expectUpdate(r, opts?.status)),
    batch: (c, operations, opts) => self.write('POST', c, '/points/batch', { operations }, opts),
    /** POST /points (retrieve); result list as the server returns it. */
    async retrieve(c, ids, { with_payload = true, with_vector = true } = {}) {
      return expectOk(await req('POST', u(c, '/points'), { ids, with_payload, with_vector }));
    },
    /** Retrieved points keyed by String(id). */
    async byId(c, ids, opts) {
      const m = new Map();
      for (const p of await self.retrieve(c, ids, opts)) m.set(String(p.id), p);
      return m;
    },
    /** GET /points/{id}: the point, or null when the server answers 404. */
    async get(c, id) {
      const res = await req('GET', u(c, `/points/${encodeURIComponent(String(id))}`));
      if (res.status === 404) {
        expectError(res, 404, `Not found: No point with id ${id} found`);
        return null;
      }
      return expectOk(res);
    },
    async count(c) {
      return expectOk(await req('GET', u(c))).points_count;
    },
    /**
     * The exact state of points `ids` (retrieve with payload and vectors, the
     * raw response text without "time") plus points_count: two equal
     * snapshots mean nothing changed, down to 1 vs 1.0 and key order.
     */
    async snapshot(c, ids) {
      const res = await req('POST', u(c, '/points'), { ids, with_payload: true, with_vector: true });
      expectOk(res);
      return { text: stripTime(res.text), count: await self.count(c) };
    },
  };
  return self;
}

/** Assert two float lists are equal within `eps` (for normalised Cosine vectors). */
export function assertClose(actual, expected, eps = 1e-6, what = '') {
  assert.ok(Array.isArray(actual), `${what}: not a list: ${JSON.stringify(actual)}`);
  assert.equal(actual.length, expected.length, `${what}: length ${JSON.stringify(actual)}`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= eps, `${what}: [${i}] ${actual[i]} vs ${expected[i]} (${JSON.stringify(actual)})`);
  }
}

/** v scaled to unit length (what a Cosine collection stores). */
export function normalize(v) {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / n);
}

/** The vector of point i as written in round r of a crash test's rounds of writes (exact in float32). */
export const roundVector = (dim) => (i, r) => Array.from({ length: dim }, (_, j) => ((i * 7 + j * 3 + r * 11) % 101) / 64);

/**
 * After a crash: collection c holds exactly the points of last (id -> the round of its last
 * acknowledged write), each with payload.round and vec(id, round) of that round.
 */
export async function expectLastRounds(A, c, last, vec, what = '') {
  assert.equal(await A.count(c), last.size, `${what}the count`);
  const ids = [...last.keys()];
  for (let i = 0; i < ids.length; i += 1000) {
    const got = await A.byId(c, ids.slice(i, i + 1000));
    for (const id of ids.slice(i, i + 1000)) {
      const p = got.get(String(id));
      assert.ok(p, `${what}point ${id} is missing`);
      assert.equal(p.payload.round, last.get(id), `${what}payload of ${id}`);
      assert.deepEqual(p.vector, vec(id, last.get(id)), `${what}vector of ${id}`);
    }
  }
}
