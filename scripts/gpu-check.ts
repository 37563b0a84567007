/**
 * Fail loudly when the GPU runtime does not load (run by Dockerfile.gpu).
 *
 *   --stage build: the CUDA 12 / cuDNN 9 libraries are installed and so is onnxruntime-node's
 *                  CUDA execution provider (no GPU is attached while an image builds);
 *   --stage start: ORT creates a session on the CUDA provider and runs it (the container has a
 *                  GPU and the NVIDIA runtime).
 *
 * Exit 1 with one line saying what is missing. There is no serve-on-CPU escape hatch: with the CUDA
 * provider installed the server creates its sessions on CUDA and would fail anyway; use the CPU image.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { cli } from '../src/cli/main.js';
import { ldconfigNames, missingLibs, ORT_CUDA_LIBS } from '../src/nn/gpu-check.js';
import { GraphBuilder } from '../src/onnx/graph.js';
import { createSession, cudaProviderInstalled, loadOrt } from '../src/onnx/runtime.js';

const args = cli({
  usage: 'npx tsx scripts/gpu-check.ts',
  summary:
    "Check that ORT's CUDA execution provider loads (CUDA 12 + cuDNN 9 libraries, the provider, a session on the GPU); exit 1 saying what is missing.",
  example: 'npx tsx scripts/gpu-check.ts --stage start',
  options: {
    stage: {
      type: 'choice',
      choices: ['build', 'start'],
      default: 'start',
      description: 'build: libraries and provider; start: a CUDA session that runs too',
    },
  },
});

function fail(message: string): never {
  process.stderr.write(`GPU CHECK FAILED: ${message}\n`);
  process.exit(1);
}

// What the dynamic loader can find: its cache, and the folders LD_LIBRARY_PATH adds (the CUDA images set it).
const libDirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':'), '/usr/local/cuda/lib64'].filter((d) => d !== '' && existsSync(d));
const available = [...ldconfigNames(execFileSync('ldconfig', ['-p'], { encoding: 'utf8' })), ...libDirs.flatMap((d) => readdirSync(d))];
const missing = missingLibs(available, ORT_CUDA_LIBS);
if (missing.length > 0) {
  fail(
    `onnxruntime-node's CUDA provider needs CUDA 12 and cuDNN 9; missing ${missing.join(', ')}. Build on a CUDA 12 + cuDNN 9 base image.`,
  );
}
try {
  await loadOrt();
} catch (err) {
  fail(`onnxruntime-node does not load: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
}
if (!cudaProviderInstalled()) {
  fail(
    'no libonnxruntime_providers_cuda.so beside the onnxruntime-node binding: install with ONNXRUNTIME_NODE_INSTALL=cuda12 (Dockerfile.gpu build arg).',
  );
}

/** A 2×2 MatMul: enough for the CUDA provider to allocate on the device and run a kernel. */
function probeModel(): Uint8Array {
  const g = new GraphBuilder('gpu_check');
  const x = g.input('x', [2, 2]);
  const w = g.floats('w', new Float32Array([1, 2, 3, 4]), [2, 2]);
  g.output(g.op('MatMul', [x, w], {}, 'y', 'y'), [2, 2]);
  return g.encode();
}

if (args.stage === 'start') {
  try {
    // executionProviders ['cuda'] alone: createSession throws rather than falling back to the CPU.
    const session = await createSession(probeModel(), 'cuda');
    const ort = await loadOrt();
    const out = await session.run({ x: new ort.Tensor('float32', new Float32Array([1, 0, 0, 1]), [2, 2]) });
    const y = Array.from(out.y!.data as Float32Array);
    await session.release();
    if (y.join() !== '1,2,3,4') throw new Error(`the probe computed ${y.join()} instead of 1,2,3,4`);
    process.stdout.write('GPU runtime ok: onnxruntime-node ran a session on the CUDA execution provider\n');
  } catch (err) {
    fail(
      `onnxruntime's CUDA provider could not run (${err instanceof Error ? err.message.split('\n')[0] : String(err)}); start the container ` +
        'with a GPU (docker run --gpus all, or docker compose --profile gpu up) on a host with the NVIDIA Container Toolkit.',
    );
  }
} else process.stdout.write("CUDA 12 / cuDNN 9 libraries and onnxruntime-node's CUDA provider are installed\n");
