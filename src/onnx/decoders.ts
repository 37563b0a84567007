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
  private readonly added = new Map<string, string>();
  /** Weight `name` as an initializer (added once, however often it is read). */
  w(name: string): string {
    const known = this.added.get(name);
    if (known) return known;
    const wt = this.weights[name];
    if (!wt) throw new Error(`decoder export: no weight "${name}"`);
    const n = this.g.floats(name, wt.values, wt.dims);
    this.added.set(name, n);
    return n;
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
 * c' = σ(f)⊙c + σ(i)⊙tanh(g), h' = σ(o)⊙tanh(c'). Writes h', c' to `out`
 * (reserved names) or, when it is null, to fresh names; returns them. Without h and c the state
 * is zero (z = xw + b: adding h·U = 0 changes no float, so tfjs agrees).
 */
function lstmStep(
  d: DecoderGraph,
  xw: string,
  state: { h: string; c: string } | undefined,
  hidden: number,
  u = 'u',
  b = 'b',
  out: { h: string; c: string } | null = { h: IO.hOut, c: IO.cOut },
): { h: string; c: string } {
  const { g } = d;
  const z = state
    ? g.op('Add', [g.op('Add', [xw, g.op('MatMul', [state.h, d.w(u)])]), d.w(b)], {}, 'z')
    : g.op('Add', [xw, d.w(b)], {}, 'z');
  const sizes = g.ints('gate_sizes', [hidden, hidden, hidden, hidden]);
  const [zi, zf, zo, zg] = g.opMulti('Split', [z, sizes], { axis: 1 }, ['zi', 'zf', 'zo', 'zg']) as [string, string, string, string];
  const ig = g.op('Mul', [g.op('Sigmoid', [zi]), g.op('Tanh', [zg])]);
  const cNew = state
    ? g.op('Add', [g.op('Mul', [g.op('Sigmoid', [zf]), state.c]), ig], {}, 'c', out?.c)
    : g.op('Identity', [ig], {}, 'c', out?.c);
  const hNew = g.op('Mul', [g.op('Sigmoid', [zo]), g.op('Tanh', [cNew])], {}, 'h', out?.h);
  return { h: hNew, c: cNew };
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
  lstmStep(d, d.dense(x, 'w'), { h, c }, H);
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
  lstmStep(d, d.dense(x, 'w'), { h, c }, H);
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
      lstmStep(d, xw, { h, c: g.input(io.c, ['N', H]) }, H, `u${l}`, `b${l}`, { h: io.hOut, c: io.cOut });
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

/** What a VQA model's graph needs (src/vqa/model.ts). */
export interface VqaDecoderWeights {
  arch: 'vis-lstm' | '2vis-blstm' | 'img-bow' | 'blind-lstm';
  featureDim: number;
  embedDim: number;
  hiddenDim: number;
  answers: number;
  /** Question length the graph takes: questions are right-padded with mask 0 up to it. */
  maxWords: number;
  mean?: readonly number[];
  std?: readonly number[];
  weights: Record<string, Weight>;
}

export const VQA_IO = { features: 'features', tokens: 'tokens', mask: 'mask', probs: 'probs' } as const;

/**
 * A whole VQA model, unrolled over maxWords question steps: (features [N, D],
 * tokens [N, T] int32, mask [N, T]) → answer probabilities [N, A]. Padding is
 * exact: a masked step keeps the state (h + 0·(h' − h) = h), as in
 * VqaModel.forward, so padding to T changes no value.
 */
export function vqaGraph(m: VqaDecoderWeights): Uint8Array {
  const d = new DecoderGraph('vqa', m.weights);
  const { g } = d;
  const T = m.maxWords;
  const H = m.hiddenDim;
  g.reserve(VQA_IO.probs);
  const features = g.input(VQA_IO.features, ['N', m.featureDim]);
  const tokens = g.input(VQA_IO.tokens, ['N', T], 'int32');
  const mask = g.input(VQA_IO.mask, ['N', T]);
  const img = () => standardized(d, features, m.mean, m.std);
  const word = (t: number) => {
    const ids = g.op('Gather', [tokens, g.ints(`t${t}`, [t])], { axis: 1 }, `tokens${t}`); // [N, 1]
    const flat = g.op('Squeeze', [ids, g.ints('axis1', [1])], {}, `ids${t}`);
    return g.op('Gather', [d.w('embed'), flat], { axis: 0 }, `word${t}`);
  };
  const maskAt = (t: number) => g.op('Gather', [mask, g.ints(`t${t}`, [t])], { axis: 1 }, `mask${t}`); // [N, 1]
  let logits: string;
  if (m.arch === 'img-bow') {
    // Mean of the word vectors, pads masked out: Σ m_t·e_t / max(Σ m_t, 1).
    let sum = '';
    for (let t = 0; t < T; t++) {
      const term = g.op('Mul', [word(t), maskAt(t)]);
      sum = t === 0 ? term : g.op('Add', [sum, term]);
    }
    const count = g.op('Max', [g.op('ReduceSum', [mask, g.ints('axes1', [1])], { keepdims: 1 }), g.floats('one', Float32Array.of(1), [])]);
    const bow = g.op('Div', [sum, count], {}, 'bow');
    logits = g.op('Add', [g.op('Add', [d.dense(img(), 'wimgOut'), d.dense(bow, 'wbowOut')]), d.w('bout')]);
  } else {
    type Step = { x: string; mask?: string };
    const steps: Step[] = Array.from({ length: T }, (_, t) => ({ x: word(t), mask: maskAt(t) }));
    if (m.arch !== 'blind-lstm') {
      const v = img();
      steps.unshift({ x: d.dense(v, 'wimg', 'bimg') });
      if (m.arch === '2vis-blstm') steps.push({ x: d.dense(v, 'wimg2', 'bimg2') });
    }
    const run = (seq: Step[], [w, u, b]: [string, string, string]) => {
      let state: { h: string; c: string } | undefined;
      for (const s of seq) {
        const next = lstmStep(d, d.dense(s.x, w), state, H, u, b, null);
        // A masked step keeps the state: h + m·(h' − h), as VqaModel.runLstm.
        const keep = (old: string | undefined, nw: string) => {
          if (!s.mask) return nw;
          const base = old ?? g.op('Sub', [nw, nw]);
          return g.op('Add', [base, g.op('Mul', [s.mask, g.op('Sub', [nw, base])])]);
        };
        state = { h: keep(state?.h, next.h), c: keep(state?.c, next.c) };
      }
      return state!.h;
    };
    let h = run(steps, ['w', 'u', 'b']);
    if (m.arch === '2vis-blstm') h = g.op('Concat', [h, run([...steps].reverse(), ['wb', 'ub', 'bb'])], { axis: 1 });
    logits = g.op('Add', [g.op('MatMul', [h, d.w('wout')]), d.w('bout')]);
  }
  g.op('Softmax', [logits], { axis: 1 }, undefined, VQA_IO.probs);
  g.output(VQA_IO.probs, ['N', m.answers]);
  return g.encode();
}
