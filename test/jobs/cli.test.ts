import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corruptJpeg, HAVE_REDIS, NO_REDIS_MESSAGE, startRedis, tinyJpegs, tinyModelsDir, type TestRedis } from './helpers.js';

if (!HAVE_REDIS) console.warn(`skipping test/jobs/cli.test.ts: ${NO_REDIS_MESSAGE}`);

const root = path.resolve(import.meta.dirname, '../..');
const tsx = path.join(root, 'node_modules/.bin/tsx');
const bulk = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(tsx, [path.join(root, 'scripts/caption-bulk.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, LOG_LEVEL: 'info', VITEST: '', ...env },
    timeout: 120_000,
  });

describe.skipIf(!HAVE_REDIS)('npm run caption:bulk', () => {
  let redis: TestRedis;
  let dir: string;

  beforeAll(async () => {
    redis = await startRedis();
    dir = await mkdtemp(path.join(os.tmpdir(), 'captioner-bulk-cli-'));
    await mkdir(path.join(dir, 'photos', 'more'), { recursive: true });
    const images = await tinyJpegs(5, 40);
    await Promise.all(images.map((b, i) => writeFile(path.join(dir, 'photos', i < 3 ? '' : 'more', `p${i}.jpg`), b)));
    await writeFile(path.join(dir, 'photos', 'broken.jpg'), await corruptJpeg());
  });

  afterAll(async () => {
    await redis?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('captions a folder with a worker process it starts, one JSON line per image, the corrupt one as its error', async () => {
    const models = await tinyModelsDir(dir);
    const out = path.join(dir, 'out', 'results.jsonl');
    const r = bulk([
      '--images',
      path.join(dir, 'photos'),
      '--out',
      out,
      '--workers',
      '1',
      '--mode',
      'greedy',
      '--models',
      models,
      '--redis',
      redis.url,
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/"msg":"5 captioned, 1 failed in [\d.]+ s/);
    const lines = (await readFile(out, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { name: string; ok: boolean; error?: { code: string } });
    expect(lines.map((l) => l.name).sort()).toEqual(['broken.jpg', 'more/p3.jpg', 'more/p4.jpg', 'p0.jpg', 'p1.jpg', 'p2.jpg']);
    expect(lines.find((l) => l.name === 'broken.jpg')!.error!.code).toBe('corrupt_image');
  });

  it('says in one line that it needs a Redis, exit 1', () => {
    const r = bulk(['--images', dir, '--out', path.join(dir, 'x.jsonl')], { REDIS_URL: '' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: no Redis: pass --redis/);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});
