import type { CaptionConfig } from '../../src/caption/config.js';
import { SPECIALS } from '../../src/text/vocab.js';

/** The words of the tiny caption models the caption tests train and sample. */
const TINY_WORDS = ['a', 'dog', 'runs', 'cat', 'sleeps'];

/** A tiny plain caption decoder's config over 4-d image vectors. */
export function tinyCaptionConfig(): CaptionConfig {
  return {
    kind: 'caption-lstm',
    name: 'tiny',
    version: 't',
    encoder: 'test',
    featureDim: 4,
    embedDim: 8,
    hiddenDim: 16,
    dropout: 0,
    maxWords: 5,
    minWordCount: 1,
    vocab: [...SPECIALS, ...TINY_WORDS],
  };
}
