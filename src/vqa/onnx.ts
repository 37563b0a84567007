import { OnnxOps, weightsOf } from '../onnx/ops.js';
import type { OrtDevice } from '../onnx/runtime.js';
import { DECODER_THREADS, SyncSession } from '../onnx/sync-session.js';
import { questionBatch, vqaLogits, type VqaModel } from './model.js';

/**
 * A VQA model's serving graph, recorded from its forward pass (vqaLogits) unrolled over
 * maxQuestionWords steps: (features [N, D], tokens [N, T] int32, mask [N, T]) → answer
 * probabilities [N, A]. Padding is exact (a masked step keeps the state), so padding to T
 * changes no value.
 */
export function vqaGraph(model: VqaModel): Uint8Array {
  const c = model.config;
  const T = c.maxQuestionWords;
  const o = new OnnxOps('vqa', weightsOf(model.params));
  const features = o.input('features', ['N', c.featureDim]);
  const tokens = o.input('tokens', ['N', T], 'int32');
  const mask = o.input('mask', ['N', T]);
  const net = { config: c, stats: model.stats, w: (name: string) => o.weight(name) };
  o.output(o.softmax(vqaLogits(o, net, features, tokens, mask, T)), 'probs', ['N', c.answers.length]);
  return o.encode();
}

/** A VQA model on onnxruntime: answer probabilities for encoded questions, as VqaModel.predict. */
export interface OnnxVqa {
  /** features [n, D] row-major; one encoded question per row → probabilities [n, A]. */
  predict(features: Float32Array, questions: readonly (readonly number[])[]): Float32Array;
  dispose(): void;
}

export function onnxVqa(model: VqaModel, device: OrtDevice = 'cpu'): OnnxVqa {
  const session = SyncSession.create(vqaGraph(model), ['probs'], device, DECODER_THREADS);
  const { featureDim: D, maxQuestionWords: T } = model.config;
  return {
    predict(features, questions) {
      const n = questions.length;
      // Right-padded to the graph's length (encodeQuestion keeps at most maxQuestionWords).
      const q = questionBatch(questions.map((ids) => ids.slice(0, T)));
      const tokens = new Int32Array(n * T);
      const mask = new Float32Array(n * T);
      for (let i = 0; i < n; i++) {
        tokens.set(q.tokens.subarray(i * q.steps, (i + 1) * q.steps), i * T);
        mask.set(q.mask.subarray(i * q.steps, (i + 1) * q.steps), i * T);
      }
      return session.run({
        features: { data: features, dims: [n, D] },
        tokens: { data: tokens, dims: [n, T] },
        mask: { data: mask, dims: [n, T] },
      })[0]!;
    },
    dispose: () => session.dispose(),
  };
}
