import { describe, expect, it } from 'vitest';
import { gpuDeviceLine, ldconfigNames, missingLibs, ORT_CUDA_LIBS, TFJS_GPU_LIBS } from '../../src/nn/gpu-check.js';

describe('GPU runtime check', () => {
  const ldconfig = [
    "812 libs found in cache `/etc/ld.so.cache'",
    '\tlibcudnn.so.8 (libc6,x86-64) => /lib/x86_64-linux-gnu/libcudnn.so.8',
    '\tlibcudart.so.12 (libc6,x86-64) => /usr/local/cuda/lib64/libcudart.so.12',
  ].join('\n');

  it('reads library names from ldconfig -p and names the missing ones', () => {
    expect(ldconfigNames(ldconfig)).toEqual(['libcudnn.so.8', 'libcudart.so.12']);
    // A CUDA 12 image: cudart 12 is no substitute for the cudart 11 libtensorflow 2.9 opens.
    const missing = missingLibs(ldconfigNames(ldconfig), TFJS_GPU_LIBS);
    expect(missing).toContain('libcudart.so.11.0');
    expect(missing).not.toContain('libcudnn.so.8');
    expect(missingLibs([...TFJS_GPU_LIBS, 'libfoo.so'], TFJS_GPU_LIBS)).toEqual([]);
  });

  it("names what ORT's CUDA 12 provider lacks: cuDNN 8 is no substitute for cuDNN 9", () => {
    const missing = missingLibs(ldconfigNames(ldconfig), ORT_CUDA_LIBS);
    expect(missing).toContain('libcudnn.so.9');
    expect(missing).not.toContain('libcudart.so.12');
    expect(missingLibs([...ORT_CUDA_LIBS], ORT_CUDA_LIBS)).toEqual([]);
  });

  it("finds TensorFlow's GPU device line, and none in a CPU-only log", () => {
    const gpu =
      '2026-01-01 I tensorflow/core/common_runtime/gpu/gpu_device.cc:1532] Created device ' +
      '/job:localhost/replica:0/task:0/device:GPU:0 with 14000 MB memory:  -> device: 0, name: NVIDIA H100';
    expect(gpuDeviceLine(`noise\n${gpu}\nmore`)).toBe(gpu);
    const cpu = "W tensorflow/stream_executor/platform/default/dso_loader.cc:64] Could not load dynamic library 'libcuda.so.1'";
    expect(gpuDeviceLine(cpu)).toBeUndefined();
  });
});
