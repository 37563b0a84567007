import { z } from 'zod';

/** Where the trainers' defaults differ. */
export interface LoopDefaults {
  name: string;
  epochs: number;
  learningRate: number;
  /** Multiply the learning rate by this after each epoch (char: past lrDecayAfter). */
  lrDecay: number;
  patience: number;
}

/**
 * The option fields every trainer has (identity, epochs, schedule, stopping,
 * seed), spread into each task's schema, which adds its own model and data fields.
 */
export function loopOptionFields(d: LoopDefaults) {
  return {
    name: z.string().default(d.name),
    version: z.string().default('1'),
    epochs: z.number().int().positive().default(d.epochs),
    learningRate: z.number().positive().default(d.learningRate),
    lrDecay: z.number().positive().max(1).default(d.lrDecay),
    gradClip: z.number().positive().default(5),
    /** Stop after this many complete epochs without a better validation score. */
    patience: z.number().int().positive().default(d.patience),
    /** Stop (checkpointing mid-epoch, resumable there) once training has run this long. */
    maxMinutes: z.number().positive().default(Infinity),
    seed: z.number().int().default(1234),
    /** Threads computing gradients on shares of each batch (wasm: one core each; src/train/parallel.ts). */
    workers: z.number().int().min(1).max(16).default(1),
  };
}
