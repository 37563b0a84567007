import { OnnxOps, weightsOf } from '../../onnx/ops.js';
import type { OrtDevice } from '../../onnx/runtime.js';
import { DECODER_THREADS, SyncSession } from '../../onnx/sync-session.js';
import { questionBatch } from '../model.js';
import type { RegionVqaHostInputs } from './data.js';
import { COUNT_DIM, SIDE_DIM } from './inputs.js';
import { regionVqaForward, type RegionVqaModel, type RegionVqaWeightName } from './model.js';

/**
 * The region VQA model's serving graph, recorded from its forward pass (regionVqaForward) with the
 * question unrolled over maxQuestionWords steps (padding is exact: a masked step keeps the state):
 * (regions [N, K, R], regionMask, pointMask [N, K], side [N, K, S], tokens [N, T] int32, mask [N, T],
 * count [N, C]) → probs [N, Ans + K] (softmax over answers and pointer), alpha [N, K].
 */
export function regionVqaGraph(model: RegionVqaModel): Uint8Array {
  const c = model.config;
  const T = c.maxQuestionWords;
  const o = new OnnxOps('vqa_region', weightsOf(model.params));
  const x = {
    regions: o.input('regions', ['N', 'K', c.featureDim]),
    regionMask: o.input('regionMask', ['N', 'K']),
    pointMask: o.input('pointMask', ['N', 'K']),
    side: o.input('side', ['N', 'K', SIDE_DIM]),
    tokens: o.input('tokens', ['N', T], 'int32'),
    mask: o.input('mask', ['N', T]),
    count: o.input('count', ['N', COUNT_DIM]),
    global: o.input('global', ['N', c.region!.global.dim]),
  };
  const w = o.weights<RegionVqaWeightName>();
  const out = regionVqaForward(o, { config: c, stats: model.stats, w: (name) => w[name] }, x, T);
  o.output(o.softmax(out.logits), 'probs', ['N', 'AK']);
  o.output(out.alpha, 'alpha', ['N', 'K']);
  return o.encode();
}

/** The region VQA model on onnxruntime: probabilities and attention, as RegionVqaModel.predict. */
export interface OnnxRegionVqa {
  predict(x: RegionVqaHostInputs): { probs: Float32Array; alpha: Float32Array };
  dispose(): void;
}

export function onnxRegionVqa(model: RegionVqaModel, device: OrtDevice = 'cpu'): OnnxRegionVqa {
  const session = SyncSession.create(regionVqaGraph(model), ['probs', 'alpha'], device, DECODER_THREADS);
  const { featureDim: R, maxQuestionWords: T } = model.config;
  return {
    predict(x) {
      const { n, k } = x;
      const q = questionBatch(x.questions.map((ids) => ids.slice(0, T)));
      const tokens = new Int32Array(n * T);
      const mask = new Float32Array(n * T);
      for (let i = 0; i < n; i++) {
        tokens.set(q.tokens.subarray(i * q.steps, (i + 1) * q.steps), i * T);
        mask.set(q.mask.subarray(i * q.steps, (i + 1) * q.steps), i * T);
      }
      const [probs, alpha] = session.run({
        regions: { data: x.regions, dims: [n, k, R] },
        regionMask: { data: x.regionMask, dims: [n, k] },
        pointMask: { data: x.pointMask, dims: [n, k] },
        side: { data: x.side, dims: [n, k, SIDE_DIM] },
        tokens: { data: tokens, dims: [n, T] },
        mask: { data: mask, dims: [n, T] },
        count: { data: x.count, dims: [n, COUNT_DIM] },
        global: { data: x.global, dims: [n, x.global.length / n] },
      }) as [Float32Array, Float32Array];
      return { probs, alpha };
    },
    dispose: () => session.dispose(),
  };
}
