import path from 'node:path';
import { z } from 'zod';
import { log } from '../log.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import type { ScheduledOptimizer } from './optimizer.js';
import { noProgress, type ProgressReporter } from './progress.js';

/** A model the loop can checkpoint, keep as the best one and dispose. */
export interface TrainableModel {
  readonly config: { metrics?: Record<string, unknown> };
  save(dir: string, extra?: { training?: Record<string, unknown>; metrics?: Record<string, unknown> }): Promise<void>;
  restore(dir: string): Promise<void>;
  dispose(): void;
}

/** What one update reports. */
export interface StepResult {
  /** Mean loss per item of this step. */
  loss: number;
  /** Items (tokens, questions, characters) the loss is a mean over: weights the epoch's mean loss. */
  items: number;
  /** More numbers for the progress line (gradient norm, …). */
  fields?: Record<string, number>;
}

/** The steps of one epoch, run in order from the `from` given to TrainTask.epoch. */
export interface EpochRun {
  readonly steps: number;
  /** `index`: step within the epoch; `iteration`: 1-based count of updates over all epochs. */
  step(index: number, iteration: number): StepResult | Promise<StepResult>;
  /** Free what the epoch carries between steps (a hidden state); called even when a step throws. */
  close?(): void;
}

/** What a trainer supplies; the loop does the rest. */
export interface TrainTask<M extends TrainableModel, V> {
  model: M;
  optimizer: ScheduledOptimizer;
  /** Learning rate for epoch `epoch` (1-based). */
  learningRate(epoch: number): number;
  /**
   * Epoch `epoch` from step `from` (> 0 when resuming mid-epoch). The same epoch must give the
   * same steps every time (seeded order), so a resumed run repeats an uninterrupted one.
   */
  epoch(epoch: number, from: number): EpochRun;
  validate(): V | Promise<V>;
  /** The validation number that picks the best model and drives early stopping. */
  score(val: V): number;
  better: 'higher' | 'lower';
  /** Reads the best model back from the folder the loop saved it to. */
  loadBest(dir: string): Promise<M>;
  /** Metrics to store with the best model at the end (default: those saved with it). */
  finalMetrics?(best: M): Record<string, unknown> | Promise<Record<string, unknown>>;
  /** After each complete epoch, e.g. to keep a copy of the model named by its score. */
  afterEpoch?(epoch: number, val: V, training: Record<string, unknown>): Promise<void>;
  /** Closed in `finally`, with the optimizer and the model, however training ends (worker pools, …). */
  resources?: { close(): unknown }[];
  /** Shown as `<unit>_per_s` on the progress line and kept in the training record. */
  unit: string;
  /** More facts for the training record (dataset sizes, …). */
  record?: Record<string, unknown>;
}

/** The options the loop reads; the whole options object goes into the training record. */
export interface LoopOptions {
  epochs: number;
  /** Stop after this many complete epochs without a better validation score. */
  patience: number;
  /** Stop, mid-epoch if need be (with a checkpoint to resume there), once training has run this long. */
  maxMinutes: number;
  /** Also validate (and keep the best model) every this many updates; 0 or absent: at epoch ends only. */
  evalEvery?: number;
}

export interface TrainDirs {
  /** Where the best model is written. */
  outDir: string;
  /** The resumable checkpoint `last/` (and whatever the task keeps per epoch). */
  checkpointDir: string;
  resume: boolean;
}

/** Where a run writes (TrainDirs) and how it shows its progress. */
export interface TrainRun extends TrainDirs {
  /** Progress of each epoch (default: none); the scripts pass src/cli/progress.ts's bar or log lines. */
  progress?: ProgressReporter;
}

export interface HistoryEntry<V> {
  /** The epoch being trained (a mid-epoch validation has the iteration to tell it apart). */
  epoch: number;
  iteration: number;
  /** Mean training loss of the epoch so far. */
  loss: number;
  /** Items per second of training. */
  perSecond: number;
  learningRate: number;
  val: V;
}

export interface LoopState<V> {
  /** Complete epochs. */
  epoch: number;
  /** Next step of the epoch after `epoch` (0 unless stopped mid-epoch). */
  step: number;
  /** Updates over all epochs. */
  iteration: number;
  best: { score: number; epoch: number; iteration: number } | null;
  epochsSinceBest: number;
  elapsedSeconds: number;
  history: HistoryEntry<V>[];
}

/** The bookkeeping in a checkpoint's state.json (history entries are the loop's own, written by it). */
const stateSchema = <V>() =>
  z.object({
    epoch: z.number().int().min(0),
    step: z.number().int().min(0),
    iteration: z.number().int().min(0),
    best: z.object({ score: z.number(), epoch: z.number(), iteration: z.number() }).nullable(),
    epochsSinceBest: z.number().int().min(0),
    elapsedSeconds: z.number().min(0),
    history: z.array(z.custom<HistoryEntry<V>>((h) => typeof h === 'object' && h !== null && 'epoch' in h && 'val' in h)),
  });

/** Why training should stop after this epoch, or undefined to go on. */
export function stopReason(state: LoopState<unknown>, opts: LoopOptions): string | undefined {
  if (state.epochsSinceBest >= opts.patience) return `no better val score for ${opts.patience} epochs (best: epoch ${state.best?.epoch})`;
  if (state.elapsedSeconds / 60 >= opts.maxMinutes) return `time budget of ${opts.maxMinutes} min reached`;
  return undefined;
}

/** How a model was trained, saved in its config.json beside the weights. */
export function trainingRecord(opts: LoopOptions, state: LoopState<unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    options: { ...opts, maxMinutes: Number.isFinite(opts.maxMinutes) ? opts.maxMinutes : null },
    ...extra,
    epochsRun: state.epoch,
    iterations: state.iteration,
    best: state.best,
    trainingSeconds: Math.round(state.elapsedSeconds),
    machine: `${process.platform}/${process.arch}`,
    history: state.history,
  };
}

async function readState<V>(dir: string, model: TrainableModel, optimizer: ScheduledOptimizer): Promise<LoopState<V>> {
  const raw = await loadCheckpoint<unknown>(dir, model, optimizer);
  const parsed = stateSchema<V>().safeParse(raw);
  if (!parsed.success) throw new Error(`${path.join(dir, 'state.json')} is not a checkpoint of this trainer: start again without --resume`);
  return parsed.data;
}

/**
 * The training loop of every trainer: per-epoch learning rate through the optimizer's setter,
 * progress, validation (also every `evalEvery` updates), the best model saved to `outDir`,
 * early stopping, a time budget, a resumable checkpoint after each epoch (or where the budget
 * stopped it), and the best model reloaded at the end with the final training record. The task's
 * model, optimizer and resources are disposed in `finally`, however training ends.
 */
export async function trainLoop<M extends TrainableModel, V>(
  task: TrainTask<M, V>,
  opts: LoopOptions,
  dirs: TrainRun,
): Promise<{ model: M; state: LoopState<V> }> {
  const progress = dirs.progress ?? noProgress;
  const { model, optimizer } = task;
  const last = path.join(dirs.checkpointDir, 'last');
  let state: LoopState<V> = { epoch: 0, step: 0, iteration: 0, best: null, epochsSinceBest: 0, elapsedSeconds: 0, history: [] };
  const record = () => trainingRecord(opts, state, { unit: task.unit, ...task.record });
  try {
    if (dirs.resume) {
      state = await readState<V>(last, model, optimizer);
      log.info({ epoch: state.epoch, step: state.step, iteration: state.iteration, best: state.best }, 'resumed from checkpoint');
    }
    const started = Date.now() - state.elapsedSeconds * 1000;
    const elapsed = () => (Date.now() - started) / 1000;
    const isBetter = (score: number) =>
      state.best === null || (task.better === 'higher' ? score > state.best.score : score < state.best.score);

    const validate = async (entry: Omit<HistoryEntry<V>, 'val' | 'iteration'>): Promise<V> => {
      const val = await task.validate();
      const score = task.score(val);
      state = { ...state, elapsedSeconds: elapsed(), history: [...state.history, { ...entry, iteration: state.iteration, val }] };
      log.info({ ...entry, iteration: state.iteration, score, val }, 'validation');
      if (isBetter(score)) {
        state = { ...state, best: { score, epoch: entry.epoch, iteration: state.iteration } };
        await model.save(dirs.outDir, { training: record(), metrics: { val } });
        log.info({ score, outDir: dirs.outDir }, 'new best model saved');
      }
      return val;
    };

    let stop: string | undefined;
    while (state.epoch < opts.epochs && stop === undefined) {
      const epoch = state.epoch + 1;
      const learningRate = task.learningRate(epoch);
      optimizer.setLearningRate(learningRate);
      const bestBefore = state.best;
      const from = state.step;
      const run = task.epoch(epoch, from);
      const bar = progress(`epoch ${epoch}`, run.steps - from);
      const t0 = Date.now();
      let lossSum = 0;
      let items = 0;
      let next = from;
      const progressAt = () => {
        const perSecond = items / ((Date.now() - t0) / 1000);
        return { epoch, loss: items > 0 ? lossSum / items : NaN, perSecond, learningRate };
      };
      try {
        while (next < run.steps) {
          const iteration = state.iteration + 1;
          const r = await run.step(next, iteration);
          if (!Number.isFinite(r.loss)) throw new Error(`loss became ${r.loss} at iteration ${iteration}: lower --lr or --grad-clip`);
          next++;
          state = { ...state, iteration };
          lossSum += r.loss * r.items;
          items += r.items;
          const p = progressAt();
          bar.update(next - from, { loss: p.loss, [`${task.unit}_per_s`]: p.perSecond, it: iteration, ...r.fields });
          if (next < run.steps && elapsed() / 60 >= opts.maxMinutes) {
            stop = `time budget of ${opts.maxMinutes} min reached mid-epoch`;
            break;
          }
          if (opts.evalEvery && iteration % opts.evalEvery === 0 && next < run.steps) await validate(progressAt());
        }
      } finally {
        run.close?.();
        bar.stop();
      }
      const finished = next >= run.steps;
      state = { ...state, epoch: finished ? epoch : state.epoch, step: finished ? 0 : next };
      const val = await validate(progressAt());
      if (finished) {
        state = { ...state, epochsSinceBest: state.best !== bestBefore ? 0 : state.epochsSinceBest + 1 };
        await task.afterEpoch?.(epoch, val, record());
      }
      log.info({ ...progressAt(), finished, minutes: elapsed() / 60 }, finished ? 'epoch done' : 'stopping mid-epoch');
      state = { ...state, elapsedSeconds: elapsed() };
      await saveCheckpoint(last, model, optimizer, state);
      stop ??= stopReason(state, opts);
    }
    if (stop !== undefined) log.info({ epoch: state.epoch, best: state.best, reason: stop }, 'training stops');
  } finally {
    optimizer.dispose();
    model.dispose();
    const closed = await Promise.allSettled((task.resources ?? []).map(async (r) => r.close()));
    for (const c of closed) if (c.status === 'rejected') log.warn({ err: c.reason }, 'closing a training resource failed');
  }
  // The best model, re-saved with the final training record.
  const best = await task.loadBest(dirs.outDir);
  try {
    const metrics = task.finalMetrics ? await task.finalMetrics(best) : best.config.metrics;
    await best.save(dirs.outDir, { training: record(), metrics });
  } catch (err) {
    best.dispose();
    throw err;
  }
  return { model: best, state };
}
