import { rng, shuffle } from '../util/random.js';
import type { QaExample } from '../data/qa.js';

/**
 * Split off a validation set by image (not by question), so no val image was
 * seen in training. Deterministic for a seed.
 */
export function splitByImage(examples: QaExample[], valFraction: number, seed: number): { train: QaExample[]; val: QaExample[] } {
  const images = shuffle([...new Set(examples.map((e) => String(e.imageId)))].sort(), rng(seed));
  const valImages = new Set(images.slice(0, Math.round(images.length * valFraction)));
  return {
    train: examples.filter((e) => !valImages.has(String(e.imageId))),
    val: examples.filter((e) => valImages.has(String(e.imageId))),
  };
}

/** The `topK` most frequent training answers (ties alphabetical): the softmax's classes. */
export function answerClasses(examples: readonly QaExample[], topK: number): string[] {
  const counts = new Map<string, number>();
  for (const e of examples) counts.set(e.answer, (counts.get(e.answer) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, topK)
    .map(([a]) => a);
}

/** Examples by type, in first-seen order of the types. */
export function countByType(examples: readonly QaExample[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of examples) out[e.type] = (out[e.type] ?? 0) + 1;
  return out;
}
