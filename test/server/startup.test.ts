import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jpeg } from './images.js';

// `npm start`'s entry point as a process: on a models folder with one corrupt
// file it must exit 1 with one fatal log line that names the file, never serve;
// SIGHUP reloads the models, and a reload from a corrupt file keeps the old ones.

const root = path.resolve(import.meta.dirname, '../..');
const tmp: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
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
  url?: string;
}

function parseLines(out: string): LogLine[] {
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as LogLine;
      } catch {
        return { msg: l };
      }
    });
}

function spawnServer(modelsDir: string): { child: ChildProcess; output: () => LogLine[] } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/main.ts'], {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', MODELS_DIR: modelsDir, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString('utf8')));
  return { child, output: () => parseLines(out) };
}

async function waitForLine(output: () => LogLine[], match: (l: LogLine) => boolean, ms: number, after = 0): Promise<LogLine> {
  for (const t0 = Date.now(); Date.now() - t0 < ms; await new Promise((r) => setTimeout(r, 50))) {
    const hit = output().slice(after).find(match);
    if (hit) return hit;
  }
  throw new Error(`no matching log line within ${ms} ms: ${JSON.stringify(output().slice(-3))}`);
}

/** Run the server entry point; resolves with its exit code and JSON log lines (bounded by `ms`). */
function startServer(modelsDir: string, ms = 60_000): Promise<{ code: number | null; lines: LogLine[] }> {
  const { child, output } = spawnServer(modelsDir);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`still running after ${ms} ms: it should have refused to start`));
    }, ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, lines: output() });
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

describe('SIGHUP', () => {
  it('reloads the models from disk; a reload from a corrupt file logs the file and keeps serving the old models', async () => {
    const { dir, caption } = modelsCopy();
    const { child, output } = spawnServer(dir);
    const base = String((await waitForLine(output, (l) => typeof l.url === 'string', 60_000)).url);
    const captionVersion = async () =>
      ((await (await fetch(`${base}/health`)).json()) as { models: { caption: { version: string } } }).models.caption.version;

    const config = path.join(caption, 'config.json');
    writeFileSync(config, JSON.stringify({ ...(JSON.parse(readFileSync(config, 'utf8')) as object), version: 'reloaded-1' }));
    let seen = output().length;
    child.kill('SIGHUP');
    await waitForLine(output, (l) => l.msg === 'models reloaded', 60_000, seen);
    expect(await captionVersion()).toBe('reloaded-1');

    const weights = path.join(caption, 'weights.bin');
    writeFileSync(weights, readFileSync(weights).subarray(0, 1000));
    seen = output().length;
    child.kill('SIGHUP');
    const failed = await waitForLine(output, (l) => l.level === 50, 60_000, seen);
    expect(failed.msg).toContain(weights);
    expect(failed.msg).toMatch(/still serving the previous models/);
    expect(await captionVersion()).toBe('reloaded-1');
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);
    const res = await fetch(`${base}/caption`, {
      method: 'POST',
      headers: { 'content-type': 'image/jpeg' },
      body: new Uint8Array(await jpeg()),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { model: { version: string } }).model.version).toBe('reloaded-1');

    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 120_000);
});
