import { z } from 'zod';
import type { CaptionedImage } from '../../data/captions.js';
import { featureRow, indexKeys, type FeatureSet } from '../../data/features.js';
import { scoreCaptions, type CaptionScores } from '../../eval/caption-metrics.js';
import { ENTRY_MIN_SCORE, MAX_ENTRIES } from '../../grounding/entries.js';
import type { WordTable } from '../../grounding/words.js';
import { log } from '../../log.js';
import { featureStats } from '../../nn/feature-norm.js';
import { lengthBuckets } from '../../train/buckets.js';
import { trainLoop, type EpochRun, type LoopState, type TrainRun } from '../../train/loop.js';
import { createOptimizer } from '../../train/optimizer.js';
import { loopOptionFields } from '../../train/options.js';
import { GradientPool } from '../../train/parallel.js';
import type { RowBatch } from '../../train/spec.js';
import { gradientStep } from '../../train/step.js';
import { rng } from '../../util/random.js';
import { captionTokens } from '../train.js';
import { DEFAULT_CONSTRAIN_MIN_SCORE, type GroundedConfig } from './config.js';
import { batchTensors, fineCandidates, groundedExamples, groundedImage, type GroundedExample, type GroundedImage } from './data.js';
import { greedyGrounded, groundedDecoder, type GroundedCaption } from './generate.js';
import { GroundedModel, type GroundedBatchTensors } from './model.js';
import { groundedVocab } from './slots.js';
import { spec } from './train-spec.js';

export const groundedTrainOptionsSchema = z.object({
  ...loopOptionFields({ name: 'caption-grounded', epochs: 20, learningRate: 3e-3, lrDecay: 0.9, patience: 3 }),
  embedDim: z.number().int().positive().default(256),
  hiddenDim: z.number().int().positive().default(384),
  attendDim: z.number().int().positive().default(64),
  dropout: z.number().min(0).max(0.9).default(0.5),
  minWordCount: z.number().int().positive().default(5),
  maxWords: z.number().int().positive().default(20),
  batchSize: z.number().int().positive().default(128),
  maxEntries: z.number().int().positive().max(32).default(MAX_ENTRIES),
  entryMinScore: z.number().min(0).max(1).default(ENTRY_MIN_SCORE),
});
export type GroundedTrainOptions = z.infer<typeof groundedTrainOptionsSchema>;

/** Images with cached features and detections, as the decoder sees them; `index` maps file → position. */
export function groundedImages(
  table: WordTable,
  features: FeatureSet,
  files: readonly string[],
  maxEntries: number,
  minScore: number,
): { images: GroundedImage[]; index: Map<string, number> } {
  if (!features.detections) throw new Error('the feature cache has no detections: rebuild it with npm run features -- --detections');
  const rows = indexKeys(features);
  const images: GroundedImage[] = [];
  const index = new Map<string, number>();
  for (const file of new Set(files)) {
    const row = rows.get(file);
    if (row === undefined) continue;
    index.set(file, images.length);
    images.push(groundedImage(table, featureRow(features, row), features.detections[row]!, maxEntries, minScore));
  }
  return { images, index };
}

/** Greedy captions for `images`, scored against their references. */
export function evaluateGrounded(
  model: GroundedModel,
  table: WordTable,
  refs: readonly CaptionedImage[],
  images: readonly GroundedImage[],
  index: ReadonlyMap<string, number>,
  chunk = 500,
): { scores: CaptionScores; captions: Map<string | number, GroundedCaption> } {
  const decoder = groundedDecoder(model, table);
  const usable = refs.filter((r) => index.has(r.file));
  const hyps = new Map<string | number, GroundedCaption>();
  for (let i = 0; i < usable.length; i += chunk) {
    const part = usable.slice(i, i + chunk);
    const out = greedyGrounded(
      decoder,
      part.map((r) => images[index.get(r.file)!]!),
      model.config.maxWords + 1,
    );
    part.forEach((r, j) => hyps.set(r.id, out[j]!));
  }
  const texts = new Map([...hyps].map(([id, c]) => [id, c.text]));
  return { scores: scoreCaptions(new Map(usable.map((r) => [r.id, r.captions])), texts), captions: hyps };
}

/** A batch as the gradient step takes it: captions as rows, each share packed by batchTensors (train-spec.ts's loss). */
export function groundedRows(
  batch: readonly GroundedExample[],
  images: readonly GroundedImage[],
  candidates: ReturnType<typeof fineCandidates>,
  vocabSize: number,
): RowBatch {
  return {
    rows: batch.length,
    shard(from, to) {
      const part = batch.slice(from, to);
      const tensors: GroundedBatchTensors = batchTensors(part, images, candidates, vocabSize);
      return { tensors: { ...tensors }, items: part.reduce((n, e) => n + e.ids.length - 1, 0) };
    },
  };
}

/**
 * Train a grounded decoder on cached features and detections with the shared
 * loop (Adam, clipping, lr decay, best val CIDEr-D kept, early stopping,
 * checkpoints), on length-bucketed batches of slotted captions.
 */
export async function trainGroundedModel(
  data: { train: CaptionedImage[]; val: CaptionedImage[]; features: FeatureSet; table: WordTable },
  opts: GroundedTrainOptions,
  dirs: TrainRun,
): Promise<{ model: GroundedModel; state: LoopState<CaptionScores> }> {
  const { table, features } = data;
  const all = groundedImages(
    table,
    features,
    [...data.train, ...data.val].map((r) => r.file),
    opts.maxEntries,
    opts.entryMinScore,
  );
  const train = data.train.filter((r) => all.index.has(r.file));
  if (train.length === 0) throw new Error('no training image has cached features: check --features against the images');
  const vocab = groundedVocab(train.flatMap(captionTokens), opts.minWordCount);
  const examples = groundedExamples(
    table,
    train.map((r) => ({ image: all.index.get(r.file)!, captions: captionTokens(r) })),
    (i) => all.images[i]!.entries,
    vocab,
    opts.maxWords,
  );
  const trainRows = new Set(train.map((r) => all.index.get(r.file)!));
  const D = all.images[0]!.input.length;
  const flat = new Float32Array(all.images.length * D);
  all.images.forEach((img, i) => flat.set(img.input, i * D));
  const stats = featureStats(flat, D, trainRows);
  const config: GroundedConfig = {
    kind: 'caption-grounded',
    name: opts.name,
    version: opts.version,
    encoder: features.encoder,
    featureDim: features.dim,
    inputMean: stats.mean,
    inputStd: stats.std,
    embedDim: opts.embedDim,
    hiddenDim: opts.hiddenDim,
    attendDim: opts.attendDim,
    dropout: opts.dropout,
    maxWords: opts.maxWords,
    minWordCount: opts.minWordCount,
    maxEntries: opts.maxEntries,
    entryMinScore: opts.entryMinScore,
    coverageWeight: 0,
    classWordsBySlotOnly: false,
    pointerScorePrior: 0,
    constrainTop: 0,
    constrainMinScore: DEFAULT_CONSTRAIN_MIN_SCORE,
    vocab: [...vocab.words],
  };
  const slots = examples.reduce((n, e) => n + e.slots.length, 0);
  log.info({ vocab: vocab.size, examples: examples.length, slots, valImages: data.val.length }, 'grounded caption training data');

  const model = GroundedModel.init(config, opts.seed);
  const candidates = fineCandidates(table, vocab);
  const optimizer = createOptimizer('adam', opts.learningRate);
  const pool = new GradientPool(spec, config, opts.workers - 1);
  const epoch = (epoch: number): EpochRun => {
    const batches = lengthBuckets<GroundedExample>(examples, (e) => e.ids.length, opts.batchSize, rng(opts.seed + epoch));
    return {
      steps: batches.length,
      async step(i) {
        const batch = batches[i]!;
        const seed = opts.seed * 100_003 + epoch * 10_007 + i;
        const grads = await pool.gradients(model, groundedRows(batch, all.images, candidates, vocab.size), seed);
        // A batch without slots leaves the pointer and fine head without gradients (and unchanged).
        const { loss, norm } = gradientStep(model.variables(), optimizer, opts.gradClip, grads);
        const targets = batch.reduce((n, e) => n + e.ids.length - 1, 0);
        return { loss, items: targets, fields: { grad_norm: norm } };
      },
    };
  };
  return trainLoop(
    {
      model,
      optimizer,
      learningRate: (e) => opts.learningRate * Math.pow(opts.lrDecay, e - 1),
      epoch,
      validate: () => evaluateGrounded(model, table, data.val, all.images, all.index).scores,
      score: (val) => val.ciderD,
      better: 'higher',
      loadBest: (dir) => GroundedModel.load(dir),
      resources: [pool],
      unit: 'tok',
      record: { examples: examples.length, slots },
    },
    opts,
    dirs,
  );
}
