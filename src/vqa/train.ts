import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { QaExample } from '../data/qa.js';
import { indexKeys, withClassScores, type FeatureSet } from '../data/features.js';
import { classScores } from '../grounding/entries.js';
import type { VqaScores } from '../eval/vqa-metrics.js';
import { log } from '../log.js';
import { featureStats } from '../nn/feature-norm.js';
import { tokenizeWords } from '../text/tokenize.js';
import { Vocab } from '../text/vocab.js';
import { featureTensor } from '../train/features.js';
import { trainLoop, type EpochRun, type LoopState, type TrainRun } from '../train/loop.js';
import { createOptimizer } from '../train/optimizer.js';
import { GradientPool } from '../train/parallel.js';
import type { Replica, RowBatch, TrainerSpec } from '../train/spec.js';
import type { WeightsModel } from '../nn/weights-model.js';
import { gradientStep } from '../train/step.js';
import { rng, shuffle } from '../util/random.js';
import { VQA_ARCHS, type VqaConfig } from './config.js';
import { answerClasses } from './examples.js';
import { questionBatch, VqaModel } from './model.js';
import { evaluateVqa } from './predict.js';
import { spec } from './train-spec.js';
import { loopOptionFields } from '../train/options.js';

export const vqaTrainOptionsSchema = z.object({
  ...loopOptionFields({ name: 'vqa', epochs: 30, learningRate: 1e-3, lrDecay: 0.95, patience: 4 }),
  arch: z.enum(VQA_ARCHS).default('vis-lstm'),
  embedDim: z.number().int().positive().default(256),
  hiddenDim: z.number().int().positive().default(256),
  dropout: z.number().min(0).max(0.9).default(0.3),
  minWordCount: z.number().int().positive().default(2),
  maxQuestionWords: z.number().int().positive().default(25),
  /** Answer classes: the most frequent training answers. */
  topAnswers: z.number().int().min(2).default(1000),
  batchSize: z.number().int().positive().default(128),
  /** Standardise image vectors with the training set's per-dimension mean and std. */
  normalizeFeatures: z.boolean().default(true),
  /** Append the per-class detection scores d to the image vector (needs a cache with detections). */
  detectionScores: z.boolean().default(false),
});
export type VqaTrainOptions = z.infer<typeof vqaTrainOptionsSchema>;

/** A question ready for the model: feature row, word ids and answer class. */
export interface VqaExample {
  featureRow: number;
  ids: number[];
  answer: number;
}

/** Questions whose image has features and whose answer is a class; counts what was dropped. */
export function toExamples(
  model: VqaModel,
  examples: readonly QaExample[],
  features: FeatureSet,
): { examples: VqaExample[]; noFeatures: number; rareAnswer: number } {
  const index = indexKeys(features);
  const out: VqaExample[] = [];
  let noFeatures = 0;
  let rareAnswer = 0;
  for (const e of examples) {
    const row = index.get(e.imageKey);
    const answer = model.answerId(e.answer);
    if (row === undefined) noFeatures++;
    else if (answer === undefined) rareAnswer++;
    else out.push({ featureRow: row, ids: model.encodeQuestion(e.question), answer });
  }
  return { examples: out, noFeatures, rareAnswer };
}

function vqaConfig(opts: VqaTrainOptions, train: readonly QaExample[], features: FeatureSet): VqaConfig {
  return {
    kind: 'vqa',
    arch: opts.arch,
    name: opts.name,
    version: opts.version,
    encoder: features.encoder,
    featureDim: features.dim,
    detectionScores: opts.detectionScores,
    ...questionFields(opts, train),
  };
}

/** The config fields every VQA model shares: question model sizes, the question vocabulary and the answer classes. */
export function questionFields(opts: VqaTrainOptions, train: readonly QaExample[]) {
  const vocab = Vocab.build(
    train.map((e) => tokenizeWords(e.question)),
    opts.minWordCount,
  );
  return {
    embedDim: opts.embedDim,
    hiddenDim: opts.hiddenDim,
    dropout: opts.dropout,
    maxQuestionWords: opts.maxQuestionWords,
    minWordCount: opts.minWordCount,
    questionVocab: [...vocab.words],
    answers: answerClasses(train, opts.topAnswers),
  } satisfies Partial<VqaConfig>;
}

/** A batch as the gradient step takes it: questions as rows, each share packed with its image vectors (train-spec.ts's loss). */
export function vqaRows(batch: readonly VqaExample[], features: FeatureSet): RowBatch {
  return {
    rows: batch.length,
    shard(from, to) {
      const part = batch.slice(from, to);
      const q = questionBatch(part.map((e) => e.ids));
      return {
        items: part.length,
        tensors: {
          feats: featureTensor(
            features,
            part.map((e) => e.featureRow),
          ),
          tokens: tf.tensor2d(q.tokens, [q.size, q.steps], 'int32'),
          mask: tf.tensor2d(q.mask, [q.size, q.steps]),
          answers: tf.tensor1d(
            part.map((e) => e.answer),
            'int32',
          ),
        },
      };
    },
  };
}

/**
 * Train a VQA model on cached image features with the shared loop: Adam, gradient clipping,
 * learning rate × lrDecay each epoch, the best val accuracy model kept in `outDir`, early
 * stopping on it, a resumable checkpoint each epoch.
 */
export async function trainVqaModel(
  data: { train: QaExample[]; val: QaExample[]; features: FeatureSet },
  opts: VqaTrainOptions,
  dirs: TrainRun,
): Promise<{ model: VqaModel; state: LoopState<VqaScores> }> {
  if (data.val.length === 0) throw new Error('no validation questions: give --val or a larger --val-fraction');
  if (opts.detectionScores) data = { ...data, features: withClassScores(data.features, classScores) };
  const config = vqaConfig(opts, data.train, data.features);
  if (opts.normalizeFeatures) {
    // Statistics of the rows training will read: images with features whose answer is a class.
    const index = indexKeys(data.features);
    const classes = new Set(config.answers);
    const rows = data.train.filter((e) => classes.has(e.answer)).map((e) => index.get(e.imageKey));
    const stats = featureStats(data.features.data, data.features.dim, new Set(rows.filter((r): r is number => r !== undefined)));
    config.featureMean = stats.mean;
    config.featureStd = stats.std;
  }
  const model = VqaModel.init(config, opts.seed);
  const prepared = toExamples(model, data.train, data.features);
  if (prepared.examples.length === 0) {
    model.dispose();
    throw new Error('no training question has cached image features: check --features and --image-map');
  }
  if (prepared.noFeatures > 0) {
    log.warn({ questions: prepared.noFeatures }, 'training questions whose image has no cached features were skipped');
  }
  const examples = prepared.examples;
  log.info(
    {
      arch: config.arch,
      questionVocab: config.questionVocab.length,
      answers: config.answers.length,
      examples: examples.length,
      rareAnswerSkipped: prepared.rareAnswer,
      val: data.val.length,
    },
    'VQA training data',
  );

  return vqaLoop(model, spec, config, examples, (batch) => vqaRows(batch, data.features), {
    validate: () => evaluateVqa(model, data.val, data.features),
    load: (dir) => VqaModel.load(dir),
    opts,
    dirs,
  });
}

/**
 * The VQA models' training run on the shared loop: Adam, clipping, the learning rate × lrDecay
 * each epoch, seeded shuffles, gradients on the pool (spec's threads), the best val accuracy kept.
 * Model selection uses the number eval:vqa reports as "accuracy": exact match after the official
 * answer normalisation. Not VQA accuracy: COCO-QA has one answer per question, where it is a third
 * of exact match, and the model is trained towards that one answer.
 */
export function vqaLoop<C, M extends Replica & WeightsModel<object>, E>(
  model: M,
  spec: TrainerSpec<C, M>,
  config: C,
  examples: readonly E[],
  pack: (batch: readonly E[]) => RowBatch,
  run: { validate: () => VqaScores; load: (dir: string) => Promise<M>; opts: VqaTrainOptions; dirs: TrainRun },
): Promise<{ model: M; state: LoopState<VqaScores> }> {
  const { opts } = run;
  const optimizer = createOptimizer('adam', opts.learningRate);
  const pool = new GradientPool(spec, config, opts.workers - 1);
  const epoch = (epoch: number): EpochRun => {
    const order = shuffle([...examples], rng(opts.seed + epoch));
    return {
      steps: Math.ceil(order.length / opts.batchSize),
      async step(i) {
        const batch = order.slice(i * opts.batchSize, (i + 1) * opts.batchSize);
        const grads = await pool.gradients(model, pack(batch), opts.seed * 100_003 + epoch * 10_007 + i);
        const { loss, norm } = gradientStep(model.variables(), optimizer, opts.gradClip, grads);
        return { loss, items: batch.length, fields: { grad_norm: norm } };
      },
    };
  };
  return trainLoop(
    {
      model,
      optimizer,
      learningRate: (e) => opts.learningRate * Math.pow(opts.lrDecay, e - 1),
      epoch,
      validate: run.validate,
      score: (val) => val.accuracy,
      better: 'higher',
      loadBest: run.load,
      resources: [pool],
      unit: 'q',
      record: { examples: examples.length },
    },
    opts,
    run.dirs,
  );
}
