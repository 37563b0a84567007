import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type * as CaptionerModule from '../../src/caption/captioner.js';
import type { Captioner, ImageEvidence } from '../../src/caption/captioner.js';
import { DEFAULT_CAPTION_SEARCH } from '../../src/caption/options.js';
import { CaptionService } from '../../src/caption/service.js';
import type { DetectedObject, Encoder } from '../../src/encoder/types.js';
import { initBackend, parseBackendName } from '../../src/nn/backend.js';

// The caption model is a stand-in (no shipped model reads regions yet): loadCaptioner returns `model`.
let model: Captioner;
vi.mock('../../src/caption/captioner.js', async (importOriginal) => ({
  ...(await importOriginal<typeof CaptionerModule>()),
  loadCaptioner: () => Promise.resolve(model),
}));

/** A captioner that records the evidence it is given; it reads regions when `wantsRegions`. */
function fakeCaptioner(wantsRegions: boolean, seen: ImageEvidence[]): Captioner {
  return {
    kind: 'caption-lstm',
    runtime: 'tfjs',
    name: 'fake-regions',
    version: '1',
    encoder: 'fake',
    featureDim: 99, // not the encoder's: a regions model skips that check
    minScore: 0.2,
    wantsRegions,
    entries: () => [],
    caption: (image) => (seen.push(image), [{ text: 'a thing', logprob: -1, words: [{ text: 'a' }, { text: 'thing' }] }]),
    vocabSize: 0,
    dispose: () => undefined,
  };
}

const PERSON: DetectedObject = { label: 'person', classId: 0, score: 0.9, box: [0, 0, 0.5, 0.5] };

/** A 4-pixel encoder: features [mean], one person; with `regions`, regions whose one value per row says which row it is. */
function fakeEncoder(regions: boolean, calls: string[]): Encoder {
  const mean = (pixels: tf.Tensor4D) => Float32Array.from(tf.tidy(() => tf.mean(pixels).dataSync()));
  return {
    name: 'fake',
    dim: 1,
    inputSize: 4,
    encode: (pixels) => tf.tidy(() => tf.mean(pixels).reshape([1, 1])),
    encodeAndDetect: (pixels, minScore) => (
      calls.push(`detect ${minScore}`),
      Promise.resolve({ features: mean(pixels), objects: [PERSON] })
    ),
    ...(regions
      ? {
          encodeWithRegions: (pixels: tf.Tensor4D, minScore?: number) => (
            calls.push(`regions ${minScore}`),
            Promise.resolve({ features: mean(pixels), objects: [PERSON], regions: Float32Array.of(1, 2) })
          ),
        }
      : {}),
    dispose: () => undefined,
  };
}

const load = (encoder: Encoder) => CaptionService.load('models', 'unused', { loadEncoder: () => Promise.resolve(encoder) });

describe('CaptionService with a caption model that reads regions', () => {
  let png: Buffer;
  beforeAll(async () => {
    await initBackend(parseBackendName(process.env.TF_BACKEND));
    png = await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 10, g: 20, b: 30 } } })
      .png()
      .toBuffer();
  });

  it('asks the encoder for regions and passes them, with their objects, to the captioner', async () => {
    const [seen, calls]: [ImageEvidence[], string[]] = [[], []];
    model = fakeCaptioner(true, seen);
    const service = await load(fakeEncoder(true, calls));
    const out = await service.caption(png, DEFAULT_CAPTION_SEARCH);
    expect(out.captions.map((c) => c.text)).toEqual(['a thing']);
    expect(calls).toEqual(['regions 0.2']);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.objects).toEqual([PERSON]);
    expect(Array.from(seen[0]!.regions!)).toEqual([1, 2]);
    expect(Array.from(seen[0]!.features)).toEqual([20]);
  });

  it('does not ask for regions for a captioner that does not read them', async () => {
    const [seen, calls]: [ImageEvidence[], string[]] = [[], []];
    model = { ...fakeCaptioner(false, seen), featureDim: 1 };
    const service = await load(fakeEncoder(true, calls));
    await service.caption(png, DEFAULT_CAPTION_SEARCH);
    expect(calls).toEqual(['detect 0.2']);
    expect(seen[0]!.regions).toBeUndefined();
  });

  it('refuses, in one line naming the encoder to use, an encoder without regions; skips the feature-width check', async () => {
    model = fakeCaptioner(true, []);
    const err = await load(fakeEncoder(false, [])).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toBe('caption model fake-regions reads regions, which encoder fake does not give: use mobilenet_v2+centernet');
    // The same encoder (1-d features against featureDim 99) is refused for its width when regions are not read.
    model = fakeCaptioner(false, []);
    await expect(load(fakeEncoder(false, []))).rejects.toThrow('encoder fake gives 1-d features; the decoder expects 99');
  });
});
