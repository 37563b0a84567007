import { describe, expect, it } from 'vitest';
import { chooseRuntime, cudaProviderInstalled } from '../../src/onnx/runtime.js';

describe('inference runtime choice', () => {
  it('prefers onnx when onnxruntime-node loads, on CUDA only when its provider is installed', async () => {
    const choice = await chooseRuntime();
    expect(choice.runtime).toBe('onnx');
    expect(choice.device).toBe(cudaProviderInstalled() ? 'cuda' : 'cpu');
    expect(choice.reason).toMatch(/preferred/);
  });

  it('follows INFERENCE_RUNTIME', async () => {
    expect(await chooseRuntime('tfjs')).toEqual({ runtime: 'tfjs', reason: 'INFERENCE_RUNTIME=tfjs' });
    expect((await chooseRuntime('onnx')).reason).toBe('INFERENCE_RUNTIME=onnx');
  });
});
