import { z } from 'zod';
import type { CaptionedImage } from '../data/captions.js';
import { indexKeys, type FeatureSet } from '../data/features.js';
import { scoreCaptions, type CaptionScores } from '../eval/caption-metrics.js';
import { log } from '../log.js';
import { featureStats } from '../nn/feature-norm.js';
import { tokenizeWords } from '../text/tokenize.js';
import { Vocab } from '../text/vocab.js';
import { featureTensor } from '../train/features.js';
import { trainLoop, type EpochRun, type LoopState, type TrainRun } from '../train/loop.js';
import { createOptimizer } from '../train/optimizer.js';
import { GradientPool } from '../train/parallel.js';
import { gradientStep } from '../train/step.js';
import { rng } from '../util/random.js';
import { bucketedBatches, captionRows, type Example } from './batches.js';
import type { CaptionConfig } from './config.js';
import { greedyCaptions } from './generate.js';
import { CaptionModel } from './model.js';
import { spec } from './train-spec.js';
import { loopOptionFields } from '../train/options.js';

export const trainOptionsSchema = z.object({
  ...loopOptionFields({ name: 'caption-flickr8k', epochs: 20, learningRate: 2e-3, lrDecay: 0.85, patience: 3 }),
  embedDim: z.number().int().positive().default(256),
  hiddenDim: z.number().int().positive().default(512),
  dropout: z.number().min(0).max(0.9).default(0.5),
  minWordCount: z.number().int().positive().default(5),
  maxWords: z.number().int().positive().default(20),
  batchSize: z.number().int().positive().default(64),
  /** Standardise image vectors with the training set's per-dimension mean and std (off for the shipped model). */
  normalizeFeatures: z.boolean().default(false),
});
export type TrainOptions = z.infer<typeof trainOptionsSchema>;

export interface TrainData {
  train: CaptionedImage[];
  val: CaptionedImage[];
  features: FeatureSet;
}

/** Tokenised captions: the source's tokens when it has them (Karpathy), else our tokenizer. */
export function captionTokens(img: CaptionedImage): string[][] {
  return img.tokens ?? img.captions.map(tokenizeWords);
}

/** Examples for images whose features are cached; reports how many lacked features. */
export function buildExamples(
  images: CaptionedImage[],
  vocab: Vocab,
  features: FeatureSet,
  maxWords: number,
): { examples: Example[]; missing: number } {
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
export function evaluateModel(
  model: CaptionModel,
  images: CaptionedImage[],
  features: FeatureSet,
  chunk = 500,
): { scores: CaptionScores; captions: Map<string | number, string> } {
  const index = indexKeys(features);
  const usable = images.filter((img) => index.has(img.file));
  const hyps = new Map<string | number, string>();
  const refs = new Map<string | number, string[]>();
  for (let i = 0; i < usable.length; i += chunk) {
    const part = usable.slice(i, i + chunk);
    const feats = featureTensor(
      features,
      part.map((img) => index.get(img.file)!),
    );
    const texts = greedyCaptions(model, feats, model.config.maxWords + 1);
    feats.dispose();
    part.forEach((img, j) => {
      hyps.set(img.id, texts[j]!);
      refs.set(img.id, img.captions);
    });
  }
  return { scores: scoreCaptions(refs, hyps), captions: hyps };
}

/**
 * Train a caption decoder on cached features with the shared loop: Adam, gradient-norm
 * clipping, learning rate × lrDecay each epoch, the best val CIDEr-D model kept in `outDir`,
 * early stopping on it, a resumable checkpoint each epoch. Batches are bucketed by length.
 */
export async function trainCaptionModel(
  data: TrainData,
  opts: TrainOptions,
  dirs: TrainRun,
): Promise<{ model: CaptionModel; state: LoopState<CaptionScores> }> {
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
  const optimizer = createOptimizer('adam', opts.learningRate);
  const pool = new GradientPool(spec, config, opts.workers - 1);
  const epoch = (epoch: number): EpochRun => {
    const batches = bucketedBatches(examples, opts.batchSize, rng(opts.seed + epoch));
    return {
      steps: batches.length,
      async step(i) {
        const batch = batches[i]!;
        const seed = opts.seed * 100_003 + epoch * 10_007 + i;
        const grads = await pool.gradients(model, captionRows(batch, data.features), seed);
        const { loss, norm } = gradientStep(model.variables(), optimizer, opts.gradClip, grads);
        return { loss, items: batch.targets, fields: { grad_norm: norm } };
      },
    };
  };
  return trainLoop(
    {
      model,
      optimizer,
      learningRate: (e) => opts.learningRate * Math.pow(opts.lrDecay, e - 1),
      epoch,
      validate: () => evaluateModel(model, data.val, data.features).scores,
      score: (val) => val.ciderD,
      better: 'higher',
      loadBest: (dir) => CaptionModel.load(dir),
      resources: [pool],
      unit: 'tok',
      record: { examples: examples.length },
    },
    opts,
    dirs,
  );
}
