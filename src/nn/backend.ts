import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { log } from '../log.js';
import { registerWasmExtras } from './wasm-kernels.js';

/** Backends in order of preference. 'tensorflow' is the tfjs-node(-gpu) native binding. */
export const BACKENDS = ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

const require = createRequire(import.meta.url);
let chosen: BackendName | undefined;

/**
 * Whether a native package is installed with its binding (lib/napi-v*).
 * A failed install can leave the JavaScript without it; requiring that
 * registers every kernel before failing, and the next try warns about each.
 */
function hasNativeBinding(name: 'tfjs-node-gpu' | 'tfjs-node'): boolean {
  try {
    return existsSync(path.join(path.dirname(require.resolve(`@tensorflow/${name}/package.json`)), 'lib'));
  } catch {
    return false;
  }
}

async function tryBackend(name: BackendName): Promise<boolean> {
  try {
    switch (name) {
      case 'tfjs-node-gpu':
      case 'tfjs-node':
        // The native packages register the 'tensorflow' backend on require.
        // They are optional dependencies: absent on machines where their install failed.
        if (!hasNativeBinding(name)) return false;
        require(`@tensorflow/${name}`);
        return await tf.setBackend('tensorflow');
      case 'wasm':
        await import('@tensorflow/tfjs-backend-wasm');
        registerWasmExtras();
        return await tf.setBackend('wasm');
      case 'cpu':
        return await tf.setBackend('cpu');
    }
  } catch (err) {
    log.debug({ backend: name, err: String(err) }, 'backend unavailable');
    return false;
  }
}

/**
 * The first backend of `order` that `load` can set up, trying them in turn;
 * undefined if none can. Kept apart from tfjs so the ladder itself is testable.
 */
export async function firstLoadable(
  order: readonly BackendName[],
  load: (name: BackendName) => Promise<boolean>,
): Promise<BackendName | undefined> {
  for (const name of order) if (await load(name)) return name;
  return undefined;
}

/**
 * Pick the best backend this machine can load (or the one forced by `force`,
 * e.g. from TF_BACKEND). Idempotent: later calls return the first choice.
 */
export async function initBackend(force?: BackendName): Promise<BackendName> {
  if (chosen) return chosen;
  const order = force ? [force] : BACKENDS;
  const name = await firstLoadable(order, tryBackend);
  if (!name) throw new Error(`no TensorFlow.js backend could be loaded (tried ${order.join(', ')})`);
  await tf.ready();
  chosen = name;
  log.info({ backend: name, tfBackend: tf.getBackend() }, 'tensorflow backend selected');
  return name;
}

export function currentBackend(): BackendName {
  if (!chosen) throw new Error('initBackend() has not run');
  return chosen;
}

export function parseBackendName(value: string | undefined): BackendName | undefined {
  if (!value) return undefined;
  if ((BACKENDS as readonly string[]).includes(value)) return value as BackendName;
  throw new Error(`TF_BACKEND must be one of ${BACKENDS.join(', ')}; got "${value}"`);
}
