import { z } from 'zod';
import type { CaptionedImage } from '../../data/captions.js';
import type { RegionSet } from '../../data/regions.js';
import { scoreCaptions, type CaptionScores } from '../../eval/caption-metrics.js';
import type { SelectedRegions } from '../../encoder/regions.js';
import { log } from '../../log.js';
import { Vocab } from '../../text/vocab.js';
import { lengthBuckets } from '../../train/buckets.js';
import { trainLoop, type EpochRun, type LoopState, type TrainRun } from '../../train/loop.js';
import { createOptimizer } from '../../train/optimizer.js';
import { loopOptionFields } from '../../train/options.js';
import { GradientPool } from '../../train/parallel.js';
import { gradientStep } from '../../train/step.js';
import { rng } from '../../util/random.js';
import { captionTokens } from '../train.js';
import type { AttentionConfig } from './config.js';
import { regionImages, regionStats } from '../../data/regions.js';
import { attentionRows, slottedExample, type AttentionExample } from './data.js';
import { attentionDecoder, attentionRules, generateAttentionMany, modelSlotRules, type AttentionDecoder } from './generate.js';
import { defaultWordTable, type WordTable } from '../../grounding/words.js';
import { groundedVocab } from '../grounded/slots.js';
import { DEFAULT_CAPTION_SEARCH, type CaptionSearchOptions } from '../options.js';
import { AttentionModel } from './model.js';
import { tfjsAttentionNet } from './step-model.js';
import { spec } from './train-spec.js';

export const attentionTrainOptionsSchema = z.object({
  ...loopOptionFields({ name: 'caption-attention', epochs: 15, learningRate: 2e-3, lrDecay: 0.85, patience: 3 }),
  embedDim: z.number().int().positive().default(192),
  hiddenDim: z.number().int().positive().default(256),
  attendDim: z.number().int().positive().default(128),
  dropout: z.number().min(0).max(0.9).default(0.5),
  minWordCount: z.number().int().positive().default(5),
  maxWords: z.number().int().positive().default(16),
  batchSize: z.number().int().positive().default(100),
  maxRegions: z.number().int().positive().max(32).default(10),
  regionMinScore: z.number().min(0).max(1).default(0.2),
  /** Neural Baby Talk's slots on the attention (AttentionConfig.slots). */
  slots: z.boolean().default(false),
  /** The ablation without the visual sentinel (AttentionConfig.sentinel false). */
  noSentinel: z.boolean().default(false),
});
export type AttentionTrainOptions = z.infer<typeof attentionTrainOptionsSchema>;

/** The decoder the trainer validates and SCST samples with: the model's own slot rules, no other decode rule. */
export function trainingDecoder(model: AttentionModel, table: WordTable): AttentionDecoder {
  const { regionDim, maxRegions } = model.config;
  return attentionDecoder(tfjsAttentionNet(model), model.vocab, regionDim, maxRegions, modelSlotRules(model.config, model.vocab, table));
}

/** Greedy captions of the val images, scored against their references. */
export function evaluateAttention(
  model: AttentionModel,
  refs: readonly CaptionedImage[],
  images: readonly SelectedRegions[],
  index: ReadonlyMap<string, number>,
  chunk = 250,
  table: WordTable = defaultWordTable(),
): { scores: CaptionScores; captions: Map<string | number, string> } {
  const decoder = trainingDecoder(model, table);
  const rules = attentionRules(table, model.vocab);
  const opts: CaptionSearchOptions = { ...DEFAULT_CAPTION_SEARCH, mode: 'greedy', n: 1, maxLength: model.config.maxWords + 1 };
  const usable = refs.filter((r) => index.has(r.file));
  const hyps = new Map<string | number, string>();
  for (let i = 0; i < usable.length; i += chunk) {
    const part = usable.slice(i, i + chunk);
    const out = generateAttentionMany(
      decoder,
      rules,
      part.map((r) => ({ image: images[index.get(r.file)!]!, opts })),
    );
    part.forEach((r, j) => {
      const captions = out[j]!;
      if (captions instanceof Error) throw captions;
      hyps.set(r.id, captions[0]!.text);
    });
  }
  return { scores: scoreCaptions(new Map(usable.map((r) => [r.id, r.captions])), hyps), captions: hyps };
}

/**
 * Train the attention decoder by cross-entropy on cached regions with the shared loop (Adam,
 * clipping, lr decay, best val CIDEr-D kept, early stopping, checkpoints), on length-bucketed batches.
 */
export async function trainAttentionModel(
  data: { train: CaptionedImage[]; val: CaptionedImage[]; regions: RegionSet },
  opts: AttentionTrainOptions,
  dirs: TrainRun,
): Promise<{ model: AttentionModel; state: LoopState<CaptionScores> }> {
  const all = regionImages(
    data.regions,
    [...data.train, ...data.val].map((r) => r.file),
    opts.maxRegions,
    opts.regionMinScore,
  );
  const train = data.train.filter((r) => all.index.has(r.file));
  if (train.length === 0) throw new Error('no training image has cached regions: check --regions against the images');
  const table = defaultWordTable();
  // A slots vocabulary keeps the class words: they are what slots write (modelSlotRules).
  const sentences = train.flatMap(captionTokens);
  const vocab = opts.slots ? groundedVocab(sentences, opts.minWordCount) : Vocab.build(sentences, opts.minWordCount);
  const examples: AttentionExample[] = train.flatMap((r) => {
    const image = all.index.get(r.file)!;
    return captionTokens(r).map((tokens) =>
      opts.slots
        ? slottedExample(table, image, tokens, all.images[image]!.objects, vocab, opts.maxWords)
        : { image, ids: vocab.encode(tokens, opts.maxWords) },
    );
  });
  const R = data.regions.dim;
  // Standardise with the training images' regions (every real region counts once).
  const stats = regionStats(
    [...new Set(train.map((r) => all.index.get(r.file)!))].map((i) => all.images[i]!),
    R,
  );
  const config: AttentionConfig = {
    kind: 'caption-attention',
    name: opts.name,
    version: opts.version,
    encoder: data.regions.encoder,
    regionDim: R,
    embedDim: opts.embedDim,
    hiddenDim: opts.hiddenDim,
    attendDim: opts.attendDim,
    inputMean: stats.mean,
    inputStd: stats.std,
    dropout: opts.dropout,
    maxWords: opts.maxWords,
    maxRegions: opts.maxRegions,
    regionMinScore: opts.regionMinScore,
    ...(opts.slots ? { slots: true } : {}),
    ...(opts.noSentinel ? { sentinel: false } : {}),
    vocab: [...vocab.words],
  };
  log.info({ vocab: vocab.size, examples: examples.length, valImages: data.val.length, regionDim: R }, 'attention caption training data');

  const model = AttentionModel.init(config, opts.seed);
  // The slot words the decoder fills its slots from (modelSlotRules), so training and decoding read one list.
  const { slots } = modelSlotRules(config, vocab, table);
  const packing = slots ? { candidates: slots.candidates, vocabSize: vocab.size } : undefined;
  if (slots) log.info({ slots: examples.reduce((n, e) => n + (e.slots?.length ?? 0), 0) }, 'slotted captions');
  const optimizer = createOptimizer('adam', opts.learningRate);
  const pool = new GradientPool(spec, config, opts.workers - 1);
  const epoch = (epoch: number): EpochRun => {
    const batches = lengthBuckets<AttentionExample>(examples, (e) => e.ids.length, opts.batchSize, rng(opts.seed + epoch));
    return {
      steps: batches.length,
      async step(i) {
        const batch = batches[i]!;
        const seed = opts.seed * 100_003 + epoch * 10_007 + i;
        const grads = await pool.gradients(model, attentionRows(batch, all.images, R, packing), seed);
        const { loss, norm } = gradientStep(model.variables(), optimizer, opts.gradClip, grads);
        return { loss, items: batch.reduce((n, e) => n + e.ids.length - 1, 0), fields: { grad_norm: norm } };
      },
    };
  };
  return trainLoop(
    {
      model,
      optimizer,
      learningRate: (e) => opts.learningRate * Math.pow(opts.lrDecay, e - 1),
      epoch,
      validate: () => evaluateAttention(model, data.val, all.images, all.index, 250, table).scores,
      score: (val) => val.ciderD,
      better: 'higher',
      loadBest: (dir) => AttentionModel.load(dir),
      resources: [pool],
      unit: 'tok',
      record: { examples: examples.length },
    },
    opts,
    dirs,
  );
}
