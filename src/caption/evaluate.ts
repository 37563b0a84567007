/**
 * Caption evaluation (npm run eval:caption): caption every image of a
 * references file, from cached features or regions, or the encoder run on the
 * images, and score the captions with eval/'s metrics (BLEU, ROUGE-L, CIDEr-D).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CaptionedImage } from '../data/captions.js';
import { featureRow, indexKeys, type FeatureSet } from '../data/features.js';
import { imageRegions, regionOffsets, type RegionSet } from '../data/regions.js';
import { rgbBatch } from '../encoder/pixels.js';
import type { Encoder } from '../encoder/types.js';
import { scoreCaptions, type CaptionScores } from '../eval/caption-metrics.js';
import { decodeToRgb } from '../image/decode.js';
import type { CaptionOut, Captioner, ImageEvidence } from './captioner.js';
import type { CaptionSearchOptions } from './options.js';

/** One line of a COCO results file. */
export interface CocoResult {
  image_id: string | number;
  caption: string;
}

/**
 * Where image evidence comes from: a feature cache, a region cache (attention models:
 * each image's detections and region descriptors), or the encoder run on image files.
 */
export type FeatureSource =
  { kind: 'cache'; features: FeatureSet } | { kind: 'regions'; regions: RegionSet } | { kind: 'images'; dir: string; encoder: Encoder };

/** Image file → what to read it from in a cached source. */
type Lookup = (file: string) => ImageEvidence | undefined;

function cacheLookup(source: FeatureSource, minScore: number): Lookup | undefined {
  if (source.kind === 'cache') {
    const rows = indexKeys(source.features);
    return (file) => {
      const row = rows.get(file);
      if (row === undefined) return undefined;
      const objects = (source.features.detections?.[row] ?? []).filter((o) => o.score >= minScore);
      return { features: featureRow(source.features, row), objects };
    };
  }
  if (source.kind === 'regions') {
    const set = source.regions;
    const rows = new Map(set.keys.map((k, i) => [k, i]));
    const offsets = regionOffsets(set);
    // Every cached detection with its row: the captioner selects (selectRegions), and the rows
    // must stay aligned with the objects they describe.
    return (file) => {
      const row = rows.get(file);
      if (row === undefined) return undefined;
      return { features: new Float32Array(0), objects: set.detections[row]!, regions: imageRegions(set, offsets, row) };
    };
  }
  return undefined;
}

async function encodeFile(source: Extract<FeatureSource, { kind: 'images' }>, file: string, minScore: number): Promise<ImageEvidence> {
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

/** Images captioned per captionMany call: enough rows per decoder step to amortise its overhead, few enough to keep memory small. */
const CHUNK = 32;

/**
 * Caption every image with `opts` and score against the references. `results` keeps every
 * output by image id, `outputs` the same captions with their words (links, and β for attention
 * models). A captioner with captionMany captions a chunk of images in lockstep, which gives the
 * captions each gets alone.
 */
export async function evaluateCaptions(
  captioner: Captioner,
  images: CaptionedImage[],
  source: FeatureSource,
  opts: CaptionSearchOptions,
  onProgress?: (done: number) => void,
): Promise<{ scores: CaptionScores; results: CocoResult[]; outputs: CaptionOut[]; skipped: number }> {
  const lookup = cacheLookup(source, captioner.minScore);
  const one = { ...opts, n: 1 };
  const results: CocoResult[] = [];
  const outputs: CaptionOut[] = [];
  const refs = new Map<string | number, string[]>();
  const hyps = new Map<string | number, string>();
  let skipped = 0;
  for (let from = 0; from < images.length; from += CHUNK) {
    const chunk: { at: number; img: CaptionedImage; evidence: ImageEvidence }[] = [];
    for (const [j, img] of images.slice(from, from + CHUNK).entries()) {
      const evidence = lookup
        ? lookup(img.file)
        : await encodeFile(source as Extract<FeatureSource, { kind: 'images' }>, img.file, captioner.minScore);
      if (evidence) chunk.push({ at: from + j, img, evidence });
      else skipped++;
    }
    const captioned = captioner.captionMany
      ? captioner.captionMany(chunk.map((c) => ({ image: c.evidence, opts: one })))
      : chunk.map((c) => captioner.caption(c.evidence, one));
    chunk.forEach(({ at, img }, j) => {
      const out = captioned[j]!;
      if (out instanceof Error) throw out;
      const best = out[0] ?? { text: '', logprob: 0, words: [] };
      results.push({ image_id: img.id, caption: best.text });
      outputs.push(best);
      hyps.set(img.id, best.text);
      refs.set(img.id, img.captions);
      onProgress?.(at + 1);
    });
  }
  return { scores: scoreCaptions(refs, hyps), results, outputs, skipped };
}
