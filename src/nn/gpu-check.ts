/**
 * Whether the GPU runtime really loads, for the GPU image (Dockerfile.gpu):
 * tfjs-node-gpu loads and silently computes on the CPU when CUDA or cuDNN is
 * missing, so "backend tfjs-node-gpu" alone proves nothing. These pure checks
 * read what the system and TensorFlow report; scripts/gpu-check.ts runs them.
 */

/**
 * Shared libraries libtensorflow 2.9 (under @tensorflow/tfjs-node-gpu 4.x)
 * opens at run time: CUDA 11.x and cuDNN 8. A CUDA 12 / cuDNN 9 image lacks them.
 */
export const TFJS_GPU_LIBS = [
  'libcudart.so.11.0',
  'libcublas.so.11',
  'libcublasLt.so.11',
  'libcufft.so.10',
  'libcurand.so.10',
  'libcusolver.so.11',
  'libcusparse.so.11',
  'libcudnn.so.8',
] as const;

/**
 * Shared libraries onnxruntime-node's CUDA execution provider (ORT 1.2x–1.30,
 * built for CUDA 12 and cuDNN 9) opens at run time. A CUDA 11 / cuDNN 8 image lacks them.
 */
export const ORT_CUDA_LIBS = [
  'libcudart.so.12',
  'libcublas.so.12',
  'libcublasLt.so.12',
  'libcufft.so.11',
  'libcurand.so.10',
  'libcudnn.so.9',
] as const;

/** Library names `ldconfig -p` lists (the loader's cache). */
export function ldconfigNames(ldconfigOutput: string): string[] {
  return ldconfigOutput
    .split('\n')
    .map((line) => /^\s*(\S+)\s+\(/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined);
}

/** The libraries of `required` not among `available` (names from the loader cache and library folders). */
export function missingLibs(available: Iterable<string>, required: readonly string[]): string[] {
  const have = new Set(available);
  return required.filter((lib) => !have.has(lib));
}

/** TensorFlow's log line announcing a GPU device ("Created device …/device:GPU:0 with … MB memory"), if any. */
export function gpuDeviceLine(tfLog: string): string | undefined {
  return tfLog.split('\n').find((line) => /Created device \S*device:GPU:\d+/.test(line));
}
