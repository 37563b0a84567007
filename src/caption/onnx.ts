import type { StackableStepModel } from '../search/index.js';
import type { OrtDevice } from '../onnx/runtime.js';
import { OnnxOps, weightsOf } from '../onnx/ops.js';
import { openDecoderSessions } from '../onnx/sync-session.js';
import { pickRows, stackRows } from '../util/rows.js';
import { captionInitial, captionStep, type CaptionModel, type CaptionParams } from './model.js';

/** LSTM rows of a search on onnxruntime: h, c [n, H], row-major. */
export interface ArrayLstmState {
  n: number;
  h: Float32Array;
  c: Float32Array;
}

/** Rows picked (and possibly repeated) by index. */
export function gatherLstm(s: ArrayLstmState, picked: readonly number[]): ArrayLstmState {
  return { n: picked.length, h: pickRows(s.h, s.n, picked), c: pickRows(s.c, s.n, picked) };
}

/** The rows of several states, one after another. */
export function stackLstm(states: readonly ArrayLstmState[]): ArrayLstmState {
  return {
    n: states.reduce((n, s) => n + s.n, 0),
    h: stackRows(states.map((s) => s.h)),
    c: stackRows(states.map((s) => s.c)),
  };
}

/** The decoder's two serving graphs, recorded from captionInitial and captionStep (src/caption/model.ts). */
export function captionGraphs(model: CaptionModel): { initial: Uint8Array; step: Uint8Array } {
  const weights = weightsOf(model.params);
  const H = model.config.hiddenDim;
  // v [N, D] → h [N, H] (c0 is zeros, made by the runner).
  const init = new OnnxOps('caption_initial', weights);
  const v = init.input('v', ['N', model.config.featureDim]);
  init.output(captionInitial(init, init.weights<keyof CaptionParams>(), v, model.stats).h, 'h', ['N', H]);
  // (ids [N] int32, h, c [N, H]) → logprobs [N, V], h_out, c_out.
  const step = new OnnxOps('caption_step', weights);
  const ids = step.input('ids', ['N'], 'int32');
  const state = { h: step.input('h', ['N', H]), c: step.input('c', ['N', H]) };
  const out = captionStep(step, step.weights<keyof CaptionParams>(), ids, state, H);
  step.output(out.logProbs, 'logprobs', ['N', model.vocab.size]);
  step.output(out.state.h, 'h_out', ['N', H]);
  step.output(out.state.c, 'c_out', ['N', H]);
  return { initial: init.encode(), step: step.encode() };
}

/** The plain caption decoder on onnxruntime: its first state from image vectors, and a StepModel for the searches. */
export interface OnnxCaptionDecoder {
  /** h0 = tanh(std(v)·Wih + bih), c0 = 0 for features [n, D]. */
  initialState(features: Float32Array, n: number): ArrayLstmState;
  readonly lm: StackableStepModel<ArrayLstmState>;
  dispose(): void;
}

export function onnxCaptionDecoder(model: CaptionModel, device: OrtDevice = 'cpu'): OnnxCaptionDecoder {
  const graphs = captionGraphs(model);
  const { featureDim: D, hiddenDim: H } = model.config;
  const { sessions, dispose } = openDecoderSessions(
    {
      initial: { bytes: graphs.initial, outputs: ['h'] },
      step: { bytes: graphs.step, outputs: ['logprobs', 'h_out', 'c_out'] },
    },
    device,
  );
  const { initial, step } = sessions;
  return {
    initialState(features, n) {
      const [h] = initial.run({ v: { data: features, dims: [n, D] } }) as [Float32Array];
      return { n, h, c: new Float32Array(n * H) };
    },
    lm: {
      vocabSize: model.vocab.size,
      step(s, tokens) {
        const { n } = s;
        const [logProbs, h, c] = step.run({
          ids: { data: Int32Array.from(tokens), dims: [n] },
          h: { data: s.h, dims: [n, H] },
          c: { data: s.c, dims: [n, H] },
        }) as [Float32Array, Float32Array, Float32Array];
        return { logProbs, state: { n, h, c } };
      },
      gather: gatherLstm,
      stack: stackLstm,
      // Plain arrays, never changed in place.
      dispose: () => undefined,
    },
    dispose,
  };
}
