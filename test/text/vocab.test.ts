import { describe, expect, it } from 'vitest';
import { tokenizeWords } from '../../src/text/tokenize.js';
import { END_ID, START_ID, UNK_ID, Vocab } from '../../src/text/vocab.js';

describe('tokenizeWords', () => {
  it('lower-cases and splits off punctuation', () => {
    expect(tokenizeWords("A dog's ball, on the GRASS!")).toEqual(['a', "dog's", 'ball', 'on', 'the', 'grass']);
  });
});

describe('Vocab', () => {
  const sentences = [
    ['a', 'dog'],
    ['a', 'cat'],
    ['a', 'dog', 'runs'],
  ];

  it('keeps words seen at least minCount times, most frequent first', () => {
    const v = Vocab.build(sentences, 2);
    expect(v.words).toEqual(['<pad>', '<start>', '<end>', '<unk>', 'a', 'dog']);
  });

  it('maps rare words to <unk> and round-trips', () => {
    const v = Vocab.build(sentences, 2);
    const ids = v.encode(['a', 'cat', 'dog']);
    expect(ids).toEqual([START_ID, v.id('a'), UNK_ID, v.id('dog'), END_ID]);
    expect(v.decode(ids)).toEqual(['a', '<unk>', 'dog']);
    expect(v.encode(['a', 'dog', 'a'], 2)).toEqual([START_ID, 4, 5, END_ID]);
  });

  it('rejects a word list without the special tokens first', () => {
    expect(() => new Vocab(['a', 'b', 'c', 'd'])).toThrow(/must start with <pad>/);
  });
});
