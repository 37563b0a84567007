import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// `npm start`'s entry point on a models folder with one corrupt file: it must
// exit 1 with one fatal log line that names the file, never serve.

const root = path.resolve(import.meta.dirname, '../..');
const tmp: string[] = [];
afterAll(() => {
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
});

/** A models folder with a copy of the caption model (to corrupt) and the shipped encoder. */
function modelsCopy(): { dir: string; caption: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'captioner-startup-'));
  tmp.push(dir);
  const caption = path.join(dir, 'caption');
  mkdirSync(caption);
  for (const f of ['config.json', 'model.json', 'weights.bin']) copyFileSync(path.join(root, 'models/caption', f), path.join(caption, f));
  symlinkSync(path.join(root, 'models', 'encoder'), path.join(dir, 'encoder'));
  return { dir, caption };
}

interface LogLine {
  level?: number;
  msg?: string;
}

/** Run the server entry point; resolves with its exit code and JSON log lines (bounded by `ms`). */
function startServer(modelsDir: string, ms = 60_000): Promise<{ code: number | null; lines: LogLine[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/main.ts'], {
      cwd: root,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', MODELS_DIR: modelsDir, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`still running after ${ms} ms: it should have refused to start`));
    }, ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const lines = out
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => {
          try {
            return JSON.parse(l) as LogLine;
          } catch {
            return { msg: l };
          }
        });
      resolve({ code, lines });
    });
  });
}

function fatalLine(lines: LogLine[]): string {
  const fatal = lines.filter((l) => l.level === 60);
  expect(fatal, JSON.stringify(lines)).toHaveLength(1);
  const msg = fatal[0]?.msg ?? '';
  expect(msg).not.toContain('\n');
  expect(msg).toMatch(/^server failed to start: /);
  return msg;
}

describe('start-up with a corrupt model file', () => {
  it('a truncated weights.bin: exit 1, one fatal line naming the file', async () => {
    const { dir, caption } = modelsCopy();
    const weights = path.join(caption, 'weights.bin');
    writeFileSync(weights, readFileSync(weights).subarray(0, 1000));
    const { code, lines } = await startServer(dir);
    expect(code).toBe(1);
    const msg = fatalLine(lines);
    expect(msg).toContain(weights);
    expect(msg).toContain('is truncated: 1000 bytes');
  }, 90_000);

  it('bad JSON in config.json: exit 1, one fatal line naming the file', async () => {
    const { dir, caption } = modelsCopy();
    const config = path.join(caption, 'config.json');
    writeFileSync(config, '{"name": "caption", ');
    const { code, lines } = await startServer(dir);
    expect(code).toBe(1);
    expect(fatalLine(lines)).toContain(config);
  }, 90_000);
});
