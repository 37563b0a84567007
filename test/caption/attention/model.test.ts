import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttentionConfig } from '../../../src/caption/attention/config.js';
import { AttentionModel, type AttentionState, type RegionMemory } from '../../../src/caption/attention/model.js';
import { onnxAttentionNet } from '../../../src/caption/attention/onnx.js';
import type { AttentionNet } from '../../../src/caption/attention/step-model.js';
import { initBackend } from '../../../src/nn/backend.js';
import { SPECIALS } from '../../../src/text/vocab.js';
import { rng } from '../../../src/util/random.js';

const R = 6;
const K = 4;
/** Three rows with 4, 2 and 1 real regions (the rest padding). */
const COUNTS = [4, 2, 1];
const N = COUNTS.length;

function config(): AttentionConfig {
  return {
    kind: 'caption-attention',
    name: 'tiny-attention',
    version: 't',
    encoder: 'mobilenet_v2+centernet',
    regionDim: R,
    embedDim: 8,
    hiddenDim: 16,
    attendDim: 8,
    dropout: 0,
    maxWords: 20,
    maxRegions: 10,
    regionMinScore: 0.2,
    vocab: [...SPECIALS, 'a', 'dog', 'runs', 'cat', 'sleeps'],
  };
}

/** Regions [N·K·R] in (0, 1) and their mask [N·K]; `padValue` fills the padded regions' features (random when undefined). */
function inputs(padValue?: number): { regions: Float32Array; mask: Float32Array } {
  const random = rng(7);
  const regions = new Float32Array(N * K * R);
  const mask = new Float32Array(N * K);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const real = k < COUNTS[n]!;
      mask[n * K + k] = real ? 1 : 0;
      for (let r = 0; r < R; r++) {
        const v = random();
        regions[(n * K + k) * R + r] = real || padValue === undefined ? v : padValue * (1 + v);
      }
    }
  }
  return { regions, mask };
}

const IDS = [
  [1, 4, 5],
  [6, 7, 1],
];

interface Outputs {
  logProbs: Float32Array[];
  alpha: Float32Array[];
  beta: Float32Array[];
  states: Float32Array[];
}

/** Two tfjs steps from the initial state, all values read back (tensors disposed). */
function runTfjs(model: AttentionModel, regions: Float32Array, mask: Float32Array): Outputs {
  const rt = tf.tensor3d(regions, [N, K, R]);
  const mt = tf.tensor2d(mask, [N, K]);
  const memory: RegionMemory<tf.Tensor> = model.projectRegions(rt, mt);
  let state: AttentionState<tf.Tensor> = model.initialState(rt, mt);
  const out: Outputs = { logProbs: [], alpha: [], beta: [], states: [] };
  const read = (s: AttentionState<tf.Tensor>) => [s.h1, s.c1, s.h2, s.c2].map((t) => t.dataSync() as Float32Array);
  out.states.push(...read(state));
  for (const ids of IDS) {
    const idt = tf.tensor1d(ids, 'int32');
    const step = model.step(state, idt, memory);
    idt.dispose();
    tf.dispose(state as unknown as tf.NamedTensorMap);
    state = step.state;
    out.logProbs.push(step.logProbs.dataSync() as Float32Array);
    out.alpha.push(step.alpha.dataSync() as Float32Array);
    out.beta.push(step.beta.dataSync() as Float32Array);
    out.states.push(...read(state));
    tf.dispose([step.logProbs, step.alpha, step.beta]);
  }
  tf.dispose(state as unknown as tf.NamedTensorMap);
  tf.dispose([rt, mt, memory.features, memory.keys, memory.mean]);
  return out;
}

function runOnnx(net: AttentionNet, regions: Float32Array, mask: Float32Array): Outputs {
  let rows = net.initial(regions, mask, N, K);
  const out: Outputs = { logProbs: [], alpha: [], beta: [], states: [rows.h1, rows.c1, rows.h2, rows.c2] };
  for (const ids of IDS) {
    const step = net.step(rows, Int32Array.from(ids));
    rows = step.rows;
    out.logProbs.push(step.logProbs);
    out.alpha.push(step.alpha);
    out.beta.push(step.beta);
    out.states.push(rows.h1, rows.c1, rows.h2, rows.c2);
  }
  return out;
}

function maxDiff(a: Float32Array[], b: Float32Array[]): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  a.forEach((x, i) => {
    expect(x.length).toBe(b[i]!.length);
    x.forEach((v, j) => (d = Math.max(d, Math.abs(v - b[i]![j]!))));
  });
  return d;
}

let model: AttentionModel;
let net: AttentionNet;

beforeAll(async () => {
  await initBackend();
  model = AttentionModel.init(config(), 3);
  net = onnxAttentionNet(model);
});

afterAll(() => {
  net?.dispose();
  model?.dispose();
});

describe('attention decoder step (Up-Down + visual sentinel)', () => {
  it('region weights plus β sum to 1 over real regions, and padded regions get exactly 0', () => {
    const { regions, mask } = inputs();
    for (const out of [runTfjs(model, regions, mask), runOnnx(net, regions, mask)]) {
      out.alpha.forEach((alpha, t) => {
        for (let n = 0; n < N; n++) {
          let sum = out.beta[t]![n]!;
          for (let k = 0; k < K; k++) {
            const a = alpha[n * K + k]!;
            if (k < COUNTS[n]!) expect(a).toBeGreaterThan(0);
            else expect(a).toBe(0);
            sum += a;
          }
          expect(sum).toBeCloseTo(1, 5);
          expect(out.beta[t]![n]).toBeGreaterThan(0);
          expect(out.beta[t]![n]).toBeLessThan(1);
        }
      });
      for (const lp of out.logProbs) expect(lp.length).toBe(N * model.vocab.size);
    }
  });

  it('the sentinel gate: β → 1 and region weights → 0 when the sentinel outscores every region, β → 0 when every region outscores it', () => {
    const { regions, mask } = inputs();
    for (const sign of [-1, 1]) {
      const forced = AttentionModel.init(config(), 3);
      // Regions' keys far from the sentinel's (0): tanh saturates at sign, so each region scores sign·5·A = ±40, the sentinel 0.
      tf.tidy(() => {
        forced.params.wv.assign(tf.fill([R, 8], sign * 10));
        forced.params.wh.assign(tf.zerosLike(forced.params.wh));
        forced.params.ws.assign(tf.zerosLike(forced.params.ws));
        forced.params.wa.assign(tf.fill([8, 1], 5));
      });
      const forcedNet = onnxAttentionNet(forced);
      try {
        for (const out of [runTfjs(forced, regions, mask), runOnnx(forcedNet, regions, mask)]) {
          for (let t = 0; t < IDS.length; t++) {
            for (let n = 0; n < N; n++) {
              const beta = out.beta[t]![n]!;
              const alpha = Array.from(out.alpha[t]!.slice(n * K, (n + 1) * K));
              if (sign < 0) {
                expect(beta).toBeGreaterThan(0.999);
                expect(Math.max(...alpha)).toBeLessThan(1e-3);
              } else {
                expect(beta).toBeLessThan(1e-3);
                expect(alpha.reduce((s, a) => s + a, 0)).toBeGreaterThan(0.999);
              }
            }
          }
        }
      } finally {
        forcedNet.dispose();
        forced.dispose();
      }
    }
  });

  it('without the sentinel (the ablation): β = 0, region weights sum to 1, the sentinel weights change nothing, onnxruntime as tfjs', () => {
    const { regions, mask } = inputs();
    const plain = AttentionModel.init({ ...config(), sentinel: false }, 3);
    const plainNet = onnxAttentionNet(plain);
    try {
      const a = runTfjs(plain, regions, mask);
      for (const out of [a, runOnnx(plainNet, regions, mask)]) {
        out.alpha.forEach((alpha, t) => {
          for (let n = 0; n < N; n++) {
            expect(out.beta[t]![n]).toBe(0);
            expect(alpha.slice(n * K, n * K + COUNTS[n]!).reduce((s, x) => s + x, 0)).toBeCloseTo(1, 5);
          }
        });
      }
      expect(maxDiff(a.logProbs, runOnnx(plainNet, regions, mask).logProbs)).toBeLessThan(1e-4);
      // The sentinel's weights are kept but unused; with it on, the same weights give other outputs.
      tf.tidy(() => plain.params.ws.assign(tf.fill(plain.params.ws.shape, 3)));
      expect(maxDiff(runTfjs(plain, regions, mask).logProbs, a.logProbs)).toBe(0);
      expect(maxDiff(runTfjs(model, regions, mask).logProbs, a.logProbs)).toBeGreaterThan(1e-3);
    } finally {
      plainNet.dispose();
      plain.dispose();
    }
  });

  it('onnxruntime runs the same step as tfjs (log-probs, alpha, beta, states within 1e-4), rows of 4, 2 and 1 regions', () => {
    const { regions, mask } = inputs();
    const a = runTfjs(model, regions, mask);
    const b = runOnnx(net, regions, mask);
    expect(maxDiff(a.logProbs, b.logProbs)).toBeLessThan(1e-4);
    expect(maxDiff(a.alpha, b.alpha)).toBeLessThan(1e-4);
    expect(maxDiff(a.beta, b.beta)).toBeLessThan(1e-4);
    expect(maxDiff(a.states, b.states)).toBeLessThan(1e-4);
  });

  it("a padded region's features change no output", () => {
    const base = inputs();
    const changed = inputs(50);
    expect(changed.regions).not.toEqual(base.regions);
    expect(changed.mask).toEqual(base.mask);
    const same = (a: Outputs, b: Outputs) => {
      for (const key of ['logProbs', 'alpha', 'beta', 'states'] as const) {
        expect(maxDiff(a[key], b[key])).toBe(0);
      }
    };
    same(runTfjs(model, base.regions, base.mask), runTfjs(model, changed.regions, changed.mask));
    same(runOnnx(net, base.regions, base.mask), runOnnx(net, changed.regions, changed.mask));
  });

  it('leaks no tensor', () => {
    const { regions, mask } = inputs();
    runTfjs(model, regions, mask);
    const before = tf.memory().numTensors;
    runTfjs(model, regions, mask);
    expect(tf.memory().numTensors).toBe(before);
  });
});
