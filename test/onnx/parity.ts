/** Agreement of two feature arrays: the largest absolute difference and the cosine. */
export function agreement(a: ArrayLike<number>, b: ArrayLike<number>): { maxAbs: number; cosine: number } {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} and ${b.length}`);
  let maxAbs = 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    maxAbs = Math.max(maxAbs, Math.abs(x - y));
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return { maxAbs, cosine: dot / Math.sqrt(na * nb) };
}
