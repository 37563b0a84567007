import * as tf from '@tensorflow/tfjs';
import { createOptimizer } from './optimizer.js';
import { GradientPool } from './parallel.js';
import type { Replica, RowBatch, TrainerSpec } from './spec.js';
import { gradientStep } from './step.js';

/** A trainer as the throughput benchmark drives it: its spec, a config, and its batches in order. */
export interface BenchTrainer<C, M extends Replica> {
  name: string;
  /** What the items are (tok, q, chars). */
  unit: string;
  spec: TrainerSpec<C, M>;
  config: C;
  /** Step `step`'s batch and the items its loss is a mean over; `carry`: what the previous step carried (a hidden state), owned by the callee. */
  batch(step: number, carry: tf.NamedTensorMap | undefined): { rows: RowBatch; items: number };
}

export interface Throughput {
  threads: number;
  steps: number;
  items: number;
  seconds: number;
  perSecond: number;
}

/**
 * Items per second of training steps (the trainers' own: pool gradients, then gradientStep with
 * Adam and clipping) with `threads` gradient threads, for about `seconds` after `warmup` steps
 * (which also wait for the worker threads to start).
 */
export async function trainThroughput<C, M extends Replica>(
  t: BenchTrainer<C, M>,
  threads: number,
  seconds: number,
  warmup = 2,
): Promise<Throughput> {
  const model = t.spec.replica(t.config);
  const optimizer = createOptimizer('adam', 1e-3);
  const pool = new GradientPool(t.spec, t.config, threads - 1);
  let carry: tf.NamedTensorMap | undefined;
  let items = 0;
  let steps = 0;
  let t0 = 0;
  try {
    for (let i = 0; ; i++) {
      if (i === warmup) t0 = performance.now();
      if (i >= warmup && performance.now() - t0 >= seconds * 1000) break;
      const b = t.batch(i, carry);
      const grads = await pool.gradients(model, b.rows, i);
      carry = gradientStep(model.variables(), optimizer, 5, grads).carry;
      if (i >= warmup) {
        items += b.items;
        steps++;
      }
    }
  } finally {
    if (carry) tf.dispose(Object.values(carry));
    await pool.close();
    optimizer.dispose();
    model.dispose();
  }
  const elapsed = (performance.now() - t0) / 1000;
  return { threads, steps, items, seconds: elapsed, perSecond: items / elapsed };
}
