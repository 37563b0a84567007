import type { QaExample } from '../data/qa.js';

/**
 * The answer-prior baseline of Ren et al.: for each question type, the most
 * common training answer, whatever the image and the question's words.
 */
export function answerPrior(train: readonly QaExample[]): Map<string, string> {
  const counts = new Map<string, Map<string, number>>();
  for (const e of train) {
    const byAnswer = counts.get(e.type) ?? new Map<string, number>();
    byAnswer.set(e.answer, (byAnswer.get(e.answer) ?? 0) + 1);
    counts.set(e.type, byAnswer);
  }
  const prior = new Map<string, string>();
  for (const [type, byAnswer] of counts) {
    const best = [...byAnswer.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]!;
    prior.set(type, best[0]);
  }
  return prior;
}

/** Prior predictions for test examples; a type unseen in training gets the overall most common answer. */
export function priorPredictions(train: readonly QaExample[], test: readonly QaExample[]): string[] {
  const prior = answerPrior(train);
  const overall = answerPrior(train.map((e) => ({ ...e, type: '' }))).get('') ?? '';
  return test.map((e) => prior.get(e.type) ?? overall);
}
