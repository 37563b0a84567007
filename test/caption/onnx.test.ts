import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCaptioner, type Captioner, type ImageEvidence } from '../../src/caption/captioner.js';
import { captionsFrom, generateCaptions } from '../../src/caption/generate.js';
import { groundedImage } from '../../src/caption/grounded/data.js';
import { GroundedModel } from '../../src/caption/grounded/model.js';
import { tfjsGroundedNet, type GroundedNet } from '../../src/caption/grounded/step-model.js';
import { CaptionModel } from '../../src/caption/model.js';
import { DEFAULT_CAPTION_SEARCH, type CaptionSearchOptions } from '../../src/caption/options.js';
import { encodeImageWithDetections } from '../../src/encoder/pixels.js';
import { loadEncoder } from '../../src/encoder/registry.js';
import { defaultWordTable } from '../../src/grounding/words.js';
import { initBackend } from '../../src/nn/backend.js';
import { onnxGroundedNet } from '../../src/caption/grounded/onnx.js';
import { onnxCaptionDecoder } from '../../src/caption/onnx.js';
import { agreement } from '../onnx/parity.js';

// Measured here: ORT's CPU provider and tfjs-wasm give step log-probabilities
// within ~1e-4 of each other on the shipped grounded decoder (the image state,
// a 1840-long dot product, within ~2e-4). The bounds leave room for other CPUs'
// kernels; two gates swapped (i and f) moved them by 12.
const MAX_LOGPROB_DIFF = 2e-3;

const PHOTOS = ['horses', 'bus', 'pizza', 'skateboarder', 'zebra'];
const table = defaultWordTable();
const MODES: CaptionSearchOptions[] = [
  { ...DEFAULT_CAPTION_SEARCH, mode: 'greedy', beamSize: 1, n: 1 },
  { ...DEFAULT_CAPTION_SEARCH, mode: 'beam', beamSize: 3, n: 3 },
  { ...DEFAULT_CAPTION_SEARCH, mode: 'beam', beamSize: 5, n: 2, lengthPenalty: 0.7 },
];

let evidence: ImageEvidence[] = [];
beforeAll(async () => {
  await initBackend();
  // The encoder on tfjs for both runs: only the decoders differ.
  const encoder = await loadEncoder('mobilenet_v2+centernet', 'models', { runtime: 'tfjs' });
  try {
    for (const name of PHOTOS) {
      const image = await readFile(`test/fixtures/photos/${name}.jpg`);
      const { features, detections } = await encodeImageWithDetections(encoder, image, undefined, 0.1);
      evidence.push({ features: (await features.data()) as Float32Array, objects: detections?.objects ?? [] });
      features.dispose();
    }
  } finally {
    encoder.dispose();
  }
}, 120_000);
afterAll(() => {
  evidence = [];
});

/** Everything a caption says, logprobs rounded away (they differ in the last digits). */
function words(captioner: Captioner, image: ImageEvidence, opts: CaptionSearchOptions): string {
  return JSON.stringify(captioner.caption(image, opts).map((c) => ({ text: c.text, words: c.words })));
}

describe('the shipped grounded caption decoder on onnxruntime', () => {
  it('writes the same greedy and beam captions as on tfjs, on the fixture photos', async () => {
    const tfjs = await loadCaptioner('models/caption', table, { runtime: 'tfjs' });
    const onnx = await loadCaptioner('models/caption', table, { runtime: 'onnx', device: 'cpu' });
    try {
      expect([tfjs.kind, tfjs.runtime, onnx.runtime]).toEqual(['caption-grounded', 'tfjs', 'onnx']);
      for (const [i, image] of evidence.entries()) {
        expect(image.objects.length, PHOTOS[i]).toBeGreaterThan(0);
        for (const opts of MODES) expect(words(onnx, image, opts), `${PHOTOS[i]} ${opts.mode}`).toBe(words(tfjs, image, opts));
      }
      // Beam log-probabilities agree closely too.
      const a = tfjs.caption(evidence[0]!, MODES[1]!);
      const b = onnx.caption(evidence[0]!, MODES[1]!);
      for (let k = 0; k < a.length; k++) expect(Math.abs(a[k]!.logprob - b[k]!.logprob)).toBeLessThan(MAX_LOGPROB_DIFF * 10);
    } finally {
      tfjs.dispose();
      onnx.dispose();
    }
  }, 120_000);

  it('gives step log-probabilities, pointer scores and fine logits within the bound, leaking no tensors', async () => {
    const model = await GroundedModel.load('models/caption');
    const nets: GroundedNet[] = [tfjsGroundedNet(model), onnxGroundedNet(model)];
    try {
      const { maxEntries, entryMinScore } = model.config;
      const images = evidence.map((e) => groundedImage(table, e.features, e.objects, maxEntries, entryMinScore));
      const n = images.length;
      const inputs = new Float32Array(n * model.inputDim);
      images.forEach((img, i) => inputs.set(img.input, i * model.inputDim));
      const entries = new Float32Array(n * images[0]!.entryFeatures.length);
      images.forEach((img, i) => entries.set(img.entryFeatures, i * img.entryFeatures.length));
      const before = tf.memory().numTensors;
      let rows = nets.map((net) => net.initial(inputs, entries, n));
      let worst = { logProbs: 0, pointer: 0, fine: 0 };
      // A few teacher-forced steps from <start> through ordinary words (ids 4…), a slot filled by entry 0 at step 2.
      for (let t = 0; t < 6; t++) {
        const ids = Int32Array.from({ length: n }, (_, r) => (t === 0 ? 1 : 4 + ((t * 7 + r * 13) % 200)));
        const slot = new Float32Array(n * 20);
        if (t === 2) images.forEach((img, r) => slot.set(img.entryFeatures.subarray(0, 20), r * 20));
        const out = nets.map((net, k) => net.step(rows[k]!, ids, slot));
        worst = {
          logProbs: Math.max(worst.logProbs, agreement(out[0]!.logProbs, out[1]!.logProbs).maxAbs),
          pointer: Math.max(worst.pointer, agreement(out[0]!.pointer, out[1]!.pointer).maxAbs),
          fine: Math.max(worst.fine, agreement(nets[0]!.fine(out[0]!.rows.h, n), nets[1]!.fine(out[1]!.rows.h, n)).maxAbs),
        };
        rows = out.map((o) => o.rows);
      }
      expect(tf.memory().numTensors).toBe(before);
      expect(worst.logProbs).toBeLessThan(MAX_LOGPROB_DIFF);
      expect(worst.pointer).toBeLessThan(MAX_LOGPROB_DIFF);
      expect(worst.fine).toBeLessThan(MAX_LOGPROB_DIFF);
    } finally {
      nets.forEach((net) => net.dispose());
      model.dispose();
    }
  }, 60_000);
});

describe('the plain caption decoder on onnxruntime', () => {
  it('writes the same captions as on tfjs and step log-probabilities within the bound', async () => {
    const grounded = JSON.parse(await readFile('models/caption/config.json', 'utf8')) as { vocab: string[] };
    // A plain decoder (none is shipped) with the shipped vocabulary, on made-up 64-d features.
    const config = {
      kind: 'caption-lstm' as const,
      name: 'plain',
      version: '1',
      encoder: 'mobilenet_v2',
      featureDim: 64,
      featureMean: Array.from({ length: 64 }, (_, i) => Math.sin(i) * 0.1),
      featureStd: Array.from({ length: 64 }, (_, i) => 1 + (i % 5) * 0.1),
      embedDim: 32,
      hiddenDim: 48,
      dropout: 0,
      maxWords: 16,
      minWordCount: 1,
      vocab: grounded.vocab.slice(0, 300),
    };
    const model = CaptionModel.init(config, 11);
    const onnx = onnxCaptionDecoder(model);
    try {
      for (let i = 0; i < 4; i++) {
        const features = Float32Array.from({ length: 64 }, (_, k) => Math.cos(k * (i + 1)) * 2);
        const v = tf.tensor2d(features, [1, 64]);
        for (const opts of MODES) {
          const want = generateCaptions(model, v, opts);
          const got = captionsFrom(onnx.lm, onnx.initialState(features, 1), model.vocab, opts);
          expect(got.map((c) => c.text)).toEqual(want.map((c) => c.text));
          got.forEach((c, k) => expect(Math.abs(c.logprob - want[k]!.logprob)).toBeLessThan(MAX_LOGPROB_DIFF));
        }
        v.dispose();
      }
    } finally {
      onnx.dispose();
      model.dispose();
    }
  });
});
