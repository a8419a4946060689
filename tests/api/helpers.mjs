// Shared helpers for Quiver's API tests: start/stop a real server, send raw
// HTTP requests, check Qdrant's response envelope, and build a JS client.
//
// Readiness is the server's own "listening on http://HOST:PORT" stderr line;
// nothing here sleeps to synchronise.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { after } from 'node:test';
import { QdrantClient } from '@qdrant/js-client-rest';

export const QUIVER_BIN =
  process.env.QUIVER_BIN || new URL('../../build/quiver', import.meta.url).pathname;

const READY_RE = /listening on http:\/\/[^ ]+:(\d+)/;
// Safety nets only (a hung server must not hang CI); never used to wait for
// something to happen. Generous because of AddressSanitizer builds.
const READY_LIMIT_MS = 30_000;
const STOP_LIMIT_MS = 30_000;

const live = new Set(); // running server processes
const tempDirs = new Set(); // storage dirs we created

function killAll() {
  for (const proc of live) {
    try {
      proc.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  live.clear();
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  }
  tempDirs.clear();
}

process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    killAll();
    process.exit(128 + (os.constants.signals[sig] ?? 0));
  });
}

/** A fresh empty directory under os.tmpdir(), removed when the test file exits. */
export function tempDir(prefix = 'quiver-api-') {
  const dir = mkdtempSync(`${os.tmpdir()}/${prefix}`);
  tempDirs.add(dir);
  return dir;
}

/** Environment for the server: ours without QDRANT__* (so a developer's shell
 * cannot change what the tests see), plus `extra`. */
function serverEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('QDRANT__')) env[k] = v;
  }
  return { ...env, ...extra };
}

/**
 * Start `quiver serve`. Options:
 *   storage  storage dir (default: a fresh temp dir)
 *   args     extra arguments after the defaults
 *   env      extra environment variables
 *   bare     when true, pass only `args` (no --host/--port/--storage)
 * Resolves once stderr shows the "listening on" line; rejects (with .stderr and
 * .exitCode on the error) if the process exits first.
 */
export function startServer({ storage, args = [], env = {}, bare = false } = {}) {
  if (!bare && storage === undefined) storage = tempDir();
  const argv = bare
    ? ['serve', ...args]
    : ['serve', '--host', '127.0.0.1', '--port', '0', '--storage', storage, ...args];
  const proc = spawn(QUIVER_BIN, argv, {
    env: serverEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);

  let stderr = '';
  let stdout = '';
  let exited = null; // {code, signal} once exited
  const exitWaiters = [];
  proc.stdout.setEncoding('utf8');
  proc.stderr.setEncoding('utf8');
  proc.stdout.on('data', (d) => (stdout += d));

  // 'close' (not 'exit') so that all of stderr has been read when we report.
  proc.on('close', (code, signal) => {
    live.delete(proc);
    exited = { code, signal };
    for (const w of exitWaiters.splice(0)) w(exited);
  });

  const waitExit = () =>
    exited ? Promise.resolve(exited) : new Promise((resolve) => exitWaiters.push(resolve));

  const ready = new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      proc.kill('SIGKILL');
      reject(new Error(`quiver did not print its listening line within ${READY_LIMIT_MS} ms; stderr:\n${stderr}`));
    }, READY_LIMIT_MS);
    proc.stderr.on('data', (d) => {
      stderr += d;
      if (done) return;
      const m = READY_RE.exec(stderr);
      if (m) {
        done = true;
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.on('error', (e) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(new Error(`cannot start ${QUIVER_BIN}: ${e.message}`));
    });
    waitExit().then(({ code, signal }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const err = new Error(
        `quiver exited (code ${code}, signal ${signal}) before it was ready; stderr:\n${stderr}`,
      );
      err.exitCode = code;
      err.signal = signal;
      err.stderr = stderr;
      reject(err);
    });
  });

  return ready.then((port) => {
    // Don't let an idle server keep the test file's process alive; the exit
    // hook kills whatever is left.
    proc.unref();
    proc.stderr.unref?.();
    proc.stdout.unref?.();

    async function stop(signal = 'SIGTERM') {
      if (!exited) {
        proc.ref();
        proc.stderr.ref?.();
        proc.kill(signal);
        let timer;
        const limit = new Promise((resolve) => {
          timer = setTimeout(resolve, STOP_LIMIT_MS, 'timeout');
        });
        const r = await Promise.race([waitExit(), limit]);
        clearTimeout(timer);
        if (r === 'timeout') {
          proc.kill('SIGKILL');
          await waitExit();
          throw new Error(`quiver did not exit within ${STOP_LIMIT_MS} ms of ${signal}; stderr:\n${stderr}`);
        }
      }
      return exited.code ?? exited.signal;
    }

    const server = {
      url: `http://127.0.0.1:${port}`,
      port,
      storage,
      proc,
      stderr: () => stderr,
      stdout: () => stdout,
      stop,
      kill9: () => stop('SIGKILL'),
    };
    running.add(server);
    return server;
  });
}

// Servers still running when a test file ends are stopped with SIGTERM and
// must exit cleanly: code 0 and no sanitizer report (under `make asan` this is
// where LeakSanitizer speaks).
const running = new Set();
const SANITIZER_RE = /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:/;
after(async () => {
  const failures = [];
  for (const server of running) {
    const wasRunning = live.has(server.proc);
    const code = await server.stop('SIGTERM');
    if (wasRunning && code !== 0) failures.push(`exit ${code}`);
    if (SANITIZER_RE.test(server.stderr())) failures.push(server.stderr());
  }
  running.clear();
  assert.deepEqual(failures, [], 'servers did not stop cleanly');
});

/**
 * Send one HTTP request. `body` is JSON-encoded; `raw` (string or Buffer) is
 * sent as is (both with Content-Type: application/json unless overridden).
 * `fresh: true` sends it on a new TCP connection of its own (node:http, no
 * agent) instead of fetch's keep-alive pool.
 * Returns {status, headers, text, json}; json is set when the response's
 * Content-Type is JSON (and must then parse).
 */
export async function req(method, url, body, { raw, headers = {}, fresh = false } = {}) {
  const hdrs = { ...headers };
  let payload;
  if (raw !== undefined) payload = raw;
  else if (body !== undefined) payload = JSON.stringify(body);
  if (payload !== undefined && !Object.keys(hdrs).some((h) => h.toLowerCase() === 'content-type')) {
    hdrs['content-type'] = 'application/json';
  }
  let status, resHeaders, text;
  if (fresh) {
    ({ status, headers: resHeaders, text } = await freshRequest(method, url, hdrs, payload));
  } else {
    const res = await originalFetch(url, { method, headers: hdrs, body: payload });
    status = res.status;
    resHeaders = res.headers;
    text = await res.text();
  }
  let json;
  const ct = resHeaders.get('content-type') || '';
  if (/^application\/json\b/i.test(ct)) {
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new Error(`${method} ${url}: response says JSON but does not parse (${e.message}): ${text}`);
    }
  }
  return { status, headers: resHeaders, text, json };
}

function freshRequest(method, url, headers, payload) {
  return new Promise((resolve, reject) => {
    const r = http.request(url, { method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          for (const one of [].concat(v)) h.append(k, one);
        }
        resolve({ status: res.statusCode, headers: h, text: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(payload);
  });
}

function checkEnvelopeTime(res, what) {
  assert.equal(typeof res.json.time, 'number', `${what}: "time" must be a number: ${res.text}`);
  assert.ok(Number.isFinite(res.json.time) && res.json.time >= 0, `${what}: bad time: ${res.text}`);
}

/** Assert a success envelope with the given HTTP status; return `result`. */
export function expectOk(res, status = 200) {
  const what = `expected ${status} ok`;
  assert.equal(res.status, status, `${what}, got ${res.status}: ${res.text}`);
  assert.match(res.headers.get('content-type') || '', /^application\/json\b/, `${what}: content-type`);
  assert.ok(res.json && typeof res.json === 'object', `${what}: body is not a JSON object: ${res.text}`);
  assert.deepEqual(Object.keys(res.json).sort(), ['result', 'status', 'time'], `${what}: envelope keys: ${res.text}`);
  assert.equal(res.json.status, 'ok', `${what}: status: ${res.text}`);
  checkEnvelopeTime(res, what);
  return res.json.result;
}

/**
 * Assert an error envelope: HTTP `status` and a message equal to `message`
 * (string) or matching it (RegExp). Returns the message.
 */
export function expectError(res, status, message) {
  const what = `expected error ${status}`;
  assert.equal(res.status, status, `${what}, got ${res.status}: ${res.text}`);
  assert.match(res.headers.get('content-type') || '', /^application\/json\b/, `${what}: content-type (body ${res.text})`);
  assert.ok(res.json && typeof res.json === 'object', `${what}: body is not a JSON object: ${res.text}`);
  assert.deepEqual(Object.keys(res.json).sort(), ['status', 'time'], `${what}: envelope keys: ${res.text}`);
  assert.ok(res.json.status && typeof res.json.status === 'object', `${what}: status object: ${res.text}`);
  assert.deepEqual(Object.keys(res.json.status), ['error'], `${what}: status keys: ${res.text}`);
  const msg = res.json.status.error;
  assert.equal(typeof msg, 'string', `${what}: error message must be a string: ${res.text}`);
  if (message instanceof RegExp) assert.match(msg, message);
  else if (message !== undefined) assert.equal(msg, message);
  else assert.ok(msg.length > 0, `${what}: empty error message`);
  checkEnvelopeTime(res, what);
  return msg;
}

/**
 * Poll collection `name`'s info on the server at `url` until `pred(info)`
 * holds (an observable condition, never a sleep), at most `tries` times;
 * returns that info.
 */
export async function infoUntil(url, name, pred, tries = 5000) {
  for (let i = 0; i < tries; i++) {
    const info = expectOk(await req('GET', `${url}/collections/${name}`));
    if (pred(info)) return info;
    await new Promise((res) => setImmediate(res));
  }
  throw new Error(`collection ${name} never reached the state asked for`);
}

/** The default collection config for {"vectors":{"size":4,"distance":"Cosine"}}. */
export function defaultConfig(vectors = { size: 4, distance: 'Cosine' }) {
  return {
    params: {
      vectors,
      shard_number: 1,
      replication_factor: 1,
      write_consistency_factor: 1,
      on_disk_payload: true,
    },
    hnsw_config: {
      m: 16,
      ef_construct: 100,
      full_scan_threshold: 10000,
      max_indexing_threads: 0,
      on_disk: false,
    },
    optimizer_config: {
      deleted_threshold: 0.2,
      vacuum_min_vector_number: 1000,
      default_segment_number: 0,
      max_segment_size: null,
      memmap_threshold: null,
      indexing_threshold: 10000,
      flush_interval_sec: 5,
      max_optimization_threads: null,
    },
    wal_config: { wal_capacity_mb: 32, wal_segments_ahead: 0, wal_retain_closed: 1 },
    quantization_config: null,
  };
}

export const VEC4 = Object.freeze({ vectors: { size: 4, distance: 'Cosine' } });

// ---- JS client ------------------------------------------------------------

/** Every console.warn call made in this process (joined arguments). */
export const warnings = [];
const originalWarn = console.warn;
console.warn = (...args) => {
  warnings.push(args.map((a) => (a instanceof Error ? a.message : String(a))).join(' '));
  originalWarn.apply(console, args);
};

// The client's background version check (started in its constructor) is a
// fetch whose promise is not exposed. Track every fetch the client makes and
// every response body it reads, so clientIdle() can wait for all of them.
const pending = new Set();
function track(p) {
  pending.add(p);
  const drop = () => pending.delete(p);
  p.then(drop, drop);
  return p;
}
const originalFetch = globalThis.fetch;
function trackingFetch(input, init) {
  return track(
    originalFetch(input, init).then((res) => {
      for (const m of ['text', 'json', 'arrayBuffer']) {
        const orig = res[m];
        res[m] = function (...a) {
          return track(orig.apply(this, a));
        };
      }
      return res;
    }),
  );
}

/** A QdrantClient for the server at `url` (fetches are tracked, see clientIdle). */
export function client(url, options = {}) {
  // Install the tracking fetch for the client's lifetime; req() keeps using
  // the original so it is not affected.
  globalThis.fetch = trackingFetch;
  return new QdrantClient({ url, ...options });
}

/**
 * Resolve once no client fetch or body read is pending and everything that
 * was queued behind them (promise callbacks such as the version check) ran.
 */
export async function clientIdle() {
  for (;;) {
    await new Promise((resolve) => setImmediate(resolve));
    if (pending.size === 0) return;
    await Promise.allSettled([...pending]);
  }
}

export { originalFetch as rawFetch };
