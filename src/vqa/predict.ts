import * as tf from '@tensorflow/tfjs';
import type { QaExample } from '../data/qa.js';
import { indexKeys, type FeatureSet } from '../data/features.js';
import { scoreVqa, type VqaScores } from '../eval/vqa-metrics.js';
import { featureTensor } from '../train/features.js';
import type { VqaModel } from './model.js';

export interface ScoredAnswer {
  answer: string;
  score: number;
}

/**
 * Top-k answers with probabilities for each example whose image has features
 * (undefined where it has none), in chunks so memory stays bounded.
 */
export function predictTopK(
  model: VqaModel,
  examples: readonly QaExample[],
  features: FeatureSet,
  k = 1,
  chunk = 512,
): (ScoredAnswer[] | undefined)[] {
  const index = indexKeys(features);
  const out: (ScoredAnswer[] | undefined)[] = Array.from({ length: examples.length }, () => undefined);
  const usable = examples
    .map((e, i) => [i, index.get(e.imageKey)] as const)
    .filter((p): p is readonly [number, number] => p[1] !== undefined);
  for (let s = 0; s < usable.length; s += chunk) {
    const part = usable.slice(s, s + chunk);
    const feats = featureTensor(
      features,
      part.map(([, r]) => r),
    );
    const probs = model.predict(
      feats,
      part.map(([i]) => model.encodeQuestion(examples[i]!.question)),
    );
    const { values, indices } = tf.topk(probs, Math.min(k, model.config.answers.length));
    const v = values.arraySync();
    const ix = indices.arraySync();
    tf.dispose([feats, probs, values, indices]);
    part.forEach(([i], j) => {
      out[i] = ix[j]!.map((a, r) => ({ answer: model.config.answers[a]!, score: v[j]![r]! }));
    });
  }
  return out;
}

/** The model's best answer to each question; '' (never right) where its image has no features. */
export function predictAnswers(model: VqaModel, examples: readonly QaExample[], features: FeatureSet): string[] {
  return predictTopK(model, examples, features).map((p) => p?.[0]?.answer ?? '');
}

/**
 * The model's scores on a QA set, by eval/vqa-metrics (the same numbers eval:vqa reports):
 * `accuracy` is exact match after the official answer normalisation, `vqaAccuracy` the
 * annotator-agreement measure, both overall and per question type.
 */
export function evaluateVqa(model: VqaModel, examples: readonly QaExample[], features: FeatureSet): VqaScores {
  return scoreVqa(predictAnswers(model, examples, features), examples);
}
