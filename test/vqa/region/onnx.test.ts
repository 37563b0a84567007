import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { COLOUR_DIM } from '../../../src/encoder/colour.js';
import { CLASS_DIM, selectRegions } from '../../../src/encoder/regions.js';
import { defaultWordTable } from '../../../src/grounding/words.js';
import { initBackend } from '../../../src/nn/backend.js';
import { rng } from '../../../src/util/random.js';
import { inputTensors, regionHostInputs } from '../../../src/vqa/region/data.js';
import { questionClasses } from '../../../src/vqa/region/inputs.js';
import { RegionVqaModel } from '../../../src/vqa/region/model.js';
import { onnxRegionVqa } from '../../../src/vqa/region/onnx.js';
import { agreement } from '../../onnx/parity.js';
import { det, TINY_G, tinyRegionConfig } from './tiny.js';

const C = 6;
const R = C + 7 + COLOUR_DIM + CLASS_DIM;
const table = defaultWordTable();

beforeAll(async () => {
  await initBackend();
});

describe('the region VQA model on onnxruntime', () => {
  for (const over of [{}, { count: false, colour: false, pointer: false }]) {
    it(`gives tfjs's probabilities and attention (${JSON.stringify(over)})`, () => {
      const model = RegionVqaModel.init(tinyRegionConfig(R, over, true), 3);
      const onnx = onnxRegionVqa(model);
      const random = rng(5);
      const images = [[det('dog', 0.9), det('dog', 0.6), det('person', 0.5)], [det('zebra', 0.7)], []].map((objects) => {
        const rows = Float32Array.from({ length: (objects.length + 1) * R }, () => random() * 3);
        return { selected: selectRegions(rows, objects, 4, 0.2), objects, global: Float32Array.from({ length: TINY_G }, () => random()) };
      });
      const questions = ['how many dogs', 'what animal is this', 'what color is the dog ?'].map((text, i) => ({
        image: i,
        ids: model.encodeQuestion(text),
        classes: questionClasses(table, text),
      }));
      const host = regionHostInputs(table, R, questions, images);
      const got = onnx.predict(host);
      const x = inputTensors(host, R);
      const want = tf.tidy(() => {
        const out = model.predict(x);
        return { probs: out.probs.dataSync() as Float32Array, alpha: out.alpha.dataSync() as Float32Array };
      });
      tf.dispose(Object.values(x));
      expect(got.probs.length).toBe(want.probs.length);
      expect(agreement(got.probs, want.probs).maxAbs).toBeLessThan(1e-5);
      expect(agreement(got.alpha, want.alpha).maxAbs).toBeLessThan(1e-5);
      onnx.dispose();
      model.dispose();
    });
  }
});
