import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { z } from 'zod';
import { featureStats } from '../nn/feature-norm.js';
import { progress } from '../cli/progress.js';
import { indexKeys, type FeatureSet } from '../data/features.js';
import { log } from '../log.js';
import { rng, shuffle } from '../util/random.js';
import { tokenizeWords } from '../text/tokenize.js';
import { Vocab } from '../text/vocab.js';
import { VQA_ARCHS, type VqaConfig } from '../vqa/config.js';
import { answerClasses } from '../vqa/examples.js';
import { questionBatch, VqaModel } from '../vqa/model.js';
import type { QaExample } from '../data/qa.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { stopReason, trainingRecord } from './epochs.js';
import { applyGradients, featureTensor } from './gradients.js';

export const vqaTrainOptionsSchema = z.object({
  arch: z.enum(VQA_ARCHS).default('vis-lstm'),
  name: z.string().default('vqa'),
  version: z.string().default('1'),
  embedDim: z.number().int().positive().default(256),
  hiddenDim: z.number().int().positive().default(256),
  dropout: z.number().min(0).max(0.9).default(0.3),
  minWordCount: z.number().int().positive().default(2),
  maxQuestionWords: z.number().int().positive().default(25),
  /** Answer classes: the most frequent training answers. */
  topAnswers: z.number().int().min(2).default(1000),
  batchSize: z.number().int().positive().default(128),
  epochs: z.number().int().positive().default(30),
  learningRate: z.number().positive().default(1e-3),
  lrDecay: z.number().positive().max(1).default(0.95),
  gradClip: z.number().positive().default(5),
  /** Stop after this many epochs without a better val accuracy. */
  patience: z.number().int().positive().default(4),
  maxMinutes: z.number().positive().default(Infinity),
  seed: z.number().int().default(1234),
  /** Standardise image vectors with the training set's per-dimension mean and std. */
  normalizeFeatures: z.boolean().default(true),
});
export type VqaTrainOptions = z.infer<typeof vqaTrainOptionsSchema>;

/** A question ready for the model: feature row, word ids and answer class. */
export interface VqaExample {
  featureRow: number;
  ids: number[];
  answer: number;
}

export interface ValScores {
  accuracy: number;
  byType: Record<string, { count: number; accuracy: number }>;
}

interface TrainState {
  epoch: number;
  bestAccuracy: number;
  bestEpoch: number;
  learningRate: number;
  elapsedSeconds: number;
  history: { epoch: number; loss: number; questionsPerSecond: number; val: ValScores }[];
}

/** Questions whose image has features and whose answer is a class; counts what was dropped. */
export function toExamples(model: VqaModel, examples: readonly QaExample[], features: FeatureSet): { examples: VqaExample[]; noFeatures: number; rareAnswer: number } {
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

/**
 * Top-k answers with probabilities for each example whose image has features
 * (undefined where it has none), in chunks so memory stays bounded.
 */
export function predictTopK(model: VqaModel, examples: readonly QaExample[], features: FeatureSet, k = 1, chunk = 512): ({ answer: string; score: number }[] | undefined)[] {
  const index = indexKeys(features);
  const out: ({ answer: string; score: number }[] | undefined)[] = new Array(examples.length).fill(undefined);
  const usable = examples.map((e, i) => [i, index.get(e.imageKey)] as const).filter((p): p is readonly [number, number] => p[1] !== undefined);
  for (let s = 0; s < usable.length; s += chunk) {
    const part = usable.slice(s, s + chunk);
    const feats = featureTensor(features, part.map(([, r]) => r));
    const probs = model.predict(feats, part.map(([i]) => model.encodeQuestion(examples[i]!.question)));
    const { values, indices } = tf.topk(probs, Math.min(k, model.config.answers.length));
    const v = values.arraySync() as number[][];
    const ix = indices.arraySync() as number[][];
    tf.dispose([feats, probs, values, indices]);
    part.forEach(([i], j) => {
      out[i] = ix[j]!.map((a, r) => ({ answer: model.config.answers[a]!, score: v[j]![r]! }));
    });
  }
  return out;
}

/** Exact-match accuracy overall and by type (questions without features count as wrong). */
export function accuracyByType(predictions: readonly (string | undefined)[], examples: readonly QaExample[]): ValScores {
  const byType: Record<string, { count: number; accuracy: number }> = {};
  let right = 0;
  examples.forEach((e, i) => {
    const t = (byType[e.type] ??= { count: 0, accuracy: 0 });
    t.count++;
    if (predictions[i] === e.answer) {
      t.accuracy++;
      right++;
    }
  });
  for (const t of Object.values(byType)) t.accuracy /= Math.max(t.count, 1);
  return { accuracy: right / Math.max(examples.length, 1), byType };
}

export function evaluateVqa(model: VqaModel, examples: readonly QaExample[], features: FeatureSet): ValScores {
  return accuracyByType(predictTopK(model, examples, features).map((p) => p?.[0]?.answer), examples);
}

function vqaConfig(opts: VqaTrainOptions, train: readonly QaExample[], features: FeatureSet): VqaConfig {
  const vocab = Vocab.build(train.map((e) => tokenizeWords(e.question)), opts.minWordCount);
  return {
    kind: 'vqa',
    arch: opts.arch,
    name: opts.name,
    version: opts.version,
    encoder: features.encoder,
    featureDim: features.dim,
    embedDim: opts.embedDim,
    hiddenDim: opts.hiddenDim,
    dropout: opts.dropout,
    maxQuestionWords: opts.maxQuestionWords,
    minWordCount: opts.minWordCount,
    questionVocab: [...vocab.words],
    answers: answerClasses(train, opts.topAnswers),
  };
}

function trainStep(model: VqaModel, optimizer: tf.Optimizer, batch: VqaExample[], features: FeatureSet, clip: number, seed: number): number {
  const q = questionBatch(batch.map((e) => e.ids));
  const feats = featureTensor(features, batch.map((e) => e.featureRow));
  const tokens = tf.tensor2d(q.tokens, [q.size, q.steps], 'int32');
  const mask = tf.tensor2d(q.mask, [q.size, q.steps]);
  const answers = tf.tensor1d(batch.map((e) => e.answer), 'int32');
  const vars = model.variables();
  const names = Object.keys(vars);
  const { value, grads } = tf.variableGrads(() => model.loss(feats, tokens, mask, answers, seed), names.map((n) => vars[n]!));
  const loss = value.dataSync()[0]!;
  tf.dispose([feats, tokens, mask, answers, value]);
  applyGradients(vars, optimizer, Object.fromEntries(names.map((n) => [n, grads[vars[n]!.name]!])), clip);
  return loss;
}

/**
 * Train a VQA model on cached image features: Adam, gradient clipping,
 * learning-rate decay, a resumable checkpoint every epoch, the best val
 * accuracy model kept in `outDir`, early stopping on it.
 */
export async function trainVqaModel(
  data: { train: QaExample[]; val: QaExample[]; features: FeatureSet },
  opts: VqaTrainOptions,
  dirs: { outDir: string; checkpointDir: string; resume: boolean },
): Promise<{ model: VqaModel; state: TrainState }> {
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
  if (prepared.examples.length === 0) throw new Error('no training question has cached image features: check --features and --image-map');
  if (prepared.noFeatures > 0) log.warn({ questions: prepared.noFeatures }, 'training questions whose image has no cached features were skipped');
  const examples = prepared.examples;
  log.info(
    { arch: config.arch, questionVocab: config.questionVocab.length, answers: config.answers.length, examples: examples.length, rareAnswerSkipped: prepared.rareAnswer, val: data.val.length },
    'VQA training data',
  );

  const optimizer = tf.train.adam(opts.learningRate);
  let state: TrainState = { epoch: 0, bestAccuracy: -Infinity, bestEpoch: 0, learningRate: opts.learningRate, elapsedSeconds: 0, history: [] };
  const last = path.join(dirs.checkpointDir, 'last');
  if (dirs.resume) {
    state = await loadCheckpoint<TrainState>(last, model, optimizer);
    log.info({ epoch: state.epoch, bestAccuracy: state.bestAccuracy }, 'resumed from checkpoint');
  }
  const started = Date.now() - state.elapsedSeconds * 1000;
  while (state.epoch < opts.epochs) {
    const epoch = state.epoch + 1;
    (optimizer as unknown as { learningRate: number }).learningRate = state.learningRate;
    const order = shuffle([...examples], rng(opts.seed + epoch));
    const batches = Math.ceil(order.length / opts.batchSize);
    const bar = progress(`epoch ${epoch}`, batches);
    const epochStart = Date.now();
    let lossSum = 0;
    for (let i = 0; i < batches; i++) {
      const batch = order.slice(i * opts.batchSize, (i + 1) * opts.batchSize);
      lossSum += trainStep(model, optimizer, batch, data.features, opts.gradClip, opts.seed * 100_003 + epoch * 10_007 + i) * batch.length;
      const seen = Math.min((i + 1) * opts.batchSize, order.length);
      bar.update(i + 1, { loss: lossSum / seen, q_per_s: seen / ((Date.now() - epochStart) / 1000) });
    }
    bar.stop();
    const questionsPerSecond = order.length / ((Date.now() - epochStart) / 1000);
    const val = evaluateVqa(model, data.val, data.features);
    state = {
      ...state,
      epoch,
      learningRate: state.learningRate * opts.lrDecay,
      elapsedSeconds: (Date.now() - started) / 1000,
      history: [...state.history, { epoch, loss: lossSum / order.length, questionsPerSecond, val }],
    };
    log.info({ epoch, loss: lossSum / order.length, questionsPerSecond: Math.round(questionsPerSecond), valAccuracy: val.accuracy, byType: val.byType }, 'epoch done');
    if (val.accuracy > state.bestAccuracy) {
      state = { ...state, bestAccuracy: val.accuracy, bestEpoch: epoch };
      await model.save(dirs.outDir, { training: trainingRecord(opts, state, examples.length), metrics: { val } });
      log.info({ epoch, accuracy: val.accuracy, outDir: dirs.outDir }, 'new best model saved');
    }
    await saveCheckpoint(last, model, optimizer, state);
    const stop = stopReason(state, opts);
    if (stop) {
      log.info({ epoch, reason: stop }, 'training stops');
      break;
    }
  }
  const best = await VqaModel.load(dirs.outDir);
  await best.save(dirs.outDir, { training: trainingRecord(opts, state, examples.length), metrics: best.config.metrics });
  model.dispose();
  optimizer.dispose();
  return { model: best, state };
}
