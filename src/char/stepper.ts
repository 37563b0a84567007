import * as tf from '@tensorflow/tfjs';
import type { StepModel } from '../search/index.js';
import { sigmoid, tanh } from './cells.js';
import type { CharLayers, CharModel } from './model.js';

/** One-character-at-a-time inference for a single stream, on either runtime (onnxruntime's: src/char/onnx.ts). */
export interface CharStep {
  readonly vocabSize: number;
  initialState(): CharState;
  /** Feed character `id`; returns log-probabilities of the next character and the new state (the old one is unchanged). */
  step(state: CharState, id: number): { logProbs: Float32Array; state: CharState };
  dispose(): void;
}

/**
 * One-character-at-a-time inference for a single stream, for sampling.
 * Running the model's tensor forward with T = N = 1 costs ~30 small kernels a
 * character; here each layer is one matrix-vector product on the backend
 * ([h_below; h]·[W; U], a weight copy stacked once) and the gate arithmetic
 * is plain JS on the state, which lives in Float32Arrays. Layer 0's input
 * projection is a row lookup: one-hot·W0 = W0[id], embedding·W0 precomputed
 * per character. Same numbers as CharModel.forward without dropout.
 * The state is passed in and a new one returned (never changed in place), so
 * a state can be kept, shared between rows or forked, as the searches need.
 */
export class CharStepper implements CharStep {
  readonly vocabSize: number;
  private readonly hidden: number;
  private readonly gates: number;
  private readonly lstm: boolean;
  /** Layer 0 input projection per character, [V, G·H]. */
  private readonly inputTable: Float32Array;
  private readonly biases: Float32Array[];
  /** Layer 0: U0 [H, G·H]; layer l > 0: [W_l; U_l] [2H, G·H]. */
  private readonly recurrent: tf.Tensor2D[];
  private readonly wout: tf.Tensor2D;
  private readonly bout: Float32Array;

  constructor(model: CharModel) {
    const { hiddenDim: H, layers, embedDim } = model.config;
    const p = model.params;
    this.vocabSize = model.vocab.size;
    this.hidden = H;
    this.lstm = model.isLstm;
    this.gates = model.gates;
    this.inputTable =
      embedDim > 0
        ? (tf.tidy(() => tf.matMul(p.embed!, p.w0!)).dataSync() as Float32Array)
        : Float32Array.from(p.w0!.dataSync() as Float32Array);
    this.biases = Array.from({ length: layers }, (_, l) => Float32Array.from(p[`b${l}`]!.dataSync() as Float32Array));
    this.recurrent = Array.from({ length: layers }, (_, l) =>
      l === 0 ? (tf.clone(p.u0!) as tf.Tensor2D) : (tf.concat([p[`w${l}`]!, p[`u${l}`]!], 0) as tf.Tensor2D),
    );
    this.wout = tf.clone(p.wout!) as tf.Tensor2D;
    this.bout = Float32Array.from(p.bout!.dataSync() as Float32Array);
  }

  /** All zeros, as CharModel.zeroState. */
  initialState(): CharState {
    const { hidden: H, lstm } = this;
    const layers = this.recurrent.length;
    return {
      h: Array.from({ length: layers }, () => new Float32Array(H)),
      c: Array.from({ length: layers }, () => new Float32Array(lstm ? H : 0)),
    };
  }

  private matVec(x: Float32Array, w: tf.Tensor2D): Float32Array {
    const xt = tf.tensor2d(x, [1, x.length]);
    const y = tf.matMul(xt, w);
    const out = y.dataSync() as Float32Array;
    tf.dispose([xt, y]);
    return out;
  }

  /** Feed character `id`; returns log-probabilities of the next character and the new state. */
  step(state: CharState, id: number): { logProbs: Float32Array; state: CharState } {
    if (!(id >= 0 && id < this.vocabSize)) throw new RangeError(`character id ${id} outside [0, ${this.vocabSize})`);
    const H = this.hidden;
    const G = this.gates * H;
    const next: CharState = { h: [], c: [] };
    for (let l = 0; l < this.recurrent.length; l++) {
      const hPrev = state.h[l]!;
      const h = new Float32Array(H);
      let z: Float32Array;
      if (l === 0) {
        z = this.matVec(hPrev, this.recurrent[0]!);
        const row = id * G;
        for (let k = 0; k < G; k++) z[k]! += this.inputTable[row + k]!;
      } else {
        const x = new Float32Array(2 * H);
        x.set(next.h[l - 1]!, 0); // the layer below, this step
        x.set(hPrev, H);
        z = this.matVec(x, this.recurrent[l]!);
      }
      const b = this.biases[l]!;
      if (this.lstm) {
        const cPrev = state.c[l]!;
        const c = new Float32Array(H);
        for (let j = 0; j < H; j++) {
          const i = sigmoid(z[j]! + b[j]!);
          const f = sigmoid(z[H + j]! + b[H + j]!);
          const o = sigmoid(z[2 * H + j]! + b[2 * H + j]!);
          const g = tanh(z[3 * H + j]! + b[3 * H + j]!);
          const cj = f * cPrev[j]! + i * g;
          c[j] = cj;
          h[j] = o * tanh(cj);
        }
        next.c.push(c);
      } else {
        // Math.tanh, not the table tanh of the LSTM gates: rnnCell uses tf.tanh, so the two paths agree to float precision.
        for (let j = 0; j < H; j++) h[j] = Math.tanh(z[j]! + b[j]!);
        next.c.push(new Float32Array(0));
      }
      next.h.push(h);
    }
    const logits = this.matVec(next.h[next.h.length - 1]!, this.wout);
    let max = -Infinity;
    for (let k = 0; k < logits.length; k++) max = Math.max(max, (logits[k]! += this.bout[k]!));
    let sum = 0;
    for (let k = 0; k < logits.length; k++) sum += Math.exp(logits[k]! - max);
    const lse = max + Math.log(sum);
    for (let k = 0; k < logits.length; k++) logits[k]! -= lse;
    return { logProbs: logits, state: next };
  }

  dispose(): void {
    tf.dispose([...this.recurrent, this.wout]);
  }
}

/** One stream's recurrent state: per layer h, and c (empty for a vanilla RNN), as [H] arrays. */
export type CharState = CharLayers<Float32Array>;

/**
 * The stepper as the searches' StepModel: one CharState per row. States are
 * plain arrays that are never changed, so gather shares them and dispose has
 * nothing to free (the weights belong to the stepper).
 */
export function charStepModel(stepper: CharStep): StepModel<CharState[]> {
  return {
    vocabSize: stepper.vocabSize,
    step(rows, tokens) {
      const V = stepper.vocabSize;
      const logProbs = new Float32Array(rows.length * V);
      const state = rows.map((row, r) => {
        const out = stepper.step(row, tokens[r]!);
        logProbs.set(out.logProbs, r * V);
        return out.state;
      });
      return { logProbs, state };
    },
    gather: (rows, picked) => picked.map((r) => rows[r]!),
    dispose: () => {},
  };
}
