import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileLoader } from '../nn/io.js';
import { readFeaturesWithGrid } from './grid.js';
import { COCO_LABELS, type DetectedObject, type Encoder } from './types.js';

export const CENTERNET_NAME = 'centernet';

const HUMAN_PACKAGE = '@vladmandic/human';
const MODEL_FILE = 'centernet.json';
export const INPUT_NODE = 'tower_0/images';
/** Last backbone block (MobileNetV3 + 1×1 "extern1" conv): a 480-channel grid at stride 32. */
export const FEATURE_NODE = 'tower_0/extern1/hard_swish/mul_1';
/** The head's top-100 peaks of the class heatmap after its 3×3 max-pool suppression: [1, 100] scores, then (":1") flat indices into [S/4, S/4, 80]. */
export const TOPK_NODE = 'tower_0/TopKV2';
/** The head's box sizes [1, S/4, S/4, 4] in input pixels: left, top, right, bottom extents from a peak. */
export const WH_NODE = 'tower_0/wh';
/** Channels of FEATURE_NODE: the length of the pooled feature vector. */
export const CENTERNET_DIM = 480;
/** [1, 100, 6]: x1, y1, x2, y2 (pixels of the 512 input), score, class index (0 = person). */
const DETECTIONS_NODE = 'tower_0/detections';
/** The head's upsample sizes, reshapes and box scales are constants baked for 512×512. */
const GRAPH_SIZE = 512;

/**
 * Side of the square input the encoder takes (Encoder.inputSize).
 *
 * Measured on wasm (tfjs 4.22, one thread, the other core busy with another
 * job; Flickr8k JPEGs decoded to the size; mean over 20 images, best of 4 rounds):
 *
 *   input  encode (backbone → 480-d)   encodeAndDetect (features + detections)
 *   512     80 ms/image                149 ms (one execute of both nodes)
 *   320     30 ms
 *   256     21 ms
 *   224     16 ms                      170 ms (224 backbone + 512 detection pass)
 *
 * Smaller inputs only work once the Placeholder's declared [1, 512, 512, 3] is
 * relaxed (anyInputShape below); the backbone is then fully convolutional. The
 * detection head has its upsample sizes and heatmap width baked for 512 (it
 * throws at 224 as shipped); headForSize rewrites those constants so it runs at
 * any multiple of 32 (CENTERNET_DETECT_SIZE; docs/grounding.md compares sizes).
 *
 * Chosen: 224, our images' native size (no 2.3× upsampling), 5× cheaper to
 * encode than 512. Detection quality does not need large objects either: the
 * same 40 images padded into the 512 canvas at 224 scale gave 1.5 labels ≥ 0.3
 * and a mean top score of 0.53, vs 1.3 and 0.51 when upsampled to fill 512.
 * Detections now run at 224 too (CENTERNET_DETECT_SIZE), in the same pass.
 */
export const CENTERNET_INPUT_SIZE = 224;

/**
 * Side the detection head runs at: 224, the encoder's own input, so one forward
 * pass gives features and detections (38 ms against 175–192 ms for 224→512 in
 * scripts/bench-detect-size.ts on coco-dev, with the same recall at score 0.1:
 * 0.859 vs 0.845; docs/grounding.md has the table).
 */
export const CENTERNET_DETECT_SIZE = CENTERNET_INPUT_SIZE;

/** Default score threshold for reported objects (human's own default is 0.2). */
export const DEFAULT_MIN_SCORE = 0.3;
/** Same-class boxes overlapping more than this are one object (human: 0.4, but across classes). */
const IOU_THRESHOLD = 0.4;

/** One entry per detected class: its best score and how many boxes of it were found. */
export interface ObjectLabel {
  label: string;
  score: number;
  count: number;
}

export interface CenterNetEncoder extends Encoder {
  /** Side of the square input the detection head runs at. */
  readonly detectSize: number;
  /** Objects per image (pixels: [N, S, S, 3], 0..255), best first. */
  detect(pixels: tf.Tensor4D, minScore?: number): Promise<DetectedObject[][]>;
  /** Distinct object classes in one image (pixels: [1, S, S, 3]), best first. */
  detectLabels(pixels: tf.Tensor4D, minScore?: number): Promise<ObjectLabel[]>;
  /** Features and objects of one image (pixels: [1, S, S, 3]) from a single forward pass. */
  encodeAndDetect(pixels: tf.Tensor4D, minScore?: number): Promise<{ features: Float32Array; objects: DetectedObject[] }>;
}

export function isCenterNetEncoder(encoder: Encoder): encoder is CenterNetEncoder {
  return encoder.name === CENTERNET_NAME && 'encodeAndDetect' in encoder;
}

/**
 * The folder of @vladmandic/human's bundled models. Its exports map hides
 * package.json, so resolve the main entry and walk up to the package root.
 */
export function humanModelsDir(): string {
  const entry = createRequire(import.meta.url).resolve(HUMAN_PACKAGE);
  for (let dir = path.dirname(entry); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (!existsSync(pkg)) continue;
    const { name } = JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown };
    if (name === HUMAN_PACKAGE) return path.join(dir, 'models');
  }
  throw new Error(`cannot find the ${HUMAN_PACKAGE} package folder above ${entry}`);
}

interface GraphNode {
  op?: unknown;
  attr?: { shape?: { shape?: { dim?: { size?: string }[] } } };
}

/**
 * model.json declares its input as [1, 512, 512, 3], and GraphModel.execute
 * refuses any other shape. Relax it to [-1, -1, -1, 3]: the backbone is fully
 * convolutional, so features can be taken for any batch and size; only the
 * detection head (constant reshapes and upsample sizes) still needs [1, 512, 512, 3].
 */
function anyInputShape(handler: tf.io.IOHandler): tf.io.IOHandler {
  return {
    load: async () => {
      const artifacts = await handler.load!();
      const topology = artifacts.modelTopology as { node?: GraphNode[] } | undefined;
      for (const node of topology?.node ?? []) {
        const dim = node.attr?.shape?.shape?.dim;
        if (node.op === 'Placeholder' && dim?.length === 4) for (const d of dim.slice(0, 3)) d.size = '-1';
      }
      return artifacts;
    },
  };
}

/** Head constants that depend on the input side S (a multiple of 32): each maps S to its value. */
const SIZE_CONSTANTS: Record<string, (s: number) => number[]> = {
  'tower_0/CenternetHead/c5_upsample/up_sampling2d/mul': (s) => [s / 16, s / 16],
  'tower_0/CenternetHead/c4_upsample/up_sampling2d_1/mul': (s) => [s / 8, s / 8],
  'tower_0/CenternetHead/c3_upsample/up_sampling2d_2/mul': (s) => [s / 4, s / 4],
  /** Width of the stride-4 heatmap: TopK's flat index → row, column. */
  'tower_0/strided_slice_6': (s) => [s / 4],
  /** The size map flattened to [(S/4)², 4] before gathering the top-100 boxes. */
  'tower_0/BatchGather/concat': (s) => [(s / 4) ** 2, 4],
};

const BYTES: Record<string, number> = { float32: 4, int32: 4, uint8: 1, uint16: 2, float16: 2 };

/**
 * The graph's detection head has its upsample sizes and heatmap width baked
 * as int32 constants for 512×512. They are plain weights, so the head runs at
 * another side S (a multiple of 32) once those five are rewritten for S; box
 * coordinates then come out in pixels of S. Checked against 512 in the tests.
 */
function headForSize(handler: tf.io.IOHandler, size: number): tf.io.IOHandler {
  if (size % 32 !== 0 || size < 64) throw new Error(`centernet detection size must be a multiple of 32, at least 64; got ${size}`);
  return {
    load: async () => {
      const artifacts = await handler.load!();
      if (size === GRAPH_SIZE) return artifacts;
      const { weightSpecs, weightData } = artifacts;
      if (!weightSpecs || !weightData || Array.isArray(weightData)) throw new Error('centernet weights are not one buffer');
      const data = weightData.slice(0);
      let offset = 0;
      const patched = new Set<string>();
      for (const spec of weightSpecs) {
        const count = spec.shape.reduce((n, d) => n * d, 1);
        const bytes = count * BYTES[spec.quantization?.dtype ?? spec.dtype]!;
        const value = SIZE_CONSTANTS[spec.name];
        if (value) {
          if (spec.dtype !== 'int32' || spec.quantization) throw new Error(`centernet constant ${spec.name} is not plain int32`);
          const view = new DataView(data, offset, bytes);
          value(size).forEach((v, i) => view.setInt32(4 * i, v, true));
          patched.add(spec.name);
        }
        offset += bytes;
      }
      const missing = Object.keys(SIZE_CONSTANTS).filter((k) => !patched.has(k));
      if (missing.length > 0) throw new Error(`centernet graph lacks the head constants ${missing.join(', ')}`);
      return { ...artifacts, weightData: data };
    },
  };
}

/** The graph's files (centernet.json + .bin) under `modelDir`. */
export function centerNetFiles(modelDir: string = humanModelsDir()): string[] {
  return [path.join(modelDir, MODEL_FILE), path.join(modelDir, MODEL_FILE.replace(/\.json$/, '.bin'))];
}

/** The graph's artifacts with any input shape and the head set for `detectSize` (as loadCenterNet runs it). */
export async function centerNetArtifacts(modelDir: string = humanModelsDir(), detectSize: number = CENTERNET_DETECT_SIZE) {
  return headForSize(anyInputShape(fileLoader(path.join(modelDir, MODEL_FILE))), detectSize).load!();
}

/**
 * The graph's detection rows ([100 × 6]: x1, y1, x2, y2, score, class) from
 * its TopK peaks, as its FloorDiv/FloorMod/GatherV2 tail computes them: a
 * flat index into [H, W, classes] is a cell (row, column) and a class; the box
 * is the cell's corner in input pixels (× stride) minus/plus the sizes at that
 * cell. For runtimes whose graph stops at TopK (the ONNX export).
 */
export function peaksToRows(scores: Float32Array, indices: Int32Array, wh: Float32Array, grid: number, stride: number): Float32Array {
  const classes = COCO_LABELS.length;
  const rows = new Float32Array(scores.length * 6);
  scores.forEach((score, k) => {
    const flat = indices[k]!;
    const cell = Math.floor(flat / classes);
    const x = (cell % grid) * stride;
    const y = Math.floor(cell / grid) * stride;
    const at = cell * 4;
    rows.set([x - wh[at]!, y - wh[at + 1]!, x + wh[at + 2]!, y + wh[at + 3]!, score, flat % classes], k * 6);
  });
  return rows;
}

function iou(a: DetectedObject['box'], b: DetectedObject['box']): number {
  const x1 = Math.max(a[0], b[0]);
  const y1 = Math.max(a[1], b[1]);
  const x2 = Math.min(a[0] + a[2], b[0] + b[2]);
  const y2 = Math.min(a[1] + a[3], b[1] + b[3]);
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
  const union = a[2] * a[3] + b[2] * b[3] - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Decode one image's [100, 6] detection rows the way human does (x1, y1, x2, y2
 * in pixels of the `size` input, score, 0-based COCO class), keeping rows at or
 * above `minScore`, then drop same-class boxes that overlap a better one.
 */
export function decodeDetections(rows: Float32Array, minScore: number, size: number = GRAPH_SIZE): DetectedObject[] {
  const found: DetectedObject[] = [];
  for (let r = 0; r + 6 <= rows.length; r += 6) {
    const score = rows[r + 4]!;
    const classId = rows[r + 5]!;
    if (!(score >= minScore) || !Number.isInteger(classId)) continue;
    const label = COCO_LABELS[classId];
    if (label === undefined) continue;
    const clamp = (v: number) => Math.min(1, Math.max(0, v / size));
    const x1 = clamp(rows[r]!);
    const y1 = clamp(rows[r + 1]!);
    const x2 = clamp(rows[r + 2]!);
    const y2 = clamp(rows[r + 3]!);
    found.push({ label, classId, score, box: [x1, y1, x2 - x1, y2 - y1] });
  }
  found.sort((a, b) => b.score - a.score);
  const kept: DetectedObject[] = [];
  for (const d of found) {
    if (!kept.some((k) => k.classId === d.classId && iou(k.box, d.box) > IOU_THRESHOLD)) kept.push(d);
  }
  return kept;
}

/** Collapse detections to one entry per class, best score first. */
export function labelsOf(objects: DetectedObject[]): ObjectLabel[] {
  const byLabel = new Map<string, ObjectLabel>();
  for (const o of objects) {
    const seen = byLabel.get(o.label);
    if (seen) {
      seen.count++;
      seen.score = Math.max(seen.score, o.score);
    } else byLabel.set(o.label, { label: o.label, score: o.score, count: 1 });
  }
  return [...byLabel.values()].sort((a, b) => b.score - a.score);
}

/**
 * CenterNet (MobileNetV3 backbone, COCO detection) from @vladmandic/human 3.3.6,
 * read from disk. Preprocessing follows human's src/object/centernet.ts: RGB
 * float32 in 0..255 straight into the graph, no mean/std normalisation.
 *
 * The image vector is FEATURE_NODE at `inputSize` ([N, S/32, S/32, 480]: 7×7
 * at 224) global-average pooled to 480-d. Detections run the head at
 * `detectSize` (the image bilinearly resized to it); when it equals
 * `inputSize` one forward pass gives both. `modelDir` holds centernet.json +
 * centernet.bin; it defaults to the human package's models folder.
 */
export async function loadCenterNet(
  modelDir: string = humanModelsDir(),
  inputSize: number = CENTERNET_INPUT_SIZE,
  detectSize: number = CENTERNET_DETECT_SIZE,
): Promise<CenterNetEncoder> {
  const model = await tf.loadGraphModel(tf.io.fromMemory(await centerNetArtifacts(modelDir, detectSize)));
  const dim = CENTERNET_DIM;

  const toGraphInput = (pixels: tf.Tensor4D, size: number): tf.Tensor4D => {
    if (pixels.shape[1] !== inputSize || pixels.shape[2] !== inputSize || pixels.shape[3] !== 3) {
      throw new Error(`centernet expects [N, ${inputSize}, ${inputSize}, 3] pixels; got [${pixels.shape.join(', ')}]`);
    }
    const x = tf.cast(pixels, 'float32');
    return inputSize === size ? x : tf.image.resizeBilinear(x, [size, size]);
  };
  const pool = (grid: tf.Tensor): tf.Tensor2D => tf.mean(grid, [1, 2]) as tf.Tensor2D;

  /** Features ([1, dim]) and detection rows ([1, 100, 6]) for one image; inside a tidy. */
  const forward = (image: tf.Tensor4D): { features: tf.Tensor2D; detections: tf.Tensor } => {
    if (inputSize === detectSize) {
      const [grid, detections] = model.execute({ [INPUT_NODE]: toGraphInput(image, detectSize) }, [
        FEATURE_NODE,
        DETECTIONS_NODE,
      ]) as tf.Tensor[];
      return { features: pool(grid!), detections: detections! };
    }
    const grid = model.execute({ [INPUT_NODE]: toGraphInput(image, inputSize) }, FEATURE_NODE) as tf.Tensor;
    const detections = model.execute({ [INPUT_NODE]: toGraphInput(image, detectSize) }, DETECTIONS_NODE) as tf.Tensor;
    return { features: pool(grid), detections };
  };

  const encodeAndDetect: CenterNetEncoder['encodeAndDetect'] = async (pixels, minScore = DEFAULT_MIN_SCORE) => {
    if (pixels.shape[0] !== 1) throw new Error(`encodeAndDetect takes one image; got a batch of ${pixels.shape[0]}`);
    const { features, detections } = tf.tidy(() => forward(pixels));
    try {
      const [f, d] = await Promise.all([features.data(), detections.data()]);
      return { features: f as Float32Array, objects: decodeDetections(d as Float32Array, minScore, detectSize) };
    } finally {
      features.dispose();
      detections.dispose();
    }
  };

  // The head's reshapes fix the batch at 1, so detection runs image by image.
  const detect: CenterNetEncoder['detect'] = async (pixels, minScore = DEFAULT_MIN_SCORE) => {
    const out: DetectedObject[][] = [];
    for (let i = 0; i < pixels.shape[0]; i++) {
      const rows = tf.tidy(() => {
        const image = pixels.slice([i, 0, 0, 0], [1, -1, -1, -1]);
        return model.execute({ [INPUT_NODE]: toGraphInput(image, detectSize) }, DETECTIONS_NODE) as tf.Tensor;
      });
      try {
        out.push(decodeDetections((await rows.data()) as Float32Array, minScore, detectSize));
      } finally {
        rows.dispose();
      }
    }
    return out;
  };

  return {
    name: CENTERNET_NAME,
    dim,
    inputSize,
    detectSize,
    // The backbone alone is fully convolutional: any batch size, and the head is skipped.
    encode: (pixels) => tf.tidy(() => pool(model.execute({ [INPUT_NODE]: toGraphInput(pixels, inputSize) }, FEATURE_NODE) as tf.Tensor)),
    detect,
    detectLabels: async (pixels, minScore = DEFAULT_MIN_SCORE) => {
      if (pixels.shape[0] !== 1) throw new Error(`detectLabels takes one image; got a batch of ${pixels.shape[0]}`);
      const [objects] = await detect(pixels, minScore);
      return labelsOf(objects ?? []);
    },
    encodeAndDetect,
    // The backbone's grid ([N, 7, 7, 480] at 224) beside its average: issue 21's grid screen pools it in each
    // region (scripts/widen-regions.ts). Not on onnxruntime: its graph averages the grid inside.
    encodeWithGrid: (pixels) => {
      const [features, grid] = tf.tidy(() => {
        const g = model.execute({ [INPUT_NODE]: toGraphInput(pixels, inputSize) }, FEATURE_NODE) as tf.Tensor4D;
        return [pool(g), g] as const;
      });
      return readFeaturesWithGrid(features, grid);
    },
    dispose: () => model.dispose(),
  };
}
