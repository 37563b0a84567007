import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { BACKENDS, currentBackend, firstLoadable, initBackend, parseBackendName, type BackendName } from '../../src/nn/backend.js';

describe('backend ladder', () => {
  it('tries the backends in order and stops at the first that loads', async () => {
    const tried: BackendName[] = [];
    const loadable = new Set<BackendName>(['wasm', 'cpu']); // a machine without libtensorflow
    const load = async (name: BackendName) => (tried.push(name), loadable.has(name));
    expect(await firstLoadable(BACKENDS, load)).toBe('wasm');
    expect(tried).toEqual(['tfjs-node-gpu', 'tfjs-node', 'wasm']);
    expect(await firstLoadable(['tfjs-node'], load)).toBeUndefined(); // a forced backend has no fallback
  });

  it('picks the best loadable backend once, and it computes', async () => {
    const chosen = await initBackend();
    expect(BACKENDS).toContain(chosen);
    expect(await initBackend('cpu')).toBe(chosen); // later calls keep the first choice
    expect(currentBackend()).toBe(chosen);
    const y = tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync()[0]);
    expect(y).toBe(11);
  });

  it('rejects an unknown TF_BACKEND with the allowed names', () => {
    expect(parseBackendName(undefined)).toBeUndefined();
    expect(parseBackendName('wasm')).toBe('wasm');
    expect(() => parseBackendName('gpu')).toThrow(/TF_BACKEND must be one of tfjs-node-gpu, tfjs-node, wasm, cpu; got "gpu"/);
  });
});
