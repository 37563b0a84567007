import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeImageWithDetections } from '../../../src/encoder/pixels.js';
import { regionDim } from '../../../src/encoder/regions.js';
import { loadEncoder } from '../../../src/encoder/registry.js';
import type { Encoder } from '../../../src/encoder/types.js';
import { defaultWordTable } from '../../../src/grounding/words.js';
import { initBackend } from '../../../src/nn/backend.js';
import { inputTensors, regionHostInputs, vqaImage } from '../../../src/vqa/region/data.js';
import { kindAnswer, questionClasses } from '../../../src/vqa/region/inputs.js';
import { RegionVqaModel } from '../../../src/vqa/region/model.js';
import { VqaService } from '../../../src/vqa/service.js';
import { tinyRegionConfig } from './tiny.js';

let encoder: Encoder;
let dir: string;
let model: RegionVqaModel;
const services: VqaService[] = [];

beforeAll(async () => {
  await initBackend();
  encoder = await loadEncoder('mobilenet_v2+centernet', 'models', { runtime: 'tfjs' });
  dir = await mkdtemp(path.join(os.tmpdir(), 'captioner-region-vqa-'));
  const config = {
    ...tinyRegionConfig(regionDim(1280), { maxRegions: 6 }, false, encoder.dim),
    answers: ['dog', 'two', 'red', 'grass', 'horse', 'man'],
  };
  model = RegionVqaModel.init(config, 11);
  await model.save(path.join(dir, 'vqa', 'tiny-region'));
  // The same weights with the kind rule on.
  const kind = RegionVqaModel.init({ ...config, name: 'tiny-kind', region: { ...config.region!, kindAnswers: 'kind' } }, 11);
  await kind.save(path.join(dir, 'vqa', 'tiny-kind'));
  kind.dispose();
  for (const runtime of ['tfjs', 'onnx'] as const) services.push(await VqaService.load(dir, { shared: [encoder], runtime: { runtime } }));
}, 120_000);

afterAll(async () => {
  services.forEach((s) => s.dispose());
  model.dispose();
  encoder.dispose();
  await rm(dir, { recursive: true, force: true });
});

/** The attention α over the photo's regions, computed apart from the service from the same encoder pass. */
async function attention(photo: Buffer, question: string) {
  const r = model.config.region!;
  const out = await encodeImageWithDetections(encoder, photo, undefined, r.detectMinScore, { regions: true });
  const global = out.features.dataSync() as Float32Array;
  out.features.dispose();
  const img = vqaImage(out.regions!, out.detections!.objects, global, r.maxRegions, r.minScore);
  const table = defaultWordTable();
  const host = regionHostInputs(
    table,
    model.config.featureDim,
    [{ image: 0, ids: model.encodeQuestion(question), classes: questionClasses(table, question) }],
    [img],
  );
  const x = inputTensors(host, model.config.featureDim);
  const alpha = tf.tidy(() => [...(model.predict(x).alpha.dataSync() as Float32Array)]);
  tf.dispose(Object.values(x));
  return { alpha: alpha.slice(0, img.selected.objects.length + 1), objects: img.selected.objects };
}

describe('POST /vqa with a region model: answers with their evidence', () => {
  it('gives each answer class the region of largest attention: its box, label and weight (tfjs and onnxruntime)', async () => {
    const photo = await readFile('test/fixtures/photos/horses.jpg');
    const question = 'how many horses are there ?';
    const { alpha, objects } = await attention(photo, question);
    expect(objects.length).toBeGreaterThan(0);
    const top = alpha.indexOf(Math.max(...alpha));
    const box = objects[top]?.box ?? [0, 0, 1, 1];
    const label = objects[top]?.label ?? 'image';
    const words = new Set(objects.map((o) => o.label));
    for (const service of services) {
      const reply = await service.answer(photo, question, { topK: 4 });
      expect(reply.answers).toHaveLength(4);
      const fromClasses = reply.answers.filter((a) => !words.has(a.answer));
      expect(fromClasses.length).toBeGreaterThan(0);
      for (const a of fromClasses) {
        expect(a.evidence!.label).toBe(label);
        a.evidence!.box.forEach((v, i) => expect(v).toBeCloseTo(box[i]!, 3));
        expect(a.evidence!.weight).toBeCloseTo(alpha[top]!, 3);
      }
    }
  });

  it('tfjs and onnxruntime give the same answers and evidence', async () => {
    const photo = await readFile('test/fixtures/photos/zebra.jpg');
    const [a, b] = await Promise.all(services.map((s) => s.answer(photo, 'what animal is this ?', { topK: 3 })));
    expect(b!.answers.map((x) => x.answer)).toEqual(a!.answers.map((x) => x.answer));
    b!.answers.forEach((x, i) => {
      expect(x.score).toBeCloseTo(a!.answers[i]!.score, 3);
      expect(x.evidence).toEqual(a!.answers[i]!.evidence);
    });
  });

  it('with the kind rule, answers "what animal …" only with animal words, on both runtimes', async () => {
    const photo = await readFile('test/fixtures/photos/horses.jpg');
    const question = 'what animal is this ?';
    const animal = kindAnswer(defaultWordTable(), 'animal');
    for (const service of services) {
      const free = await service.answer(photo, question, { topK: 10, model: 'tiny-region' });
      expect(free.answers.some((a) => !animal(a.answer))).toBe(true);
      const ruled = await service.answer(photo, question, { topK: 10, model: 'tiny-kind' });
      expect(ruled.answers.length).toBeGreaterThan(0);
      expect(ruled.answers.every((a) => animal(a.answer))).toBe(true);
    }
  });
});
