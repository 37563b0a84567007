import { ENTRY_FEATURES } from '../../grounding/entries.js';
import { OnnxOps, weightsOf } from '../../onnx/ops.js';
import type { OrtDevice } from '../../onnx/runtime.js';
import { openDecoderSessions } from '../../onnx/sync-session.js';
import {
  fineLogits,
  groundedInitial,
  groundedStep,
  pointerScores,
  projectEntries,
  type GroundedModel,
  type GroundedParams,
} from './model.js';
import type { GroundedNet } from './step-model.js';

type Names = keyof GroundedParams;

/** The grounded decoder's four serving graphs, recorded from its maths (src/caption/grounded/model.ts). */
export function groundedGraphs(model: GroundedModel): { initial: Uint8Array; entries: Uint8Array; step: Uint8Array; fine: Uint8Array } {
  const weights = weightsOf(model.params);
  const { hiddenDim: H, attendDim: A } = model.config;
  const V = model.vocab.size;
  const F = ENTRY_FEATURES;
  // inputs [N, D + 80] → h [N, H] (c0 is zeros, made by the runner).
  const init = new OnnxOps('grounded_initial', weights);
  const inputs = init.input('inputs', ['N', model.inputDim]);
  init.output(groundedInitial(init, init.weights<Names>(), inputs, model.stats).h, 'h', ['N', H]);
  // entries [N, K·F] → projected [N, K, A], the pointer's keys.
  const ent = new OnnxOps('grounded_entries', weights);
  ent.output(projectEntries(ent, ent.weights<Names>(), ent.input('entries', ['N', 'KF'])), 'projected', ['N', 'K', A]);
  // (ids [N] int32, slot [N, F], h, c [N, H], projected [N, K, A]) → logprobs [N, V], pointer [N, K], h_out, c_out.
  const step = new OnnxOps('grounded_step', weights);
  const p = step.weights<Names>();
  const ids = step.input('ids', ['N'], 'int32');
  const slot = step.input('slot', ['N', F]);
  const state = { h: step.input('h', ['N', H]), c: step.input('c', ['N', H]) };
  const projected = step.input('projected', ['N', 'K', A]);
  const out = groundedStep(step, p, ids, slot, state, H);
  step.output(out.logProbs, 'logprobs', ['N', V]);
  step.output(pointerScores(step, p, out.state.h, projected), 'pointer', ['N', 'K']);
  step.output(out.state.h, 'h_out', ['N', H]);
  step.output(out.state.c, 'c_out', ['N', H]);
  // h [N, H] → fine-word logits [N, V].
  const fine = new OnnxOps('grounded_fine', weights);
  fine.output(fineLogits(fine, fine.weights<Names>(), fine.input('h', ['N', H])), 'fine', ['N', V]);
  return { initial: init.encode(), entries: ent.encode(), step: step.encode(), fine: fine.encode() };
}

/** The grounded decoder exported (in memory) and run by onnxruntime, synchronously. */
export function onnxGroundedNet(model: GroundedModel, device: OrtDevice = 'cpu'): GroundedNet {
  const graphs = groundedGraphs(model);
  const { hiddenDim: H, attendDim: A } = model.config;
  const F = ENTRY_FEATURES;
  const { sessions, dispose } = openDecoderSessions(
    {
      initial: { bytes: graphs.initial, outputs: ['h'] },
      entries: { bytes: graphs.entries, outputs: ['projected'] },
      step: { bytes: graphs.step, outputs: ['logprobs', 'pointer', 'h_out', 'c_out'] },
      fine: { bytes: graphs.fine, outputs: ['fine'] },
    },
    device,
  );
  const { initial, entries, step, fine } = sessions;
  return {
    runtime: 'onnx',
    initial(inputs, entryFeatures, n) {
      const [h] = initial.run({ inputs: { data: inputs, dims: [n, model.inputDim] } }) as [Float32Array];
      const [projected] = entries.run({ entries: { data: entryFeatures, dims: [n, entryFeatures.length / n] } }) as [Float32Array];
      return { n, h, c: new Float32Array(n * H), projected };
    },
    step(rows, ids, slotInputs) {
      const { n } = rows;
      const K = rows.projected.length / (n * A);
      const [logProbs, pointer, h, c] = step.run({
        ids: { data: ids, dims: [n] },
        slot: { data: slotInputs, dims: [n, F] },
        h: { data: rows.h, dims: [n, H] },
        c: { data: rows.c, dims: [n, H] },
        projected: { data: rows.projected, dims: [n, K, A] },
      }) as [Float32Array, Float32Array, Float32Array, Float32Array];
      return { logProbs, pointer, rows: { n, h, c, projected: rows.projected } };
    },
    fine(h, n) {
      return fine.run({ h: { data: h, dims: [n, H] } })[0]!;
    },
    dispose,
  };
}
