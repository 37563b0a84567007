import * as tf from '@tensorflow/tfjs';
import { restoreVariables, saveModelDir } from './io.js';

/**
 * A trainable variable holding `initial`, which is disposed: tf.variable shares
 * the initial tensor's data but leaves the tensor itself alive, so without this
 * every model built leaked one tensor per weight (a random model's worth of memory).
 * Unnamed: tf gives each variable a unique name, so several models can coexist.
 */
export function trainable(initial: tf.Tensor): tf.Variable {
  const v = tf.variable(initial, true);
  initial.dispose();
  return v;
}

/**
 * What every model here shares: a config saved beside its weights, named
 * trainable variables (the names are the on-disk keys), save / restore /
 * dispose. Subclasses add the forward pass and own any extra tensors.
 */
export abstract class WeightsModel<C extends object, P extends Record<string, tf.Variable> = Record<string, tf.Variable>> {
  constructor(
    readonly config: C,
    readonly params: P,
  ) {}

  variables(): Record<string, tf.Variable> {
    return { ...this.params };
  }

  parameterCount(): number {
    return Object.values(this.params).reduce((n, p) => n + p.size, 0);
  }

  /** Weights and config.json (with `extra` fields, e.g. the training record) into `dir`. */
  async save(dir: string, extra: Partial<C> = {}): Promise<void> {
    await saveModelDir(dir, this.variables(), { ...this.config, ...extra });
  }

  /** Overwrite the weights with those saved in `dir` (e.g. to resume). */
  async restore(dir: string): Promise<void> {
    await restoreVariables(dir, this.variables());
  }

  dispose(): void {
    tf.dispose(Object.values(this.params));
  }
}

/**
 * A model built from the config in `dir` and filled with its weights. The
 * model is disposed, not leaked, when the weights do not fit the config.
 */
export async function loadWeightsModel<C extends object, M extends WeightsModel<C>>(
  dir: string,
  readConfig: (dir: string) => Promise<C>,
  init: (config: C) => M,
): Promise<M> {
  const model = init(await readConfig(dir));
  try {
    await model.restore(dir);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return model;
}
