import { describe, expect, it } from 'vitest';
import { CaptionOptionsObject, CaptionOptionsSchema } from '../../src/caption/options.js';
import { defineCommand } from '../../src/cli/command.js';
import { describeFailure } from '../../src/cli/main.js';
import { pickValues, schemaOptions } from '../../src/cli/schema-options.js';

/** The caption flags as scripts/caption.ts declares them, parsed as the script parses them. */
function parseCaptionFlags(argv: string[]) {
  const search = schemaOptions(CaptionOptionsObject);
  const command = defineCommand({ usage: 'caption', summary: 's', example: 'e', options: search.options, defaults: search.defaults });
  const r = command.parse(argv);
  if (r.kind !== 'values') throw new Error('expected values');
  return { command, result: CaptionOptionsSchema.safeParse(pickValues(r.values, Object.keys(search.options))) };
}

describe('schemaOptions', () => {
  it('gives each schema field a kebab-case flag, its description and, in --help, its default', () => {
    const search = schemaOptions(CaptionOptionsObject, { seed: 'a seed' });
    expect(search.options.beam_size).toMatchObject({ type: 'string', flag: 'beam-size', description: 'beam width (beam mode)' });
    expect(search.options.seed.description).toBe('a seed');
    expect(search.defaults).toMatchObject({ mode: 'beam', beam_size: 3, n: 1 });
    const help = defineCommand({ usage: 'c', summary: 's', example: 'e', options: search.options, defaults: search.defaults }).help();
    expect(help).toMatch(/--beam-size <value>\s+beam width \(beam mode\) \(default: 3\)/);
  });

  it('the domain schema parses the flags: its limits, its defaults, its rules between fields', () => {
    expect(parseCaptionFlags(['--beam-size', '5', '--n', '2']).result.data).toMatchObject({ mode: 'beam', beam_size: 5, n: 2 });
    expect(parseCaptionFlags([]).result.data).toMatchObject({ mode: 'beam', beam_size: 3, n: 1, max_length: 20 });
    for (const [argv, message] of [
      [['--beam-size', '11'], 'error: --beam-size: must be an integer from 1 to 10; got "11" (see --help)'],
      [['--mode', 'greedy', '--n', '3'], 'error: --n: must be 1 in greedy mode; got 3 (see --help)'],
    ] as const) {
      const { command, result } = parseCaptionFlags([...argv]);
      expect(result.success).toBe(false);
      expect(describeFailure(result.error, command.flagOf)).toEqual({ text: message, exitCode: 2 });
    }
  });
});
