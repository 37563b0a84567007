/**
 * POST /caption latency through the real HTTP stack (listening socket, sharp,
 * encoder, decoder). Prints median and p90 per decoding mode. Not a test.
 *
 *   npx tsx scripts/bench-caption.ts --image photo.jpg [--requests 30] [--models models]
 */
import { readFile } from 'node:fs/promises';
import { cli } from '../src/cli/main.js';
import { CaptionService } from '../src/caption/service.js';
import { chooseRuntime } from '../src/onnx/runtime.js';
import { loadConfig } from '../src/app/config.js';
import { log } from '../src/log.js';
import { initBackend } from '../src/nn/backend.js';
import { buildApp } from '../src/server/app.js';

const args = cli({
  usage: 'npx tsx scripts/bench-caption.ts',
  summary: 'POST /caption latency through the real HTTP stack: median and p90 per decoding mode.',
  example: 'npx tsx scripts/bench-caption.ts --image photo.jpg --requests 30',
  options: {
    image: { type: 'string', required: true, placeholder: 'file', description: 'a photo to caption' },
    requests: { type: 'number', int: true, min: 1, default: 30, description: 'timed requests per mode' },
    models: {
      type: 'string',
      default: 'models',
      placeholder: 'dirs',
      description: 'models folder; several, comma-separated, are timed in one run (compare as ratios)',
    },
  },
});
const image = await readFile(args.image);
const requests = args.requests;

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

for (const dir of args.models.split(',')) {
  const config = loadConfig({ ...process.env, MODELS_DIR: dir, LOG_LEVEL: 'warn', RATE_LIMIT_MAX: '0' });
  log.level = config.LOG_LEVEL;
  const backend = await initBackend(config.TF_BACKEND);
  // The server's runtime choice: the encoders on onnxruntime when it loads (INFERENCE_RUNTIME=tfjs forces tfjs).
  const choice = await chooseRuntime(config.INFERENCE_RUNTIME);
  const caption = await CaptionService.load(config.MODELS_DIR, undefined, { runtime: choice });
  const app = await buildApp({ config, backend, caption });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  console.log(
    `models=${dir} (${caption.model.name}) backend=${backend} runtime=${choice.runtime} (encoder ${caption.encoder.runtime ?? 'tfjs'}, decoder ${caption.model.runtime}) image=${args.image} (${image.length} bytes) requests=${requests} sequential`,
  );
  for (const query of ['mode=greedy', 'mode=beam&beam_size=3', 'mode=beam&beam_size=5&n=3', 'mode=sample&seed=1']) {
    const times: number[] = [];
    const encodes: number[] = [];
    const generate: number[] = [];
    let text = '';
    for (let i = 0; i < requests + 2; i++) {
      const t0 = performance.now();
      const res = await fetch(`${url}/caption?${query}`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: image });
      const body = (await res.json()) as { captions?: { text: string }[]; timings_ms?: { encode?: number; generate?: number } };
      if (!res.ok) throw new Error(`${res.status} ${JSON.stringify(body)}`);
      if (i >= 2) {
        // two warm-up requests
        times.push(performance.now() - t0);
        encodes.push(body.timings_ms?.encode ?? NaN);
        generate.push(body.timings_ms?.generate ?? NaN);
      }
      text = body.captions?.[0]?.text ?? '';
    }
    console.log(
      `${query.padEnd(28)} median ${quantile(times, 0.5).toFixed(1)} ms  p90 ${quantile(times, 0.9).toFixed(1)} ms  ` +
        `(encoder median ${quantile(encodes, 0.5).toFixed(1)} ms, decoder median ${quantile(generate, 0.5).toFixed(1)} ms)  "${text}"`,
    );
  }
  await app.close();
  caption.dispose();
}
