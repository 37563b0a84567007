import * as tf from '@tensorflow/tfjs';
import { StreamBatcher, type Chunk } from './data.js';
import { disposeState, type CharModel } from './model.js';

export interface LossReport {
  /** Mean cross-entropy, nats per character. */
  nats: number;
  bitsPerChar: number;
  perplexity: number;
  chars: number;
}

export function lossReport(nats: number, chars: number): LossReport {
  return { nats, bitsPerChar: nats / Math.LN2, perplexity: Math.exp(nats), chars };
}

export function chunkTensors(chunk: Chunk): { inputs: tf.Tensor1D; targets: tf.Tensor1D } {
  return { inputs: tf.tensor1d(chunk.inputs, 'int32'), targets: tf.tensor1d(chunk.targets, 'int32') };
}

/**
 * Loss of a model on a text (ids) read as `streams` parallel streams with the
 * state carried from chunk to chunk, so each character is predicted from all
 * the text before it in its stream. Scores every character but the first of
 * each stream (and ≤ streams−1 left over at the end).
 */
export function evaluate(model: CharModel, ids: Int32Array, streams = 32, steps = 100): LossReport {
  const n = Math.min(streams, Math.max(1, Math.floor((ids.length - 1) / 2)));
  const batcher = new StreamBatcher(ids, n, steps);
  let state = model.zeroState(n);
  let sum = 0;
  let count = 0;
  for (let k = 0; k < batcher.count(true); k++) {
    const T = batcher.stepsOf(k);
    const chunk = batcher.chunk(k);
    const out = tf.tidy(() => {
      const { inputs, targets } = chunkTensors(chunk);
      const r = model.loss(inputs, targets, T, state);
      return { loss: r.loss, state: r.state };
    });
    disposeState(state);
    state = out.state;
    sum += out.loss.dataSync()[0]! * T * n;
    count += T * n;
    out.loss.dispose();
  }
  disposeState(state);
  return lossReport(sum / count, count);
}
