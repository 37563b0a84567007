import * as tf from '@tensorflow/tfjs';
import { CENTERNET_NAME, loadCenterNet } from './centernet.js';
import { TFJS_RUNTIME, type ModelRuntime } from '../onnx/runtime.js';
import { loadMobileNet, MOBILENET_NAME } from './mobilenet.js';
import { loadOrtCenterNet } from './centernet-ort.js';
import { INCEPTION_NAME, loadInception } from './inception.js';
import { loadOrtInception, loadOrtMobileNet } from './ort.js';
import { encodeFeatures } from './pixels.js';
import { REGION_MAX_OBJECTS, regionDescriptors } from './regions.js';
import type { BatchRegions, DetectedObject, Encoder, FeaturesWithGrid } from './types.js';

export const ENCODER_NAMES = [MOBILENET_NAME, CENTERNET_NAME, INCEPTION_NAME] as const;
export type EncoderName = (typeof ENCODER_NAMES)[number];

/** Separator of a combined encoder's parts: "mobilenet_v2+centernet". */
export const COMBINE = '+';

/** Which runtime runs the encoders (mobilenet_v2, inception_v3 and centernet have an ONNX export). */
export type EncoderRuntime = ModelRuntime;

async function loadSingle(name: string, modelsDir: string, rt: EncoderRuntime): Promise<Encoder> {
  switch (name) {
    case MOBILENET_NAME:
      return rt.runtime === 'onnx' ? loadOrtMobileNet(modelsDir, rt.device) : loadMobileNet(modelsDir);
    case INCEPTION_NAME:
      return rt.runtime === 'onnx' ? loadOrtInception(modelsDir, rt.device) : loadInception();
    case CENTERNET_NAME:
      // The tfjs graph ships with @vladmandic/human (read from that package's models folder, not modelsDir);
      // its ONNX export lives in modelsDir/encoder/centernet/.
      return rt.runtime === 'onnx' ? loadOrtCenterNet(modelsDir, rt.device) : loadCenterNet();
    default:
      throw new Error(`unknown encoder "${name}"; known: ${ENCODER_NAMES.join(', ')} or several joined by "${COMBINE}"`);
  }
}

/** Each part's [n, dim_p] rows side by side: [n, Σ dim_p], row-major. */
function concatRows(rows: Float32Array[], parts: Encoder[], n: number): Float32Array {
  const dim = parts.reduce((d, p) => d + p.dim, 0);
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    let at = i * dim;
    parts.forEach((p, k) => {
      out.set(rows[k]!.subarray(i * p.dim, (i + 1) * p.dim), at);
      at += p.dim;
    });
  }
  return out;
}

/** One runtime when every part runs on it ("onnx"), else each part's joined by "+" ("onnx+tfjs"). */
function runtimeOf(parts: Encoder[]): string {
  const each = parts.map((p) => p.runtime ?? 'tfjs');
  return new Set(each).size === 1 ? each[0]! : each.join(COMBINE);
}

/**
 * The pixels a part takes: the combination's own, or resized down to the part's
 * smaller input (InceptionV3 takes 299, the others 224). Caller disposes a new tensor.
 */
function pixelsFor(part: Encoder, pixels: tf.Tensor4D): tf.Tensor4D {
  const s = part.inputSize;
  return pixels.shape[1] === s ? pixels : tf.image.resizeBilinear(pixels, [s, s], false, true);
}

async function withPixelsFor<T>(part: Encoder, pixels: tf.Tensor4D, run: (x: tf.Tensor4D) => Promise<T>): Promise<T> {
  const x = pixelsFor(part, pixels);
  try {
    return await run(x);
  } finally {
    if (x !== pixels) x.dispose();
  }
}

/**
 * Image i's regions: regionDescriptors of its slice of the [N, S_h, S_w, C] grid over `objects`, the whole image last,
 * with colours read from its slice of the [N, H, W, 3] pixels.
 */
function imageRegions(
  grid: FeaturesWithGrid,
  pixels: Float32Array,
  size: [number, number],
  i: number,
  objects: readonly DetectedObject[],
): Float32Array {
  const [S_h, S_w, C] = grid.gridShape;
  const cells = S_h * S_w * C;
  const [H, W] = size;
  const image = { data: pixels.subarray(i * H * W * 3, (i + 1) * H * W * 3), height: H, width: W };
  return regionDescriptors(grid.grid.subarray(i * cells, (i + 1) * cells), S_h, S_w, C, objects, image);
}

/**
 * Features of several encoders side by side, in the order named. The
 * combination takes the largest part's input; smaller parts see it resized.
 * If one part detects objects (centernet), so does the combination, with the
 * same features. If another part also has a feature grid (mobilenet_v2), the
 * combination gives regions too (encodeWithRegions): that part's grid pooled in
 * the detector's boxes, from the same run of each part as the features.
 */
export function combineEncoders(parts: Encoder[]): Encoder {
  const size = Math.max(...parts.map((p) => p.inputSize));
  const detector = parts.find((p) => p.encodeAndDetect);
  const encodeAndDetect: Encoder['encodeAndDetect'] = async (pixels, minScore) => {
    const rows: Float32Array[] = [];
    let objects: Awaited<ReturnType<NonNullable<Encoder['encodeAndDetect']>>>['objects'] = [];
    for (const p of parts) {
      if (p === detector) {
        const out = await withPixelsFor(p, pixels, (x) => p.encodeAndDetect!(x, minScore));
        rows.push(out.features);
        objects = out.objects;
      } else {
        rows.push(await withPixelsFor(p, pixels, (x) => encodeFeatures(p, x)));
      }
    }
    return { features: concatRows(rows, parts, 1), objects };
  };
  // The non-detecting parts (mobilenet_v2) encode the whole batch in one run; the detector goes image by image.
  const encodeAndDetectBatch: Encoder['encodeAndDetectBatch'] = async (pixels, minScore) => {
    const n = pixels.shape[0];
    const rows: Float32Array[] = [];
    const objects: DetectedObject[][] = [];
    for (const p of parts) {
      if (p === detector) {
        const out = await detectEach(p, pixels, minScore);
        rows.push(out.features);
        objects.push(...out.objects);
      } else {
        rows.push(await encodeFeatures(p, pixels));
      }
    }
    return { features: concatRows(rows, parts, n), objects };
  };
  // Regions: the grid part (mobilenet_v2) encodes the batch with its grid, the detector goes image by image as
  // above, and each image's regions are pooled from its grid in its (at most REGION_MAX_OBJECTS) boxes.
  const gridPart = parts.find((p) => p.encodeWithGrid && p !== detector);
  const encodeWithRegionsBatch = async (pixels: tf.Tensor4D, minScore?: number): Promise<BatchRegions> => {
    const n = pixels.shape[0];
    const rows: Float32Array[] = [];
    let objects: DetectedObject[][] = [];
    let grid: FeaturesWithGrid | undefined;
    for (const p of parts) {
      if (p === detector) {
        const out = await withPixelsFor(p, pixels, (x) => detectEach(p, x, minScore));
        rows.push(out.features);
        objects = out.objects.map((o) => o.slice(0, REGION_MAX_OBJECTS));
      } else if (p === gridPart) {
        grid = await withPixelsFor(p, pixels, (x) => p.encodeWithGrid!(x));
        rows.push(grid.features);
      } else {
        rows.push(await withPixelsFor(p, pixels, (x) => encodeFeatures(p, x)));
      }
    }
    const px = (await pixels.data()) as Float32Array;
    const size: [number, number] = [pixels.shape[1], pixels.shape[2]];
    return { features: concatRows(rows, parts, n), objects, regions: objects.map((o, i) => imageRegions(grid!, px, size, i, o)) };
  };
  const encodeWithRegions: Encoder['encodeWithRegions'] = async (pixels, minScore) => {
    if (pixels.shape[0] !== 1) throw new Error(`encodeWithRegions takes one image; got a batch of ${pixels.shape[0]}`);
    const out = await encodeWithRegionsBatch(pixels, minScore);
    return { features: out.features, objects: out.objects[0]!, regions: out.regions[0]! };
  };
  // Only needed when a part runs asynchronously (ORT); tfjs-only combinations keep encode().
  const encodeAsync = async (pixels: tf.Tensor4D): Promise<Float32Array> =>
    concatRows(await Promise.all(parts.map((p) => withPixelsFor(p, pixels, (x) => encodeFeatures(p, x)))), parts, pixels.shape[0]);
  return {
    ...(detector ? { encodeAndDetect, encodeAndDetectBatch } : {}),
    ...(detector && gridPart ? { encodeWithRegions, encodeWithRegionsBatch } : {}),
    ...(parts.some((p) => p.encodeAsync) ? { encodeAsync } : {}),
    name: parts.map((p) => p.name).join(COMBINE),
    runtime: runtimeOf(parts),
    dim: parts.reduce((n, p) => n + p.dim, 0),
    inputSize: size,
    encode: (pixels) =>
      tf.tidy(
        () =>
          tf.concat(
            parts.map((p) => p.encode(pixelsFor(p, pixels))),
            1,
          ) as tf.Tensor2D,
      ),
    dispose: () => parts.forEach((p) => p.dispose()),
  };
}

/** A detector's encodeAndDetectBatch when it has one, else its encodeAndDetect image by image. */
export async function detectEach(
  detector: Encoder,
  pixels: tf.Tensor4D,
  minScore?: number,
): Promise<{ features: Float32Array; objects: DetectedObject[][] }> {
  if (detector.encodeAndDetectBatch) return detector.encodeAndDetectBatch(pixels, minScore);
  const n = pixels.shape[0];
  if (n === 1) {
    // One image (a request alone, or encodeWithRegions): no slice to copy.
    const out = await detector.encodeAndDetect!(pixels, minScore);
    return { features: out.features, objects: [out.objects] };
  }
  const features = new Float32Array(n * detector.dim);
  const objects: DetectedObject[][] = [];
  for (let i = 0; i < n; i++) {
    const one = tf.slice(pixels, [i, 0, 0, 0], [1, -1, -1, -1]);
    try {
      const out = await detector.encodeAndDetect!(one, minScore);
      features.set(out.features, i * detector.dim);
      objects.push(out.objects);
    } finally {
      one.dispose();
    }
  }
  return { features, objects };
}

/** Load a shipped encoder, or a combination like "mobilenet_v2+centernet", on `rt` (tfjs when not given). */
export async function loadEncoder(name: string, modelsDir: string, rt: EncoderRuntime = TFJS_RUNTIME): Promise<Encoder> {
  const names = name.split(COMBINE);
  if (names.length === 1) return loadSingle(name, modelsDir, rt);
  return combineEncoders(await Promise.all(names.map((n) => loadSingle(n, modelsDir, rt))));
}

/** An encoder's encodeWithRegionsBatch when it has one, else its encodeWithRegions image by image. */
export async function regionsEach(encoder: Encoder, pixels: tf.Tensor4D, minScore?: number): Promise<BatchRegions> {
  if (encoder.encodeWithRegionsBatch) return encoder.encodeWithRegionsBatch(pixels, minScore);
  if (!encoder.encodeWithRegions) throw new Error(`encoder "${encoder.name}" gives no regions`);
  const n = pixels.shape[0];
  const out: BatchRegions = { features: new Float32Array(n * encoder.dim), objects: [], regions: [] };
  for (let i = 0; i < n; i++) {
    const one = n === 1 ? pixels : tf.slice(pixels, [i, 0, 0, 0], [1, -1, -1, -1]);
    try {
      const r = await encoder.encodeWithRegions(one, minScore);
      out.features.set(r.features, i * encoder.dim);
      out.objects.push(r.objects);
      out.regions.push(r.regions);
    } finally {
      if (one !== pixels) one.dispose();
    }
  }
  return out;
}
