/**
 * Model reload cost: how long loading every model under MODELS_DIR anew takes
 * (what SIGHUP and POST /admin/reload do), how long the event loop is blocked
 * meanwhile (load shedding watches its mean delay), and that the tensor count
 * returns to where it was once the old models are disposed. Not a test.
 *
 *   npx tsx scripts/bench-reload.ts [--reloads 3] [--models models]
 */
import * as tf from '@tensorflow/tfjs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { cli } from '../src/cli/main.js';
import { log } from '../src/log.js';
import { initBackend } from '../src/nn/backend.js';
import { loadConfig } from '../src/app/config.js';
import { loadServices } from '../src/app/services.js';
import { ModelRegistry } from '../src/server/models.js';
import { TFJS_RUNTIME } from '../src/onnx/runtime.js';

const args = cli({
  usage: 'npx tsx scripts/bench-reload.ts',
  summary: 'Model reload: load time, event-loop blocking during it, tensors before and after.',
  example: 'npx tsx scripts/bench-reload.ts --reloads 3',
  options: {
    reloads: { type: 'number', int: true, min: 1, max: 100, default: 3, description: 'reloads to time' },
    models: { type: 'string', default: 'models', placeholder: 'dir', description: 'models folder' },
  },
});

const config = loadConfig({ ...process.env, MODELS_DIR: args.models, LOG_LEVEL: 'warn' });
log.level = config.LOG_LEVEL;
const backend = await initBackend(config.TF_BACKEND);
let t0 = performance.now();
// tfjs, as before the runtime was passed explicitly: this times reloading the models, not inference.
const registry = new ModelRegistry(await loadServices(config, TFJS_RUNTIME), () => loadServices(config, TFJS_RUNTIME));
console.log(
  `backend=${backend} models=${args.models} first load ${Math.round(performance.now() - t0)} ms, ${tf.memory().numTensors} tensors`,
);

for (let i = 0; i < args.reloads; i++) {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const before = tf.memory().numTensors;
  t0 = performance.now();
  const { generation } = await registry.reload();
  const ms = performance.now() - t0;
  delay.disable();
  console.log(
    `reload ${generation}: ${Math.round(ms)} ms; event loop delay mean ${(delay.mean / 1e6).toFixed(1)} ms, ` +
      `max ${(delay.max / 1e6).toFixed(0)} ms; tensors ${before} -> ${tf.memory().numTensors}`,
  );
}
registry.dispose();
console.log(`after dispose: ${tf.memory().numTensors} tensors`);
