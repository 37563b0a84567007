import { describe, expect, it } from 'vitest';
import { splitText, StreamBatcher } from '../../src/char/data.js';
import { CharVocab, UnknownCharsError } from '../../src/char/vocab.js';

describe('splitText', () => {
  it('splits 90/5/5 by position, keeping every character in order', () => {
    const text = Array.from({ length: 1000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
    const s = splitText(text);
    expect([s.train.length, s.val.length, s.test.length]).toEqual([900, 50, 50]);
    expect(s.train + s.val + s.test).toBe(text);
  });
  it('counts code points, so a split never cuts a surrogate pair', () => {
    const s = splitText('😀'.repeat(20), [0.5, 0.25, 0.25]);
    expect([...s.train].length).toBe(10);
    expect(s.train + s.val + s.test).toBe('😀'.repeat(20));
  });
  it('refuses fractions that do not sum to 1', () => {
    expect(() => splitText('abc', [0.5, 0.5, 0.5])).toThrow(/sum to 1/);
  });
});

describe('CharVocab', () => {
  it('is sorted by code point and names unknown characters', () => {
    const v = CharVocab.build('banana!\n');
    expect(v.chars).toEqual(['\n', '!', 'a', 'b', 'n']);
    expect(v.decode(v.encode('nab'))).toBe('nab');
    expect(v.unknown('bandanaZZ')).toEqual(['d', 'Z']);
    expect(() => v.encode('bad')).toThrow(UnknownCharsError);
    expect(() => v.encode('bad')).toThrow(/"d"/);
  });
});

describe('StreamBatcher', () => {
  const ids = Int32Array.from({ length: 41 }, (_, i) => i); // 0 … 40

  it('lays out parallel contiguous streams, time-major, targets shifted by one', () => {
    const b = new StreamBatcher(ids, 2, 5); // L = 20 per stream, 4 chunks
    expect([b.streamLength, b.chunks, b.chunkSize]).toEqual([20, 4, 10]);
    const c0 = b.chunk(0);
    // row t·2 + s = stream s (starting at s·20) at step t
    expect([...c0.inputs]).toEqual([0, 20, 1, 21, 2, 22, 3, 23, 4, 24]);
    expect([...c0.targets]).toEqual([1, 21, 2, 22, 3, 23, 4, 24, 5, 25]);
  });

  it('continues each stream in the next chunk (what makes carrying the state right)', () => {
    const b = new StreamBatcher(ids, 2, 5);
    for (let k = 0; k + 1 < b.chunks; k++) {
      const a = b.chunk(k);
      const n = b.chunk(k + 1);
      for (let s = 0; s < 2; s++) {
        const lastTarget = a.targets[4 * 2 + s]!;
        expect(n.inputs[s]).toBe(lastTarget);
      }
    }
  });

  it('offers a shorter tail chunk for evaluation', () => {
    const b = new StreamBatcher(ids, 3, 4); // L = 13: 3 full chunks + 1 step
    expect([b.chunks, b.tailSteps, b.count(), b.count(true)]).toEqual([3, 1, 3, 4]);
    expect([...b.chunk(3).inputs]).toEqual([12, 25, 38]);
    expect(new StreamBatcher(ids, 8, 10).count()).toBe(0); // too short to train, still fine to evaluate
    expect(() => new StreamBatcher(ids, 41, 1)).toThrow(/too short/);
  });
});
