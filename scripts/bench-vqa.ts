/**
 * POST /vqa latency through the real HTTP stack (listening socket, sharp,
 * encoder, question model), per shipped VQA model. Prints median and p90. Not a test.
 *
 *   npx tsx scripts/bench-vqa.ts --image photo.jpg [--question "what is the dog doing?"] [--requests 30] [--models models]
 */
import { readFile } from 'node:fs/promises';
import { cli } from '../src/cli/main.js';
import { loadConfig } from '../src/app/config.js';
import { log } from '../src/log.js';
import { initBackend } from '../src/nn/backend.js';
import { buildApp } from '../src/server/app.js';
import { VqaService } from '../src/vqa/service.js';
import { chooseRuntime } from '../src/onnx/runtime.js';

const args = cli({
  usage: 'npx tsx scripts/bench-vqa.ts',
  summary: 'POST /vqa latency through the real HTTP stack, per shipped VQA model: median and p90.',
  example: 'npx tsx scripts/bench-vqa.ts --image photo.jpg --question "what is the dog doing?"',
  options: {
    image: { type: 'string', required: true, placeholder: 'file', description: 'a photo to ask about' },
    question: { type: 'string', default: 'what is the dog playing with?', description: 'the question' },
    requests: { type: 'number', int: true, min: 1, default: 30, description: 'timed requests per model' },
    models: { type: 'string', default: 'models', placeholder: 'dir', description: 'models folder' },
  },
});
const image = await readFile(args.image);
const requests = args.requests;

const config = loadConfig({ ...process.env, MODELS_DIR: args.models, LOG_LEVEL: 'warn' });
log.level = config.LOG_LEVEL;
const backend = await initBackend(config.TF_BACKEND);
// The server's runtime choice (INFERENCE_RUNTIME=onnx|tfjs forces one): the encoder and the VQA models follow it.
const choice = await chooseRuntime(config.INFERENCE_RUNTIME);
const vqa = await VqaService.load(config.MODELS_DIR, { runtime: choice });
const app = await buildApp({ config, backend, vqa });
const url = await app.listen({ port: 0, host: '127.0.0.1' });

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

console.log(`backend=${backend} runtime=${choice.runtime} image=${args.image} (${image.length} bytes) requests=${requests} sequential`);
for (const model of vqa.modelNames) {
  const times: number[] = [];
  const answering: number[] = [];
  let answer = '';
  for (let i = 0; i < requests + 2; i++) {
    const t0 = performance.now();
    const query = new URLSearchParams({ question: args.question, model });
    const res = await fetch(`${url}/vqa?${query}`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: image });
    const body = (await res.json()) as { answers?: { answer: string; score: number }[]; timings_ms?: { answer: number } };
    if (!res.ok) throw new Error(`${res.status} ${JSON.stringify(body)}`);
    if (i >= 2) {
      times.push(performance.now() - t0); // two warm-up requests
      answering.push(body.timings_ms?.answer ?? NaN);
    }
    answer = body.answers?.map((a) => `${a.answer} ${a.score}`).join(', ') ?? '';
  }
  console.log(
    `${model.padEnd(14)} median ${quantile(times, 0.5).toFixed(1)} ms  p90 ${quantile(times, 0.9).toFixed(1)} ms  ` +
      `(model median ${quantile(answering, 0.5).toFixed(2)} ms)  "${args.question}" → ${answer}`,
  );
}
await app.close();
vqa.dispose();
