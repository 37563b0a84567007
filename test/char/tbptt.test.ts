import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { StreamBatcher } from '../../src/char/data.js';
import { disposeState, type CharModel, type CharTensors } from '../../src/char/model.js';
import { evaluate } from '../../src/char/evaluate.js';
import { trainChunk, trainEpoch } from '../../src/char/train.js';
import { initBackend, parseBackendName } from '../../src/nn/backend.js';
import { TEXT, tinyModel } from './helpers.js';

beforeAll(async () => {
  await initBackend(parseBackendName(process.env.TF_BACKEND));
});

/** Time-major ids of `streams` rows, each the first `steps` inputs of its stream. */
function streamInputs(b: StreamBatcher, steps: number): Int32Array {
  const out = new Int32Array(steps * b.streams);
  for (let t = 0; t < steps; t++) for (let s = 0; s < b.streams; s++) out[t * b.streams + s] = b.ids[s * b.streamLength + t]!;
  return out;
}

/** Final state after reading `steps` steps of every stream in one forward pass (no truncation). */
function oneShotState(model: CharModel, b: StreamBatcher, steps: number): CharTensors {
  return tf.tidy(() => model.forward(tf.tensor1d(streamInputs(b, steps), 'int32'), steps, model.zeroState(b.streams)).state);
}

function maxDiff(a: CharTensors, b: CharTensors): number {
  const xs = [...a.h, ...a.c];
  const ys = [...b.h, ...b.c];
  return Math.max(...xs.map((x, i) => tf.tidy(() => tf.max(tf.abs(tf.sub(x, ys[i]!))).dataSync()[0]!)));
}

const ids = (model: CharModel) => model.vocab.encode(TEXT.repeat(4));

describe('truncated BPTT carries the hidden state between chunks', () => {
  it('training: after an epoch of short chunks the state is that of reading each stream whole', async () => {
    const model = tinyModel();
    const b = new StreamBatcher(ids(model), 3, 5);
    expect(b.chunks).toBeGreaterThan(3);
    const sgd0 = tf.train.sgd(0); // lr 0: weights stay, so the state can be compared with a fresh forward
    const run = await trainEpoch(model, sgd0, b, { gradClip: 5, seed: 1 });
    expect(run.next).toBe(b.chunks);
    const whole = oneShotState(model, b, b.chunks * b.steps);
    const lastChunkOnly = tf.tidy(() => {
      const c = b.chunk(b.chunks - 1);
      return model.forward(tf.tensor1d(c.inputs, 'int32'), b.steps, model.zeroState(b.streams)).state;
    });
    // Carried state = one long read; a state reset at each chunk would leave the last chunk's state.
    expect(maxDiff(run.state, whole)).toBeLessThan(1e-5);
    expect(maxDiff(run.state, lastChunkOnly)).toBeGreaterThan(1e-3);
    [run.state, whole, lastChunkOnly].forEach(disposeState);
    model.dispose();
  });

  it('trainChunk returns the state to start the next chunk with', () => {
    const model = tinyModel({ cell: 'rnn' });
    const b = new StreamBatcher(ids(model), 2, 4);
    const sgd0 = tf.train.sgd(0);
    const z = model.zeroState(2);
    const r1 = trainChunk(model, sgd0, b.chunk(0), 4, z, 5, 1);
    const r2 = trainChunk(model, sgd0, b.chunk(1), 4, r1.state, 5, 2);
    const whole = oneShotState(model, b, 8);
    expect(maxDiff(r2.state, whole)).toBeLessThan(1e-5);
    [z, r1.state, r2.state, whole].forEach(disposeState);
    model.dispose();
  });

  it('evaluation: the loss with 4-step chunks equals the loss of one pass over the text', () => {
    const model = tinyModel();
    const text = ids(model);
    const chunked = evaluate(model, text, 1, 4);
    const whole = evaluate(model, text, 1, text.length);
    expect(chunked.chars).toBe(text.length - 1);
    expect(chunked.nats).toBeCloseTo(whole.nats, 5);
    // Resetting the state each chunk changes it: mean of per-chunk losses from a zero state.
    const b = new StreamBatcher(text, 1, 4);
    let sum = 0;
    for (let k = 0; k < b.count(true); k++) {
      const c = b.chunk(k);
      const T = b.stepsOf(k);
      sum +=
        tf.tidy(
          () => model.loss(tf.tensor1d(c.inputs, 'int32'), tf.tensor1d(c.targets, 'int32'), T, model.zeroState(1)).loss.dataSync()[0]!,
        ) * T;
    }
    expect(Math.abs(sum / (text.length - 1) - chunked.nats)).toBeGreaterThan(1e-4);
    expect(chunked.bitsPerChar).toBeCloseTo(chunked.nats / Math.LN2, 10);
    expect(chunked.perplexity).toBeCloseTo(Math.exp(chunked.nats), 8);
    model.dispose();
  });
});

describe('gradient clipping', () => {
  /** Global L2 norm of (after − before) over all parameters. */
  async function stepNorm(model: CharModel, clip: number): Promise<{ applied: number; reported: number }> {
    const before = Object.values(model.params).map((p) => tf.clone(p));
    const b = new StreamBatcher(ids(model), 2, 6);
    const z = model.zeroState(2);
    const r = trainChunk(model, tf.train.sgd(1), b.chunk(0), 6, z, clip, 3); // lr 1: the update is the clipped gradient
    const applied = tf.tidy(() =>
      Math.sqrt(Object.values(model.params).reduce((s, p, i) => s + tf.sum(tf.square(tf.sub(p, before[i]!))).dataSync()[0]!, 0)),
    );
    [z, r.state].forEach(disposeState);
    tf.dispose(before);
    return { applied, reported: r.norm };
  }

  it('bounds the global norm of the applied gradient by --grad-clip', async () => {
    const model = tinyModel();
    const clipped = await stepNorm(model, 1e-3);
    expect(clipped.reported).toBeGreaterThan(1e-2); // the raw gradient is far larger …
    expect(clipped.applied).toBeLessThanOrEqual(1e-3 * (1 + 1e-3)); // … the applied step is not
    expect(clipped.applied).toBeGreaterThan(1e-3 * 0.99);
    model.dispose();
  });

  it('leaves gradients under the limit unchanged', async () => {
    const model = tinyModel();
    const free = await stepNorm(model, 1e6);
    expect(free.applied).toBeCloseTo(free.reported, 4);
    model.dispose();
  });
});
