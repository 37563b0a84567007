import { readFile, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { invalidFile } from '../util/zod-error.js';
import { COCO_LABELS, type DetectedObject } from '../encoder/types.js';

/**
 * Feature cache: encoder outputs for a set of images, computed once per
 * dataset so that training never re-runs the CNN.
 *
 * Layout: "CAPFEAT1" | uint32 LE header length | JSON header | float32 LE rows.
 * Header version 2 adds `detections`, one list per key of compact rows
 * [classId, score, x, y, w, h] (box as fractions of the image). Version 1
 * headers (no `version` field) still read; readers that predate version 2
 * ignore the extra fields.
 */
const MAGIC = Buffer.from('CAPFEAT1');

/** One detection as stored: [classId, score, x, y, w, h]. */
export const detectionRow = z.tuple([
  z
    .number()
    .int()
    .min(0)
    .max(COCO_LABELS.length - 1),
  z.number().min(0).max(1),
  z.number(),
  z.number(),
  z.number(),
  z.number(),
]);

const headerSchema = z.object({
  version: z.union([z.literal(1), z.literal(2)]).default(1),
  encoder: z.string().min(1),
  dim: z.number().int().positive(),
  keys: z.array(z.string()),
  detections: z.array(z.array(detectionRow)).optional(),
});

export interface FeatureSet {
  encoder: string;
  dim: number;
  /** Image keys (file names), one per row. */
  keys: string[];
  /** keys.length × dim floats, row-major. */
  data: Float32Array;
  /** Objects detected in each image (parallel to keys), when the encoder detected them. */
  detections?: DetectedObject[][];
}

/** Six decimals: far below the detector's own noise, and a readable header. */
const round = (v: number) => Math.round(v * 1e6) / 1e6;

export function toRow(o: DetectedObject): z.infer<typeof detectionRow> {
  return [o.classId, round(o.score), ...(o.box.map(round) as [number, number, number, number])];
}

export function fromRow([classId, score, x, y, w, h]: z.infer<typeof detectionRow>): DetectedObject {
  return { label: COCO_LABELS[classId]!, classId, score, box: [x, y, w, h] };
}

export function featureRow(set: FeatureSet, index: number): Float32Array {
  return set.data.subarray(index * set.dim, (index + 1) * set.dim);
}

/** Map from image key to row index. */
export function indexKeys(set: FeatureSet): Map<string, number> {
  return new Map(set.keys.map((k, i) => [k, i]));
}

export function encodeFeatureSet(set: FeatureSet): Buffer {
  if (set.data.length !== set.keys.length * set.dim) {
    throw new Error(`feature data has ${set.data.length} floats; expected ${set.keys.length} × ${set.dim}`);
  }
  if (set.detections && set.detections.length !== set.keys.length) {
    throw new Error(`feature set has detections for ${set.detections.length} images; expected ${set.keys.length}`);
  }
  const head = set.detections
    ? { version: 2, encoder: set.encoder, dim: set.dim, keys: set.keys, detections: set.detections.map((d) => d.map(toRow)) }
    : { encoder: set.encoder, dim: set.dim, keys: set.keys };
  const header = Buffer.from(JSON.stringify(head));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length);
  const body = Buffer.from(set.data.buffer, set.data.byteOffset, set.data.byteLength);
  return Buffer.concat([MAGIC, len, header, body]);
}

export function decodeFeatureSet(buf: Buffer, source = 'feature file'): FeatureSet {
  if (buf.length < 12 || !buf.subarray(0, 8).equals(MAGIC)) {
    throw new Error(`${source} is not a captioner feature cache (missing CAPFEAT1 header); build it with npm run features`);
  }
  const headerLen = buf.readUInt32LE(8);
  const parsed = headerSchema.safeParse(JSON.parse(buf.subarray(12, 12 + headerLen).toString('utf8')));
  if (!parsed.success) throw invalidFile(parsed.error, source, 'a valid feature cache header');
  const { version, detections, ...header } = parsed.data;
  if (detections && detections.length !== header.keys.length) {
    throw new Error(`${source} has detections for ${detections.length} images but ${header.keys.length} keys`);
  }
  if (version === 1 && detections) throw new Error(`${source}: a version 1 header cannot hold detections`);
  const body = buf.subarray(12 + headerLen);
  const expected = header.keys.length * header.dim * 4;
  if (body.length !== expected) {
    throw new Error(`${source} is truncated: ${body.length} bytes of features, expected ${expected}`);
  }
  // Copy so the floats are 4-byte aligned whatever the header length.
  const data = new Float32Array(header.keys.length * header.dim);
  new Uint8Array(data.buffer).set(body);
  return { ...header, data, ...(detections ? { detections: detections.map((d) => d.map(fromRow)) } : {}) };
}

export async function writeFeatureSet(file: string, set: FeatureSet): Promise<void> {
  await writeFile(file, encodeFeatureSet(set));
}

export async function readFeatureSet(file: string): Promise<FeatureSet> {
  return decodeFeatureSet(await readFile(file), file);
}

/** Concatenate two feature sets column-wise over their shared keys (combined encoders). */
export function concatFeatureSets(a: FeatureSet, b: FeatureSet): FeatureSet {
  const bIndex = indexKeys(b);
  const keys = a.keys.filter((k) => bIndex.has(k));
  const dim = a.dim + b.dim;
  const data = new Float32Array(keys.length * dim);
  const aIndex = indexKeys(a);
  keys.forEach((k, i) => {
    data.set(featureRow(a, aIndex.get(k)!), i * dim);
    data.set(featureRow(b, bIndex.get(k)!), i * dim + a.dim);
  });
  // Detections come from one detector: take them from whichever set has them (a's first).
  const from = a.detections ? { set: a, index: aIndex } : b.detections ? { set: b, index: bIndex } : undefined;
  const detections = from && keys.map((k) => from.set.detections![from.index.get(k)!]!);
  return { encoder: `${a.encoder}+${b.encoder}`, dim, keys, data, ...(detections ? { detections } : {}) };
}

/**
 * The set with each row's per-class detection scores appended (the d vector:
 * each COCO class's best score, 0 when not detected): dim + 80 values per row.
 */
export function withClassScores(set: FeatureSet, classScores: (objects: DetectedObject[]) => Float32Array): FeatureSet {
  if (!set.detections) throw new Error('the feature cache has no detections: rebuild it with npm run features -- --detections');
  const extra = COCO_LABELS.length;
  const dim = set.dim + extra;
  const data = new Float32Array(set.keys.length * dim);
  set.keys.forEach((_, i) => {
    data.set(featureRow(set, i), i * dim);
    data.set(classScores(set.detections![i]!), i * dim + set.dim);
  });
  return { ...set, dim, data };
}
