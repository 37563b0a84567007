import * as tf from '@tensorflow/tfjs';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/nn/backend.js';
import { loadWeightsModel, trainable, WeightsModel } from '../../src/nn/weights-model.js';

interface TinyConfig {
  dim: number;
  note?: string;
}

class Tiny extends WeightsModel<TinyConfig> {
  static init(config: TinyConfig, value: number): Tiny {
    return new Tiny(config, { w: trainable(tf.fill([config.dim, 2], value)), b: trainable(tf.zeros([2])) });
  }
}

const readConfig = async (dir: string) => JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as TinyConfig;

beforeAll(async () => {
  await initBackend();
});

describe('WeightsModel', () => {
  it('builds, saves, loads and disposes without leaving a tensor behind', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wm-'));
    const before = tf.memory().numTensors;
    const a = Tiny.init({ dim: 3 }, 2);
    await a.save(dir);
    a.dispose();
    (await loadWeightsModel(dir, readConfig, (c) => Tiny.init(c, 0))).dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('saves config and weights and loads them back', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wm-'));
    const a = Tiny.init({ dim: 3 }, 0.5);
    await a.save(dir, { note: 'trained' });
    const b = await loadWeightsModel(dir, readConfig, (c) => Tiny.init(c, 0));
    expect(b.config).toEqual({ dim: 3, note: 'trained' });
    expect(b.parameterCount()).toBe(8);
    expect(Array.from(b.params.w!.dataSync())).toEqual(new Array(6).fill(0.5));
    a.dispose();
    b.dispose();
  });

  it('refuses weights that do not fit the config and leaks no tensor doing so', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wm-'));
    const a = Tiny.init({ dim: 3 }, 1);
    await a.save(dir);
    a.dispose();
    const before = tf.memory().numTensors;
    await expect(
      loadWeightsModel(
        dir,
        async () => ({ dim: 4 }),
        (c) => Tiny.init(c, 0),
      ),
    ).rejects.toThrow(/weight "w" has shape \[3,2\], config says \[4,2\]/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
