/**
 * Text splits and truncated-BPTT batching for char-level training.
 */

export interface TextSplits {
  train: string;
  val: string;
  test: string;
}

/**
 * Split a text by position (no shuffling: neighbouring characters stay
 * together): the first `fractions[0]` for training, the next for validation,
 * the rest for test. Boundaries are counted in code points.
 */
export function splitText(text: string, fractions: [number, number, number] = [0.9, 0.05, 0.05]): TextSplits {
  const total = fractions.reduce((a, b) => a + b, 0);
  if (fractions.some((f) => f < 0) || Math.abs(total - 1) > 1e-9)
    throw new Error(`split fractions must be ≥ 0 and sum to 1; got ${fractions.join('/')}`);
  const chars = [...text];
  const n = chars.length;
  const a = Math.round(n * fractions[0]);
  const b = Math.round(n * (fractions[0] + fractions[1]));
  return { train: chars.slice(0, a).join(''), val: chars.slice(a, b).join(''), test: chars.slice(b).join('') };
}

export interface Chunk {
  /** [steps·streams] ids, time-major: row t·streams + s is stream s at step t. */
  inputs: Int32Array;
  /** The next character of each input, same layout. */
  targets: Int32Array;
}

/**
 * A character stream cut into `streams` contiguous parallel streams (as
 * char-rnn and the PTB LSTM do): stream s reads positions s·L … s·L+L−1,
 * L = ⌊(n−1)/streams⌋, and chunk k holds steps k·steps … k·steps+steps−1 of
 * every stream. Consecutive chunks continue each stream, so a hidden state
 * carried from chunk k to chunk k+1 is the state of the same text.
 */
export class StreamBatcher {
  readonly streamLength: number;
  readonly chunks: number;

  constructor(
    readonly ids: Int32Array,
    readonly streams: number,
    readonly steps: number,
  ) {
    if (streams < 1 || steps < 1) throw new Error('streams and steps must be ≥ 1');
    this.streamLength = Math.floor((ids.length - 1) / streams);
    this.chunks = Math.floor(this.streamLength / steps);
    if (this.streamLength < 1) {
      throw new Error(`text of ${ids.length} characters is too short for ${streams} streams (needs at least ${streams + 1})`);
    }
  }

  /** Characters (predictions) per full chunk. */
  get chunkSize(): number {
    return this.streams * this.steps;
  }

  /** Steps left after the full chunks (0 … steps−1): a shorter last chunk, for evaluation. */
  get tailSteps(): number {
    return this.streamLength - this.chunks * this.steps;
  }

  /** Full chunks, plus the shorter tail chunk when `withTail` and there is one. */
  count(withTail = false): number {
    return this.chunks + (withTail && this.tailSteps > 0 ? 1 : 0);
  }

  /** Steps in chunk k (only the tail chunk, k = chunks, is shorter). */
  stepsOf(k: number): number {
    return k < this.chunks ? this.steps : this.tailSteps;
  }

  chunk(k: number): Chunk {
    if (k < 0 || k >= this.count(true)) throw new RangeError(`chunk ${k} of ${this.count(true)}`);
    const { streams: S, streamLength: L, ids } = this;
    const T = this.stepsOf(k);
    const inputs = new Int32Array(S * T);
    const targets = new Int32Array(S * T);
    for (let t = 0; t < T; t++) {
      for (let s = 0; s < S; s++) {
        const pos = s * L + k * this.steps + t;
        inputs[t * S + s] = ids[pos]!;
        targets[t * S + s] = ids[pos + 1]!;
      }
    }
    return { inputs, targets };
  }
}
