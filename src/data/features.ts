import { readFile, writeFile } from 'node:fs/promises';
import { z } from 'zod';

/**
 * Feature cache: encoder outputs for a set of images, computed once per
 * dataset so that training never re-runs the CNN.
 *
 * Layout: "CAPFEAT1" | uint32 LE header length | JSON header | float32 LE rows.
 */
const MAGIC = Buffer.from('CAPFEAT1');

const headerSchema = z.object({
  encoder: z.string().min(1),
  dim: z.number().int().positive(),
  keys: z.array(z.string()),
});

export interface FeatureSet {
  encoder: string;
  dim: number;
  /** Image keys (file names), one per row. */
  keys: string[];
  /** keys.length × dim floats, row-major. */
  data: Float32Array;
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
  const header = Buffer.from(JSON.stringify({ encoder: set.encoder, dim: set.dim, keys: set.keys }));
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
  const header = headerSchema.parse(JSON.parse(buf.subarray(12, 12 + headerLen).toString('utf8')));
  const body = buf.subarray(12 + headerLen);
  const expected = header.keys.length * header.dim * 4;
  if (body.length !== expected) {
    throw new Error(`${source} is truncated: ${body.length} bytes of features, expected ${expected}`);
  }
  // Copy so the floats are 4-byte aligned whatever the header length.
  const data = new Float32Array(header.keys.length * header.dim);
  new Uint8Array(data.buffer).set(body);
  return { ...header, data };
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
  return { encoder: `${a.encoder}+${b.encoder}`, dim, keys, data };
}
