import { describe, expect, it } from 'vitest';
import { CaptionOptionsSchema, DEFAULT_CAPTION_SEARCH, toCaptionSearchOptions } from '../../src/caption/options.js';
import { formatZodError } from '../../src/util/zod-error.js';

/** The one-line message a caller sees, or 'ok'. */
function check(input: Record<string, unknown>): string {
  const r = CaptionOptionsSchema.safeParse(input);
  return r.success ? 'ok' : formatZodError(r.error);
}

describe('caption options', () => {
  it('defaults to beam search, beam 3, one caption; the seed is drawn when absent', () => {
    const o = CaptionOptionsSchema.parse({});
    expect(toCaptionSearchOptions(o, () => 77)).toEqual({ ...DEFAULT_CAPTION_SEARCH, seed: 77 });
    expect(toCaptionSearchOptions(CaptionOptionsSchema.parse({ seed: '5' }), () => 77).seed).toBe(5);
  });

  it('takes numbers as strings too (query strings, form fields, command lines)', () => {
    const o = CaptionOptionsSchema.parse({ mode: 'beam', beam_size: '5', n: '2', max_length: '12', length_penalty: '0.5' });
    expect(toCaptionSearchOptions(o)).toMatchObject({ beamSize: 5, n: 2, maxLength: 12, lengthPenalty: 0.5 });
  });

  it('refuses n > 1 in greedy mode, in one line naming n', () => {
    const msg = check({ mode: 'greedy', n: 3 });
    expect(msg).toBe('n: must be 1 in greedy mode; got 3');
    expect(check({ mode: 'greedy', n: 1 })).toBe('ok');
  });

  it('refuses n > beam_size in beam mode, also with the default beam size', () => {
    expect(check({ mode: 'beam', beam_size: 2, n: 3 })).toBe('n: must be ≤ beam_size (2) in beam mode; got 3');
    expect(check({ n: 4 })).toMatch(/^n: must be ≤ beam_size \(3\)/);
    expect(check({ mode: 'sample', n: 4 })).toBe('ok');
  });

  it('has the same limits everywhere: beam_size 1 to 10, max_length to 50', () => {
    expect(check({ beam_size: 11 })).toBe('beam_size: must be an integer from 1 to 10; got 11');
    expect(check({ beam_size: 10 })).toBe('ok');
    expect(check({ beam_size: 0 })).toMatch(/^beam_size: /);
    expect(check({ max_length: 51 })).toMatch(/^max_length: must be an integer from 1 to 50/);
    expect(check({ temperature: 0, mode: 'sample' })).toMatch(/^temperature: must be a number from 0.01 to 5/);
    expect(check({ temperature: 5e-324, mode: 'sample' })).toMatch(/^temperature: must be a number from 0.01 to 5/);
    expect(check({ mode: 'nucleus' })).toMatch(/^mode: must be one of beam, greedy, sample/);
  });

  it('refuses unknown fields, naming them', () => {
    expect(check({ beamsize: 3 })).toBe('unknown field(s): beamsize');
  });
});
