/**
 * Row-major arrays of n rows, as the decoders' search states hold them
 * (plain arrays, so that states move between runtimes and requests freely).
 */

/** Rows of `a` (n rows) picked, and possibly repeated, by index. */
export function pickRows(a: Float32Array, n: number, picked: readonly number[]): Float32Array {
  const w = n === 0 ? 0 : a.length / n;
  const out = new Float32Array(picked.length * w);
  picked.forEach((r, i) => out.set(a.subarray(r * w, (r + 1) * w), i * w));
  return out;
}

/** The rows of several arrays of equal width, one after another. */
export function stackRows(arrays: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(arrays.reduce((len, a) => len + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}
