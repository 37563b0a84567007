import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withDeadline } from '../../src/server/serve.js';
import { jpeg } from './images.js';

// The real `npm start` command in a process group of its own, signalled as
// Ctrl-C, systemd or `kill -- -PGID` would: open and queued requests must
// finish with 200 and the process must exit 0.

const REQUESTS = 4;
const root = path.resolve(import.meta.dirname, '../..');
// Caption model and encoder only: the char and VQA models are optional and would only slow the start.
const modelsDir = mkdtempSync(path.join(tmpdir(), 'captioner-shutdown-'));
for (const dir of ['caption', 'encoder']) symlinkSync(path.join(root, 'models', dir), path.join(modelsDir, dir));

interface LogLine {
  msg?: string;
  reqId?: string;
  url?: string;
}

/** Resolve when a log line satisfies `match`; bounded by `ms`. */
function waitForLog(lines: LogLine[], match: (l: LogLine) => boolean, ms: number): Promise<LogLine> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const poll = setInterval(() => {
      const hit = lines.find(match);
      if (hit) resolve(hit);
      else if (Date.now() - t0 < ms) return;
      else reject(new Error(`no matching log line within ${ms} ms; got ${lines.length} lines`));
      clearInterval(poll);
    }, 20);
  });
}

const children: ChildProcess[] = [];
afterAll(() => {
  // The whole group: a server left behind by a failed test must not outlive the run.
  for (const c of children) {
    try {
      if (c.pid !== undefined) process.kill(-c.pid, 'SIGKILL');
    } catch {
      // the group is gone already
    }
  }
  rmSync(modelsDir, { recursive: true, force: true });
});

/** Start the server in a process group of its own (like a service manager's), collecting its JSON log lines. */
function start(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcess; lines: LogLine[]; exited: Promise<number | null> } {
  const child = spawn(command, args, {
    cwd: root,
    detached: true,
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      MODELS_DIR: modelsDir,
      MAX_CONCURRENCY: '1',
      LOG_LEVEL: 'info',
      SHUTDOWN_TIMEOUT_MS: '30000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: LogLine[] = [];
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const p of parts) {
      try {
        lines.push(JSON.parse(p) as LogLine);
      } catch {
        lines.push({ msg: p });
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, lines, exited };
}

describe('graceful shutdown', () => {
  it('SIGTERM to the `npm start` process group: queued and running requests finish with 200, exit 0', async () => {
    const { scripts } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: { start: string } };
    const { child, lines, exited } = start('sh', ['-c', scripts.start]);
    const listening = await waitForLog(lines, (l) => typeof l.url === 'string', 60_000);
    const base = String(listening.url);
    const image = await jpeg(640, 480);
    const ids = Array.from({ length: REQUESTS }, (_, i) => `shutdown-${i}`);
    const replies = ids.map((id) =>
      fetch(`${base}/caption`, {
        method: 'POST',
        headers: { 'content-type': 'image/jpeg', 'x-request-id': id },
        body: new Uint8Array(image),
      }).then(async (res) => ({
        status: res.status,
        id: res.headers.get('x-request-id'),
        body: (await res.json()) as { captions?: unknown[] },
      })),
    );
    // Every request has reached the server (one runs, the rest wait in the queue) before the signal.
    for (const id of ids) await waitForLog(lines, (l) => l.reqId === id && l.msg === 'incoming request', 20_000);
    const pid = child.pid;
    if (pid === undefined) throw new Error('no pid');
    process.kill(-pid, 'SIGTERM');

    const done = await Promise.all(replies);
    for (const [i, r] of done.entries()) {
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.id).toBe(ids[i]);
      expect(r.body.captions).toHaveLength(1);
    }
    expect(await withDeadline(exited, 30_000)).toBe(true);
    expect(await exited).toBe(0);
    // The drain really overlapped work: some request completed after the signal was handled.
    const shutdownAt = lines.findIndex((l) => l.msg?.startsWith('shutting down') === true);
    expect(shutdownAt).toBeGreaterThan(-1);
    const completedAfter = lines.slice(shutdownAt).filter((l) => l.msg === 'request completed' && ids.includes(l.reqId ?? ''));
    expect(completedAfter.length).toBeGreaterThan(0);
    expect(lines.at(-1)?.msg).toBe('bye');
  }, 120_000);

  it('SIGTERM to npm alone reaches the server, which exits instead of serving on as an orphan', async () => {
    const { child, lines } = start('npm', ['start', '--silent']);
    const listening = await waitForLog(lines, (l) => typeof l.url === 'string', 60_000);
    expect((await fetch(`${String(listening.url)}/health/live`)).status).toBe(200);
    child.kill('SIGTERM'); // npm's pid only, not the group
    await waitForLog(lines, (l) => l.msg === 'bye', 30_000);
    await expect(fetch(`${String(listening.url)}/health/live`)).rejects.toThrow();
  }, 120_000);
});

describe('shutdown deadline', () => {
  it('requests still open when SHUTDOWN_TIMEOUT_MS passes: exit 1', async () => {
    const { scripts } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: { start: string } };
    const { child, lines, exited } = start('sh', ['-c', scripts.start], { SHUTDOWN_TIMEOUT_MS: '0' });
    const listening = await waitForLog(lines, (l) => typeof l.url === 'string', 60_000);
    const image = new Uint8Array(await jpeg(640, 480));
    const ids = ['late-0', 'late-1', 'late-2'];
    const replies = ids.map((id) =>
      fetch(`${String(listening.url)}/caption`, {
        method: 'POST',
        headers: { 'content-type': 'image/jpeg', 'x-request-id': id },
        body: image,
      }).catch(() => 'dropped'),
    );
    for (const id of ids) await waitForLog(lines, (l) => l.reqId === id && l.msg === 'incoming request', 20_000);
    if (child.pid === undefined) throw new Error('no pid');
    process.kill(-child.pid, 'SIGTERM');
    expect(await withDeadline(exited, 30_000)).toBe(true);
    expect(await exited).toBe(1);
    await waitForLog(lines, (l) => l.msg?.startsWith('shutdown deadline passed') === true, 1000);
    await Promise.all(replies);
  }, 120_000);
});

describe('withDeadline', () => {
  it('true when the work settles in time, false when the deadline passes first', async () => {
    expect(await withDeadline(Promise.resolve(), 1000)).toBe(true);
    expect(await withDeadline(new Promise(() => {}), 20)).toBe(false);
  });
});
