import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { gatherRows, lstmLayer, softmaxCrossEntropy } from '../../src/char/cells.js';
import { lstmStep } from '../../src/nn/lstm.js';
import { initBackend, parseBackendName } from '../../src/nn/backend.js';

beforeAll(async () => {
  await initBackend(parseBackendName(process.env.TF_BACKEND));
});

function maxRelDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! / Math.max(tf.max(tf.abs(a)).dataSync()[0]!, 1e-12));
}

/** The hand-written ops must match tfjs autodiff of the plain ops, in value and gradient. */
describe('lstmLayer (hand-written BPTT)', () => {
  it('matches step-by-step lstmStep (src/nn/lstm.ts) in outputs, final state and every gradient through the outputs', () => {
    const [T, N, H, I] = [5, 3, 4, 6];
    const x = tf.randomNormal([T * N, I], 0, 1, 'float32', 1) as tf.Tensor2D;
    const w = tf.randomNormal([I, 4 * H], 0, 0.5, 'float32', 2) as tf.Tensor2D;
    const b = tf.randomNormal([4 * H], 0, 0.5, 'float32', 8) as tf.Tensor1D;
    const u = tf.randomNormal([H, 4 * H], 0, 0.5, 'float32', 3) as tf.Tensor2D;
    const h0 = tf.randomNormal([N, H], 0, 0.5, 'float32', 4) as tf.Tensor2D;
    const c0 = tf.randomNormal([N, H], 0, 0.5, 'float32', 5) as tf.Tensor2D;
    const probe = tf.randomNormal([T * N, H], 0, 1, 'float32', 6) as tf.Tensor2D;
    type Args = [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];

    const reference = (...[xx, ww, bb, uu, hh, cc]: Args) => {
      const xs = tf.split(tf.matMul(xx, ww), T, 0) as tf.Tensor2D[];
      let s = { h: hh, c: cc };
      const hs: tf.Tensor2D[] = [];
      for (const xt of xs) {
        s = lstmStep(xt, s, uu, bb);
        hs.push(s.h);
      }
      return { hs: tf.concat(hs, 0) as tf.Tensor2D, h: s.h, c: s.c };
    };
    const fused = (...[xx, ww, bb, uu, hh, cc]: Args) => lstmLayer(tf.matMul(xx, ww), bb, hh, cc, uu);
    // A scalar that depends on every hidden state (the gradient path of a chunk's loss).
    const objective =
      (f: typeof reference) =>
      (...args: tf.Tensor[]) => {
        const o = f(...(args as Args));
        return tf.add(tf.sum(tf.mul(o.hs, probe)), tf.sum(tf.square(o.hs)));
      };
    const inputs: Args = [x, w, b, u, h0, c0];

    const a = reference(...inputs);
    const f = fused(...inputs);
    expect(f.hs.shape).toEqual([T * N, H]);
    expect(maxRelDiff(a.hs, f.hs)).toBeLessThan(1e-5);
    expect(maxRelDiff(a.h, f.h)).toBeLessThan(1e-5);
    expect(maxRelDiff(a.c, f.c)).toBeLessThan(1e-5);
    const ga = tf.grads(objective(reference))(inputs);
    const gf = tf.grads(objective(fused))(inputs);
    ga.forEach((g, k) => expect(maxRelDiff(g, gf[k]!)).toBeLessThan(1e-4));
  });
});

describe('gatherRows', () => {
  it('equals tf.gather and its gradient adds rows per id (repeats included)', () => {
    const table = tf.randomNormal([5, 3], 0, 1, 'float32', 1) as tf.Tensor2D;
    const ids = tf.tensor1d([4, 0, 4, 2], 'int32');
    const probe = tf.randomNormal([4, 3], 0, 1, 'float32', 2);
    expect(maxRelDiff(tf.gather(table, ids), gatherRows(table, ids))).toBe(0);
    const g1 = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), probe)))(table);
    const g2 = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(gatherRows(t as tf.Tensor2D, ids), probe)))(table);
    expect(maxRelDiff(g1, g2)).toBeLessThan(1e-6);
  });
});

describe('softmaxCrossEntropy', () => {
  it('equals mean(logSumExp − logit[target]) with gradient (softmax − onehot)/R', () => {
    const logits = tf.randomNormal([6, 7], 0, 3, 'float32', 3) as tf.Tensor2D;
    const targets = tf.tensor1d([0, 6, 3, 3, 1, 2], 'int32');
    const ref = (l: tf.Tensor) => tf.mean(tf.sub(tf.logSumExp(l, 1), tf.sum(tf.mul(l, tf.oneHot(targets, 7)), 1)));
    expect(softmaxCrossEntropy(logits, targets).dataSync()[0]).toBeCloseTo(ref(logits).dataSync()[0]!, 5);
    const g1 = tf.grad(ref)(logits);
    const g2 = tf.grad((l: tf.Tensor) => softmaxCrossEntropy(l as tf.Tensor2D, targets))(logits);
    expect(maxRelDiff(g1, g2)).toBeLessThan(1e-5);
  });
});
