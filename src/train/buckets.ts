import { shuffle } from '../util/random.js';

/**
 * Shuffle, then sort within windows of `window` batches by length, so each
 * batch wastes little on padding while batch order stays random.
 */
export function lengthBuckets<T>(
  items: readonly T[],
  length: (item: T) => number,
  batchSize: number,
  random: () => number,
  window = 50,
): T[][] {
  const order = shuffle([...items], random);
  const groups: T[][] = [];
  const span = batchSize * window;
  for (let i = 0; i < order.length; i += span) {
    const chunk = order.slice(i, i + span).sort((a, b) => length(a) - length(b));
    for (let j = 0; j < chunk.length; j += batchSize) groups.push(chunk.slice(j, j + batchSize));
  }
  return shuffle(groups, random);
}
