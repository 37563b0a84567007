/**
 * Caption evaluation (npm run eval:caption): caption every image of a
 * references file, from cached features or the encoder run on the images, and
 * score the captions with eval/'s metrics (BLEU, ROUGE-L, CIDEr-D).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CaptionedImage } from '../data/captions.js';
import { featureRow, indexKeys, type FeatureSet } from '../data/features.js';
import { rgbBatch } from '../encoder/pixels.js';
import type { Encoder } from '../encoder/types.js';
import { scoreCaptions, type CaptionScores } from '../eval/caption-metrics.js';
import { decodeToRgb } from '../image/decode.js';
import type { Captioner, ImageEvidence } from './captioner.js';
import type { CaptionSearchOptions } from './options.js';

/** One line of a COCO results file. */
export interface CocoResult {
  image_id: string | number;
  caption: string;
}

/** Where image features come from: a cache, or the encoder run on image files. */
export type FeatureSource = { kind: 'cache'; features: FeatureSet } | { kind: 'images'; dir: string; encoder: Encoder };

async function evidenceOf(
  source: FeatureSource,
  file: string,
  minScore: number,
  cache?: Map<string, number>,
): Promise<ImageEvidence | undefined> {
  if (source.kind === 'cache') {
    const row = cache!.get(file);
    if (row === undefined) return undefined;
    const objects = (source.features.detections?.[row] ?? []).filter((o) => o.score >= minScore);
    return { features: featureRow(source.features, row), objects };
  }
  const { encoder } = source;
  const rgb = await decodeToRgb(await readFile(path.join(source.dir, file)), encoder.inputSize);
  const x = rgbBatch(rgb);
  try {
    if (encoder.encodeAndDetect) return await encoder.encodeAndDetect(x, minScore);
    const f = encoder.encode(x);
    const features = (await f.data()) as Float32Array;
    f.dispose();
    return { features, objects: [] };
  } finally {
    x.dispose();
  }
}

/** Caption every image with `opts` and score against the references; `captions` keeps every output by image id. */
export async function evaluateCaptions(
  captioner: Captioner,
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
    const evidence = await evidenceOf(source, img.file, captioner.minScore, cache);
    if (!evidence) {
      skipped++;
      continue;
    }
    const [best] = captioner.caption(evidence, { ...opts, n: 1 });
    const caption = best?.text ?? '';
    results.push({ image_id: img.id, caption });
    hyps.set(img.id, caption);
    refs.set(img.id, img.captions);
    onProgress?.(i + 1);
  }
  return { scores: scoreCaptions(refs, hyps), results, skipped };
}
