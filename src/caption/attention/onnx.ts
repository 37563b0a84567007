import { OnnxOps, weightsOf } from '../../onnx/ops.js';
import type { OrtDevice } from '../../onnx/runtime.js';
import { openDecoderSessions } from '../../onnx/sync-session.js';
import type { AttentionNet } from './step-model.js';
import { attentionInitial, attentionStep, projectRegions, type AttentionModel, type AttentionWeightName } from './model.js';

/** The attention decoder's two graphs, recorded from its maths (src/caption/attention/model.ts). */
export function attentionGraphs(model: AttentionModel): { image: Uint8Array; step: Uint8Array } {
  const weights = weightsOf(model.params);
  const { regionDim: R, hiddenDim: H, attendDim: A } = model.config;
  const V = model.vocab.size;
  // Once per image: (regions [N, K, R], mask [N, K]) → features [N, K, H], keys [N, K, A], mean [N, H], h1 [N, H]
  // (c1, h2, c2 are zeros, made by the runner).
  const img = new OnnxOps('attention_image', weights);
  const pi = img.weights<AttentionWeightName>();
  const regions = img.input('regions', ['N', 'K', R]);
  const regionMask = img.input('mask', ['N', 'K']);
  const memory = projectRegions(img, pi, regions, regionMask, model.stats);
  img.output(memory.features, 'features', ['N', 'K', H]);
  img.output(memory.keys, 'keys', ['N', 'K', A]);
  img.output(memory.mean, 'mean', ['N', H]);
  img.output(attentionInitial(img, pi, regions, regionMask, model.stats).h1, 'h1', ['N', H]);
  // Each step: (ids [N] int32, features, keys, mean, mask, h1, c1, h2, c2) → logprobs [N, V], alpha [N, K], beta [N, 1], states.
  const step = new OnnxOps('attention_step', weights);
  const ids = step.input('ids', ['N'], 'int32');
  const image = {
    features: step.input('features', ['N', 'K', H]),
    keys: step.input('keys', ['N', 'K', A]),
    mean: step.input('mean', ['N', H]),
    mask: step.input('mask', ['N', 'K']),
  };
  const state = {
    h1: step.input('h1', ['N', H]),
    c1: step.input('c1', ['N', H]),
    h2: step.input('h2', ['N', H]),
    c2: step.input('c2', ['N', H]),
  };
  const out = attentionStep(step, step.weights<AttentionWeightName>(), ids, image, state, model.config);
  step.output(out.logProbs, 'logprobs', ['N', V]);
  step.output(out.alpha, 'alpha', ['N', 'K']);
  step.output(out.beta, 'beta', ['N', 1]);
  for (const k of ['h1', 'c1', 'h2', 'c2'] as const) step.output(out.state[k], `${k}_out`, ['N', H]);
  return { image: img.encode(), step: step.encode() };
}

export function onnxAttentionNet(model: AttentionModel, device: OrtDevice = 'cpu'): AttentionNet {
  const graphs = attentionGraphs(model);
  const { regionDim: R, hiddenDim: H, attendDim: A } = model.config;
  const { sessions, dispose } = openDecoderSessions(
    {
      image: { bytes: graphs.image, outputs: ['features', 'keys', 'mean', 'h1'] },
      step: { bytes: graphs.step, outputs: ['logprobs', 'alpha', 'beta', 'h1_out', 'c1_out', 'h2_out', 'c2_out'] },
    },
    device,
  );
  const { image, step } = sessions;
  return {
    runtime: 'onnx',
    initial(regions, mask, n, k) {
      const [features, keys, mean, h1] = image.run({
        regions: { data: regions, dims: [n, k, R] },
        mask: { data: mask, dims: [n, k] },
      }) as [Float32Array, Float32Array, Float32Array, Float32Array];
      const zeros = () => new Float32Array(n * H);
      return { n, k, features, keys, mean, mask, h1, c1: zeros(), h2: zeros(), c2: zeros() };
    },
    step(rows, ids) {
      const { n, k } = rows;
      const [logProbs, alpha, beta, h1, c1, h2, c2] = step.run({
        ids: { data: ids, dims: [n] },
        features: { data: rows.features, dims: [n, k, H] },
        keys: { data: rows.keys, dims: [n, k, A] },
        mean: { data: rows.mean, dims: [n, H] },
        mask: { data: rows.mask, dims: [n, k] },
        h1: { data: rows.h1, dims: [n, H] },
        c1: { data: rows.c1, dims: [n, H] },
        h2: { data: rows.h2, dims: [n, H] },
        c2: { data: rows.c2, dims: [n, H] },
      }) as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
      return { logProbs, alpha, beta, rows: { ...rows, h1, c1, h2, c2 } };
    },
    dispose,
  };
}
