import type * as tf from '@tensorflow/tfjs';
import { ENTRY_FEATURES } from '../grounding/entries.js';
import type { GroundedModel } from '../caption/grounded/model.js';
import type { GroundedNet } from '../caption/grounded/step-model.js';
import type { CaptionModel } from '../caption/model.js';
import type { CharModel } from '../char/model.js';
import type { CharState, CharStep } from '../char/stepper.js';
import { questionBatch, type VqaModel } from '../vqa/model.js';
import type { StackableStepModel } from '../search/index.js';
import { pickRows, stackRows } from '../util/rows.js';
import {
  captionStepGraph,
  charIO,
  charStepGraph,
  GROUNDED_IO,
  groundedEntriesGraph,
  groundedFineGraph,
  groundedStepGraph,
  imageStateGraph,
  IO,
  weightOf,
  type CharDecoderWeights,
  type GroundedDecoderWeights,
  type PlainDecoderWeights,
  type VqaDecoderWeights,
  vqaGraph,
  VQA_IO,
  type Weight,
} from './decoders.js';
import type { InferenceRuntime, OrtDevice } from './runtime.js';
import { SyncSession } from './sync-session.js';

/** Where a loaded decoder runs: tfjs, or onnxruntime on `device`. */
export interface DecoderRuntime {
  runtime: InferenceRuntime;
  device?: OrtDevice;
}

let defaultRuntime: DecoderRuntime = { runtime: 'tfjs' };

/**
 * The runtime decoders load on when their loader is given none. The server
 * sets it once at start from its runtime choice; scripts and training keep tfjs.
 */
export function setDefaultDecoderRuntime(r: DecoderRuntime): void {
  defaultRuntime = { runtime: r.runtime, ...(r.device ? { device: r.device } : {}) };
}

export function defaultDecoderRuntime(): DecoderRuntime {
  return defaultRuntime;
}

/**
 * Intra-op threads of a decoder session. Its matMuls are a few rows
 * ([beam, 384]·[384, 2540]): too small to split, and a second thread only
 * adds hand-offs (measured here, one grounded step at 3 rows: 0.35 ms on one
 * thread, 0.73–1.28 ms on two).
 */
const DECODER_THREADS = 1;

function weightsOf(params: Record<string, tf.Tensor>): Record<string, Weight> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, weightOf(v)]));
}

/** The grounded decoder's weights and shapes, as its graphs read them. */
export function groundedWeights(model: GroundedModel): GroundedDecoderWeights {
  const c = model.config;
  return {
    inputDim: model.inputDim,
    hiddenDim: c.hiddenDim,
    attendDim: c.attendDim,
    entryFeatures: ENTRY_FEATURES,
    vocabSize: model.vocab.size,
    ...(c.inputMean && c.inputStd ? { mean: c.inputMean, std: c.inputStd } : {}),
    weights: weightsOf(model.params),
  };
}

/** The grounded decoder exported (in memory) and run by onnxruntime, synchronously. */
export function onnxGroundedNet(model: GroundedModel, device: OrtDevice = 'cpu'): GroundedNet {
  const m = groundedWeights(model);
  const H = m.hiddenDim;
  const sessions: SyncSession[] = [];
  const open = (bytes: Uint8Array, outputs: string[]) => {
    const s = SyncSession.create(bytes, outputs, device, DECODER_THREADS);
    sessions.push(s);
    return s;
  };
  try {
    const state = open(imageStateGraph(m, GROUNDED_IO.inputs, m.inputDim), [IO.h]);
    const entries = open(groundedEntriesGraph(m), [GROUNDED_IO.projected]);
    const step = open(groundedStepGraph(m), [IO.logProbs, GROUNDED_IO.pointer, IO.hOut, IO.cOut]);
    const fine = open(groundedFineGraph(m), [GROUNDED_IO.fine]);
    return {
      runtime: 'onnx',
      initial(inputs, entryFeatures, n) {
        const [h] = state.run({ [GROUNDED_IO.inputs]: { data: inputs, dims: [n, m.inputDim] } }) as [Float32Array];
        const [projected] = entries.run({
          [GROUNDED_IO.entries]: { data: entryFeatures, dims: [n, entryFeatures.length / n] },
        }) as [Float32Array];
        return { n, h, c: new Float32Array(n * H), projected };
      },
      step(rows, ids, slotInputs) {
        const { n } = rows;
        const K = rows.projected.length / (n * m.attendDim);
        const [logProbs, pointer, h, c] = step.run({
          [IO.ids]: { data: ids, dims: [n] },
          [GROUNDED_IO.slot]: { data: slotInputs, dims: [n, m.entryFeatures] },
          [IO.h]: { data: rows.h, dims: [n, H] },
          [IO.c]: { data: rows.c, dims: [n, H] },
          [GROUNDED_IO.projected]: { data: rows.projected, dims: [n, K, m.attendDim] },
        }) as [Float32Array, Float32Array, Float32Array, Float32Array];
        return { logProbs, pointer, rows: { n, h, c, projected: rows.projected } };
      },
      fine(h, n) {
        return fine.run({ [IO.h]: { data: h, dims: [n, H] } })[0]!;
      },
      dispose: () => sessions.forEach((s) => s.dispose()),
    };
  } catch (err) {
    sessions.forEach((s) => s.dispose());
    throw err;
  }
}

/** The plain caption decoder's weights and shapes, as its graphs read them. */
export function plainWeights(model: CaptionModel): PlainDecoderWeights {
  const c = model.config;
  return {
    featureDim: c.featureDim,
    hiddenDim: c.hiddenDim,
    vocabSize: model.vocab.size,
    ...(c.featureMean && c.featureStd ? { mean: c.featureMean, std: c.featureStd } : {}),
    weights: weightsOf(model.params),
  };
}

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

/** The plain caption decoder on onnxruntime: its first state from image vectors, and a StepModel for the searches. */
export interface OnnxCaptionDecoder {
  /** h0 = tanh(std(v)·Wih + bih), c0 = 0 for features [n, D]. */
  initialState(features: Float32Array, n: number): ArrayLstmState;
  readonly lm: StackableStepModel<ArrayLstmState>;
  dispose(): void;
}

export function onnxCaptionDecoder(model: CaptionModel, device: OrtDevice = 'cpu'): OnnxCaptionDecoder {
  const m = plainWeights(model);
  const H = m.hiddenDim;
  const state = SyncSession.create(imageStateGraph(m, 'v', m.featureDim), [IO.h], device, DECODER_THREADS);
  let step: SyncSession;
  try {
    step = SyncSession.create(captionStepGraph(m), [IO.logProbs, IO.hOut, IO.cOut], device, DECODER_THREADS);
  } catch (err) {
    state.dispose();
    throw err;
  }
  return {
    initialState(features, n) {
      const [h] = state.run({ v: { data: features, dims: [n, m.featureDim] } }) as [Float32Array];
      return { n, h, c: new Float32Array(n * H) };
    },
    lm: {
      vocabSize: m.vocabSize,
      step(s, tokens) {
        const { n } = s;
        const [logProbs, h, c] = step.run({
          [IO.ids]: { data: Int32Array.from(tokens), dims: [n] },
          [IO.h]: { data: s.h, dims: [n, H] },
          [IO.c]: { data: s.c, dims: [n, H] },
        }) as [Float32Array, Float32Array, Float32Array];
        return { logProbs, state: { n, h, c } };
      },
      gather: gatherLstm,
      stack: stackLstm,
      // Plain arrays, never changed in place.
      dispose: () => undefined,
    },
    dispose() {
      state.dispose();
      step.dispose();
    },
  };
}

/** The char model's weights and shapes, as its step graph reads them. */
export function charWeights(model: CharModel): CharDecoderWeights {
  const c = model.config;
  return {
    layers: c.layers,
    hiddenDim: c.hiddenDim,
    vocabSize: model.vocab.size,
    lstm: model.isLstm,
    embedded: c.embedDim > 0,
    weights: weightsOf(model.params),
  };
}

/** The char model's step on onnxruntime, for one stream (as CharStepper on tfjs). Built once per loaded model. */
export function onnxCharStepper(model: CharModel, device: OrtDevice = 'cpu'): CharStep {
  const m = charWeights(model);
  const H = m.hiddenDim;
  const layers = Array.from({ length: m.layers }, (_, l) => charIO(l));
  const outputs = [IO.logProbs, ...layers.flatMap((io) => (m.lstm ? [io.hOut, io.cOut] : [io.hOut]))];
  const session = SyncSession.create(charStepGraph(m), outputs, device, DECODER_THREADS);
  return {
    vocabSize: m.vocabSize,
    initialState: () => ({
      h: layers.map(() => new Float32Array(H)),
      c: layers.map(() => new Float32Array(m.lstm ? H : 0)),
    }),
    step(state: CharState, id: number) {
      if (!(id >= 0 && id < m.vocabSize)) throw new RangeError(`character id ${id} outside [0, ${m.vocabSize})`);
      const feeds: Record<string, { data: Float32Array | Int32Array; dims: number[] }> = {
        [IO.ids]: { data: Int32Array.of(id), dims: [1] },
      };
      layers.forEach((io, l) => {
        feeds[io.h] = { data: state.h[l]!, dims: [1, H] };
        if (m.lstm) feeds[io.c] = { data: state.c[l]!, dims: [1, H] };
      });
      const [logProbs, ...rest] = session.run(feeds) as [Float32Array, ...Float32Array[]];
      const stride = m.lstm ? 2 : 1;
      return {
        logProbs,
        state: {
          h: layers.map((_, l) => rest[l * stride]!),
          c: layers.map((_, l) => (m.lstm ? rest[l * stride + 1]! : new Float32Array(0))),
        },
      };
    },
    dispose: () => session.dispose(),
  };
}

/** A VQA model's weights and shapes, as its graph reads them. */
export function vqaWeights(model: VqaModel): VqaDecoderWeights {
  const c = model.config;
  return {
    arch: c.arch,
    featureDim: c.featureDim,
    embedDim: c.embedDim,
    hiddenDim: c.hiddenDim,
    answers: c.answers.length,
    maxWords: c.maxQuestionWords,
    ...(c.featureMean && c.featureStd ? { mean: c.featureMean, std: c.featureStd } : {}),
    weights: weightsOf(model.params),
  };
}

/** A VQA model on onnxruntime: answer probabilities for encoded questions, as VqaModel.predict. */
export interface OnnxVqa {
  /** features [n, D] row-major; one encoded question per row → probabilities [n, A]. */
  predict(features: Float32Array, questions: readonly (readonly number[])[]): Float32Array;
  dispose(): void;
}

export function onnxVqa(model: VqaModel, device: OrtDevice = 'cpu'): OnnxVqa {
  const m = vqaWeights(model);
  const session = SyncSession.create(vqaGraph(m), [VQA_IO.probs], device, DECODER_THREADS);
  const T = m.maxWords;
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
        [VQA_IO.features]: { data: features, dims: [n, m.featureDim] },
        [VQA_IO.tokens]: { data: tokens, dims: [n, T] },
        [VQA_IO.mask]: { data: mask, dims: [n, T] },
      })[0]!;
    },
    dispose: () => session.dispose(),
  };
}
