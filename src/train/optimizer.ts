import * as tf from '@tensorflow/tfjs';

/** An optimizer whose learning rate a schedule can change between steps. */
export interface ScheduledOptimizer extends tf.Optimizer {
  setLearningRate(learningRate: number): void;
}

// tfjs keeps `learningRate` protected on Adam and RMSprop (SGD and Momentum already have
// setLearningRate), so a subclass is the typed way to reach it. Both read it on every step.
class Adam extends tf.AdamOptimizer implements ScheduledOptimizer {
  setLearningRate(learningRate: number): void {
    this.learningRate = learningRate;
  }
}

class RMSprop extends tf.RMSPropOptimizer implements ScheduledOptimizer {
  setLearningRate(learningRate: number): void {
    this.learningRate = learningRate;
  }
}

export const OPTIMIZERS = ['adam', 'rmsprop'] as const;
export type OptimizerKind = (typeof OPTIMIZERS)[number];

/** Adam with tf.train.adam's defaults, or RMSprop as char-rnn uses it (decay 0.95). */
export function createOptimizer(kind: OptimizerKind, learningRate: number): ScheduledOptimizer {
  return kind === 'adam' ? new Adam(learningRate, 0.9, 0.999) : new RMSprop(learningRate, 0.95, 0, 1e-8);
}
