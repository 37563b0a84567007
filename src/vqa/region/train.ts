import { z } from 'zod';
import type { FeatureSet } from '../../data/features.js';
import type { QaExample } from '../../data/qa.js';
import { featureStats } from '../../nn/feature-norm.js';
import { regionStats, type RegionSet } from '../../data/regions.js';
import type { VqaScores } from '../../eval/vqa-metrics.js';
import { defaultWordTable } from '../../grounding/words.js';
import { log } from '../../log.js';
import type { LoopState, TrainRun } from '../../train/loop.js';
import type { VqaConfig } from '../config.js';
import { questionFields, vqaLoop, vqaTrainOptionsSchema } from '../train.js';
import { answerHits, regionExamples, regionRows, vqaImages, type RegionBatchModel, type RegionExample } from './data.js';
import { RegionVqaModel } from './model.js';
import { evaluateRegionVqa } from './predict.js';
import { spec } from './train-spec.js';

export const regionVqaTrainOptionsSchema = vqaTrainOptionsSchema.extend({
  arch: z.literal('region-att').default('region-att'),
  maxRegions: z.number().int().positive().default(10),
  regionMinScore: z.number().min(0).max(1).default(0.2),
  projDim: z.number().int().positive().default(256),
  attendDim: z.number().int().positive().default(128),
  count: z.boolean().default(true),
  colour: z.boolean().default(true),
  pointer: z.boolean().default(true),
});
export type RegionVqaTrainOptions = z.infer<typeof regionVqaTrainOptionsSchema>;

/** What the batches need of a model (data.ts). */
export function batchModel(model: RegionVqaModel): RegionBatchModel {
  return {
    table: defaultWordTable(),
    regionDim: model.config.featureDim,
    answers: model.config.answers.length,
    answerId: (a) => model.answerId(a),
  };
}

/**
 * Train the region VQA model on a region cache with the shared loop (Adam, clipping, decay, the
 * best val accuracy kept, early stopping, resumable checkpoints), its gradients on the pool.
 */
export async function trainRegionVqa(
  data: { train: QaExample[]; val: QaExample[]; regions: RegionSet; features: FeatureSet },
  opts: RegionVqaTrainOptions,
  dirs: TrainRun,
): Promise<{ model: RegionVqaModel; state: LoopState<VqaScores> }> {
  if (data.val.length === 0) throw new Error('no validation questions: give --val or a larger --val-fraction');
  const table = defaultWordTable();
  const files = [...data.train, ...data.val].map((e) => e.imageKey);
  const { images, index } = vqaImages(data.regions, data.features, files, opts.maxRegions, opts.regionMinScore);
  const trainImages = [...new Set(data.train.map((e) => index.get(e.imageKey)).filter((i): i is number => i !== undefined))];
  if (trainImages.length === 0) throw new Error('no training question has cached regions: check --regions against --image-map');
  const R = data.regions.dim;
  const stats = regionStats(
    trainImages.map((i) => images[i]!.selected),
    R,
  );
  const G = data.features.dim;
  const globalRows = new Float32Array(trainImages.length * G);
  trainImages.forEach((i, r) => globalRows.set(images[i]!.global, r * G));
  const globalStats = featureStats(globalRows, G, trainImages.keys());
  const config: VqaConfig = {
    kind: 'vqa',
    arch: 'region-att',
    name: opts.name,
    version: opts.version,
    encoder: data.regions.encoder,
    featureDim: R,
    featureMean: stats.mean,
    featureStd: stats.std,
    ...questionFields(opts, data.train),
    region: {
      maxRegions: opts.maxRegions,
      minScore: opts.regionMinScore,
      detectMinScore: data.regions.minScore,
      global: { dim: G, ...globalStats },
      projDim: opts.projDim,
      attendDim: opts.attendDim,
      count: opts.count,
      colour: opts.colour,
      pointer: opts.pointer,
    },
  };
  const model = RegionVqaModel.init(config, opts.seed);
  const bm = batchModel(model);
  const prepared = regionExamples(table, (q) => model.encodeQuestion(q), data.train, index);
  // A question no output can answer (its answer neither a class nor a region's word) teaches nothing.
  const examples: RegionExample[] = prepared.examples.filter((e) =>
    e.answers.some((a) => answerHits(bm, opts.pointer, images[e.image]!, a.answer).length > 0),
  );
  const pointerOnly = examples.filter((e) => e.answers.every((a) => model.answerId(a.answer) === undefined)).length;
  log.info(
    {
      arch: config.arch,
      questionVocab: config.questionVocab.length,
      answers: config.answers.length,
      examples: examples.length,
      pointerOnly,
      unanswerable: prepared.examples.length - examples.length,
      noRegions: prepared.noRegions,
      images: images.length,
      regionDim: R,
    },
    'region VQA training data',
  );
  return vqaLoop(model, spec, config, examples, (batch) => regionRows(bm, opts.pointer, batch, images), {
    validate: () => evaluateRegionVqa(model, data.val, images, index, table),
    load: (dir) => RegionVqaModel.load(dir),
    opts,
    dirs,
  });
}
