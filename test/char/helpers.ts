import { CharModel } from '../../src/char/model.js';
import type { CharConfig } from '../../src/char/config.js';
import { CharVocab } from '../../src/char/vocab.js';

export const TEXT = 'the quick brown fox jumps over the lazy dog.\nTHE QUICK BROWN FOX!\n';

export function tinyConfig(over: Partial<CharConfig> = {}, text = TEXT): CharConfig {
  return {
    kind: 'char-rnn',
    name: 'test-char',
    version: '0',
    cell: 'lstm',
    embedDim: 0,
    hiddenDim: 8,
    layers: 2,
    dropout: 0,
    vocab: [...CharVocab.build(text).chars],
    ...over,
  };
}

export function tinyModel(over: Partial<CharConfig> = {}, seed = 7): CharModel {
  return CharModel.init(tinyConfig(over), seed);
}
