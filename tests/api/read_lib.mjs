// Small helpers shared by the read-path tests (scroll, count, facet, the
// filter language): seeded random data, Qdrant's point id order, and REST
// wrappers that check the shape of each answer. Not a test file itself.
import assert from 'node:assert/strict';
import { req, expectOk } from './helpers.mjs';

/** A seeded PRNG (mulberry32): the same data on every run. Returns [0, 1). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [0, n). */
export const randInt = (r, n) => Math.floor(r() * n);

/** Shuffle `arr` in place (Fisher-Yates) and return it. */
export function shuffle(r, arr) {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = randInt(r, i + 1);
    [arr[i], arr[j]] = [arr[j], arr[i]];
  }
  return arr;
}

/** A random UUID in canonical lower-case text (version 4 bits set). */
export function uuid(r) {
  const h = [];
  for (let i = 0; i < 32; i++) h.push(randInt(r, 16).toString(16));
  h[12] = '4';
  h[16] = '89ab'[randInt(r, 4)];
  const s = h.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

/**
 * Qdrant's point id order: integer ids ascending, then UUIDs by their bytes
 * (= their canonical lower-case text, compared bytewise).
 */
export function cmpId(x, y) {
  if (typeof x === 'number' && typeof y === 'number') return x - y;
  if (typeof x === 'number') return -1;
  if (typeof y === 'number') return 1;
  const a = x.toLowerCase(), b = y.toLowerCase();
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Stable text key for an id (UUIDs lower-cased). */
export const idKey = (id) => (typeof id === 'number' ? `n${id}` : `u${id.toLowerCase()}`);

/** Check a scroll result's shape; return it. */
export function checkScrollResult(r, what = 'scroll') {
  assert.ok(r && typeof r === 'object' && !Array.isArray(r), `${what}: result must be an object: ${JSON.stringify(r)}`);
  assert.deepEqual(Object.keys(r).sort(), ['next_page_offset', 'points'], `${what}: result keys`);
  assert.ok(Array.isArray(r.points), `${what}: points must be a list`);
  for (const p of r.points) {
    assert.deepEqual(Object.keys(p).sort(), ['id', 'payload', 'vector'], `${what}: record keys: ${JSON.stringify(p)}`);
    assert.ok(
      (Number.isSafeInteger(p.id) && p.id >= 0) || (typeof p.id === 'string' && p.id === p.id.toLowerCase()),
      `${what}: id must be an unsigned integer or a canonical lower-case UUID: ${JSON.stringify(p.id)}`,
    );
  }
  const n = r.next_page_offset;
  assert.ok(n === null || Number.isSafeInteger(n) || typeof n === 'string', `${what}: next_page_offset: ${JSON.stringify(n)}`);
  return r;
}

/** Read helpers for one server. */
export function reader(url) {
  const u = (c, suffix) => `${url}/collections/${encodeURIComponent(c)}${suffix}`;
  const self = {
    /** POST /points/scroll: the raw response. */
    scrollRes: (c, body) => req('POST', u(c, '/points/scroll'), body),
    /** POST /points/scroll that must succeed: the checked result. */
    async scroll(c, body = {}) {
      return checkScrollResult(expectOk(await self.scrollRes(c, body)), `scroll ${JSON.stringify(body).slice(0, 200)}`);
    },
    countRes: (c, body) => req('POST', u(c, '/points/count'), body),
    /** POST /points/count that must succeed: the number. */
    async count(c, body = {}) {
      const r = expectOk(await self.countRes(c, body));
      assert.deepEqual(Object.keys(r), ['count'], JSON.stringify(r));
      assert.ok(Number.isSafeInteger(r.count) && r.count >= 0, JSON.stringify(r));
      return r.count;
    },
    facetRes: (c, body) => req('POST', u(c, '/facet'), body),
    /** POST /facet that must succeed: the hits. */
    async facet(c, body) {
      const r = expectOk(await self.facetRes(c, body));
      assert.deepEqual(Object.keys(r), ['hits'], JSON.stringify(r));
      for (const h of r.hits) assert.deepEqual(Object.keys(h).sort(), ['count', 'value'], JSON.stringify(h));
      return r.hits;
    },
    /**
     * Scroll to the end from body.offset in pages of `limit` (at most
     * maxPages requests). Checks that next_page_offset is the first id of
     * the next page and that only the last page has none. Returns
     * {points, pages}.
     */
    async scrollAll(c, body = {}, limit = 1000, maxPages = 10_000) {
      const points = [];
      let offset = body.offset ?? null;
      let pages = 0;
      for (;;) {
        assert.ok(pages < maxPages, `scroll did not end within ${maxPages} pages`);
        const r = await self.scroll(c, { ...body, limit, offset });
        pages++;
        if (pages > 1 && r.points.length) {
          assert.deepEqual(r.points[0].id, offset, 'a page starts at the offset it was asked for (inclusive)');
        }
        points.push(...r.points);
        if (r.next_page_offset === null) {
          assert.ok(r.points.length <= limit, `last page: ${r.points.length} > ${limit}`);
          break;
        }
        assert.equal(r.points.length, limit, 'a page with a next page is full');
        assert.ok(cmpId(r.next_page_offset, r.points.at(-1).id) > 0, 'next_page_offset is after the page');
        offset = r.next_page_offset;
      }
      return { points, pages };
    },
    /** Upsert `points` in batches of `size` with wait=true. */
    async upsertAll(c, points, size = 1000) {
      for (let i = 0; i < points.length; i += size) {
        const r = expectOk(await req('PUT', u(c, '/points?wait=true'), { points: points.slice(i, i + size) }));
        assert.equal(r.status, 'completed', JSON.stringify(r));
      }
    },
  };
  return self;
}

/** Assert that ids are strictly increasing in Qdrant's order (so none repeats). */
export function assertIncreasing(ids, what = 'ids') {
  for (let i = 1; i < ids.length; i++) {
    if (!(cmpId(ids[i - 1], ids[i]) < 0)) {
      assert.fail(`${what}: not strictly increasing at ${i}: ${JSON.stringify(ids[i - 1])} then ${JSON.stringify(ids[i])}`);
    }
  }
}
