import type { Ops } from './tensor-ops.js';

/** An LSTM's state: h and c, each [N, H]. */
export interface CellState<T> {
  h: T;
  c: T;
}

/**
 * One LSTM step from the projected input xw = x·W [N, 4H]: z = xw + h·U + b, gates i, f, o, g
 * along the last axis, then c' = σ(f)⊙c + σ(i)⊙tanh(g) and h' = σ(o)⊙tanh(c'). The projection is
 * the caller's so that a whole sequence's runs as one matMul. Without a state it is zero, and the
 * terms it would add (h·U, σ(f)⊙c) are left out: adding zeros changes no float.
 */
export function lstmCell<T>(o: Ops<T>, xw: T, state: CellState<T> | undefined, u: T, b: T, hidden: number): CellState<T> {
  const z = state ? o.add(o.add(xw, o.matMul(state.h, u)), b) : o.add(xw, b);
  const [zi, zf, zo, zg] = o.split(z, [hidden, hidden, hidden, hidden], 1) as [T, T, T, T];
  const input = o.mul(o.sigmoid(zi), o.tanh(zg));
  const c = state ? o.add(o.mul(o.sigmoid(zf), state.c), input) : input;
  return { h: o.mul(o.sigmoid(zo), o.tanh(c)), c };
}

/** One vanilla RNN step (min-char-rnn) from the projected input with its bias, xb = x·W + b: h' = tanh(xb + h·U). */
export function rnnCell<T>(o: Ops<T>, xb: T, h: T, u: T): T {
  return o.tanh(o.add(xb, o.matMul(h, u)));
}

/** x·W + b, or x·W without a bias. */
export function dense<T>(o: Ops<T>, x: T, w: T, b?: T): T {
  const y = o.matMul(x, w);
  return b === undefined ? y : o.add(y, b);
}

/** Per-dimension statistics of a model's image input, when it has them. */
export interface InputStats {
  mean: readonly number[];
  std: readonly number[];
}

/** (x − mean) / std, or x itself without statistics. */
export function standardized<T>(o: Ops<T>, x: T, stats: InputStats | undefined): T {
  if (!stats) return x;
  const dim = stats.mean.length;
  return o.div(o.sub(x, o.constant(stats.mean, [dim])), o.constant(stats.std, [dim]));
}

/** The first state from an image vector x [N, D]: h0 = tanh(x·W + b), c0 = 0. */
export function imageState<T>(o: Ops<T>, x: T, w: T, b: T): CellState<T> {
  const h = o.tanh(dense(o, x, w, b));
  return { h, c: o.zerosLike(h) };
}
