// What the search tests compute on their side: float32 rounding, Qdrant's
// scores and raw similarities per metric, and a comparison of hit lists.
import assert from 'node:assert/strict';

export const f32 = Math.fround;
export const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);

/** v scaled to length 1 in float32, as Quiver stores Cosine vectors. */
export function normalize(v) {
  const n = Math.sqrt(dot(v, v));
  return n > 0 ? v.map((x) => f32(x / n)) : v;
}

// Per metric: the score search reports (Cosine on normalized vectors), the
// raw similarity Qdrant's formulas use (larger = closer), and which way
// scores rank.
export const METRICS = {
  Cosine: { score: dot, sim: dot, higher: true },
  Dot: { score: dot, sim: dot, higher: true },
  Euclid: {
    score: (a, b) => Math.sqrt(a.reduce((s, x, i) => s + (x - b[i]) ** 2, 0)),
    sim: (a, b) => -a.reduce((s, x, i) => s + (x - b[i]) ** 2, 0),
    higher: false,
  },
  Manhattan: {
    score: (a, b) => a.reduce((s, x, i) => s + Math.abs(x - b[i]), 0),
    sim: (a, b) => -a.reduce((s, x, i) => s + Math.abs(x - b[i]), 0),
    higher: false,
  },
};

/** The same ids in the same order, scores within float32 error. */
export function sameHits(got, want, what) {
  assert.deepEqual(got.map((h) => h.id), want.map((h) => h.id), what);
  for (let i = 0; i < got.length; i++)
    assert.ok(Math.abs(got[i].score - want[i].score) <= 1e-4 * Math.max(1, Math.abs(want[i].score)),
      `${what}: score of ${got[i].id}: ${got[i].score} vs ${want[i].score}`);
}
