import { describe, it, expect } from 'vitest';
import { normalizeCaption } from '../../src/eval/tokenize.js';

describe('normalizeCaption', () => {
  it('lower-cases, drops punctuation tokens and splits the possessive clitic like PTB', () => {
    expect(normalizeCaption("A Man's dog, running!")).toEqual(['a', 'man', "'s", 'dog', 'running']);
  });

  it("splits n't the PTB way (do n't, ca n't) and other clitics", () => {
    expect(normalizeCaption("Don't stop.")).toEqual(['do', "n't", 'stop']);
    expect(normalizeCaption("I can't, they're")).toEqual(['i', 'ca', "n't", 'they', "'re"]);
  });

  it('removes quotes, brackets, dashes, ellipses and other listed punctuation', () => {
    expect(normalizeCaption('"Hello" (world) -- yes... ok?')).toEqual(['hello', 'world', 'yes', 'ok']);
    expect(normalizeCaption('wait...what; [x] {y} `z`: end')).toEqual(['wait', 'what', 'x', 'y', 'z', 'end']);
    expect(normalizeCaption("The dogs' toys")).toEqual(['the', 'dogs', 'toys']);
    expect(normalizeCaption("'quoted' dog,cat")).toEqual(['quoted', 'dog', 'cat']);
  });

  it('keeps word-internal hyphens, apostrophes, numbers and dotted acronyms', () => {
    expect(normalizeCaption('A t-shirt costs 1,000 dollars at 10:30.')).toEqual([
      'a',
      't-shirt',
      'costs',
      '1,000',
      'dollars',
      'at',
      '10:30',
    ]);
    expect(normalizeCaption("3.5 inches at five o'clock")).toEqual(['3.5', 'inches', 'at', 'five', "o'clock"]);
    expect(normalizeCaption('A U.S. flag')).toEqual(['a', 'u.s.', 'flag']);
  });

  it('makes $ and % separate tokens that are kept', () => {
    expect(normalizeCaption('costs $5 or 50%')).toEqual(['costs', '$', '5', 'or', '50', '%']);
  });

  it('normalises typographic apostrophes, dashes and ellipsis', () => {
    expect(normalizeCaption('man\u2019s hat \u2014 big\u2026')).toEqual(['man', "'s", 'hat', 'big']);
  });

  it('returns no tokens for blank or punctuation-only captions', () => {
    expect(normalizeCaption('   ')).toEqual([]);
    expect(normalizeCaption(' . , ! -- ')).toEqual([]);
  });
});
