import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { z } from 'zod';
import { progress } from '../cli/progress.js';
import { log } from '../log.js';
import { clipByGlobalNorm } from '../nn/ops.js';
import { CELLS, type CharConfig } from './config.js';
import { StreamBatcher, type Chunk, type TextSplits } from './data.js';
import { CharModel, disposeState, keepState, type CharState } from './model.js';
import { sampleText } from './sample.js';
import { CharVocab } from './vocab.js';
import { loadCheckpoint, saveCheckpoint } from '../train/checkpoint.js';

export const charTrainOptionsSchema = z.object({
  name: z.string().default('char-tinyshakespeare'),
  version: z.string().default('1'),
  cell: z.enum(CELLS).default('lstm'),
  embedDim: z.number().int().min(0).default(0),
  hiddenDim: z.number().int().positive().default(256),
  layers: z.number().int().min(1).max(3).default(2),
  dropout: z.number().min(0).max(0.9).default(0.2),
  /** Parallel streams per batch. */
  batchSize: z.number().int().positive().default(32),
  /** Truncated BPTT length: gradients flow this many steps back; the state flows on. */
  seqLength: z.number().int().positive().default(64),
  epochs: z.number().int().positive().default(50),
  optimizer: z.enum(['adam', 'rmsprop']).default('adam'),
  learningRate: z.number().positive().default(2e-3),
  /** Multiply the learning rate by this after each epoch past `lrDecayAfter`. */
  lrDecay: z.number().positive().max(1).default(0.97),
  lrDecayAfter: z.number().int().min(0).default(10),
  gradClip: z.number().positive().default(5),
  /** Stop (checkpointing where it is) once training has run this long. */
  maxMinutes: z.number().positive().default(Infinity),
  /** Stop after this many epochs without a better val loss. */
  patience: z.number().int().positive().default(5),
  /** Log a sample every this many iterations (0: never). */
  sampleEvery: z.number().int().min(0).default(500),
  sampleLength: z.number().int().positive().default(200),
  /** Also evaluate (and keep the best model) every this many iterations (0: epoch ends only). */
  evalEvery: z.number().int().min(0).default(0),
  seed: z.number().int().default(1234),
});
export type CharTrainOptions = z.infer<typeof charTrainOptionsSchema>;

export interface LossReport {
  /** Mean cross-entropy, nats per character. */
  nats: number;
  bitsPerChar: number;
  perplexity: number;
  chars: number;
}

export function lossReport(nats: number, chars: number): LossReport {
  return { nats, bitsPerChar: nats / Math.LN2, perplexity: Math.exp(nats), chars };
}

export interface TrainState {
  /** Completed epochs. */
  epoch: number;
  /** Next chunk of the current epoch (resuming mid-epoch starts from a zero state there). */
  chunk: number;
  iteration: number;
  bestVal: number;
  bestAt: { epoch: number; iteration: number } | null;
  epochsSinceBest: number;
  learningRate: number;
  elapsedSeconds: number;
  history: { epoch: number; iteration: number; trainLoss: number; val: LossReport; charsPerSecond: number; learningRate: number }[];
}


export function createOptimizer(kind: CharTrainOptions['optimizer'], learningRate: number): tf.Optimizer {
  // RMSprop as char-rnn: decay 0.95.
  return kind === 'adam' ? tf.train.adam(learningRate) : tf.train.rmsprop(learningRate, 0.95, 0, 1e-8);
}

function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  (optimizer as unknown as { learningRate: number }).learningRate = lr;
}

function chunkTensors(chunk: Chunk): { inputs: tf.Tensor1D; targets: tf.Tensor1D } {
  return { inputs: tf.tensor1d(chunk.inputs, 'int32'), targets: tf.tensor1d(chunk.targets, 'int32') };
}

/**
 * One truncated-BPTT update on a chunk: forward `steps` steps from `state`
 * (a constant: no gradient flows into the previous chunk), backprop, clip the
 * global gradient norm to `clip`, apply. Returns the final state (kept; the
 * caller disposes `state` and passes the new one to the next chunk).
 */
export function trainChunk(
  model: CharModel,
  optimizer: tf.Optimizer,
  chunk: Chunk,
  steps: number,
  state: CharState,
  clip: number,
  dropoutSeed: number,
): { loss: number; norm: number; state: CharState } {
  const { inputs, targets } = chunkTensors(chunk);
  let next: CharState | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const out = model.loss(inputs, targets, steps, state, dropoutSeed);
    next = keepState(out.state);
    return out.loss;
  }, Object.values(model.params));
  const clipped = clipByGlobalNorm(grads, clip);
  optimizer.applyGradients(clipped.grads as tf.NamedTensorMap);
  const loss = value.dataSync()[0]!;
  tf.dispose([inputs, targets, value, ...Object.values(grads), ...Object.values(clipped.grads)]);
  return { loss, norm: clipped.norm, state: next! };
}

export interface ChunkProgress {
  /** Chunk just trained. */
  chunk: number;
  loss: number;
  /** Gradient norm before clipping. */
  norm: number;
  /** Updates so far, over all epochs. */
  iteration: number;
  /** Sum of loss × characters and characters, this epoch so far. */
  lossSum: number;
  chars: number;
}

/**
 * One pass over the batcher's chunks from chunk `from`, with truncated BPTT:
 * the hidden state starts at zero and each chunk starts from the state the
 * previous chunk ended in. `onChunk` sees every update and may answer 'stop'.
 * Returns the final hidden state (the caller disposes it) and where it stopped.
 */
export async function trainEpoch(
  model: CharModel,
  optimizer: tf.Optimizer,
  batcher: StreamBatcher,
  opts: { gradClip: number; seed: number; from?: number; iteration?: number },
  onChunk?: (p: ChunkProgress) => Promise<'stop' | 'go'> | 'stop' | 'go',
): Promise<{ state: CharState; lossSum: number; chars: number; iterations: number; next: number }> {
  let hidden = model.zeroState(batcher.streams);
  let lossSum = 0;
  let chars = 0;
  let iterations = 0;
  let k = opts.from ?? 0;
  try {
    while (k < batcher.chunks) {
      const iteration = (opts.iteration ?? 0) + iterations + 1;
      const r = trainChunk(model, optimizer, batcher.chunk(k), batcher.steps, hidden, opts.gradClip, opts.seed * 100_003 + iteration);
      disposeState(hidden);
      hidden = r.state;
      iterations++;
      lossSum += r.loss * batcher.chunkSize;
      chars += batcher.chunkSize;
      k++;
      if (onChunk && (await onChunk({ chunk: k - 1, loss: r.loss, norm: r.norm, iteration, lossSum, chars })) === 'stop') break;
    }
  } catch (err) {
    disposeState(hidden);
    throw err;
  }
  return { state: hidden, lossSum, chars, iterations, next: k };
}

/**
 * Loss of a model on a text (ids) read as `streams` parallel streams with the
 * state carried from chunk to chunk, so each character is predicted from all
 * the text before it in its stream. Scores every character but the first of
 * each stream (and ≤ streams−1 left over at the end).
 */
export function evaluate(model: CharModel, ids: Int32Array, streams = 32, steps = 100): LossReport {
  const n = Math.min(streams, Math.max(1, Math.floor((ids.length - 1) / 2)));
  const batcher = new StreamBatcher(ids, n, steps);
  let state = model.zeroState(n);
  let sum = 0;
  let count = 0;
  for (let k = 0; k < batcher.count(true); k++) {
    const T = batcher.stepsOf(k);
    const chunk = batcher.chunk(k);
    const out = tf.tidy(() => {
      const { inputs, targets } = chunkTensors(chunk);
      const r = model.loss(inputs, targets, T, state);
      return { loss: r.loss, state: r.state };
    });
    disposeState(state);
    state = out.state;
    sum += out.loss.dataSync()[0]! * T * n;
    count += T * n;
    out.loss.dispose();
  }
  disposeState(state);
  return lossReport(sum / count, count);
}


export interface TrainDirs {
  /** Where the best model (by val loss) is written. */
  outDir: string;
  /** Per-epoch checkpoints (epochNN_valX.XXXX/) and the resumable `last/`. */
  checkpointDir: string;
  resume: boolean;
}

export interface TrainResult {
  model: CharModel;
  state: TrainState;
  val: LossReport;
  test: LossReport;
}

/**
 * Train a char-level language model with truncated BPTT: `batchSize` parallel
 * streams, the state carried across consecutive `seqLength` chunks; Adam or
 * RMSprop with global-norm clipping and per-epoch learning-rate decay; a
 * checkpoint each epoch (val loss in its name, resumable), the best val model
 * in `outDir`, early stopping and a time budget. Val and test losses of the
 * best model end up in its config.json.
 */
export async function trainCharModel(splits: TextSplits, opts: CharTrainOptions, dirs: TrainDirs): Promise<TrainResult> {
  // The vocabulary covers every split: a character seen only in val/test would otherwise be unscorable.
  const vocab = CharVocab.build(splits.train + splits.val + splits.test);
  const config: CharConfig = {
    kind: 'char-rnn',
    name: opts.name,
    version: opts.version,
    cell: opts.cell,
    embedDim: opts.embedDim,
    hiddenDim: opts.hiddenDim,
    layers: opts.layers,
    dropout: opts.dropout,
    vocab: [...vocab.chars],
  };
  const trainIds = vocab.encode(splits.train);
  const valIds = vocab.encode(splits.val);
  const testIds = vocab.encode(splits.test);
  const batcher = new StreamBatcher(trainIds, opts.batchSize, opts.seqLength);
  if (batcher.chunks < 1) {
    throw new Error(`the training text (${trainIds.length} characters) is too short for ${opts.batchSize} streams × ${opts.seqLength} steps`);
  }
  const model = CharModel.init(config, opts.seed);
  log.info(
    { vocab: vocab.size, trainChars: trainIds.length, valChars: valIds.length, testChars: testIds.length, chunksPerEpoch: batcher.chunks, parameters: model.parameterCount() },
    'char training data',
  );

  const optimizer = createOptimizer(opts.optimizer, opts.learningRate);
  let state: TrainState = { epoch: 0, chunk: 0, iteration: 0, bestVal: Infinity, bestAt: null, epochsSinceBest: 0, learningRate: opts.learningRate, elapsedSeconds: 0, history: [] };
  const last = path.join(dirs.checkpointDir, 'last');
  if (dirs.resume) {
    state = await loadCheckpoint<TrainState>(last, model, optimizer);
    log.info({ epoch: state.epoch, chunk: state.chunk, iteration: state.iteration, bestVal: state.bestVal }, 'resumed from checkpoint');
  }
  const started = Date.now() - state.elapsedSeconds * 1000;
  const elapsed = () => (Date.now() - started) / 1000;
  const overBudget = () => elapsed() / 60 >= opts.maxMinutes;

  const record = () => trainingRecord(opts, state, trainIds.length);
  /** Evaluate on val; keep the model if it is the best so far. */
  const validate = async (trainLoss: number, charsPerSecond: number): Promise<LossReport> => {
    const val = evaluate(model, valIds, opts.batchSize, 100);
    const entry = { epoch: state.epoch, iteration: state.iteration, trainLoss, val, charsPerSecond: Math.round(charsPerSecond), learningRate: state.learningRate };
    state = { ...state, elapsedSeconds: elapsed(), history: [...state.history, entry] };
    log.info({ ...entry, val: undefined, valLoss: val.nats, valBpc: val.bitsPerChar, valPpl: val.perplexity }, 'validation');
    if (val.nats < state.bestVal) {
      state = { ...state, bestVal: val.nats, bestAt: { epoch: state.epoch, iteration: state.iteration } };
      await model.save(dirs.outDir, { training: record(), metrics: { val } });
      log.info({ valLoss: val.nats, outDir: dirs.outDir }, 'new best model saved');
    }
    return val;
  };

  let stopped = false;
  while (state.epoch < opts.epochs && !stopped) {
    const epoch = state.epoch + 1;
    state.learningRate = opts.learningRate * Math.pow(opts.lrDecay, Math.max(0, epoch - 1 - opts.lrDecayAfter));
    setLearningRate(optimizer, state.learningRate);
    const bestAtStart = state.bestVal;
    const run0 = state.chunk;
    const bar = progress(`epoch ${epoch}`, batcher.chunks - run0);
    const t0 = Date.now();
    let lossWindow = 0;
    const startIteration = state.iteration;
    const run = await trainEpoch(model, optimizer, batcher, { gradClip: opts.gradClip, seed: opts.seed, from: state.chunk, iteration: state.iteration }, async (p) => {
      state.iteration = p.iteration;
      lossWindow = lossWindow === 0 ? p.loss : 0.98 * lossWindow + 0.02 * p.loss;
      const cps = p.chars / ((Date.now() - t0) / 1000);
      bar.update(p.chunk + 1 - run0, { loss: lossWindow, grad_norm: p.norm, chars_per_s: Math.round(cps), it: p.iteration });
      if (!Number.isFinite(p.loss)) throw new Error(`loss became ${p.loss} at iteration ${p.iteration}: lower --lr or --grad-clip`);
      if (opts.sampleEvery > 0 && p.iteration % opts.sampleEvery === 0) {
        const { text } = sampleText(model, { prime: '', length: opts.sampleLength, temperature: 0.8, topK: 0, seed: p.iteration });
        // On a terminal the text as char-rnn prints it; in logs one JSON line.
        if (process.stderr.isTTY) process.stderr.write(`\n---- sample @${p.iteration} (loss ${lossWindow.toFixed(3)}) ----\n${text}\n----\n`);
        else log.info({ iteration: p.iteration, loss: lossWindow, sample: text }, `sample @${p.iteration}`);
      }
      if (opts.evalEvery > 0 && p.iteration % opts.evalEvery === 0 && p.chunk + 1 < batcher.chunks) {
        await validate(p.lossSum / p.chars, cps);
      }
      return overBudget() ? 'stop' : 'go';
    });
    disposeState(run.state);
    state.iteration = startIteration + run.iterations;
    const { lossSum, chars } = run;
    const k = run.next;
    bar.stop();
    const charsPerSecond = chars / ((Date.now() - t0) / 1000);
    const trainLoss = chars > 0 ? lossSum / chars : NaN;
    const finished = k >= batcher.chunks;
    if (!finished) stopped = true;
    state = { ...state, epoch: finished ? epoch : state.epoch, chunk: finished ? 0 : k };
    const val = await validate(trainLoss, charsPerSecond);
    log.info({ epoch, finished, trainLoss, valLoss: val.nats, charsPerSecond: Math.round(charsPerSecond), minutes: elapsed() / 60 }, finished ? 'epoch done' : 'stopping mid-epoch');
    if (finished) {
      state.epochsSinceBest = state.bestVal < bestAtStart ? 0 : state.epochsSinceBest + 1;
      await model.save(path.join(dirs.checkpointDir, `epoch${String(epoch).padStart(2, '0')}_val${val.nats.toFixed(4)}`), { training: record(), metrics: { val } });
    }
    state.elapsedSeconds = elapsed();
    await saveCheckpoint(last, model, optimizer, state);
    if (state.epochsSinceBest >= opts.patience) {
      log.info({ bestAt: state.bestAt, bestVal: state.bestVal }, 'early stopping: val loss stopped improving');
      break;
    }
    if (overBudget()) {
      log.info({ minutes: elapsed() / 60 }, 'time budget reached');
      break;
    }
  }
  model.dispose();
  optimizer.dispose();

  // Score the best model on val and test; store both in its config.
  const best = await CharModel.load(dirs.outDir);
  const val = evaluate(best, valIds, opts.batchSize, 100);
  const test = evaluate(best, testIds, opts.batchSize, 100);
  await best.save(dirs.outDir, { training: record(), metrics: { val, test } });
  log.info({ valLoss: val.nats, testLoss: test.nats, testBpc: test.bitsPerChar, testPpl: test.perplexity }, 'best model scored');
  return { model: best, state, val, test };
}

function trainingRecord(opts: CharTrainOptions, state: TrainState, trainChars: number): Record<string, unknown> {
  return {
    options: { ...opts, maxMinutes: Number.isFinite(opts.maxMinutes) ? opts.maxMinutes : null },
    trainChars,
    epochsRun: state.epoch,
    iterations: state.iteration,
    bestAt: state.bestAt,
    trainingSeconds: Math.round(state.elapsedSeconds),
    machine: `${process.platform}/${process.arch}`,
    history: state.history,
  };
}
