import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { symlink } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { CaptionModel } from '../../src/caption/model.js';
import type { CaptionMany } from '../../src/jobs/processor.js';
import { decodeToRgb } from '../../src/image/decode.js';
import { TINY_CAPTION_CONFIG } from '../server/tiny-services.js';

/** Whether redis-server is on PATH; the Redis tests skip (saying so) without it. */
export const HAVE_REDIS = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
export const NO_REDIS_MESSAGE =
  'redis-server is not on PATH: the bulk-job tests need it (apt-get install redis-server; .ci/run installs it)';

export type { LocalRedis as TestRedis } from '../../src/jobs/local.js';
export { startRedis } from '../../src/jobs/local.js';

export async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill(signal);
  });
}

/** Small distinct JPEGs: a flat colour each, so a stand-in caption can tell them apart. */
export async function tinyJpegs(n: number, size = 16): Promise<Buffer[]> {
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      sharp({ create: { width: size, height: size, channels: 3, background: { r: i % 256, g: (i * 7) % 256, b: (i * 13) % 256 } } })
        .jpeg()
        .toBuffer(),
    ),
  );
}

/** A truncated JPEG: its header sniffs as JPEG, decoding fails (corrupt_image). */
export async function corruptJpeg(): Promise<Buffer> {
  const good = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } })
    .jpeg()
    .toBuffer();
  return Buffer.concat([good.subarray(0, 40), Buffer.alloc(200, 7)]);
}

/**
 * Stands in for the caption model where the tests are about the queue: it
 * decodes each image as the service does (corrupt ones fail the same way),
 * names its mean colour, and takes `msPerImage` as a busy model would.
 */
export function standInCaptioner(msPerImage = 0): CaptionMany {
  return async (images) => {
    const out = await Promise.all(
      images.map(async (image) => {
        try {
          const rgb = await decodeToRgb(image, 4);
          const mean = [0, 1, 2].map((c) => Math.round(rgb.data.filter((_, i) => i % 3 === c).reduce((a, b) => a + b, 0) / 16));
          return {
            captions: [{ text: `colour ${mean.join(' ')}`, logprob: 0, words: [] }],
            objects: [],
            model: { name: 'stand-in', version: '0' },
            timings_ms: { decode_image: 0, encode: 0, generate: 0 },
          };
        } catch (err) {
          return err as Error;
        }
      }),
    );
    if (msPerImage > 0) await new Promise((r) => setTimeout(r, msPerImage * images.length));
    return out;
  };
}

/** An untrained tiny decoder on the shipped mobilenet_v2 (linked in), in a models folder a worker process can load. */
export async function tinyModelsDir(dir: string): Promise<string> {
  const models = path.join(dir, 'models');
  const m = CaptionModel.init(TINY_CAPTION_CONFIG, 3);
  await m.save(path.join(models, 'caption'));
  m.dispose();
  await symlink(path.resolve('models/encoder'), path.join(models, 'encoder'));
  return models;
}

/**
 * A stand-in worker process (test/jobs/child-worker.ts) with `env` (REDIS_URL, WORKER_NAME, MS_PER_IMAGE,
 * INPUT_ROOT…), added to `children` for clean-up; resolves once it takes tasks.
 */
export async function startChildWorker(env: Record<string, string>, children: ChildProcess[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'child-worker.ts')], {
    env: { ...process.env, LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`worker ${env.WORKER_NAME ?? ''} exited with ${code} before it was ready`)));
  });
  return child;
}
