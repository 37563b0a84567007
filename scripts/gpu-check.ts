/**
 * Fail loudly when the GPU runtime does not load (run by Dockerfile.gpu).
 *
 *   --stage build: the CUDA/cuDNN libraries are installed and the tfjs-node-gpu binding loads
 *                  (no GPU is attached while an image builds);
 *   --stage start: TensorFlow creates a GPU device (the container has a GPU and the NVIDIA runtime).
 *
 * Exit 1 with one line saying what is missing; REQUIRE_GPU=0 turns a start failure into a warning.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { cli } from '../src/cli/main.js';
import { gpuDeviceLine, ldconfigNames, missingLibs, TFJS_GPU_LIBS } from '../src/nn/gpu-check.js';

const args = cli({
  usage: 'npx tsx scripts/gpu-check.ts',
  summary: 'Check that the GPU runtime loads (CUDA libraries, the tfjs-node-gpu binding, a GPU device); exit 1 saying what is missing.',
  example: 'npx tsx scripts/gpu-check.ts --stage start',
  options: {
    stage: {
      type: 'choice',
      choices: ['build', 'start'],
      default: 'start',
      description: 'build: libraries and binding; start: a GPU device too',
    },
  },
});

function fail(message: string): never {
  process.stderr.write(`GPU CHECK FAILED: ${message}\n`);
  process.exit(1);
}

// A child process, so TensorFlow's C++ log (stderr) can be read and a crash in the binding is contained.
function runTf(code: string): { ok: boolean; log: string } {
  const r = spawnSync(process.execPath, ['-e', code], {
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '0' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { ok: r.status === 0, log: `${r.stdout}\n${r.stderr}` };
}
const lastLines = (log: string) => log.trim().split('\n').slice(-3).join(' | ').slice(0, 600);

// What the dynamic loader can find: its cache, and the folders LD_LIBRARY_PATH adds (the CUDA images set it).
const libDirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':'), '/usr/local/cuda/lib64'].filter((d) => d !== '' && existsSync(d));
const available = [...ldconfigNames(execFileSync('ldconfig', ['-p'], { encoding: 'utf8' })), ...libDirs.flatMap((d) => readdirSync(d))];
const missing = missingLibs(available, TFJS_GPU_LIBS);
if (missing.length > 0) {
  fail(
    `tfjs-node-gpu (libtensorflow 2.9) needs CUDA 11 and cuDNN 8; missing ${missing.join(', ')}. Build on a CUDA 11.8 + cuDNN 8 base image.`,
  );
}
const load = runTf("require('@tensorflow/tfjs-node-gpu')");
if (!load.ok) fail(`the @tensorflow/tfjs-node-gpu binding does not load (did its install download libtensorflow?): ${lastLines(load.log)}`);

// ---- ONNX Runtime (CUDA 12 + cuDNN 9): the place for its check once onnxruntime-node lands ----
// Build with ONNXRUNTIME_NODE_INSTALL=cuda12 (Dockerfile.gpu) and check here that an InferenceSession
// created with executionProviders ['cuda'] really runs on CUDA (it falls back to the CPU silently too).

if (args.stage === 'start') {
  const run = runTf("const tf = require('@tensorflow/tfjs-node-gpu'); tf.matMul(tf.ones([8, 8]), tf.ones([8, 8])).dataSync();");
  const device = gpuDeviceLine(run.log);
  if (!run.ok || device === undefined) {
    const message =
      'TensorFlow created no GPU device; start the container with a GPU (docker run --gpus all, or ' +
      `docker compose --profile gpu up) on a host with the NVIDIA Container Toolkit. TensorFlow said: ${lastLines(run.log)}`;
    if (process.env.REQUIRE_GPU === '0') process.stderr.write(`GPU CHECK WARNING (REQUIRE_GPU=0, serving on the CPU): ${message}\n`);
    else fail(message);
  } else process.stdout.write(`GPU runtime ok: ${device.trim().slice(0, 300)}\n`);
} else process.stdout.write('GPU libraries and the tfjs-node-gpu binding load\n');
