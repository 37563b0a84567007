import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// Real scripts through tsx, as a user runs them; few, since each start costs 1-2 s.
const root = path.resolve(import.meta.dirname, '../..');
const tsx = path.join(root, 'node_modules/.bin/tsx');
const run = (script: string, args: string[], env: Record<string, string> = {}) =>
  spawnSync(tsx, [path.join(root, 'scripts', script), ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } });

describe('scripts', () => {
  it('answer --help with usage, options, defaults and an example, exit 0', () => {
    const r = run('sample-char.ts', ['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: npm run sample:char -- [options]');
    expect(r.stdout).toMatch(/--temperature <value>\s+softmax temperature.*\(default: 0\.8\)/s);
    expect(r.stdout).toContain('Example:');
    expect(r.stderr).toBe('');
  });

  it('report a wrong path in one line naming the file, after the wasm backend is up, exit 1', () => {
    const r = run('eval-char.ts', ['--text', 'no-such-corpus.txt']);
    expect(r.status).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: .*no-such-corpus\.txt/);
    expect(r.stderr.length).toBeLessThan(300); // no minified library source, no stack
  });

  it('report a bad number in one line naming the flag, exit 2', () => {
    const r = run('train-caption.ts', ['--train', 'a.json', '--val', 'b.json', '--features', 'c.feat', '--epochs', 'abc']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("error: --epochs: expected a number, got 'abc' (see --help)\n");
  });

  it('refuse a flag the chosen caption arch does not read, in one line, exit 2', () => {
    const r = run('train-caption.ts', [
      '--arch',
      'plain',
      '--train',
      'a.json',
      '--val',
      'b.json',
      '--features',
      'c.feat',
      '--regions',
      'r',
    ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('error: --regions is for --arch attention, not plain (see --help)\n');
  });

  it('print their results alone on stdout; the JSON log goes to stderr', () => {
    const r = run('sample-char.ts', ['--prime', 'KING', '--length', '20', '--seed', '3'], { LOG_LEVEL: 'info', VITEST: '' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^KING[^{]{20}\n$/s);
    expect(r.stderr).toContain('"msg":"tensorflow backend selected"');
  });
});
