import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/image/decode.js';
import { ResultsFile } from '../../src/jobs/local.js';
import { jobKeys, taskId } from '../../src/app/jobs/names.js';
import type { CaptionMany } from '../../src/jobs/processor.js';
import { JobsClient, type Upload } from '../../src/app/jobs/producer.js';
import type { ResultLine } from '../../src/app/jobs/store.js';
import { startTaskWorker, type TaskWorker } from '../../src/jobs/task-worker.js';
import { DEFAULT_CAPTION_OPTIONS } from './options.js';
import {
  corruptJpeg,
  HAVE_REDIS,
  NO_REDIS_MESSAGE,
  standInCaptioner,
  startChildWorker,
  startRedis,
  stopChild,
  tinyJpegs,
  type TestRedis,
} from './helpers.js';

if (!HAVE_REDIS) console.warn(`skipping test/jobs/queue.test.ts: ${NO_REDIS_MESSAGE}`);

interface Line {
  name: string;
  index: number;
  ok: boolean;
  worker: string;
  captions?: { text: string }[];
  error?: { code: string; message: string };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!HAVE_REDIS)('bulk jobs on a real Redis', () => {
  let redis: TestRedis;
  let client: JobsClient;
  const workers: TaskWorker[] = [];
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    client = JobsClient.connect(redis.url, { maxImages: 1000, maxUploadBytes: 64 * 1024 * 1024, ttlS: 3600, attempts: 3 });
  });

  // A test that fails midway must not leave its workers to take the next test's tasks.
  afterEach(async () => {
    await Promise.all(children.splice(0).map((c) => stopChild(c, 'SIGKILL')));
    await Promise.all(workers.splice(0).map((w) => w.close()));
  });

  afterAll(async () => {
    await Promise.all(children.map((c) => stopChild(c, 'SIGKILL')));
    await Promise.all(workers.map((w) => w.close()));
    await client?.close();
    await redis?.stop();
  });

  const worker = (name: string, captionMany: CaptionMany, lockMs = 1000) => {
    const w = startTaskWorker({ redisUrl: redis.url, captionMany, limits: DEFAULT_LIMITS, batch: 4, lockMs, name });
    workers.push(w);
    return w;
  };

  const stopWorker = async (w: TaskWorker) => {
    workers.splice(workers.indexOf(w), 1);
    await w.close();
  };

  /** A worker process (test/jobs/child-worker.ts), resolved once it takes tasks. */
  const childWorker = (name: string, msPerImage: number): Promise<ChildProcess> =>
    startChildWorker({ REDIS_URL: redis.url, WORKER_NAME: name, MS_PER_IMAGE: String(msPerImage) }, children);

  async function* uploads(images: Buffer[], prefix = 'img'): AsyncGenerator<Upload> {
    for (const [i, bytes] of images.entries()) yield { name: `${prefix}-${String(i).padStart(4, '0')}.jpg`, bytes };
  }

  const waitFor = async (id: string, done: (s: NonNullable<Awaited<ReturnType<JobsClient['status']>>>) => boolean, ms = 30_000) => {
    const t0 = Date.now();
    for (;;) {
      const s = (await client.status(id))!;
      if (done(s)) return s;
      if (Date.now() - t0 > ms) throw new Error(`job ${id} stuck: ${JSON.stringify(s)}`);
      await sleep(50);
    }
  };

  const lines = async (id: string): Promise<Line[]> => {
    const out: Line[] = [];
    for await (const l of client.store.lines(id)) out.push(JSON.parse(l) as Line);
    return out;
  };

  /** Every image's line once, each with the caption of its own image (the stand-in names its colour). */
  const expectEachOnce = async (id: string, images: Buffer[], prefix = 'img') => {
    const got = await lines(id);
    const names = got.map((l) => l.name).sort();
    expect(names).toEqual(images.map((_, i) => `${prefix}-${String(i).padStart(4, '0')}.jpg`));
    const truth = await standInCaptioner()(images, {} as never);
    for (const l of got) {
      expect(l.ok).toBe(true);
      expect(l.captions![0]!.text).toBe((truth[l.index] as { captions: { text: string }[] }).captions[0]!.text);
    }
    return got;
  };

  it('a job of 300 images finishes with every result exactly once', async () => {
    const images = await tinyJpegs(300);
    const w = worker('solo', standInCaptioner());
    const { id, total } = await client.submitUploads(uploads(images), () => DEFAULT_CAPTION_OPTIONS);
    expect(total).toBe(300);
    const s = await waitFor(id, (st) => st.state === 'completed');
    expect(s).toMatchObject({ total: 300, succeeded: 300, failed: 0, progress: 1 });
    expect(s.finished_at).toBeDefined();
    await expectEachOnce(id, images);
    // Captioned images' bytes are dropped from Redis as their results land.
    expect(await client.redis.exists(`captioner:bulk:${id}:images`)).toBe(0);
    // Cancelling a finished job changes nothing.
    expect(await client.cancel(id)).toMatchObject({ status: { state: 'completed', succeeded: 300 }, removed: 0 });
    await stopWorker(w);
  });

  it('two worker processes share the work', async () => {
    const [a, b] = await Promise.all([childWorker('proc-a', 5), childWorker('proc-b', 5)]);
    const images = await tinyJpegs(200);
    const { id } = await client.submitUploads(uploads(images), () => DEFAULT_CAPTION_OPTIONS);
    await waitFor(id, (st) => st.state === 'completed');
    const got = await expectEachOnce(id, images);
    const by = (name: string) => got.filter((l) => l.worker === name).length;
    expect(by('proc-a') + by('proc-b')).toBe(200);
    expect(by('proc-a')).toBeGreaterThan(20);
    expect(by('proc-b')).toBeGreaterThan(20);
    await Promise.all([stopChild(a, 'SIGTERM'), stopChild(b, 'SIGTERM')]);
  });

  it('a worker killed mid-job (SIGKILL) loses nothing: another takes over its held tasks', async () => {
    const victim = await childWorker('victim', 20);
    const images = await tinyJpegs(120);
    const { id } = await client.submitUploads(uploads(images), () => DEFAULT_CAPTION_OPTIONS);
    await waitFor(id, (st) => st.succeeded >= 20);
    expect(await stopChild(victim, 'SIGKILL')).toBe(null);
    const before = (await client.status(id))!;
    expect(before.succeeded).toBeLessThan(120);
    // The tasks it held are locked by a dead worker: only the stalled-job check can free them.
    expect(await client.queue.getActiveCount()).toBeGreaterThan(0);
    const rescuer = worker('rescuer', standInCaptioner());
    await waitFor(id, (st) => st.state === 'completed');
    const got = await expectEachOnce(id, images);
    expect(got.filter((l) => l.worker === 'victim').length).toBe(before.succeeded);
    expect(got.filter((l) => l.worker === 'rescuer').length).toBe(120 - before.succeeded);
    await stopWorker(rescuer);
  });

  it('a results file follows the job as lines land, each image once even when its line is written twice', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'captioner-follow-'));
    const file = await ResultsFile.create(path.join(dir, 'out.jsonl'));
    const images = await tinyJpegs(40);
    const w = worker('slow', standInCaptioner(20));
    const { id } = await client.submitUploads(uploads(images), () => DEFAULT_CAPTION_OPTIONS);
    await waitFor(id, (st) => st.succeeded >= 8);
    await file.follow(client.store, id);
    const early = file.count;
    expect(early).toBeGreaterThanOrEqual(8);
    expect(early).toBeLessThan(40);
    // As a task retried after a stall would: its image's line written (and listed) again.
    const first = (await lines(id))[0]! as ResultLine; // as the worker wrote it (every image is captioned here)
    await client.store.writeResult(id, first.index, { ...first, worker: 'again' }, 3600);
    await waitFor(id, (st) => st.state === 'completed');
    await file.follow(client.store, id);
    await file.complete(client.store, id);
    await file.close();
    expect(await client.redis.llen(jobKeys(id).done)).toBe(41);
    const written = (await readFile(path.join(dir, 'out.jsonl'), 'utf8')).trimEnd().split('\n');
    expect(written).toHaveLength(40);
    expect(new Set(written.map((l) => (JSON.parse(l) as Line).index)).size).toBe(40);
    await stopWorker(w);
    await rm(dir, { recursive: true, force: true });
  });

  it('a corrupt image ends as a recorded failure, tried once; its neighbours succeed', async () => {
    const images = await tinyJpegs(3);
    async function* mixed(): AsyncGenerator<Upload> {
      yield* uploads(images);
      yield { name: 'broken.jpg', bytes: await corruptJpeg() };
    }
    const w = worker('solo', standInCaptioner());
    const { id } = await client.submitUploads(mixed(), () => DEFAULT_CAPTION_OPTIONS);
    const s = await waitFor(id, (st) => st.state === 'completed');
    expect(s).toMatchObject({ total: 4, succeeded: 3, failed: 1 });
    const failure = (await lines(id)).find((l) => l.name === 'broken.jpg')!;
    expect(failure.ok).toBe(false);
    expect(failure.error!.code).toBe('corrupt_image');
    const task = await client.queue.getJob(taskId(id, 3));
    // UnrecoverableError: failed for good at once, although 3 attempts are allowed.
    expect(await task!.getState()).toBe('failed');
    expect(task!.attemptsMade).toBe(1);
    await stopWorker(w);
  });

  it('a transient error is retried with backoff and yields one result', async () => {
    const images = await tinyJpegs(4);
    let calls = 0;
    const flaky: CaptionMany = async (batch, opts) => {
      calls++;
      if (calls === 1) throw new Error('model hiccup');
      return standInCaptioner()(batch, opts);
    };
    const w = worker('flaky', flaky);
    const { id } = await client.submitUploads(uploads(images), () => DEFAULT_CAPTION_OPTIONS);
    await waitFor(id, (st) => st.state === 'completed');
    await expectEachOnce(id, images);
    expect(calls).toBeGreaterThan(1);
    await stopWorker(w);
  });

  it('cancel stops the job: waiting tasks are removed and nothing more is written', async () => {
    const images = await tinyJpegs(200);
    const w = worker('slow', standInCaptioner(30));
    const { id } = await client.submitUploads(uploads(images), () => DEFAULT_CAPTION_OPTIONS);
    await waitFor(id, (st) => st.succeeded >= 8);
    const cancelled = (await client.cancel(id))!;
    expect(cancelled.status.state).toBe('cancelled');
    expect(cancelled.removed).toBeGreaterThan(150);
    const at = cancelled.status.succeeded;
    await sleep(1000);
    const later = (await client.status(id))!;
    expect(later.state).toBe('cancelled');
    expect(later.succeeded).toBeLessThanOrEqual(at);
    expect(await client.queue.getWaitingCount()).toBe(0);
    expect(await client.cancel(id)).toMatchObject({ status: { state: 'cancelled' }, removed: 0 });
    expect(await client.redis.exists(`captioner:bulk:${id}:images`)).toBe(0);
    await stopWorker(w);
  });
});
