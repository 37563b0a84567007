import * as tf from '@tensorflow/tfjs';
import type { LstmState } from '../nn/lstm.js';
import type { StackableStepModel } from '../search/index.js';
import type { CaptionModel } from './model.js';

/** Adapts the tensor decoder to the search algorithms' StepModel. */
export function captionStepModel(model: CaptionModel): StackableStepModel<LstmState> {
  return {
    vocabSize: model.vocab.size,
    step(state, tokens) {
      const ids = tf.tensor1d(Int32Array.from(tokens), 'int32');
      const out = model.step(state, ids);
      ids.dispose();
      const logProbs = out.logProbs.dataSync() as Float32Array;
      out.logProbs.dispose();
      return { logProbs, state: out.state };
    },
    gather(state, rows) {
      return tf.tidy(() => {
        const idx = tf.tensor1d(Int32Array.from(rows), 'int32');
        return { h: tf.gather(state.h, idx), c: tf.gather(state.c, idx) };
      });
    },
    stack(states) {
      return tf.tidy(() => ({ h: tf.concat(states.map((s) => s.h)), c: tf.concat(states.map((s) => s.c)) }));
    },
    dispose(state) {
      tf.dispose([state.h, state.c]);
    },
  };
}
