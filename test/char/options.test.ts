import { describe, expect, it } from 'vitest';
import { CharOptionsSchema, DEFAULT_CHAR_SAMPLE, MAX_PRIME, toCharSampleOptions } from '../../src/char/options.js';
import { formatZodError } from '../../src/util/zod-error.js';

function check(input: Record<string, unknown>): string {
  const r = CharOptionsSchema.safeParse(input);
  return r.success ? 'ok' : formatZodError(r.error);
}

describe('char generation options', () => {
  it('defaults, and a seed drawn when absent', () => {
    expect(toCharSampleOptions(CharOptionsSchema.parse({}), () => 9)).toEqual({ ...DEFAULT_CHAR_SAMPLE, seed: 9 });
    expect(toCharSampleOptions(CharOptionsSchema.parse({ top_k: '3', seed: '4' }))).toMatchObject({ topK: 3, seed: 4 });
  });

  it('limits', () => {
    expect(check({ length: 2001 })).toBe('length: must be an integer from 1 to 2000; got 2001');
    expect(check({ temperature: 0 })).toBe('ok'); // argmax
    expect(check({ candidates: 11 })).toMatch(/^candidates: must be an integer from 0 to 10/);
    expect(check({ prime: 'a'.repeat(MAX_PRIME) })).toBe('ok');
    expect(check({ prime: 'a'.repeat(MAX_PRIME + 1) })).toBe(`prime: must be at most ${MAX_PRIME} characters`);
    expect(check({ stream: true })).toBe('unknown field(s): stream'); // a route's transport option, not a char option
  });
});
