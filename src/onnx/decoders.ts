import type * as tf from '@tensorflow/tfjs';
import { GraphBuilder } from './graph.js';

/**
 * ONNX graphs of the decoders, built straight from their weights (already in
 * memory when a model loads, so an export takes milliseconds and nothing more
 * is shipped or can go stale). Each graph has a dynamic batch dimension "N":
 * beam search runs its beam as one batch. The LSTM step is written out as
 * MatMul/Add/Split/Sigmoid/Tanh/Mul, gates i, f, o, g as in src/nn/lstm.ts.
 */

/** A weight as the graph reads it: values and dims. */
export interface Weight {
  values: Float32Array;
  dims: number[];
}

/** A tfjs weight copied out (dataSync: the weights are in memory; export runs once at load). */
export function weightOf(t: tf.Tensor): Weight {
  return { values: Float32Array.from(t.dataSync() as Float32Array), dims: [...t.shape] };
}

/** Graph tensor names shared by the decoders' graphs. */
export const IO = {
  ids: 'ids',
  h: 'h',
  c: 'c',
  hOut: 'h_out',
  cOut: 'c_out',
  logProbs: 'logprobs',
} as const;

/** The builder plus weights added as initializers by name. */
class DecoderGraph {
  readonly g: GraphBuilder;
  constructor(
    name: string,
    private readonly weights: Record<string, Weight>,
  ) {
    this.g = new GraphBuilder(name);
    for (const out of [IO.hOut, IO.cOut, IO.logProbs]) this.g.reserve(out);
  }
  w(name: string): string {
    const wt = this.weights[name];
    if (!wt) throw new Error(`decoder export: no weight "${name}"`);
    return this.g.floats(name, wt.values, wt.dims);
  }
  /** x·W + b (b optional). */
  dense(x: string, w: string, b?: string, out?: string): string {
    const y = this.g.op('MatMul', [x, this.w(w)], {}, out ?? `${w}_mm`);
    return b ? this.g.op('Add', [y, this.w(b)], {}, out ?? `${w}_add`) : y;
  }
}

/** (x - mean) / std when the model has statistics, as standardize() in src/nn/feature-norm.ts. */
function standardized(d: DecoderGraph, x: string, mean?: readonly number[], std?: readonly number[]): string {
  if (!mean || !std) return x;
  const m = d.g.floats('mean', Float32Array.from(mean), [mean.length]);
  const s = d.g.floats('std', Float32Array.from(std), [std.length]);
  return d.g.op('Div', [d.g.op('Sub', [x, m]), s], {}, 'standardized');
}

/**
 * One LSTM step from the projected input xw [N, 4H]: z = xw + h·U + b, then
 * c' = σ(f)⊙c + σ(i)⊙tanh(g), h' = σ(o)⊙tanh(c'). Writes h_out and c_out.
 */
function lstmStep(
  d: DecoderGraph,
  xw: string,
  h: string,
  c: string,
  hidden: number,
  u = 'u',
  b = 'b',
  out: { h: string; c: string } = { h: IO.hOut, c: IO.cOut },
): void {
  const { g } = d;
  const z = g.op('Add', [g.op('Add', [xw, g.op('MatMul', [h, d.w(u)])]), d.w(b)], {}, 'z');
  const sizes = g.ints('gate_sizes', [hidden, hidden, hidden, hidden]);
  const [zi, zf, zo, zg] = g.opMulti('Split', [z, sizes], ['zi', 'zf', 'zo', 'zg'], { axis: 1 }) as [string, string, string, string];
  const cNew = g.op(
    'Add',
    [g.op('Mul', [g.op('Sigmoid', [zf]), c]), g.op('Mul', [g.op('Sigmoid', [zi]), g.op('Tanh', [zg])])],
    {},
    undefined,
    out.c,
  );
  g.op('Mul', [g.op('Sigmoid', [zo]), g.op('Tanh', [cNew])], {}, undefined, out.h);
}

/** What the plain caption decoder's graphs need (src/caption/model.ts). */
export interface PlainDecoderWeights {
  featureDim: number;
  hiddenDim: number;
  vocabSize: number;
  /** Standardisation statistics of the image input, when the model has them. */
  mean?: readonly number[];
  std?: readonly number[];
  weights: Record<string, Weight>;
}

/** v [N, D] → h [N, H] = tanh(std(v)·Wih + bih) (c0 is zeros, made by the caller). */
export function imageStateGraph(m: PlainDecoderWeights | GroundedDecoderWeights, input: string, dim: number): Uint8Array {
  const d = new DecoderGraph('image_state', m.weights);
  const x = standardized(d, d.g.input(input, ['N', dim]), m.mean, m.std);
  const h = d.g.op('Tanh', [d.dense(x, 'wih', 'bih')], {}, undefined, IO.h);
  d.g.output(h, ['N', m.hiddenDim]);
  return d.g.encode();
}

/** (ids [N] int32, h, c [N, H]) → log-probabilities [N, V], h_out, c_out. */
export function captionStepGraph(m: PlainDecoderWeights): Uint8Array {
  const d = new DecoderGraph('caption_step', m.weights);
  const { g } = d;
  const H = m.hiddenDim;
  const ids = intInput(g, IO.ids);
  const h = g.input(IO.h, ['N', H]);
  const c = g.input(IO.c, ['N', H]);
  const x = g.op('Gather', [d.w('embed'), ids], { axis: 0 }, 'embedded');
  lstmStep(d, d.dense(x, 'w'), h, c, H);
  logSoftmaxHead(d, m.vocabSize);
  g.output(IO.hOut, ['N', H]);
  g.output(IO.cOut, ['N', H]);
  return g.encode();
}

function intInput(g: GraphBuilder, name: string): string {
  return g.input(name, ['N'], 'int32');
}

/** log-softmax(h·Wout + bout) as the graph output "logprobs". */
function logSoftmaxHead(d: DecoderGraph, vocab: number, h: string = IO.hOut): void {
  const logits = d.dense(h, 'wout', 'bout', 'logits');
  d.g.op('LogSoftmax', [logits], { axis: 1 }, undefined, IO.logProbs);
  d.g.output(IO.logProbs, ['N', vocab]);
}

/** What the grounded decoder's graphs need (src/caption/grounded/model.ts). */
export interface GroundedDecoderWeights {
  inputDim: number;
  hiddenDim: number;
  attendDim: number;
  entryFeatures: number;
  vocabSize: number;
  mean?: readonly number[];
  std?: readonly number[];
  weights: Record<string, Weight>;
}

export const GROUNDED_IO = {
  inputs: 'inputs',
  entries: 'entries',
  projected: 'projected',
  slot: 'slot',
  pointer: 'pointer',
  fine: 'fine',
} as const;

/** entries [N, K·F] → projected [N, K, A] = entries·We, per entry (the pointer's keys, once per image). */
export function groundedEntriesGraph(m: GroundedDecoderWeights): Uint8Array {
  const d = new DecoderGraph('grounded_entries', m.weights);
  const { g } = d;
  const e = g.input(GROUNDED_IO.entries, ['N', 'KF']);
  const e3 = g.op('Reshape', [e, g.ints('entry_shape', [0, -1, m.entryFeatures])], {}, 'entries3');
  g.op('MatMul', [e3, d.w('we')], {}, undefined, reserveName(g, GROUNDED_IO.projected));
  g.output(GROUNDED_IO.projected, ['N', 'K', m.attendDim]);
  return g.encode();
}

function reserveName(g: GraphBuilder, name: string): string {
  g.reserve(name);
  return name;
}

/**
 * One grounded step: (ids [N] int32, slot [N, F] the filled slot's entry
 * descriptor or zeros, h, c [N, H], projected [N, K, A]) → word/slot
 * log-probabilities [N, V], pointer scores [N, K] (unmasked), h_out, c_out.
 */
export function groundedStepGraph(m: GroundedDecoderWeights): Uint8Array {
  const d = new DecoderGraph('grounded_step', m.weights);
  const { g } = d;
  const H = m.hiddenDim;
  const ids = intInput(g, IO.ids);
  const slot = g.input(GROUNDED_IO.slot, ['N', m.entryFeatures]);
  const h = g.input(IO.h, ['N', H]);
  const c = g.input(IO.c, ['N', H]);
  const projected = g.input(GROUNDED_IO.projected, ['N', 'K', m.attendDim]);
  const x = g.op('Add', [g.op('Gather', [d.w('embed'), ids], { axis: 0 }, 'embedded'), d.dense(slot, 'wd')], {}, 'x');
  lstmStep(d, d.dense(x, 'w'), h, c, H);
  logSoftmaxHead(d, m.vocabSize);
  // Pointer: wp · tanh(projected + h·Wh), per entry.
  const q = g.op('Unsqueeze', [d.dense(IO.hOut, 'wh'), g.ints('axis1', [1])], {}, 'query');
  const act = g.op('Tanh', [g.op('Add', [projected, q])], {}, 'attention');
  const scores = g.op('MatMul', [act, d.w('wp')], {}, 'scores');
  g.op('Squeeze', [scores, g.ints('axis2', [2])], {}, undefined, reserveName(g, GROUNDED_IO.pointer));
  g.output(GROUNDED_IO.pointer, ['N', 'K']);
  g.output(IO.hOut, ['N', H]);
  g.output(IO.cOut, ['N', H]);
  return g.encode();
}

/** h [N, H] → fine-word logits [N, V] = h·Wfine + bfine. */
export function groundedFineGraph(m: GroundedDecoderWeights): Uint8Array {
  const d = new DecoderGraph('grounded_fine', m.weights);
  const { g } = d;
  const h = g.input(IO.h, ['N', m.hiddenDim]);
  d.g.op('Add', [g.op('MatMul', [h, d.w('wfine')]), d.w('bfine')], {}, undefined, reserveName(g, GROUNDED_IO.fine));
  g.output(GROUNDED_IO.fine, ['N', m.vocabSize]);
  return g.encode();
}

/** What the char model's step graph needs (src/char/model.ts). */
export interface CharDecoderWeights {
  layers: number;
  hiddenDim: number;
  vocabSize: number;
  lstm: boolean;
  /** With an embedding, layer 0 reads embed[id]·W0; without, one-hot·W0 = W0[id]. */
  embedded: boolean;
  weights: Record<string, Weight>;
}

/** Names of layer l's state inputs and outputs in the char step graph. */
export const charIO = (l: number) => ({ h: `h${l}`, c: `c${l}`, hOut: `h${l}_out`, cOut: `c${l}_out` });

/**
 * One char step over stacked layers: (ids [N] int32, h_l, c_l [N, H] per
 * layer) → log-probabilities [N, V], h_l_out, c_l_out. A vanilla RNN layer is
 * h' = tanh(x·W + h·U + b) and has no c.
 */
export function charStepGraph(m: CharDecoderWeights): Uint8Array {
  const d = new DecoderGraph('char_step', m.weights);
  const { g } = d;
  const H = m.hiddenDim;
  for (let l = 0; l < m.layers; l++) {
    g.reserve(charIO(l).hOut);
    if (m.lstm) g.reserve(charIO(l).cOut);
  }
  const ids = intInput(g, IO.ids);
  let below = m.embedded ? g.op('Gather', [d.w('embed'), ids], { axis: 0 }, 'embedded') : '';
  for (let l = 0; l < m.layers; l++) {
    const io = charIO(l);
    const h = g.input(io.h, ['N', H]);
    const xw = l === 0 && !m.embedded ? g.op('Gather', [d.w('w0'), ids], { axis: 0 }, 'xw0') : d.dense(below, `w${l}`);
    if (m.lstm) {
      lstmStep(d, xw, h, g.input(io.c, ['N', H]), H, `u${l}`, `b${l}`, { h: io.hOut, c: io.cOut });
      g.output(io.cOut, ['N', H]);
    } else {
      const z = g.op('Add', [g.op('Add', [xw, g.op('MatMul', [h, d.w(`u${l}`)])]), d.w(`b${l}`)]);
      g.op('Tanh', [z], {}, undefined, io.hOut);
    }
    g.output(io.hOut, ['N', H]);
    below = io.hOut;
  }
  logSoftmaxHead(d, m.vocabSize, below);
  return g.encode();
}
