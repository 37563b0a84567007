import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { FastifyInstance } from 'fastify';
import request, { type Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptionService } from '../../src/caption/service.js';
import { JobsClient } from '../../src/app/jobs/producer.js';
import type { JobStatus } from '../../src/app/jobs/schemas.js';
import { startTaskWorker, type TaskWorker } from '../../src/jobs/task-worker.js';
import { currentBackend, initBackend } from '../../src/nn/backend.js';
import { buildApp } from '../../src/server/app.js';
import { imageLimits, loadConfig } from '../../src/app/config.js';
import { ONE_CLIENT } from '../server/tiny-services.js';
import { corruptJpeg, HAVE_REDIS, NO_REDIS_MESSAGE, startRedis, stopChild, tinyJpegs, tinyModelsDir, type TestRedis } from './helpers.js';

if (!HAVE_REDIS) console.warn(`skipping test/jobs/routes.test.ts: ${NO_REDIS_MESSAGE}`);

interface Line {
  name: string;
  index: number;
  ok: boolean;
  worker: string;
  captions?: { text: string; logprob: number }[];
  error?: { code: string };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!HAVE_REDIS)('/jobs routes', () => {
  let redis: TestRedis;
  let dir: string;
  let root: string;
  let models: string;
  let service: CaptionService;
  let jobs: JobsClient;
  let app: FastifyInstance;
  let worker: TaskWorker | undefined;
  let child: ChildProcess | undefined;
  let images: Buffer[];

  beforeAll(async () => {
    await initBackend('wasm');
    redis = await startRedis();
    dir = await mkdtemp(path.join(os.tmpdir(), 'captioner-jobs-'));
    root = path.join(dir, 'root');
    await mkdir(path.join(root, 'album', 'inner'), { recursive: true });
    images = await tinyJpegs(4, 48);
    await writeFile(path.join(root, 'album', 'a.jpg'), images[0]!);
    await writeFile(path.join(root, 'album', 'b.png.txt'), 'not an image ending: skipped in folders');
    await writeFile(path.join(root, 'album', 'inner', 'c.jpg'), images[1]!);
    await writeFile(path.join(dir, 'secret.jpg'), images[2]!);
    await symlink(path.join(dir, 'secret.jpg'), path.join(root, 'album', 'escape.jpg'));
    models = await tinyModelsDir(dir);
    service = await CaptionService.load(models);
    const config = loadConfig({ ...ONE_CLIENT, REDIS_URL: redis.url, INPUT_ROOT: root });
    jobs = JobsClient.fromConfig(config)!;
    app = await buildApp({ config, backend: currentBackend(), caption: service, jobs });
    await app.ready();
  });

  afterAll(async () => {
    if (child) await stopChild(child, 'SIGKILL');
    await worker?.close();
    await app?.close();
    await jobs?.close();
    service?.dispose();
    await redis?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const waitDone = async (id: string): Promise<JobStatus> => {
    for (let i = 0; i < 600; i++) {
      const res = await request(app.server).get(`/jobs/${id}`);
      expect(res.status).toBe(200);
      const s = res.body as JobStatus;
      if (s.state === 'completed') return s;
      await sleep(50);
    }
    throw new Error(`job ${id} did not complete`);
  };

  const results = async (id: string): Promise<Line[]> => {
    const res = await request(app.server)
      .get(`/jobs/${id}/results`)
      .buffer(true)
      .parse((r, cb) => {
        let text = '';
        r.on('data', (d: Buffer) => (text += d.toString()));
        r.on('end', () => cb(null, text));
      });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    return (res.body as string)
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Line);
  };

  /** What POST /caption answers for the same image and options. */
  const single = async (image: Buffer): Promise<{ text: string; logprob: number }[]> => {
    const res = await request(app.server).post('/caption?mode=greedy').set('content-type', 'image/jpeg').send(image);
    expect(res.status).toBe(200);
    return (res.body as { captions: { text: string; logprob: number }[] }).captions;
  };

  const upload = (files: [string, Buffer][], fields: Record<string, string> = {}) => {
    let req = request(app.server).post('/jobs');
    for (const [k, v] of Object.entries(fields)) req = req.field(k, v);
    for (const [name, bytes] of files) req = req.attach('images', bytes, name);
    return req;
  };

  it('uploads: 202 with the job, then one line per image equal to POST /caption, the corrupt one as its error', async () => {
    const tensors = tf.memory().numTensors;
    worker = startTaskWorker({
      redisUrl: redis.url,
      captionMany: (imgs, opts) => service.captionMany(imgs, opts, imageLimits(loadConfig({}))),
      limits: imageLimits(loadConfig({})),
      inputRoot: root,
      batch: 4,
      lockMs: 5000,
      name: 'in-process',
    });
    const res: Response = await upload(
      [
        ['one.jpg', images[0]!],
        ['two.jpg', images[1]!],
        ['three.jpg', images[2]!],
        ['bad.jpg', await corruptJpeg()],
      ],
      { mode: 'greedy' },
    );
    expect(res.status).toBe(202);
    const submitted = res.body as JobStatus;
    expect(res.headers.location).toBe(`/jobs/${submitted.id}`);
    expect(submitted).toMatchObject({ total: 4, state: 'queued' });
    const done = await waitDone(submitted.id);
    expect(done).toMatchObject({ total: 4, succeeded: 3, failed: 1, progress: 1 });
    const lines = await results(submitted.id);
    expect(lines.map((l) => l.name).sort()).toEqual(['bad.jpg', 'one.jpg', 'three.jpg', 'two.jpg']);
    for (const l of lines.filter((x) => x.ok)) {
      const alone = await single(images[l.index]!);
      expect(l.captions!.map((c) => c.text)).toEqual(alone.map((c) => c.text));
      expect(l.captions![0]!.logprob).toBeCloseTo(alone[0]!.logprob, 3);
    }
    expect(lines.find((l) => l.name === 'bad.jpg')!.error!.code).toBe('corrupt_image');
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('paths under INPUT_ROOT: folders are walked for images; links out of the root are skipped', async () => {
    const res = await request(app.server)
      .post('/jobs')
      .send({ paths: ['album'], mode: 'greedy' });
    expect(res.status).toBe(202);
    await waitDone((res.body as JobStatus).id);
    const lines = await results((res.body as JobStatus).id);
    expect(lines.map((l) => l.name).sort()).toEqual(['album/a.jpg', 'album/inner/c.jpg']);
    expect(lines.every((l) => l.ok)).toBe(true);
  });

  it.each([
    [['../secret.jpg'], 'invalid_path'],
    [['album/../../secret.jpg'], 'invalid_path'],
    [['/etc/passwd'], 'invalid_path'],
    [['album/escape.jpg'], 'invalid_path'],
    [['album/missing.jpg'], 'path_not_found'],
    [['http://example.com/a.jpg'], 'path_not_found'],
  ])('refuses %j with 400 %s', async (paths, code) => {
    const res = await request(app.server).post('/jobs').send({ paths });
    expect(res.status).toBe(400);
    expect((res.body as { error: { code: string } }).error.code).toBe(code);
  });

  it('refuses bad options, duplicate names and an empty upload', async () => {
    const bad = await upload([['a.jpg', images[0]!]], { mode: 'greedy', n: '3' });
    expect(bad.status).toBe(400);
    expect((bad.body as { error: { message: string } }).error.message).toMatch(/n/);
    const dup = await upload([
      ['a.jpg', images[0]!],
      ['a.jpg', images[1]!],
    ]);
    expect(dup.status).toBe(400);
    expect((dup.body as { error: { code: string } }).error.code).toBe('duplicate_name');
    const none = await upload([], { mode: 'greedy' });
    expect(none.status).toBe(400);
    expect((none.body as { error: { code: string } }).error.code).toBe('no_images');
  });

  it('unknown jobs are 404; DELETE cancels', async () => {
    expect((await request(app.server).get('/jobs/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await request(app.server).get('/jobs/not-an-id/results')).status).toBe(404);
    await worker?.close();
    worker = undefined;
    const res = await upload([
      ['x.jpg', images[0]!],
      ['y.jpg', images[1]!],
    ]);
    const del = await request(app.server).delete(`/jobs/${(res.body as JobStatus).id}`);
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ state: 'cancelled', removed: 2, succeeded: 0 });
  });

  it('documents the routes in the OpenAPI document under the jobs tag', async () => {
    const doc = (await request(app.server).get('/openapi.json')).body as { paths: Record<string, Record<string, { tags: string[] }>> };
    expect(doc.paths['/jobs']!.post!.tags).toEqual(['jobs']);
    expect(Object.keys(doc.paths['/jobs/{id}']!).sort()).toEqual(['delete', 'get']);
    expect(doc.paths['/jobs/{id}/results']!.get!.tags).toEqual(['jobs']);
  });

  it('without REDIS_URL the routes answer 404 jobs_disabled', async () => {
    const off = await buildApp({ config: loadConfig({}), backend: currentBackend(), caption: service });
    await off.ready();
    const res = await request(off.server)
      .post('/jobs')
      .send({ paths: ['album'] });
    expect(res.status).toBe(404);
    expect((res.body as { error: { code: string; message: string } }).error).toMatchObject({ code: 'jobs_disabled' });
    await off.close();
  });

  it('the worker script (npm run worker) captions a job as POST /caption does and exits 0 on SIGTERM', async () => {
    child = spawn(process.execPath, ['--import', 'tsx', 'scripts/worker.ts'], {
      env: {
        ...process.env,
        REDIS_URL: redis.url,
        MODELS_DIR: models,
        INPUT_ROOT: root,
        INFERENCE_RUNTIME: 'tfjs',
        TF_BACKEND: 'wasm',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    await new Promise<void>((resolve, reject) => {
      child!.stderr!.on('data', (d: Buffer) => {
        log += d.toString();
        if (log.includes('worker ready')) resolve();
      });
      child!.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${log}`)));
    });
    const res = await request(app.server)
      .post('/jobs')
      .send({ paths: ['album/a.jpg'], mode: 'greedy' });
    await waitDone((res.body as JobStatus).id);
    const [line] = await results((res.body as JobStatus).id);
    expect(line!.worker).not.toBe('in-process');
    expect(line!.captions!.map((c) => c.text)).toEqual((await single(images[0]!)).map((c) => c.text));
    expect(await stopChild(child, 'SIGTERM')).toBe(0);
    child = undefined;
  });

  it('Redis away: 503 jobs_unavailable with Retry-After, within seconds', async () => {
    await redis.stop();
    const t0 = Date.now();
    const res = await request(app.server).get('/jobs/00000000-0000-4000-8000-000000000000');
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect((res.body as { error: { code: string } }).error.code).toBe('jobs_unavailable');
    expect(Date.now() - t0).toBeLessThan(15_000);
  });
});
