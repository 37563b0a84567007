import { OnnxOps, weightsOf } from '../onnx/ops.js';
import type { OrtDevice } from '../onnx/runtime.js';
import { DECODER_THREADS, SyncSession, type Feed } from '../onnx/sync-session.js';
import { charStep, type CharModel } from './model.js';
import type { CharState, CharStep } from './stepper.js';

/** Names of layer l's state inputs and outputs in the step graph. */
const layerIO = (l: number) => ({ h: `h${l}`, c: `c${l}`, hOut: `h${l}_out`, cOut: `c${l}_out` });

/**
 * The char model's step graph, recorded from charStep (src/char/model.ts): (ids [N] int32,
 * h_l, c_l [N, H] per layer) → logprobs [N, V], h_l_out, c_l_out (no c for a vanilla RNN).
 */
export function charStepGraph(model: CharModel): Uint8Array {
  const { hiddenDim: H, layers } = model.config;
  const o = new OnnxOps('char_step', weightsOf(model.params));
  const ids = o.input('ids', ['N'], 'int32');
  const io = Array.from({ length: layers }, (_, l) => layerIO(l));
  const state = {
    h: io.map((x) => o.input(x.h, ['N', H])),
    c: model.isLstm ? io.map((x) => o.input(x.c, ['N', H])) : [],
  };
  const out = charStep(o, model.config, (name) => o.weight(name), ids, state);
  o.output(out.logProbs, 'logprobs', ['N', model.vocab.size]);
  io.forEach((x, l) => {
    o.output(out.state.h[l]!, x.hOut, ['N', H]);
    if (model.isLstm) o.output(out.state.c[l]!, x.cOut, ['N', H]);
  });
  return o.encode();
}

/** The char model's step on onnxruntime, for one stream (as CharStepper on tfjs). Built once per loaded model. */
export function onnxCharStepper(model: CharModel, device: OrtDevice = 'cpu'): CharStep {
  const { hiddenDim: H } = model.config;
  const lstm = model.isLstm;
  const V = model.vocab.size;
  const io = Array.from({ length: model.config.layers }, (_, l) => layerIO(l));
  const outputs = ['logprobs', ...io.flatMap((x) => (lstm ? [x.hOut, x.cOut] : [x.hOut]))];
  const session = SyncSession.create(charStepGraph(model), outputs, device, DECODER_THREADS);
  return {
    vocabSize: V,
    initialState: () => ({
      h: io.map(() => new Float32Array(H)),
      c: io.map(() => new Float32Array(lstm ? H : 0)),
    }),
    step(state: CharState, id: number) {
      if (!(id >= 0 && id < V)) throw new RangeError(`character id ${id} outside [0, ${V})`);
      const feeds: Record<string, Feed> = { ids: { data: Int32Array.of(id), dims: [1] } };
      io.forEach((x, l) => {
        feeds[x.h] = { data: state.h[l]!, dims: [1, H] };
        if (lstm) feeds[x.c] = { data: state.c[l]!, dims: [1, H] };
      });
      const [logProbs, ...rest] = session.run(feeds) as [Float32Array, ...Float32Array[]];
      const stride = lstm ? 2 : 1;
      return {
        logProbs,
        state: {
          h: io.map((_, l) => rest[l * stride]!),
          c: io.map((_, l) => (lstm ? rest[l * stride + 1]! : new Float32Array(0))),
        },
      };
    },
    dispose: () => session.dispose(),
  };
}
