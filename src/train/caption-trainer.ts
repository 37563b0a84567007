import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { z } from 'zod';
import { progress } from '../cli/progress.js';
import type { CaptionConfig } from '../caption/config.js';
import { featureStats } from '../nn/feature-norm.js';
import { greedyCaptions } from '../caption/generate.js';
import { CaptionModel } from '../caption/model.js';
import type { CaptionedImage } from '../data/captions.js';
import { indexKeys, type FeatureSet } from '../data/features.js';
import { scoreCaptions, type CaptionScores } from '../eval/caption-metrics.js';
import { log } from '../log.js';
import { rng } from '../util/random.js';
import { tokenizeWords } from '../text/tokenize.js';
import { Vocab } from '../text/vocab.js';
import { bucketedBatches, type Batch, type Example } from './batches.js';
import { applyGradients, batchGradients, featureTensor } from './gradients.js';
import { GradientPool } from './parallel.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { stopReason, trainingRecord } from './epochs.js';

export const trainOptionsSchema = z.object({
  name: z.string().default('caption-flickr8k'),
  version: z.string().default('1'),
  embedDim: z.number().int().positive().default(256),
  hiddenDim: z.number().int().positive().default(512),
  dropout: z.number().min(0).max(0.9).default(0.5),
  minWordCount: z.number().int().positive().default(5),
  maxWords: z.number().int().positive().default(20),
  batchSize: z.number().int().positive().default(64),
  epochs: z.number().int().positive().default(20),
  learningRate: z.number().positive().default(2e-3),
  /** Multiply the learning rate by this after each epoch. */
  lrDecay: z.number().positive().max(1).default(0.85),
  gradClip: z.number().positive().default(5),
  /** Stop after this many epochs without a better val CIDEr-D. */
  patience: z.number().int().positive().default(3),
  /** Stop (after the current epoch) once training has run this long. */
  maxMinutes: z.number().positive().default(Infinity),
  seed: z.number().int().default(1234),
  /** Threads computing gradients on shares of each batch (wasm: one core each). */
  workers: z.number().int().min(1).max(16).default(1),
  /** Standardise image vectors with the training set's per-dimension mean and std (off for the shipped model). */
  normalizeFeatures: z.boolean().default(false),
});
export type TrainOptions = z.infer<typeof trainOptionsSchema>;

export interface TrainData {
  train: CaptionedImage[];
  val: CaptionedImage[];
  features: FeatureSet;
}

interface TrainState {
  epoch: number;
  bestCider: number;
  bestEpoch: number;
  learningRate: number;
  elapsedSeconds: number;
  history: { epoch: number; loss: number; tokensPerSecond: number; val: CaptionScores }[];
}


/** Tokenised captions: the source's tokens when it has them (Karpathy), else our tokenizer. */
export function captionTokens(img: CaptionedImage): string[][] {
  return img.tokens ?? img.captions.map(tokenizeWords);
}

/** Examples for images whose features are cached; reports how many lacked features. */
export function buildExamples(images: CaptionedImage[], vocab: Vocab, features: FeatureSet, maxWords: number): { examples: Example[]; missing: number } {
  const index = indexKeys(features);
  const examples: Example[] = [];
  let missing = 0;
  for (const img of images) {
    const row = index.get(img.file);
    if (row === undefined) {
      missing++;
      continue;
    }
    for (const tokens of captionTokens(img)) examples.push({ featureRow: row, ids: vocab.encode(tokens, maxWords) });
  }
  return { examples, missing };
}


/** Greedy captions for every image with features, scored against its references. */
export function evaluateModel(model: CaptionModel, images: CaptionedImage[], features: FeatureSet, chunk = 500): { scores: CaptionScores; captions: Map<string | number, string> } {
  const index = indexKeys(features);
  const usable = images.filter((img) => index.has(img.file));
  const hyps = new Map<string | number, string>();
  const refs = new Map<string | number, string[]>();
  for (let i = 0; i < usable.length; i += chunk) {
    const part = usable.slice(i, i + chunk);
    const feats = featureTensor(features, part.map((img) => index.get(img.file)!));
    const texts = greedyCaptions(model, feats, model.config.maxWords + 1);
    feats.dispose();
    part.forEach((img, j) => {
      hyps.set(img.id, texts[j]!);
      refs.set(img.id, img.captions);
    });
  }
  return { scores: scoreCaptions(refs, hyps), captions: hyps };
}

async function trainStep(model: CaptionModel, optimizer: tf.Optimizer, batch: Batch, features: FeatureSet, clip: number, seed: number, pool?: GradientPool): Promise<{ loss: number; norm: number }> {
  const { loss, grads } = pool ? await pool.gradients(model, batch, features, seed) : batchGradients(model, batch, features, seed);
  return { loss, norm: applyGradients(model.variables(), optimizer, grads, clip) };
}


/**
 * Train a caption decoder on cached features: Adam, gradient-norm clipping,
 * per-epoch learning-rate decay, a checkpoint every epoch (resumable), the
 * best val CIDEr-D model kept in `outDir`, early stopping on it.
 */
export async function trainCaptionModel(data: TrainData, opts: TrainOptions, dirs: { outDir: string; checkpointDir: string; resume: boolean }): Promise<{ model: CaptionModel; state: TrainState }> {
  const vocab = Vocab.build(data.train.flatMap(captionTokens), opts.minWordCount);
  const config: CaptionConfig = {
    kind: 'caption-lstm',
    name: opts.name,
    version: opts.version,
    encoder: data.features.encoder,
    featureDim: data.features.dim,
    embedDim: opts.embedDim,
    hiddenDim: opts.hiddenDim,
    dropout: opts.dropout,
    maxWords: opts.maxWords,
    minWordCount: opts.minWordCount,
    vocab: [...vocab.words],
  };
  const { examples, missing } = buildExamples(data.train, vocab, data.features, opts.maxWords);
  if (opts.normalizeFeatures) {
    const stats = featureStats(data.features.data, data.features.dim, new Set(examples.map((e) => e.featureRow)));
    config.featureMean = stats.mean;
    config.featureStd = stats.std;
  }
  if (examples.length === 0) throw new Error('no training example has cached features: check --features against the images');
  if (missing > 0) log.warn({ missing }, 'training images without cached features were skipped');
  log.info({ vocab: vocab.size, examples: examples.length, valImages: data.val.length }, 'caption training data');

  const model = CaptionModel.init(config, opts.seed);
  const optimizer = tf.train.adam(opts.learningRate);
  let state: TrainState = { epoch: 0, bestCider: -Infinity, bestEpoch: 0, learningRate: opts.learningRate, elapsedSeconds: 0, history: [] };
  const last = path.join(dirs.checkpointDir, 'last');
  if (dirs.resume) {
    state = await loadCheckpoint<TrainState>(last, model, optimizer);
    log.info({ epoch: state.epoch, bestCider: state.bestCider }, 'resumed from checkpoint');
  }
  const started = Date.now() - state.elapsedSeconds * 1000;
  const pool = opts.workers > 1 ? new GradientPool(opts.workers - 1, config, data.features) : undefined;

  while (state.epoch < opts.epochs) {
    const epoch = state.epoch + 1;
    (optimizer as unknown as { learningRate: number }).learningRate = state.learningRate;
    const batches = bucketedBatches(examples, opts.batchSize, rng(opts.seed + epoch));
    const bar = progress(`epoch ${epoch}`, batches.length);
    const epochStart = Date.now();
    let tokens = 0;
    let lossSum = 0;
    for (const [i, batch] of batches.entries()) {
      const { loss } = await trainStep(model, optimizer, batch, data.features, opts.gradClip, opts.seed * 100_003 + epoch * 10_007 + i, pool);
      lossSum += loss * batch.targets;
      tokens += batch.targets;
      bar.update(i + 1, { loss: lossSum / tokens, tok_per_s: tokens / ((Date.now() - epochStart) / 1000) });
    }
    bar.stop();
    const tokensPerSecond = tokens / ((Date.now() - epochStart) / 1000);
    const { scores } = evaluateModel(model, data.val, data.features);
    state = {
      ...state,
      epoch,
      learningRate: state.learningRate * opts.lrDecay,
      elapsedSeconds: (Date.now() - started) / 1000,
      history: [...state.history, { epoch, loss: lossSum / tokens, tokensPerSecond, val: scores }],
    };
    log.info({ epoch, loss: lossSum / tokens, tokensPerSecond: Math.round(tokensPerSecond), ...scores }, 'epoch done');
    if (scores.ciderD > state.bestCider) {
      state = { ...state, bestCider: scores.ciderD, bestEpoch: epoch };
      await model.save(dirs.outDir, { training: trainingRecord(opts, state, examples.length), metrics: { val: scores } });
      log.info({ epoch, ciderD: scores.ciderD, outDir: dirs.outDir }, 'new best model saved');
    }
    await saveCheckpoint(last, model, optimizer, state);
    const stop = stopReason(state, opts);
    if (stop) {
      log.info({ epoch, reason: stop }, 'training stops');
      break;
    }
  }
  await pool?.close();
  // Re-save the config of the best model with the final training record.
  const best = await CaptionModel.load(dirs.outDir);
  await best.save(dirs.outDir, { training: trainingRecord(opts, state, examples.length), metrics: best.config.metrics });
  model.dispose();
  optimizer.dispose();
  return { model: best, state };
}
