import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { formatZodError, invalidFile } from '../../src/util/zod-error.js';

const Schema = z.object({ port: z.number().int(), name: z.string() }).strict();

describe('formatZodError', () => {
  it('names each field and its rule, in one line', () => {
    const r = Schema.safeParse({ port: 1.5, name: 3 });
    expect(r.success).toBe(false);
    const text = formatZodError(r.error!);
    expect(text).toBe('port: Expected integer, received float; name: Expected string, received number');
    expect(text).not.toContain('\n');
  });

  it('names unknown keys, which zod itself leaves out of its message', () => {
    const r = Schema.safeParse({ port: 1, name: 'x', beamsize: 3 });
    expect(formatZodError(r.error!)).toBe('unknown field(s): beamsize');
  });

  it('does not repeat a field a message already starts with, and can stop after a few issues', () => {
    const r = z.object({ PORT: z.string().refine(() => false, 'PORT must be a number') }).safeParse({ PORT: 'x' });
    expect(formatZodError(r.error!)).toBe('PORT must be a number');
    const many = z.array(z.number()).safeParse(['a', 'b', 'c', 'd']);
    expect(formatZodError(many.error!, 2).split('; ')).toHaveLength(2);
  });

  it('names the file a data file error comes from', () => {
    const r = Schema.safeParse({});
    expect(invalidFile(r.error!, 'data/x.json', 'a server config').message).toMatch(
      /^data\/x\.json is not a server config: port: Required/,
    );
  });
});
