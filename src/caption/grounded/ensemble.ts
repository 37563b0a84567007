import type { GroundedNet, GroundedRows } from './step-model.js';

/** One member of an ensemble: its net and the widths of its rows (hidden units; entries × attention units). */
export interface EnsembleMember {
  net: GroundedNet;
  hidden: number;
  projected: number;
}

/** Row-major [n, Σ widths] → one [n, width_i] array per part. */
function splitRows(data: Float32Array, n: number, widths: readonly number[]): Float32Array[] {
  const total = widths.reduce((a, b) => a + b, 0);
  let offset = 0;
  return widths.map((w) => {
    const part = new Float32Array(n * w);
    for (let r = 0; r < n; r++) part.set(data.subarray(r * total + offset, r * total + offset + w), r * w);
    offset += w;
    return part;
  });
}

/** The inverse of splitRows. */
function joinRows(parts: readonly Float32Array[], n: number, widths: readonly number[]): Float32Array {
  const total = widths.reduce((a, b) => a + b, 0);
  const out = new Float32Array(n * total);
  let offset = 0;
  parts.forEach((part, i) => {
    const w = widths[i]!;
    for (let r = 0; r < n; r++) out.set(part.subarray(r * w, (r + 1) * w), r * total + offset);
    offset += w;
  });
  return out;
}

/** Element-wise mean of equal-length arrays. */
function mean(arrays: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(arrays[0]!.length);
  for (const a of arrays) for (let i = 0; i < out.length; i++) out[i]! += a[i]! / arrays.length;
  return out;
}

/** log of the mean of the members' probabilities, per entry (the members' log-probabilities, equal lengths). */
function logMeanExp(arrays: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(arrays[0]!.length);
  const logM = Math.log(arrays.length);
  for (let i = 0; i < out.length; i++) {
    let max = -Infinity;
    for (const a of arrays) max = Math.max(max, a[i]!);
    if (max === -Infinity) {
      out[i] = -Infinity;
      continue;
    }
    let sum = 0;
    for (const a of arrays) sum += Math.exp(a[i]! - max);
    out[i] = max + Math.log(sum) - logM;
  }
  return out;
}

/**
 * Several grounded decoders of one vocabulary and entry layout as one GroundedNet: each row holds
 * every member's LSTM state side by side; a step averages the members' word probabilities, and
 * their pointer scores and fine-word logits (the mean of the scores is a product of experts, which
 * keeps the pointer's softmax and the fine head's arg-max as they are computed for one model).
 */
export function ensembleGroundedNet(members: readonly EnsembleMember[]): GroundedNet {
  if (members.length === 0) throw new Error('an ensemble needs at least one member');
  const runtime = members[0]!.net.runtime;
  const hidden = members.map((m) => m.hidden);
  const projected = members.map((m) => m.projected);
  const split = (rows: GroundedRows): GroundedRows[] => {
    const { n } = rows;
    const [h, c, p] = [splitRows(rows.h, n, hidden), splitRows(rows.c, n, hidden), splitRows(rows.projected, n, projected)];
    return members.map((_, i) => ({ n, h: h[i]!, c: c[i]!, projected: p[i]! }));
  };
  const join = (parts: readonly GroundedRows[], n: number): GroundedRows => ({
    n,
    h: joinRows(
      parts.map((r) => r.h),
      n,
      hidden,
    ),
    c: joinRows(
      parts.map((r) => r.c),
      n,
      hidden,
    ),
    projected: joinRows(
      parts.map((r) => r.projected),
      n,
      projected,
    ),
  });
  return {
    runtime,
    initial: (inputs, entries, n) =>
      join(
        members.map((m) => m.net.initial(inputs, entries, n)),
        n,
      ),
    step(rows, ids, slotInputs) {
      const outs = split(rows).map((r, i) => members[i]!.net.step(r, ids, slotInputs));
      return {
        logProbs: logMeanExp(outs.map((o) => o.logProbs)),
        pointer: mean(outs.map((o) => o.pointer)),
        rows: join(
          outs.map((o) => o.rows),
          rows.n,
        ),
      };
    },
    fine(h, n) {
      const parts = splitRows(h, n, hidden);
      return mean(members.map((m, i) => m.net.fine(parts[i]!, n)));
    },
    dispose: () => members.forEach((m) => m.net.dispose()),
  };
}
