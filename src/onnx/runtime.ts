import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type * as Ort from 'onnxruntime-node';

/** Where inference runs: onnxruntime-node (preferred) or the tfjs backend ladder. */
export const INFERENCE_RUNTIMES = ['onnx', 'tfjs'] as const;
export type InferenceRuntime = (typeof INFERENCE_RUNTIMES)[number];
export type OrtDevice = 'cpu' | 'cuda';

export interface RuntimeChoice {
  runtime: InferenceRuntime;
  /** The ORT execution provider, when runtime is onnx. */
  device?: OrtDevice;
  /** Why this runtime: forced, or what made onnx unavailable. */
  reason: string;
}

/**
 * Where a loaded model (encoder or decoder) runs: tfjs, or onnxruntime on `device`. A serving process
 * chooses it once (src/app/runtime.ts) and passes it to every loader; there is no process-wide default.
 */
export interface ModelRuntime {
  runtime: InferenceRuntime;
  device?: OrtDevice;
}

/** Where a loaded decoder runs. */
export type DecoderRuntime = ModelRuntime;

/** The runtime of a loader given none: scripts and training run on tfjs. */
export const TFJS_RUNTIME: Readonly<ModelRuntime> = Object.freeze({ runtime: 'tfjs' });

let ortModule: Promise<typeof Ort> | undefined;

/** onnxruntime-node, loaded on first use so tfjs-only paths never load its native library. */
export function loadOrt(): Promise<typeof Ort> {
  return (ortModule ??= import('onnxruntime-node'));
}

/**
 * Whether the CUDA execution provider's library is installed. onnxruntime-node
 * bundles only CPU binaries; `--onnxruntime-node-install=cuda12` adds CUDA's
 * next to the binding (this project's .npmrc skips it by default).
 */
export function cudaProviderInstalled(): boolean {
  const binDir = path.resolve(path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node')), '../bin');
  if (!existsSync(binDir)) return false;
  return readdirSync(binDir).some((napi) =>
    existsSync(path.join(binDir, napi, process.platform, process.arch, 'libonnxruntime_providers_cuda.so')),
  );
}

/**
 * Pick the inference runtime: `forced` if given (an unavailable onnx then
 * throws), else onnx when onnxruntime-node loads, else tfjs.
 */
export async function chooseRuntime(forced?: InferenceRuntime): Promise<RuntimeChoice> {
  if (forced === 'tfjs') return { runtime: 'tfjs', reason: 'INFERENCE_RUNTIME=tfjs' };
  try {
    await loadOrt();
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0]! : String(err);
    if (forced === 'onnx') throw new Error(`INFERENCE_RUNTIME=onnx but onnxruntime-node does not load: ${why}`);
    return { runtime: 'tfjs', reason: `onnxruntime-node does not load (${why})` };
  }
  const device: OrtDevice = cudaProviderInstalled() ? 'cuda' : 'cpu';
  return { runtime: 'onnx', device, reason: forced ? 'INFERENCE_RUNTIME=onnx' : 'onnxruntime-node loaded (preferred)' };
}

let intraOpThreads: number | undefined;

/**
 * Intra-op threads of the CPU sessions createSession makes from now on in this thread (module
 * state is per worker thread); unset: one per core. The encoder thread (src/encoder/thread.ts) sets it.
 */
export function setIntraOpThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`intra-op threads must be a positive integer; got ${n}`);
  intraOpThreads = n;
}

/**
 * An ORT session on `device`: the CPU provider with one intra-op thread per
 * core unless setIntraOpThreads said otherwise (not spinning while idle), or
 * CUDA (which fails loudly rather than falling back: a GPU deployment serving
 * on CPU would go unnoticed).
 */
export async function createSession(model: Uint8Array, device: OrtDevice = 'cpu'): Promise<Ort.InferenceSession> {
  const ort = await loadOrt();
  const options: Ort.InferenceSession.SessionOptions = {
    executionProviders: [device],
    intraOpNumThreads: intraOpThreads ?? os.availableParallelism(),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    // Idle intra-op threads sleep instead of spinning. Every session has its own pool, and a pool spinning after
    // its run takes a core from the next session, the decoder and the HTTP work (2 cores here): with spinning,
    // POST /caption took 55 ms at one client and 27 captions/s at 16; without, 33 ms and 35/s (scripts/bench-serve.ts).
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
  try {
    return await ort.InferenceSession.create(model, options);
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0]! : String(err);
    throw new Error(`onnxruntime could not start a ${device} session: ${why}`);
  }
}
