/**
 * Caption-decoder training throughput (target tokens/s), one thread against
 * data-parallel worker threads, in the same run so the ratio is fair on a
 * noisy machine. Uses the shipped model's shapes with random data. Not a test.
 *
 *   npx tsx scripts/bench-caption-train.ts [--steps 12] [--workers 2] [--model models/caption]
 */
import * as tf from '@tensorflow/tfjs';
import { cli } from '../src/cli/main.js';
import { readCaptionConfig } from '../src/caption/config.js';
import { CaptionModel } from '../src/caption/model.js';
import type { FeatureSet } from '../src/data/features.js';
import { initBackend, parseBackendName } from '../src/nn/backend.js';
import { rng } from '../src/util/random.js';
import { batchGradients, makeBatch } from '../src/caption/batches.js';
import { applyGradients } from '../src/train/gradients.js';
import { GradientPool } from '../src/train/parallel.js';

const args = cli({
  usage: 'npx tsx scripts/bench-caption-train.ts',
  summary: "Caption-decoder training tokens/s: one thread against data-parallel worker threads, on the model's shapes with random data.",
  example: 'npx tsx scripts/bench-caption-train.ts --steps 12 --workers 2',
  options: {
    steps: { type: 'number', int: true, min: 1, default: 12, description: 'timed steps (after two warm-up steps)' },
    workers: { type: 'number', int: true, min: 1, max: 16, default: 2, description: 'threads in the parallel run' },
    model: { type: 'string', default: 'models/caption', placeholder: 'dir', description: 'caption model whose shapes are used' },
    batchSize: { type: 'number', int: true, min: 1, default: 128, description: 'captions per batch' },
  },
});
const { steps, batchSize } = args;
const backend = await initBackend(parseBackendName(process.env.TF_BACKEND));
const config = await readCaptionConfig(args.model);
const V = config.vocab.length;
const random = rng(1);
const features: FeatureSet = {
  encoder: config.encoder,
  dim: config.featureDim,
  keys: Array.from({ length: 256 }, (_, i) => String(i)),
  data: Float32Array.from({ length: 256 * config.featureDim }, () => random()),
};
// Caption lengths like Flickr8k's (about 12 words).
const batches = Array.from({ length: steps + 2 }, () =>
  makeBatch(
    Array.from({ length: batchSize }, () => ({
      featureRow: Math.floor(random() * 256),
      ids: [1, ...Array.from({ length: 10 + Math.floor(random() * 5) }, () => 4 + Math.floor(random() * (V - 4))), 2],
    })),
  ),
);

async function run(threads: number): Promise<number> {
  const model = CaptionModel.init(config, 1);
  const optimizer = tf.train.adam(1e-3);
  const pool = threads > 1 ? new GradientPool(threads - 1, config, features) : undefined;
  let tokens = 0;
  let t0 = 0;
  for (const [i, batch] of batches.entries()) {
    if (i === 2) t0 = performance.now(); // two warm-up steps
    const { grads } = pool ? await pool.gradients(model, batch, features, i) : batchGradients(model, batch, features, i);
    applyGradients(model.variables(), optimizer, grads, 5);
    if (i >= 2) tokens += batch.targets;
  }
  const tps = tokens / ((performance.now() - t0) / 1000);
  await pool?.close();
  optimizer.dispose();
  model.dispose();
  return tps;
}

console.log(
  `backend=${backend} hidden=${config.hiddenDim} embed=${config.embedDim} vocab=${V} features=${config.featureDim} batch=${batchSize} steps=${steps}`,
);
const one = await run(1);
console.log(`1 thread:  ${one.toFixed(0)} tokens/s`);
const many = await run(args.workers);
console.log(`${args.workers} threads: ${many.toFixed(0)} tokens/s  (×${(many / one).toFixed(2)})`);
