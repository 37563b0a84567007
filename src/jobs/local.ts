import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { freePort } from '../util/net.js';
import type { JobsClient } from './producer.js';
import type { JobStatus } from './schemas.js';

const WORKER_SCRIPT = path.resolve(import.meta.dirname, '../../scripts/worker.ts');

export interface LocalWorkers {
  /** Resolves once every worker has loaded its models and takes tasks. */
  ready: Promise<void>;
  /** SIGTERM: each finishes the tasks it holds and exits. */
  stop(): Promise<void>;
}

/**
 * N worker processes on this host (scripts/worker.ts, as `npm run worker`
 * starts them), configured by `env` on top of ours. Their log is kept, and
 * printed only if one exits before it is stopped.
 */
export function spawnWorkers(n: number, env: Record<string, string>): LocalWorkers {
  const children: ChildProcess[] = [];
  let stopping = false;
  const readies = Array.from({ length: n }, (_, i) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER_SCRIPT], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(child);
    let log = '';
    return new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        log = (log + d.toString()).slice(-4000);
        if (log.includes('worker ready')) resolve();
      });
      child.once('exit', (code, signal) => {
        if (stopping) return;
        const why = new Error(
          `worker ${i + 1} exited (${signal ?? code}) unexpectedly; its last log: ${log.trim().split('\n').slice(-3).join(' | ')}`,
        );
        reject(why);
        process.stderr.write(`${why.message}\n`);
      });
    });
  });
  return {
    ready: Promise.all(readies).then(() => undefined),
    async stop() {
      stopping = true;
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null || c.signalCode !== null) return resolve();
              c.once('exit', () => resolve());
              c.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}

/** Poll the job until every image has its line (or it is cancelled), reporting each change. */
export async function waitForJob(
  client: JobsClient,
  id: string,
  onStatus: (s: JobStatus) => void = () => {},
  everyMs = 250,
): Promise<JobStatus> {
  for (;;) {
    const s = await client.status(id);
    if (!s) throw new Error(`job ${id} is gone (expired or deleted)`);
    onStatus(s);
    if (s.state === 'completed' || s.state === 'cancelled') return s;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The job's lines (results and failures) into a JSON-lines file; returns how many. */
export async function writeResults(client: JobsClient, id: string, file: string): Promise<number> {
  const out = createWriteStream(file);
  let n = 0;
  for await (const line of client.store.lines(id)) {
    if (!out.write(`${line}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
    n++;
  }
  out.end();
  await finished(out);
  return n;
}

export interface LocalRedis {
  url: string;
  stop(): Promise<void>;
}

/** A private redis-server (Debian's, on PATH) on a free loopback port, in a temp folder, nothing persisted: for tests and benchmarks. */
export async function startRedis(): Promise<LocalRedis> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'captioner-redis-'));
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
      await rm(dir, { recursive: true, force: true });
    },
  };
}
