import * as tf from '@tensorflow/tfjs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { generateCaptions } from '../caption/generate.js';
import type { CaptionModel } from '../caption/model.js';
import type { CaptionSearchOptions } from '../caption/options.js';
import type { CaptionedImage } from '../data/captions.js';
import { featureRow, indexKeys, type FeatureSet } from '../data/features.js';
import type { Encoder } from '../encoder/types.js';
import { decodeToRgb } from '../image/decode.js';
import { scoreCaptions, type CaptionScores } from './caption-metrics.js';
import { encodeRgb } from '../encoder/pixels.js';

/** One line of a COCO results file. */
export interface CocoResult {
  image_id: string | number;
  caption: string;
}

/** Where image features come from: a cache, or the encoder run on image files. */
export type FeatureSource = { kind: 'cache'; features: FeatureSet } | { kind: 'images'; dir: string; encoder: Encoder };

async function imageFeatures(source: FeatureSource, file: string, cache?: Map<string, number>): Promise<tf.Tensor2D | undefined> {
  if (source.kind === 'cache') {
    const row = cache!.get(file);
    return row === undefined ? undefined : tf.tensor2d(featureRow(source.features, row), [1, source.features.dim]);
  }
  const size = source.encoder.inputSize;
  const rgb = await decodeToRgb(await readFile(path.join(source.dir, file)), size);
  return encodeRgb(source.encoder, rgb);
}

/** Caption every image with `opts` and score against the references. */
export async function evaluateCaptions(
  model: CaptionModel,
  images: CaptionedImage[],
  source: FeatureSource,
  opts: CaptionSearchOptions,
  onProgress?: (done: number) => void,
): Promise<{ scores: CaptionScores; results: CocoResult[]; skipped: number }> {
  const cache = source.kind === 'cache' ? indexKeys(source.features) : undefined;
  const results: CocoResult[] = [];
  const refs = new Map<string | number, string[]>();
  const hyps = new Map<string | number, string>();
  let skipped = 0;
  for (const [i, img] of images.entries()) {
    const feats = await imageFeatures(source, img.file, cache);
    if (!feats) {
      skipped++;
      continue;
    }
    const [best] = generateCaptions(model, feats, { ...opts, n: 1 });
    feats.dispose();
    const caption = best?.text ?? '';
    results.push({ image_id: img.id, caption });
    hyps.set(img.id, caption);
    refs.set(img.id, img.captions);
    onProgress?.(i + 1);
  }
  return { scores: scoreCaptions(refs, hyps), results, skipped };
}
