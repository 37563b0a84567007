/**
 * Writes test/fixtures/encoder/shipped-features.json: the shipped encoder's
 * ("mobilenet_v2+centernet") features of patternImage, as the code before
 * detections joined the encoder computed them. Run once, by hand:
 *   npx tsx test/encoder/make-golden.ts
 */
import { writeFileSync } from 'node:fs';
import { loadEncoder } from '../../src/encoder/registry.js';
import { initBackend } from '../../src/nn/backend.js';
import { patternImage } from './pattern.js';

await initBackend();
const encoder = await loadEncoder('mobilenet_v2+centernet', 'models');
const x = patternImage(encoder.inputSize);
const features = [...(await encoder.encode(x).data())].map((v) => Number(v.toPrecision(6)));
writeFileSync(
  new URL('../fixtures/encoder/shipped-features.json', import.meta.url),
  JSON.stringify({ encoder: encoder.name, features }) + '\n',
);
