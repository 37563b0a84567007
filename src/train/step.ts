import * as tf from '@tensorflow/tfjs';
import { clipByGlobalNorm } from '../nn/ops.js';

/** Tensors keyed by parameter name (embed, w, …): the names every thread and replica agree on. */
export type ParamGrads = Record<string, tf.Tensor>;

/** A trainer's loss: a scalar mean over its items, and tensors to carry to the next step (a hidden state). */
export interface LossOutput {
  loss: tf.Scalar;
  /** Kept beyond the gradient computation; rows along axis 0 (the pool concatenates its shards' carries). */
  carry?: tf.NamedTensorMap;
}

/** The loss closure a trainer passes: it builds the forward pass of one batch. */
export type LossFn = () => tf.Scalar | LossOutput;

/** A batch's mean loss, its gradients by parameter name (the caller owns them) and what it carries on. */
export interface Gradients {
  loss: number;
  grads: ParamGrads;
  carry?: tf.NamedTensorMap;
}

/** What one update reports. */
export interface StepReport {
  loss: number;
  /** Global gradient norm before clipping. */
  norm: number;
  carry?: tf.NamedTensorMap;
}

/**
 * Loss and gradients of `loss` with respect to `variables` (keyed by parameter name). Parameters
 * the loss does not reach get no entry (a grounded batch without slots leaves the pointer out).
 */
export function lossGradients(variables: Record<string, tf.Variable>, loss: LossFn): Gradients {
  const names = Object.keys(variables);
  let carry: tf.NamedTensorMap | undefined;
  const { value, grads } = tf.variableGrads(
    () => {
      const out = loss();
      if (out instanceof tf.Tensor) return out;
      if (out.carry) carry = Object.fromEntries(Object.entries(out.carry).map(([k, t]) => [k, tf.keep(t)]));
      return out.loss;
    },
    names.map((n) => variables[n]!),
  );
  const lossValue = value.dataSync()[0]!;
  value.dispose();
  const byName: ParamGrads = {};
  for (const n of names) {
    const g = grads[variables[n]!.name];
    if (g) byName[n] = g;
  }
  return { loss: lossValue, grads: byName, ...(carry ? { carry } : {}) };
}

/** Clip by global norm and take one optimizer step on `variables` (keyed like `grads`). Disposes `grads`; returns the norm before clipping. */
export function applyGradients(variables: Record<string, tf.Variable>, optimizer: tf.Optimizer, grads: ParamGrads, clip: number): number {
  const clipped = clipByGlobalNorm(grads, clip);
  const byVariable: tf.NamedTensorMap = {};
  for (const [name, g] of Object.entries(clipped.grads)) {
    const v = variables[name];
    if (!v) throw new Error(`gradient for unknown parameter ${name}`);
    byVariable[v.name] = g;
  }
  optimizer.applyGradients(byVariable);
  tf.dispose([...Object.values(grads), ...Object.values(clipped.grads)]);
  return clipped.norm;
}

/**
 * The gradient step of every trainer: the loss and gradients of the trainer's loss closure on this
 * thread (or, already computed, a GradientPool's average over its threads), clipped by global norm,
 * applied, disposed; reports the loss, the norm before clipping and the carried tensors.
 */
export function gradientStep(
  variables: Record<string, tf.Variable>,
  optimizer: tf.Optimizer,
  clip: number,
  loss: LossFn | Gradients,
): StepReport {
  const g = typeof loss === 'function' ? lossGradients(variables, loss) : loss;
  const norm = applyGradients(variables, optimizer, g.grads, clip);
  return { loss: g.loss, norm, ...(g.carry ? { carry: g.carry } : {}) };
}
