import * as tf from '@tensorflow/tfjs';
import { sigmoid, tanh } from './cells.js';
import type { CharModel } from './model.js';

/**
 * One-character-at-a-time inference for a single stream, for sampling.
 * Running the model's tensor forward with T = N = 1 costs ~30 small kernels a
 * character; here each layer is one matrix-vector product on the backend
 * ([h_below; h]·[W; U], a weight copy stacked once) and the gate arithmetic
 * is plain JS on the state, which lives in Float32Arrays. Layer 0's input
 * projection is a row lookup: one-hot·W0 = W0[id], embedding·W0 precomputed
 * per character. Same numbers as CharModel.forward without dropout.
 */
export class CharStepper {
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
  readonly h: Float32Array[];
  readonly c: Float32Array[];

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
    this.h = Array.from({ length: layers }, () => new Float32Array(H));
    this.c = Array.from({ length: layers }, () => new Float32Array(this.lstm ? H : 0));
  }

  private matVec(x: Float32Array, w: tf.Tensor2D): Float32Array {
    const xt = tf.tensor2d(x, [1, x.length]);
    const y = tf.matMul(xt, w);
    const out = y.dataSync() as Float32Array;
    tf.dispose([xt, y]);
    return out;
  }

  /** Feed character `id`; returns log-probabilities of the next character. */
  step(id: number): Float32Array {
    if (!(id >= 0 && id < this.vocabSize)) throw new RangeError(`character id ${id} outside [0, ${this.vocabSize})`);
    const H = this.hidden;
    const G = this.gates * H;
    for (let l = 0; l < this.recurrent.length; l++) {
      const h = this.h[l]!;
      let z: Float32Array;
      if (l === 0) {
        z = this.matVec(h, this.recurrent[0]!);
        const row = id * G;
        for (let k = 0; k < G; k++) z[k]! += this.inputTable[row + k]!;
      } else {
        const x = new Float32Array(2 * H);
        x.set(this.h[l - 1]!, 0);
        x.set(h, H);
        z = this.matVec(x, this.recurrent[l]!);
      }
      const b = this.biases[l]!;
      if (this.lstm) {
        const c = this.c[l]!;
        for (let j = 0; j < H; j++) {
          const i = sigmoid(z[j]! + b[j]!);
          const f = sigmoid(z[H + j]! + b[H + j]!);
          const o = sigmoid(z[2 * H + j]! + b[2 * H + j]!);
          const g = tanh(z[3 * H + j]! + b[3 * H + j]!);
          const cj = f * c[j]! + i * g;
          c[j] = cj;
          h[j] = o * tanh(cj);
        }
      } else {
        // tf.tanh here, like rnnCell, so the two paths agree to float precision.
        for (let j = 0; j < H; j++) h[j] = Math.tanh(z[j]! + b[j]!);
      }
    }
    const logits = this.matVec(this.h[this.h.length - 1]!, this.wout);
    let max = -Infinity;
    for (let k = 0; k < logits.length; k++) max = Math.max(max, (logits[k]! += this.bout[k]!));
    let sum = 0;
    for (let k = 0; k < logits.length; k++) sum += Math.exp(logits[k]! - max);
    const lse = max + Math.log(sum);
    for (let k = 0; k < logits.length; k++) logits[k]! -= lse;
    return logits;
  }

  dispose(): void {
    tf.dispose([...this.recurrent, this.wout]);
  }
}
