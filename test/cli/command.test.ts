import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineCommand, UsageError } from '../../src/cli/command.js';
import { describeFailure } from '../../src/cli/main.js';

const command = defineCommand({
  usage: 'npm run train:thing --',
  summary: 'Train a thing.',
  example: 'npm run train:thing -- --train data.json --epochs 3',
  options: {
    train: { type: 'string', required: true, placeholder: 'file', description: 'training data' },
    models: { type: 'string', default: 'models', description: 'models folder' },
    epochs: { type: 'number', int: true, min: 1, description: 'passes over the data' },
    workers: { type: 'number', int: true, min: 1, max: 16, default: 1, description: 'threads' },
    lr: { type: 'number', description: 'learning rate' },
    mode: { type: 'choice', choices: ['beam', 'greedy'], default: 'beam', description: 'search' },
    embedDim: { type: 'number', flag: 'embed', description: 'embedding size' },
    resume: { type: 'boolean', description: 'continue' },
    noPeer: { type: 'boolean', description: 'skip the peer' },
  },
  defaults: { epochs: 20 },
});

function values(argv: string[]) {
  const r = command.parse(argv);
  if (r.kind !== 'values') throw new Error('expected values');
  return r.values;
}

function usageError(argv: string[]): string {
  try {
    command.parse(argv);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error(`no error for ${argv.join(' ')}`);
}

describe('defineCommand', () => {
  it('parses typed values, applying defaults', () => {
    const v = values(['--train', 't.json', '--epochs', '3', '--lr=2e-3', '--embed', '64', '--resume', '--no-peer']);
    const expected = { train: 't.json', models: 'models', epochs: 3, workers: 1, lr: 0.002, mode: 'beam', embedDim: 64 };
    expect(v).toEqual({ ...expected, resume: true, noPeer: true });
    const d = values(['--train', 't.json']);
    expect(d.epochs).toBeUndefined(); // shown as 20 in --help, applied by the domain schema
    expect(d.resume).toBe(false);
    expect(d.noPeer).toBe(false);
  });

  it('--help and -h give usage, every option with its default, and the example', () => {
    for (const flag of ['--help', '-h']) {
      const r = command.parse(['--epochs', 'abc', flag]);
      expect(r.kind).toBe('help');
      if (r.kind !== 'help') continue;
      expect(r.text).toContain('Usage: npm run train:thing --');
      expect(r.text).toContain('Train a thing.');
      expect(r.text).toMatch(/--train <file>\s+training data \(required\)/);
      expect(r.text).toMatch(/--models <value>\s+models folder \(default: models\)/);
      expect(r.text).toMatch(/--epochs <n>\s+passes over the data \(default: 20\)/);
      expect(r.text).toMatch(/--mode <beam\|greedy>\s+search \(default: beam\)/);
      expect(r.text).toMatch(/--embed <n>/);
      expect(r.text).toMatch(/--no-peer\s+skip the peer/);
      expect(r.text).toContain('Example:\n  npm run train:thing -- --train data.json --epochs 3');
    }
  });

  it('names the flag when a number does not parse or is out of range', () => {
    expect(usageError(['--train', 't', '--epochs', 'abc'])).toBe("--epochs: expected an integer ≥ 1, got 'abc'");
    expect(usageError(['--train', 't', '--lr', 'abc'])).toBe("--lr: expected a number, got 'abc'");
    expect(usageError(['--train', 't', '--lr', ''])).toBe("--lr: expected a number, got ''");
    expect(usageError(['--train', 't', '--workers', '17'])).toBe("--workers: expected an integer from 1 to 16, got '17'");
    expect(usageError(['--train', 't', '--epochs', '2.5'])).toContain('--epochs: expected an integer');
    expect(usageError(['--train', 't', '--mode', 'fast'])).toBe("--mode: expected one of beam, greedy, got 'fast'");
  });

  it('reports an unknown flag, a missing value and a missing required option in one line', () => {
    const unknown = usageError(['--train', 't', '--epoch', '3']);
    expect(unknown).toContain("unknown option '--epoch'");
    expect(unknown).toContain('--epochs'); // commander's suggestion, joined onto the same line
    expect(unknown).not.toContain('\n');
    expect(usageError(['--train'])).toContain("'--train <file>' argument missing");
    expect(usageError([])).toBe('--train is required: training data');
    expect(usageError(['--train', 't', 'extra'])).toContain('too many arguments');
  });

  it('collects positionals and checks their count', () => {
    const files = defineCommand({
      usage: 'combine',
      summary: 'Join.',
      example: 'combine a b out',
      options: {},
      positionals: { name: 'files', usage: 'A B OUT', description: 'inputs and output', min: 3, max: 3 },
    });
    const r = files.parse(['a', 'b', 'c']);
    expect(r.kind === 'values' && r.values.files).toEqual(['a', 'b', 'c']);
    expect(() => files.parse(['a', 'b'])).toThrow('expected 3 argument(s) (A B OUT), got 2');
    expect(() => files.parse(['a', 'b', 'c', 'd'])).toThrow(UsageError);
    expect(files.help()).toContain('Usage: combine [options] A B OUT');
  });
});

describe('describeFailure', () => {
  it('is one line, exit 2, for usage errors and option schemas, naming flags for schema keys', () => {
    const usage = describeFailure(new UsageError('--epochs: expected a number'));
    expect(usage).toEqual({ text: 'error: --epochs: expected a number (see --help)', exitCode: 2 });
    const schema = z.object({ embedDim: z.number().max(10), other: z.number() });
    const zerr = schema.safeParse({ embedDim: 11, other: 'x' }).error!;
    const f = describeFailure(zerr, command.flagOf);
    expect(f.exitCode).toBe(2);
    expect(f.text).toMatch(/^error: --embed: .*10; other: .*number/);
    expect(f.text).not.toContain('\n');
  });

  it('is one line, exit 1, for runtime errors; the stack only when debugging', () => {
    const err = Object.assign(new Error("ENOENT: no such file or directory, open 'nope.json'"), { code: 'ENOENT' });
    expect(describeFailure(err)).toEqual({ text: "error: ENOENT: no such file or directory, open 'nope.json'", exitCode: 1 });
    const config = describeFailure(new Error('invalid configuration:\n  PORT must be an integer'));
    expect(config.text).toBe('error: invalid configuration:; PORT must be an integer');
    expect(describeFailure(err, undefined, true).text).toContain('command.test.ts');
    expect(describeFailure('thrown string').text).toBe('error: thrown string');
  });
});
