import * as tf from '@tensorflow/tfjs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadTensors, saveTensors } from '../nn/io.js';

/** A model that can write its weights (and config) to a folder and read them back. */
export interface Checkpointable {
  save(dir: string): Promise<void>;
  restore(dir: string): Promise<void>;
}

const STATE_FILE = 'state.json';

/**
 * A resumable checkpoint: model/, optimizer/ (Adam or RMSprop slots, by
 * position, so fresh variable names on resume do not matter) and the
 * trainer's own JSON state.
 */
export async function saveCheckpoint<S>(dir: string, model: Checkpointable, optimizer: tf.Optimizer, state: S): Promise<void> {
  await mkdir(dir, { recursive: true });
  await model.save(path.join(dir, 'model'));
  const optWeights = await optimizer.getWeights();
  try {
    await saveTensors(path.join(dir, 'optimizer'), Object.fromEntries(optWeights.map((w) => [w.name, w.tensor])));
  } finally {
    // The step count comes as a fresh scalar; the slots are the optimizer's own variables.
    tf.dispose(optWeights.map((w) => w.tensor).filter((t) => !(t instanceof tf.Variable)));
  }
  await writeFile(path.join(dir, STATE_FILE), JSON.stringify(state, null, 1));
}

export async function loadCheckpoint<S>(dir: string, model: Checkpointable, optimizer: tf.Optimizer): Promise<S> {
  await model.restore(path.join(dir, 'model'));
  const opt = await loadTensors(path.join(dir, 'optimizer'));
  try {
    await optimizer.setWeights(Object.entries(opt).map(([name, tensor]) => ({ name, tensor })));
  } finally {
    tf.dispose(Object.values(opt)); // the optimizer's new slot variables keep their own reference to the data
  }
  return JSON.parse(await readFile(path.join(dir, STATE_FILE), 'utf8')) as S;
}
