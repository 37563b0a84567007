import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ENCODER_GRACE_EXPIRED } from '../../src/encoder/thread.js';
import { withDeadline } from '../../src/server/serve.js';
import { jpeg } from './images.js';

// The real `npm start` command in a process group of its own, signalled as
// Ctrl-C, systemd or `kill -- -PGID` would: open and queued requests must
// finish with 200 and the process must exit 0.

const REQUESTS = 10;
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

/** POST /caption with `query` under each id; resolves each with its status, id header and captions. */
function captionAll(base: string, image: Uint8Array<ArrayBuffer>, ids: string[], query = '') {
  return ids.map((id) =>
    fetch(`${base}/caption${query}`, {
      method: 'POST',
      headers: { 'content-type': 'image/jpeg', 'x-request-id': id },
      body: image,
    }).then(async (res) => ({
      status: res.status,
      id: res.headers.get('x-request-id'),
      body: (await res.json()) as { captions?: unknown[] },
    })),
  );
}

/** Wait until every id's request has reached the server (one runs, the rest wait in the queue). */
async function arrived(lines: LogLine[], ids: string[]): Promise<void> {
  for (const id of ids) await waitForLog(lines, (l) => l.reqId === id && l.msg === 'incoming request', 20_000);
}

describe('graceful shutdown', () => {
  // npm 11 forwards a signal to its child, so a signal to the group reaches the server twice (or once, when
  // the kernel merges the two while the first is pending): the second must not kill it (it did, in 3 of 5
  // trials, before the second signal was ignored).
  it('SIGTERM to the real `npm start` process group: 10 long requests in flight all finish with 200, npm exits 0', async () => {
    const { child, lines, exited } = start('npm', ['start', '--silent']);
    const listening = await waitForLog(lines, (l) => typeof l.url === 'string', 60_000);
    const image = new Uint8Array(await jpeg(640, 480));
    const ids = Array.from({ length: REQUESTS }, (_, i) => `shutdown-${i}`);
    const replies = captionAll(String(listening.url), image, ids, '?mode=beam&beam_size=10&n=10&max_length=50');
    await arrived(lines, ids);
    const pid = child.pid;
    if (pid === undefined) throw new Error('no pid');
    process.kill(-pid, 'SIGTERM');

    const done = await Promise.all(replies);
    for (const [i, r] of done.entries()) {
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.id).toBe(ids[i]);
      expect(r.body.captions).toHaveLength(10);
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

  it('a second stop signal during the drain is logged and ignored: every request still finishes, exit 0', async () => {
    const { child, lines, exited } = start('node', ['--import', 'tsx', 'src/server/main.ts']);
    const listening = await waitForLog(lines, (l) => typeof l.url === 'string', 60_000);
    const image = new Uint8Array(await jpeg(640, 480));
    const ids = Array.from({ length: 6 }, (_, i) => `twice-${i}`);
    const replies = captionAll(String(listening.url), image, ids, '?mode=beam&beam_size=10&n=10&max_length=50');
    await arrived(lines, ids);
    child.kill('SIGTERM');
    await waitForLog(lines, (l) => l.msg?.startsWith('shutting down') === true, 10_000);
    child.kill('SIGINT');
    for (const r of await Promise.all(replies)) expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(await withDeadline(exited, 30_000)).toBe(true);
    expect(await exited).toBe(0);
    expect(lines.some((l) => l.msg?.startsWith('SIGINT again while draining: ignored') === true)).toBe(true);
  }, 120_000);

  it('idle, the encoder thread ends at once on a stop, not when the grace period runs out', async () => {
    const { child, lines, exited } = start('npm', ['start', '--silent']);
    await waitForLog(lines, (l) => typeof l.url === 'string', 60_000);
    if (child.pid === undefined) throw new Error('no pid');
    process.kill(-child.pid, 'SIGTERM');
    expect(await exited).toBe(0);
    // No wall-clock bound (the suite runs beside other tests): the server says when the grace period ran out.
    expect(lines.some((l) => l.msg === ENCODER_GRACE_EXPIRED)).toBe(false);
    expect(lines.at(-1)?.msg).toBe('bye');
  }, 120_000);

  it('a third stop signal ends the drain: exit 1 without waiting for the requests', async () => {
    const { child, lines, exited } = start('node', ['--import', 'tsx', 'src/server/main.ts']);
    const listening = await waitForLog(lines, (l) => typeof l.url === 'string', 60_000);
    const image = new Uint8Array(await jpeg(640, 480));
    const ids = Array.from({ length: 20 }, (_, i) => `forced-${i}`);
    const replies = captionAll(String(listening.url), image, ids, '?mode=beam&beam_size=10&n=10&max_length=50').map((p) =>
      p.catch(() => 'dropped'),
    );
    await arrived(lines, ids);
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGTERM'] as const) {
      child.kill(signal);
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(await withDeadline(exited, 30_000)).toBe(true);
    expect(await exited).toBe(1);
    // Exit 1: the drain was given up (a drain that had finished would exit 0).
    expect(lines.some((l) => l.msg?.startsWith('third stop signal') === true)).toBe(true);
    await Promise.all(replies);
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
    const replies = captionAll(String(listening.url), image, ids).map((p) => p.catch(() => 'dropped'));
    await arrived(lines, ids);
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
