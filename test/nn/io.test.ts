import * as tf from '@tensorflow/tfjs';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/nn/backend.js';
import { loadTensors, manifestBytes, saveTensors } from '../../src/nn/io.js';

// A corrupt model file is refused with one line that names it, before tfjs builds anything from it.

const dirs: string[] = [];
beforeAll(async () => {
  await initBackend();
});
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** A saved pair of weights: w [3, 4] float32 (48 bytes) and b [4] int32 (16 bytes). */
async function savedDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'io-'));
  dirs.push(dir);
  const tensors = { w: tf.ones([3, 4]), b: tf.tensor1d([1, 2, 3, 4], 'int32') };
  await saveTensors(dir, tensors);
  tf.dispose(Object.values(tensors));
  return dir;
}

const oneLine = (message: string) => expect(message).not.toContain('\n');

async function loadError(dir: string): Promise<string> {
  const before = tf.memory().numTensors;
  const err = await loadTensors(dir).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(err, 'loading should fail').toBeInstanceOf(Error);
  expect(tf.memory().numTensors).toBe(before);
  oneLine(err?.message ?? '');
  return err?.message ?? '';
}

describe('model files', () => {
  it('round-trips when intact', async () => {
    const dir = await savedDir();
    const t = await loadTensors(dir);
    expect(Object.keys(t).sort()).toEqual(['b', 'w']);
    expect(Array.from(await t.b!.data())).toEqual([1, 2, 3, 4]);
    tf.dispose(Object.values(t));
  });

  it('a truncated weights.bin is refused with the file, its size and the size model.json describes', async () => {
    const dir = await savedDir();
    await truncate(path.join(dir, 'weights.bin'), 40);
    const message = await loadError(dir);
    expect(message).toContain(path.join(dir, 'weights.bin'));
    expect(message).toMatch(/is truncated: 40 bytes, .*model\.json describes 64/);
  });

  it('a weights.bin longer than the manifest is refused too', async () => {
    const dir = await savedDir();
    const file = path.join(dir, 'weights.bin');
    await writeFile(file, Buffer.concat([await readFile(file), Buffer.alloc(8)]));
    expect(await loadError(dir)).toMatch(/weights\.bin is longer than its manifest: 72 bytes/);
  });

  it('a missing weights file is named', async () => {
    const dir = await savedDir();
    await rm(path.join(dir, 'weights.bin'));
    expect(await loadError(dir)).toMatch(/cannot read weights file .*weights\.bin.*ENOENT/);
  });

  it('bad JSON in model.json is named', async () => {
    const dir = await savedDir();
    const file = path.join(dir, 'model.json');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.slice(0, text.length / 2));
    const message = await loadError(dir);
    expect(message).toContain(`cannot read model file ${file}: not valid JSON`);
  });

  it('a model.json of the wrong shape names the file and the field', async () => {
    const dir = await savedDir();
    await writeFile(
      path.join(dir, 'model.json'),
      JSON.stringify({ weightsManifest: [{ paths: ['weights.bin'], weights: [{ name: 'w' }] }] }),
    );
    const message = await loadError(dir);
    expect(message).toContain(path.join(dir, 'model.json'));
    expect(message).toMatch(/shape/);
  });

  it('manifestBytes counts quantized weights in their stored dtype', () => {
    expect(manifestBytes([{ name: 'a', shape: [10], dtype: 'float32', quantization: { dtype: 'uint8' } }])).toBe(10);
    expect(manifestBytes([{ name: 'a', shape: [2, 5], dtype: 'float32', quantization: { dtype: 'float16' } }])).toBe(20);
    expect(manifestBytes([{ name: 'a', shape: [], dtype: 'float32' }])).toBe(4);
    expect(manifestBytes([{ name: 'a', shape: [3], dtype: 'string' }])).toBeUndefined();
  });
});
