// Helpers shared by the payload-index tests (index*.test.mjs): JSON with
// literal numbers (4.0 stays a float, 2^64-1 stays exact), a brute-force
// model of which values each index type holds, the datetime forms the tests
// generate, order_by expectations, and REST wrappers for the index API.
// Not a test file itself.
import assert from 'node:assert/strict';
import { req, expectOk } from './helpers.mjs';
import { randInt } from './read_lib.mjs';

// ---- JSON with literal numbers ---------------------------------------------------------

/**
 * A number whose JSON text matters: `text` is sent as is; `kind` says what
 * the server reads ('int' an i64, 'u64' above INT64_MAX, 'float'); `num`
 * is its (possibly rounded) value in JS.
 */
export class Lit {
  constructor(text, kind) {
    this.text = text;
    this.kind = kind;
    this.num = Number(text);
  }
}
/** x as a JSON float: 4 -> 4.0 (a Lit), 4.5 -> 4.5. */
export const flt = (x) => (Number.isInteger(x) || Object.is(x, -0) ? new Lit(Object.is(x, -0) ? '-0.0' : `${x}.0`, 'float') : x);

/** JSON text of v; Lit values are written as their text. */
export function toJson(v) {
  if (v instanceof Lit) return v.text;
  if (Array.isArray(v)) return `[${v.map(toJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => `${JSON.stringify(k)}:${toJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** A deep copy (Lit values are immutable and shared). */
export function clone(v) {
  if (v instanceof Lit) return v;
  if (Array.isArray(v)) return v.map(clone);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clone(x)]));
  return v;
}

// ---- value access and types --------------------------------------------------------------

export const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Lit);

/** Values at a path like "a", "a.b" or "a[].b" (Qdrant's value_get; a.b does not enter arrays). */
export function valuesAt(payload, path) {
  let cur = [payload];
  for (const part of path.split('.')) {
    const all = part.endsWith('[]');
    const key = all ? part.slice(0, -2) : part;
    const next = [];
    for (const v of cur) {
      if (isObj(v) && Object.hasOwn(v, key) && v[key] !== undefined) {
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
/** The values a condition looks at: an array contributes its elements (one level). */
export const elems = (payload, path) => valuesAt(payload, path).flatMap((v) => (Array.isArray(v) ? v : [v]));

/** An integer of the payload (an i64): JS safe integers, or an 'int' Lit. */
export const isInt = (v) => (typeof v === 'number' && Number.isInteger(v)) || (v instanceof Lit && v.kind === 'int');
/** Any number (integer, u64 or float). */
export const isNum = (v) => typeof v === 'number' || v instanceof Lit;
export const numOf = (v) => (v instanceof Lit ? v.num : v);
export const isGeo = (v) =>
  isObj(v) && typeof v.lon === 'number' && typeof v.lat === 'number' && v.lon >= -180 && v.lon <= 180 && v.lat >= -90 && v.lat <= 90;
export const isUuid = (v) => typeof v === 'string' && /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(v);

// ---- datetimes ---------------------------------------------------------------------------

const DT_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})?)?)?$/;
const MDAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Nanoseconds since the epoch (BigInt) of a datetime in the forms the tests
 * write (years 1000-9999): YYYY-MM-DD, then optionally T or space + HH:MM,
 * :SS, .fraction, Z or +HH:MM (a zone only after seconds; none = UTC).
 * null when it is not one (or not a real date / time).
 */
export function parseDt(s) {
  if (typeof s !== 'string') return null;
  const m = DT_RE.exec(s);
  if (!m) return null;
  const [y, mo, d, h = 0, mi = 0, sec = 0] = m.slice(1, 7).map((x) => (x === undefined ? 0 : Number(x)));
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  if (mo < 1 || mo > 12 || d < 1 || d > MDAYS[mo - 1] + (mo === 2 && leap ? 1 : 0)) return null;
  if (h > 23 || mi > 59 || sec > 59) return null;
  const frac = m[7] ? BigInt(m[7].padEnd(9, '0')) : 0n;
  let off = 0;
  if (m[8] && m[8] !== 'Z') off = (m[8][0] === '-' ? -1 : 1) * (Number(m[8].slice(1, 3)) * 3600 + Number(m[8].slice(4, 6)) * 60);
  return BigInt(Date.UTC(y, mo - 1, d, h, mi, sec)) * 1_000_000n + frac - BigInt(off) * 1_000_000_000n;
}
/** Microseconds since the epoch (what order_value holds for a datetime): floor(ns / 1000). */
export function micros(ns) {
  const q = ns / 1000n;
  return Number(ns < 0n && q * 1000n !== ns ? q - 1n : q);
}

const pad = (x, n = 2) => String(x).padStart(n, '0');
/**
 * The instant ns (BigInt) written in one of the forms parseDt reads, the
 * form chosen by r: RFC 3339 with Z or an offset, with or without a
 * fraction; "YYYY-MM-DD HH:MM:SS"; "YYYY-MM-DDTHH:MM"; "YYYY-MM-DD".
 * Forms that cannot carry the instant exactly fall back to RFC 3339 Z.
 */
export function fmtDt(r, ns) {
  const sec = ns >= 0n ? ns / 1_000_000_000n : -((-ns + 999_999_999n) / 1_000_000_000n);
  const sub = ns - sec * 1_000_000_000n;
  const c = r();
  const offMin = c < 0.3 ? [330, -480, 60, -60, 0, 600][randInt(r, 6)] : 0;
  const zone = c < 0.3 ? (offMin < 0 ? '-' : '+') + pad(Math.floor(Math.abs(offMin) / 60)) + ':' + pad(Math.abs(offMin) % 60) : 'Z';
  const local = new Date(Number(sec + BigInt(offMin * 60)) * 1000);
  const date = `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}`;
  const hm = `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}`;
  const ss = pad(local.getUTCSeconds());
  let fracText = '';
  if (sub) {
    fracText = `.${String(sub).padStart(9, '0')}`;
    if (fracText.endsWith('000000')) fracText = fracText.slice(0, 4);
    else if (fracText.endsWith('000')) fracText = fracText.slice(0, 7);
  }
  const d = r();
  if (offMin === 0 && !sub && sec % 86400n === 0n && d < 0.3) return date;
  if (offMin === 0 && !sub && sec % 60n === 0n && d < 0.5) return `${date}T${hm}`;
  if (offMin === 0 && d < 0.7) return `${date} ${hm}:${ss}${fracText}`;
  return `${date}T${hm}:${ss}${fracText}${zone}`;
}

// ---- what an index holds ------------------------------------------------------------------

/**
 * Is v (one value at the key, after one level of array) a value of an
 * index of this type? (Qdrant's schema types; uuid: a string that is a
 * UUID; text: a string.)
 */
export function indexedValue(type, v) {
  switch (type) {
    case 'keyword':
    case 'text':
      return typeof v === 'string';
    case 'uuid':
      return isUuid(v);
    case 'integer':
      return isInt(v);
    case 'float':
      return isNum(v);
    case 'bool':
      return typeof v === 'boolean';
    case 'geo':
      return isGeo(v);
    case 'datetime':
      return parseDt(v) !== null;
    default:
      throw new Error(`type ${type}`);
  }
}
/** payload_schema "points" by brute force: points with at least one value of the type at key. */
export function schemaPoints(points, key, type) {
  let n = 0;
  for (const p of points) if (elems(p.payload, key).some((v) => indexedValue(type, v))) n++;
  return n;
}

/**
 * order_by entries by brute force: one {id, value} per distinct value of
 * the type at key ('integer', 'float' or 'datetime'; datetime values are
 * microseconds) for each point that passes pred.
 */
export function orderEntries(points, key, type, pred = () => true) {
  const out = [];
  for (const p of points) {
    if (!pred(p.payload, p.id)) continue;
    const seen = new Set();
    for (const v of elems(p.payload, key)) {
      if (!indexedValue(type, v)) continue;
      let value;
      if (type === 'datetime') value = parseDt(v); // BigInt ns: exact, dedup on it
      else value = numOf(v) === 0 ? 0 : numOf(v); // -0.0 is 0.0
      const k = String(value);
      if (seen.has(k)) continue;
      seen.add(k);
      out.push({ id: p.id, value, sortKey: value });
    }
  }
  for (const e of out) if (type === 'datetime') e.value = micros(e.sortKey);
  return out;
}

const cmpKey = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Check one order_by page against the brute-force entries: the page's
 * order_values are the first `limit` values of the entries sorted by value
 * (asc / desc) from start (asc: >= start; desc: <= start; start a number,
 * or a BigInt ns for datetimes); the (id, value) pairs before the last
 * value are exactly the expected ones; those at the last value are a subset
 * of the expected ones at that value (ties are cut at the limit).
 */
export function checkOrderPage(page, entries, { desc = false, start, limit = 10, what = '' }) {
  let sel = entries;
  if (start !== undefined) sel = sel.filter((e) => (desc ? e.sortKey <= start : e.sortKey >= start));
  sel = [...sel].sort((a, b) => (desc ? cmpKey(b.sortKey, a.sortKey) : cmpKey(a.sortKey, b.sortKey)));
  const want = sel.slice(0, limit);
  assert.ok(Array.isArray(page.points), `${what}: points`);
  assert.equal(page.next_page_offset, null, `${what}: next_page_offset is null with order_by`);
  for (const p of page.points) {
    assert.ok(Object.hasOwn(p, 'order_value'), `${what}: record without order_value: ${JSON.stringify(p)}`);
  }
  const got = page.points.map((p) => p.order_value);
  assert.deepEqual(got, want.map((e) => e.value), `${what}: order_values`);
  if (!want.length) return;
  const last = want.at(-1).value;
  const pair = (e) => `${typeof e.id}:${e.id}@${e.value}`;
  const gotPairs = page.points.map((p) => pair({ id: p.id, value: p.order_value }));
  const wantBefore = want.filter((e) => e.value !== last).map(pair).sort();
  assert.deepEqual(gotPairs.filter((_, i) => got[i] !== last).sort(), wantBefore, `${what}: (id, value) pairs before the last value`);
  const tie = new Set(sel.filter((e) => e.value === last).map(pair));
  const gotTie = gotPairs.filter((_, i) => got[i] === last);
  assert.equal(new Set(gotTie).size, gotTie.length, `${what}: a pair appears once`);
  for (const t of gotTie) assert.ok(tie.has(t), `${what}: ${t} is not a pair at the last value ${last}`);
}

// ---- the index API -------------------------------------------------------------------------

/** REST helpers for payload indexes of one server. */
export function indexApi(url) {
  const u = (c, suffix = '') => `${url}/collections/${encodeURIComponent(c)}${suffix}`;
  return {
    createRes: (c, field_name, field_schema, query = 'wait=true') =>
      req('PUT', u(c, `/index${query ? `?${query}` : ''}`), { field_name, field_schema }),
    /** PUT /index?wait=true that must complete; returns the update result. */
    async create(c, field_name, field_schema) {
      const r = expectOk(await req('PUT', u(c, '/index?wait=true'), { field_name, field_schema }));
      assert.deepEqual(Object.keys(r).sort(), ['operation_id', 'status'], JSON.stringify(r));
      assert.equal(r.status, 'completed', JSON.stringify(r));
      return r;
    },
    deleteRes: (c, field, query = 'wait=true') => req('DELETE', u(c, `/index/${encodeURIComponent(field)}${query ? `?${query}` : ''}`)),
    async remove(c, field) {
      const r = expectOk(await req('DELETE', u(c, `/index/${encodeURIComponent(field)}?wait=true`)));
      assert.deepEqual(Object.keys(r).sort(), ['operation_id', 'status'], JSON.stringify(r));
      assert.equal(r.status, 'completed', JSON.stringify(r));
      return r;
    },
    /** GET /collections/{c}: result.payload_schema. */
    async schema(c) {
      return expectOk(await req('GET', u(c))).payload_schema;
    },
    /** Upsert points given in the test model ({id, payload}; Lit numbers kept), vector [1, 0]. */
    async upsert(c, points, { size = 500, query = 'wait=true' } = {}) {
      for (let i = 0; i < points.length; i += size) {
        const body = `{"points":[${points.slice(i, i + size).map((p) => `{"id":${JSON.stringify(p.id)},"vector":[1,0],"payload":${toJson(p.payload)}}`).join(',')}]}`;
        const r = expectOk(await req('PUT', u(c, `/points?${query}`), undefined, { raw: body }));
        assert.equal(r.status, query.includes('wait=true') ? 'completed' : 'acknowledged', JSON.stringify(r));
      }
    },
  };
}

/** The expected payload_schema entry of an index: data_type, params (object form only), points. */
export function schemaEntry(schema, points) {
  if (typeof schema === 'string') return { data_type: schema, points };
  return { data_type: schema.type, params: schema, points };
}
