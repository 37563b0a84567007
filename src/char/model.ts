import * as tf from '@tensorflow/tfjs';
import { dense, lstmCell, rnnCell } from '../nn/blocks.js';
import { lstmBias } from '../nn/lstm.js';
import { glorotUniform, matMul } from '../nn/ops.js';
import { tfOps, type Ops } from '../nn/tensor-ops.js';
import { loadWeightsModel, trainable, WeightsModel } from '../nn/weights-model.js';
import { readCharConfig, type CharConfig } from './config.js';
import { gatherRows, lstmLayer, softmaxCrossEntropy } from './cells.js';
import { CharVocab } from './vocab.js';

/**
 * Recurrent state of every layer: h (and c for the LSTM, empty for a vanilla RNN), each [N, H] — tensors
 * here, plain arrays in the JS stepper (CharState, src/char/stepper.ts). A type alias (not an interface)
 * so it fits tf.tidy's TensorContainer.
 */
export type CharLayers<T> = {
  h: T[];
  c: T[];
};

export type CharTensors = CharLayers<tf.Tensor2D>;

export function stateTensors(s: CharTensors): tf.Tensor2D[] {
  return [...s.h, ...s.c];
}

export function disposeState(s: CharTensors): void {
  tf.dispose(stateTensors(s));
}

/** Copies that outlive the current tidy scope. */
export function keepState(s: CharTensors): CharTensors {
  return { h: s.h.map((t) => tf.keep(t)), c: s.c.map((t) => tf.keep(t)) };
}

/** Names of the trainable tensors (also the on-disk keys). */
export function paramNames(config: Pick<CharConfig, 'layers' | 'embedDim'>): string[] {
  const names = config.embedDim > 0 ? ['embed'] : [];
  for (let l = 0; l < config.layers; l++) names.push(`w${l}`, `u${l}`, `b${l}`);
  names.push('wout', 'bout');
  return names;
}

/**
 * One step of the char model for N streams, its inference maths written once (tfjs, and the
 * ONNX export in src/char/onnx.ts): character ids [N] (int32) → log-probabilities of the next [N, V]
 * and every layer's next state. Layer 0 reads embed[id]·W0, or without an embedding one-hot·W0 =
 * W0[id]; an LSTM layer is lstmCell, a vanilla RNN layer h' = tanh(x·W + b + h·U). Training runs the
 * same maths over whole chunks in CharModel.forward, with a hand-written LSTM gradient (cells.ts).
 */
export function charStep<T>(
  o: Ops<T>,
  config: Pick<CharConfig, 'cell' | 'embedDim' | 'hiddenDim' | 'layers'>,
  w: (name: string) => T,
  ids: T,
  state: CharLayers<T>,
): { logProbs: T; state: CharLayers<T> } {
  const next: CharLayers<T> = { h: [], c: [] };
  let below: T | undefined;
  for (let l = 0; l < config.layers; l++) {
    const xw =
      l > 0 ? o.matMul(below!, w(`w${l}`)) : config.embedDim > 0 ? o.matMul(o.gather(w('embed'), ids), w('w0')) : o.gather(w('w0'), ids);
    if (config.cell === 'lstm') {
      const s = lstmCell(o, xw, { h: state.h[l]!, c: state.c[l]! }, w(`u${l}`), w(`b${l}`), config.hiddenDim);
      next.h.push(s.h);
      next.c.push(s.c);
      below = s.h;
    } else {
      below = rnnCell(o, o.add(xw, w(`b${l}`)), state.h[l]!, w(`u${l}`));
      next.h.push(below);
    }
  }
  return { logProbs: o.logSoftmax(dense(o, below!, w('wout'), w('bout'))), state: next };
}

/**
 * Char-level language model: characters → (embedding | one-hot) → 1–3
 * stacked LSTM or vanilla RNN layers → softmax over characters.
 * With one-hot input, x·W0 is row x of W0, so the first projection is a gather.
 * Dropout (training only) applies between layers and before the softmax, as in char-rnn.
 * Sequences are time-major: row t·N + n is stream n at step t.
 */
export class CharModel extends WeightsModel<CharConfig> {
  readonly vocab: CharVocab;
  readonly gates: number;

  constructor(config: CharConfig, params: Record<string, tf.Variable>) {
    super(config, params);
    this.vocab = new CharVocab(config.vocab);
    this.gates = config.cell === 'lstm' ? 4 : 1;
  }

  static init(config: CharConfig, seed: number): CharModel {
    const { embedDim: E, hiddenDim: H, layers } = config;
    const V = config.vocab.length;
    const G = config.cell === 'lstm' ? 4 : 1;
    const params: Record<string, tf.Variable> = {};
    if (E > 0) params.embed = trainable(tf.randomUniform([V, E], -0.1, 0.1, 'float32', seed));
    for (let l = 0; l < layers; l++) {
      const inDim = l === 0 ? (E > 0 ? E : V) : H;
      params[`w${l}`] = trainable(glorotUniform([inDim, G * H], seed + 10 * l + 1));
      params[`u${l}`] = trainable(glorotUniform([H, G * H], seed + 10 * l + 2));
      params[`b${l}`] = trainable(G === 4 ? lstmBias(H) : tf.zeros([H]));
    }
    params.wout = trainable(glorotUniform([H, V], seed + 100));
    params.bout = trainable(tf.zeros([V]));
    return new CharModel(config, params);
  }

  get isLstm(): boolean {
    return this.config.cell === 'lstm';
  }

  zeroState(rows: number): CharTensors {
    const H = this.config.hiddenDim;
    const zeros = () => tf.zeros([rows, H]) as tf.Tensor2D;
    return {
      h: Array.from({ length: this.config.layers }, zeros),
      c: this.isLstm ? Array.from({ length: this.config.layers }, zeros) : [],
    };
  }

  private p(name: string): tf.Tensor2D {
    return this.params[name] as tf.Tensor as tf.Tensor2D;
  }

  /** Input projection of layer 0 for character ids: [rows, G·H]. */
  private inputProjection(ids: tf.Tensor1D): tf.Tensor2D {
    if (this.config.embedDim > 0) return matMul(gatherRows(this.p('embed'), ids), this.p('w0'));
    return gatherRows(this.p('w0'), ids);
  }

  /**
   * Run `steps` time steps for N = ids.length / steps streams from `state`.
   * ids: [steps·N] int32, time-major. Returns logits [steps·N, V] and the final state.
   * With `dropoutSeed` set, dropout is on (training).
   */
  forward(ids: tf.Tensor1D, steps: number, state: CharTensors, dropoutSeed?: number): { logits: tf.Tensor2D; state: CharTensors } {
    const rate = dropoutSeed === undefined ? 0 : this.config.dropout;
    const drop = (x: tf.Tensor2D, s: number): tf.Tensor2D => (rate > 0 ? (tf.dropout(x, rate, undefined, s) as tf.Tensor2D) : x);
    const next: CharTensors = { h: [], c: [] };
    let below: tf.Tensor2D | undefined; // outputs of the layer below, [steps·N, H]
    for (let l = 0; l < this.config.layers; l++) {
      const xw = l === 0 ? this.inputProjection(ids) : matMul(drop(below!, (dropoutSeed ?? 0) + l), this.p(`w${l}`));
      const b = this.params[`b${l}`] as tf.Tensor as tf.Tensor1D;
      const u = this.p(`u${l}`);
      if (this.isLstm) {
        const out = lstmLayer(xw, b, state.h[l]!, state.c[l]!, u);
        next.h.push(out.h);
        next.c.push(out.c);
        below = out.hs;
        continue;
      }
      // The bias joins the whole sequence's projection once, not each step.
      const xwb = tf.add(xw, b) as tf.Tensor2D;
      const xs = steps === 1 ? [xwb] : (tf.split(xwb, steps, 0) as tf.Tensor2D[]);
      let h = state.h[l]!;
      const hs: tf.Tensor2D[] = [];
      for (const x of xs) {
        h = rnnCell(tfOps, x, h, u) as tf.Tensor2D;
        hs.push(h);
      }
      next.h.push(h);
      below = steps === 1 ? hs[0]! : (tf.concat(hs, 0) as tf.Tensor2D);
    }
    const top = drop(below!, (dropoutSeed ?? 0) + 99);
    const logits = tf.add(matMul(top, this.p('wout')), this.params.bout!) as tf.Tensor2D;
    return { logits, state: next };
  }

  /**
   * Mean cross-entropy (nats per character) of `targets` given `inputs`, both [steps·N]
   * int32 time-major, and the final state (for truncated BPTT, the caller keeps it).
   */
  loss(
    inputs: tf.Tensor1D,
    targets: tf.Tensor1D,
    steps: number,
    state: CharTensors,
    dropoutSeed?: number,
  ): { loss: tf.Scalar; state: CharTensors } {
    const out = this.forward(inputs, steps, state, dropoutSeed);
    return { loss: softmaxCrossEntropy(out.logits, targets), state: out.state };
  }

  /** One step for N rows (charStep on tfjs): previous characters → log-probabilities of the next [N, V]. */
  step(state: CharTensors, ids: tf.Tensor1D): { logProbs: tf.Tensor2D; state: CharTensors } {
    return tf.tidy(
      () => charStep(tfOps, this.config, (name) => this.params[name]!, ids, state) as { logProbs: tf.Tensor2D; state: CharTensors },
    );
  }

  static load(dir: string): Promise<CharModel> {
    return loadWeightsModel(dir, readCharConfig, (config) => CharModel.init(config, 0));
  }
}
