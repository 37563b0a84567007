/**
 * `caption:bulk` through the faults of issue 19: Redis stopped mid-job (with
 * and without persistence), the command itself SIGKILLed, one of its workers
 * SIGKILLed. The outage tests use stand-in worker processes (child-worker.ts)
 * beside a command that starts none, the others the real workers it starts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  HAVE_REDIS,
  NO_REDIS_MESSAGE,
  startChildWorker,
  startRedis,
  stopChild,
  tinyJpegs,
  tinyModelsDir,
  type TestRedis,
} from './helpers.js';

if (!HAVE_REDIS) console.warn(`skipping test/jobs/faults.test.ts: ${NO_REDIS_MESSAGE}`);

const root = path.resolve(import.meta.dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Line {
  name: string;
  index: number;
  ok: boolean;
  worker: string;
}

interface Run {
  child: ChildProcess;
  stderr(): string;
  exit: Promise<number | null>;
}

/** The command itself (node, not the tsx wrapper: its pid is the workers' parent). */
function bulk(args: string[]): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'scripts/caption-bulk.ts'), ...args], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'info', VITEST: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stderr: () => err, exit };
}

async function outLines(file: string): Promise<Line[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return [];
  }
  // A line may be half written while the command runs: only whole ones count.
  return text
    .split('\n')
    .slice(0, -1)
    .map((l) => JSON.parse(l) as Line);
}

async function waitUntil(what: string, done: () => Promise<boolean> | boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!(await done())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** Gone: no such process, or a zombie nobody has reaped yet. */
function pidGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? false;
  } catch {
    return true;
  }
}

/** The worker pids the command logged at start. */
async function workerPids(run: Run): Promise<number[]> {
  let pids: number[] = [];
  await waitUntil(
    'the worker pids',
    () => {
      const m = /"pids":\[([\d,]+)\]/.exec(run.stderr());
      if (m) pids = m[1]!.split(',').map(Number);
      return m !== null;
    },
    20_000,
  );
  return pids;
}

/** Whether each of the worker processes has written lines (a line names its worker, host:pid). */
const byWorkers = (lines: Line[], pids: number[]) => pids.every((pid) => lines.some((l) => l.worker.endsWith(`:${pid}`)));

const expectEachOnce = (lines: Line[], n: number) => {
  expect(lines.map((l) => l.index).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
  expect(lines.every((l) => l.ok)).toBe(true);
};

describe.skipIf(!HAVE_REDIS)('caption:bulk through Redis outages and dead processes', () => {
  let dir: string;
  let models: string;
  const redises: TestRedis[] = [];
  const children: ChildProcess[] = [];
  const pids: number[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'captioner-bulk-faults-'));
    models = await tinyModelsDir(dir);
  });

  // A test that fails midway must leave no process behind.
  afterEach(async () => {
    await Promise.all(children.splice(0).map((c) => stopChild(c, 'SIGKILL')));
    for (const pid of pids.splice(0)) if (!pidGone(pid)) process.kill(pid, 'SIGKILL');
    await Promise.all(redises.splice(0).map((r) => r.stop()));
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const redis = async (persist: boolean) => {
    const r = await startRedis({ persist });
    redises.push(r);
    return r;
  };

  const photos = async (name: string, n: number, size = 40) => {
    const folder = path.join(dir, name);
    await mkdir(folder, { recursive: true });
    const images = await tinyJpegs(n, size);
    await Promise.all(images.map((b, i) => writeFile(path.join(folder, `p${String(i).padStart(3, '0')}.jpg`), b)));
    return folder;
  };

  /** A stand-in worker process on the folder, resolved once it takes tasks. */
  const standIn = (url: string, inputRoot: string, name: string): Promise<ChildProcess> =>
    startChildWorker({ REDIS_URL: url, INPUT_ROOT: inputRoot, WORKER_NAME: name, MS_PER_IMAGE: '100' }, children);

  /** Stop Redis once the command has appended `after` lines, for `ms`, then start it again. */
  const outage = async (r: TestRedis, out: string, after: number, ms: number) => {
    await waitUntil(`${after} lines in ${out}`, async () => (await outLines(out)).length >= after, 20_000);
    await r.down();
    await sleep(ms);
    await r.up();
  };

  it('waits out a Redis outage with persistence: every image exactly once, exit 0', async () => {
    const r = await redis(true);
    const folder = await photos('outage', 60);
    await Promise.all([standIn(r.url, folder, 'a'), standIn(r.url, folder, 'b')]);
    const out = path.join(dir, 'outage.jsonl');
    const run = bulk(['--images', folder, '--out', out, '--workers', '0', '--redis', r.url]);
    children.push(run.child);
    // The lines are in the file as they arrive, before the job ends.
    await outage(r, out, 10, 2500);
    expect(await run.exit, run.stderr()).toBe(0);
    expectEachOnce(await outLines(out), 60);
    // Said once each, not once per failed reconnection.
    expect(run.stderr().match(/Redis is unreachable: waiting for it to come back/g)).toHaveLength(1);
    expect(run.stderr().match(/Redis is back/g)).toHaveLength(1);
    expect(run.stderr()).toMatch(/"msg":"60 captioned, 0 failed in [\d.]+ s/);
  });

  it('says a job lost with a Redis that restarts empty, names the file and its lines, exit non-zero', async () => {
    const r = await redis(false);
    const folder = await photos('lost', 60);
    await Promise.all([standIn(r.url, folder, 'a'), standIn(r.url, folder, 'b')]);
    const out = path.join(dir, 'lost.jsonl');
    const run = bulk(['--images', folder, '--out', out, '--workers', '0', '--redis', r.url]);
    children.push(run.child);
    await outage(r, out, 10, 1000);
    expect(await run.exit).toBe(1);
    const m = /error: job \S+ was lost with Redis: it restarted without its data.*; (\d+) of 60 lines were written to (\S+)\n/.exec(
      run.stderr(),
    );
    expect(m, run.stderr()).not.toBeNull();
    expect(m![2]).toBe(out);
    const lines = await outLines(out);
    expect(Number(m![1])).toBe(lines.length);
    expect(lines.length).toBeGreaterThanOrEqual(10);
    expect(new Set(lines.map((l) => l.index)).size).toBe(lines.length);
  });

  it('its workers end when the command is SIGKILLed', async () => {
    const r = await redis(false);
    const folder = await photos('orphans', 200, 64);
    const out = path.join(dir, 'orphans.jsonl');
    const run = bulk(['--images', folder, '--out', out, '--workers', '2', '--models', models, '--mode', 'greedy', '--redis', r.url]);
    children.push(run.child);
    const workers = await workerPids(run);
    pids.push(...workers);
    await waitUntil('lines from both workers', async () => byWorkers(await outLines(out), workers), 40_000);
    run.child.kill('SIGKILL');
    await run.exit;
    const t0 = Date.now();
    // They finish the tasks they hold, then exit.
    await waitUntil('the workers to end', () => workers.every(pidGone), 8000);
    expect(Date.now() - t0).toBeLessThan(8000);
  });

  it("tells of a dead worker's held tasks and when they are retried; every image once", async () => {
    const r = await redis(false);
    const folder = await photos('stalled', 200, 64);
    const out = path.join(dir, 'stalled.jsonl');
    const lockMs = 2000;
    const run = bulk([
      '--images',
      folder,
      '--out',
      out,
      '--workers',
      '2',
      '--lock-ms',
      String(lockMs),
      '--models',
      models,
      '--mode',
      'greedy',
      '--redis',
      r.url,
    ]);
    children.push(run.child);
    const workers = await workerPids(run);
    pids.push(...workers);
    const victim = workers[0];
    // Both are captioning (one still loading would hold nothing).
    await waitUntil('lines from both workers', async () => byWorkers(await outLines(out), workers), 40_000);
    process.kill(victim!, 'SIGKILL');
    expect(await run.exit, run.stderr()).toBe(0);
    const m = /worker 1 \(pid (\d+)\) died \(SIGKILL\): (\d) tasks held by a dead worker, retried in ~(\d+) s/.exec(run.stderr());
    expect(m, run.stderr()).not.toBeNull();
    expect(Number(m![1])).toBe(victim);
    expect(Number(m![2])).toBeGreaterThanOrEqual(1);
    expect(Number(m![2])).toBeLessThanOrEqual(4); // --batch 4: the tasks one worker holds
    expect(Number(m![3])).toBeLessThanOrEqual((2 * lockMs) / 1000);
    expectEachOnce(await outLines(out), 200);
  });
});
