// The char model as the gradient pool's threads see it (src/train/spec.ts).
import type * as tf from '@tensorflow/tfjs';
import type { TrainerSpec } from '../train/spec.js';
import type { CharConfig } from './config.js';
import { CharModel, type CharTensors } from './model.js';

/** A state as named tensors (h0, c0, h1, …), rows along axis 0: what a shard carries in and out. */
export function stateMap(state: CharTensors): tf.NamedTensorMap {
  const entries: [string, tf.Tensor][] = [
    ...state.h.map((t, l) => [`h${l}`, t] as [string, tf.Tensor]),
    ...state.c.map((t, l) => [`c${l}`, t] as [string, tf.Tensor]),
  ];
  return Object.fromEntries(entries);
}

export function stateOf(map: tf.NamedTensorMap, layers: number, lstm: boolean): CharTensors {
  const get = (name: string) => {
    const t = map[name];
    if (!t) throw new Error(`char state: no ${name}`);
    return t as tf.Tensor2D;
  };
  return {
    h: Array.from({ length: layers }, (_, l) => get(`h${l}`)),
    c: lstm ? Array.from({ length: layers }, (_, l) => get(`c${l}`)) : [],
  };
}

/**
 * Mean loss per character of a chunk (`inputs`, `targets`: [steps·rows] int32, time-major)
 * read from the state in the same map; carries the state it ends in.
 */
export const spec: TrainerSpec<CharConfig, CharModel> = {
  module: import.meta.url,
  replica: (config) => CharModel.init(config, 0),
  loss(model, batch, seed) {
    const state = stateOf(batch, model.config.layers, model.isLstm);
    const steps = batch.inputs!.size / state.h[0]!.shape[0];
    const out = model.loss(batch.inputs as tf.Tensor1D, batch.targets as tf.Tensor1D, steps, state, seed);
    return { loss: out.loss, carry: stateMap(out.state) };
  },
};
