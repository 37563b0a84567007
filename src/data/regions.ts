import * as tf from '@tensorflow/tfjs';
import { readFile, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { roiAveragePool, selectRegions, type SelectedRegions } from '../encoder/regions.js';
import type { DetectedObject } from '../encoder/types.js';
import { featureStats } from '../nn/feature-norm.js';
import { invalidFile } from '../util/zod-error.js';
import { detectionRow, fromRow, toRow } from './features.js';

/**
 * Region cache (issue 21): each image's region descriptors (src/encoder/regions.ts),
 * computed once per dataset by `npm run features -- --regions` so that training
 * never re-runs the CNN or the detector.
 *
 * Layout: "CAPREG01" | uint32 LE header length | JSON header | float32 LE rows.
 * Image i owns `counts[i]` consecutive rows of `dim` floats: one per detection in
 * `detections[i]` (best first), then the whole image (its last row).
 */
const MAGIC = Buffer.from('CAPREG01');

const headerSchema = z.object({
  version: z.literal(1),
  encoder: z.string().min(1),
  dim: z.number().int().positive(),
  /** Side of the feature grid the regions were pooled from, [S_h, S_w, C]. */
  grid: z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]),
  /** Lowest detection score kept, and the most detections kept per image. */
  minScore: z.number().min(0).max(1),
  maxRegions: z.number().int().positive(),
  keys: z.array(z.string()),
  detections: z.array(z.array(detectionRow)),
});

export interface RegionSet {
  encoder: string;
  /** Width of one region descriptor. */
  dim: number;
  grid: [number, number, number];
  minScore: number;
  maxRegions: number;
  /** Image keys (file names). */
  keys: string[];
  /** Each image's detections: its first detections.length rows, in this order; its last row is the whole image. */
  detections: DetectedObject[][];
  /** Σ (detections[i].length + 1) rows × dim floats. */
  data: Float32Array;
}

/** Where each image's rows start (one more entry than images: the end). */
export function regionOffsets(set: Pick<RegionSet, 'detections'>): Int32Array {
  const out = new Int32Array(set.detections.length + 1);
  set.detections.forEach((d, i) => (out[i + 1] = out[i]! + d.length + 1));
  return out;
}

/** Image i's rows [count, dim], row-major (a view, not a copy). */
export function imageRegions(set: RegionSet, offsets: Int32Array, i: number): Float32Array {
  return set.data.subarray(offsets[i]! * set.dim, offsets[i + 1]! * set.dim);
}

export function encodeRegionSet(set: RegionSet): Buffer {
  const rows = regionOffsets(set).at(-1)!;
  if (set.detections.length !== set.keys.length)
    throw new Error(`region set has detections for ${set.detections.length} images; expected ${set.keys.length}`);
  if (set.data.length !== rows * set.dim) throw new Error(`region data has ${set.data.length} floats; expected ${rows} × ${set.dim}`);
  const { data, detections, ...rest } = set;
  const header = Buffer.from(JSON.stringify({ version: 1, ...rest, detections: detections.map((d) => d.map(toRow)) }));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length);
  return Buffer.concat([MAGIC, len, header, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

export function decodeRegionSet(buf: Buffer, source = 'region file'): RegionSet {
  if (buf.length < 12 || !buf.subarray(0, 8).equals(MAGIC))
    throw new Error(`${source} is not a captioner region cache (missing CAPREG01 header); build it with npm run features -- --regions`);
  const headerLen = buf.readUInt32LE(8);
  const parsed = headerSchema.safeParse(JSON.parse(buf.subarray(12, 12 + headerLen).toString('utf8')));
  if (!parsed.success) throw invalidFile(parsed.error, source, 'a valid region cache header');
  const { version: _version, detections: rows, ...header } = parsed.data;
  if (rows.length !== header.keys.length)
    throw new Error(`${source} has detections for ${rows.length} images but ${header.keys.length} keys`);
  const detections = rows.map((d) => d.map(fromRow));
  const body = buf.subarray(12 + headerLen);
  const expected = regionOffsets({ detections }).at(-1)! * header.dim * 4;
  if (body.length !== expected) throw new Error(`${source} is truncated: ${body.length} bytes of regions, expected ${expected}`);
  // Copy so the floats are 4-byte aligned whatever the header length.
  const data = new Float32Array(expected / 4);
  new Uint8Array(data.buffer).set(body);
  return { ...header, detections, data };
}

export async function writeRegionSet(file: string, set: RegionSet): Promise<void> {
  await writeFile(file, encodeRegionSet(set));
}

export async function readRegionSet(file: string): Promise<RegionSet> {
  return decodeRegionSet(await readFile(file), file);
}

/**
 * An image's region rows with a second grid's pooled features put after the first grid's: each row
 * [pooled C | rest] of `rows` ([n, dim]) becomes [pooled C | extra C2 | rest], `extra` being [n, C2]
 * (regionDescriptor's layout with C + C2 channels, as if the two grids were one). Written into `out`
 * when given (a view of the widened cache, so a whole cache is not built twice).
 */
export function widenRegionRows(
  rows: Float32Array,
  dim: number,
  C: number,
  extra: Float32Array,
  C2: number,
  out: Float32Array = new Float32Array((rows.length / dim) * (dim + C2)),
): Float32Array {
  const n = rows.length / dim;
  if (!Number.isInteger(n) || extra.length !== n * C2)
    throw new Error(`widenRegionRows: ${rows.length} values are not ${extra.length / C2} rows of ${dim}`);
  for (let r = 0; r < n; r++) {
    const row = rows.subarray(r * dim, (r + 1) * dim);
    const at = r * (dim + C2);
    out.set(row.subarray(0, C), at);
    out.set(extra.subarray(r * C2, (r + 1) * C2), at + C);
    out.set(row.subarray(C), at + C + C2);
  }
  return out;
}

/**
 * A region cache with a second CNN's grid pooled in every region (issue 21's grid screen): `gridOf`
 * gives image i's grid [S_h, S_w, C2] (the same image the cache was made from), roiAveragePool pools
 * it in the image's detection boxes and the whole image, and widenRegionRows puts it beside the first.
 * `encoder` names the result, so a decoder trained on it is never served a one-grid encoder's regions.
 */
export async function widenRegionSet(
  set: RegionSet,
  encoder: string,
  gridOf: (i: number) => Promise<{ grid: Float32Array; gridShape: readonly [number, number, number] }>,
  progress?: (done: number) => void,
): Promise<RegionSet> {
  const offsets = regionOffsets(set);
  const C = set.grid[2];
  let C2 = 0;
  let data = new Float32Array(0);
  for (let i = 0; i < set.keys.length; i++) {
    const { grid, gridShape } = await gridOf(i);
    const [S_h, S_w, channels] = gridShape;
    if (i > 0 && channels !== C2) throw new Error(`widenRegionSet: image ${i}'s grid has ${channels} channels, the others ${C2}`);
    if (i === 0) {
      C2 = channels;
      data = new Float32Array(offsets.at(-1)! * (set.dim + C2));
    }
    const pooled = roiAveragePool(
      grid,
      S_h,
      S_w,
      C2,
      set.detections[i]!.map((d) => d.box),
    );
    const rows = data.subarray(offsets[i]! * (set.dim + C2), offsets[i + 1]! * (set.dim + C2));
    widenRegionRows(imageRegions(set, offsets, i), set.dim, C, pooled, C2, rows);
    progress?.(i + 1);
  }
  return { ...set, encoder, dim: set.dim + C2, grid: [set.grid[0], set.grid[1], C + C2], data };
}

/** Each listed file's selected regions (selectRegions) from the region cache; `index` maps file → position. */
export function regionImages(
  set: RegionSet,
  files: readonly string[],
  maxRegions: number,
  minScore: number,
): { images: SelectedRegions[]; index: Map<string, number> } {
  const offsets = regionOffsets(set);
  const rowOf = new Map(set.keys.map((k, i) => [k, i]));
  const images: SelectedRegions[] = [];
  const index = new Map<string, number>();
  for (const file of new Set(files)) {
    const i = rowOf.get(file);
    if (i === undefined) continue;
    index.set(file, images.length);
    images.push(selectRegions(imageRegions(set, offsets, i), set.detections[i]!, maxRegions, minScore));
  }
  return { images, index };
}

/** Images' regions padded to k rows each: regions [n·k·R] and mask [n·k] (1 for a real region). */
export function padRegions(images: readonly SelectedRegions[], R: number, k: number): { regions: Float32Array; mask: Float32Array } {
  const regions = new Float32Array(images.length * k * R);
  const mask = new Float32Array(images.length * k);
  images.forEach((img, i) => {
    const count = img.rows.length / R;
    if (!Number.isInteger(count))
      throw new Error(
        `regions of ${img.rows.length} values are not rows of the ${R} the model reads: retrain it on a region cache of this encoder (npm run features -- --regions)`,
      );
    if (count > k) throw new Error(`padRegions: an image has ${count} regions, more than ${k}`);
    regions.set(img.rows, i * k * R);
    mask.fill(1, i * k, i * k + count);
  });
  return { regions, mask };
}

/** Regions of `images` as tensors, padded to the most regions among them: [B, K, R] and [B, K]. */
export function regionTensors(images: readonly SelectedRegions[], R: number): { regions: tf.Tensor3D; regionMask: tf.Tensor2D } {
  const k = Math.max(...images.map((img) => img.rows.length / R));
  const { regions, mask } = padRegions(images, R, k);
  return { regions: tf.tensor3d(regions, [images.length, k, R]), regionMask: tf.tensor2d(mask, [images.length, k]) };
}

/** Per-column mean and std of the regions of `images` (every real region counts once): a region model's standardisation. */
export function regionStats(images: readonly SelectedRegions[], R: number): { mean: number[]; std: number[] } {
  const rows = new Float32Array(images.reduce((n, img) => n + img.rows.length, 0));
  let at = 0;
  for (const img of images) {
    rows.set(img.rows, at);
    at += img.rows.length;
  }
  return featureStats(
    rows,
    R,
    Array.from({ length: rows.length / R }, (_, i) => i),
  );
}
