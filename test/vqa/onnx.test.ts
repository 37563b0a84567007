import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEncoder } from '../../src/encoder/registry.js';
import type { Encoder } from '../../src/encoder/types.js';
import { initBackend } from '../../src/nn/backend.js';
import { onnxVqa } from '../../src/vqa/onnx.js';
import { VQA_ARCHS } from '../../src/vqa/config.js';
import { VqaModel } from '../../src/vqa/model.js';
import { VqaService } from '../../src/vqa/service.js';
import { agreement } from '../onnx/parity.js';

// Measured here: answer probabilities of ORT and tfjs within 6e-8 (they are
// at most 1; the shipped models' 4-decimal scores were equal); the bound leaves
// room for other CPUs' kernels. Gates i and f swapped in the export moved them by 9e-3.
const MAX_PROB_DIFF = 1e-4;

const QUESTIONS = [
  'what is the man riding?',
  'what color is the bus?',
  'how many horses are there?',
  'where is the zebra?',
  'what is on the table?',
];
const PHOTOS = ['horses', 'bus', 'pizza', 'skateboarder', 'zebra'];

let encoder: Encoder;
let services: VqaService[] = [];
beforeAll(async () => {
  await initBackend();
  // One tfjs encoder for both: only the VQA models' runtime differs.
  encoder = await loadEncoder('mobilenet_v2+centernet', 'models', { runtime: 'tfjs' });
  for (const runtime of ['tfjs', 'onnx'] as const)
    services.push(await VqaService.load('models', { shared: [encoder], runtime: { runtime } }));
}, 120_000);
afterAll(() => {
  services.forEach((s) => s.dispose());
  services = [];
  encoder.dispose();
});

describe('the VQA models on onnxruntime', () => {
  it('give the same answers as on tfjs, for every shipped model, on the fixture photos', async () => {
    const [tfjs, onnx] = services as [VqaService, VqaService];
    expect(onnx.runtimes().every(([, rt]) => rt === 'onnx')).toBe(true);
    expect(tfjs.runtimes().every(([, rt]) => rt === 'tfjs')).toBe(true);
    for (const model of tfjs.modelNames) {
      for (const [i, photo] of PHOTOS.entries()) {
        const image = await readFile(`test/fixtures/photos/${photo}.jpg`);
        const question = QUESTIONS[i]!;
        const want = await tfjs.answer(image, question, { topK: 5, model });
        const got = await onnx.answer(image, question, { topK: 5, model });
        const label = `${model} ${photo}: ${question}`;
        expect(
          got.answers.map((a) => a.answer),
          label,
        ).toEqual(want.answers.map((a) => a.answer));
        got.answers.forEach((a, k) => expect(Math.abs(a.score - want.answers[k]!.score), label).toBeLessThan(MAX_PROB_DIFF));
      }
    }
  }, 120_000);

  it('computes what VqaModel.predict does, for every architecture, padded questions included', async () => {
    const shipped = JSON.parse(await readFile('models/vqa/easy-vqa/config.json', 'utf8')) as { answers: string[] };
    const questions = [[5, 9, 3], [7], [4, 4, 8, 12, 2, 6], [2, 3]];
    const features = Float32Array.from({ length: questions.length * 24 }, (_, i) => Math.sin(i * 0.37) * 2);
    // region-att has its own graph and parity test (test/vqa/region/onnx.test.ts).
    for (const arch of VQA_ARCHS.filter((a) => a !== 'region-att')) {
      const config = {
        ...shipped,
        arch,
        featureDim: 24,
        featureMean: Array.from({ length: 24 }, (_, i) => i * 0.01),
        featureStd: Array.from({ length: 24 }, (_, i) => 1 + i * 0.02),
        hiddenDim: 16,
        embedDim: 8,
        maxQuestionWords: 7,
      };
      const model = VqaModel.init(config as unknown as VqaModel['config'], 5);
      const onnx = onnxVqa(model);
      try {
        const probs = tf.tidy(() => model.predict(tf.tensor2d(features, [questions.length, 24]), questions));
        const want = probs.dataSync() as Float32Array;
        probs.dispose();
        const got = onnx.predict(features, questions);
        expect(agreement(got, want).maxAbs, arch).toBeLessThan(MAX_PROB_DIFF);
        // Each row's own question length, not the batch's, decides its answer.
        const alone = onnx.predict(features.subarray(24, 48), [questions[1]!]);
        const A = shipped.answers.length;
        expect(agreement(alone, got.subarray(A, 2 * A)).maxAbs, arch).toBeLessThan(1e-6);
      } finally {
        onnx.dispose();
        model.dispose();
      }
    }
  });
});
