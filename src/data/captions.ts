import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { invalidFile } from '../util/zod-error.js';

/** One image with its reference captions, whatever format it came from. */
export interface CaptionedImage {
  /** Image id as the source gives it (COCO numeric id, else the file name). */
  id: string | number;
  /** File name: the key into feature caches. */
  file: string;
  captions: string[];
  /** Tokens given by the source (Karpathy), parallel to captions; else undefined. */
  tokens?: string[][];
  split?: string;
}

const cocoSchema = z.object({
  images: z.array(z.object({ id: z.union([z.number(), z.string()]), file_name: z.string() }).passthrough()),
  annotations: z.array(z.object({ image_id: z.union([z.number(), z.string()]), caption: z.string() }).passthrough()),
});

const karpathySchema = z.object({
  images: z.array(
    z
      .object({
        filename: z.string(),
        filepath: z.string().optional(),
        split: z.string(),
        imgid: z.union([z.number(), z.string()]).optional(),
        cocoid: z.union([z.number(), z.string()]).optional(),
        sentences: z.array(z.object({ tokens: z.array(z.string()), raw: z.string() }).passthrough()),
      })
      .passthrough(),
  ),
});

/** COCO captions format: `{images: [{id, file_name}], annotations: [{image_id, caption}]}`. */
export function parseCoco(raw: unknown, file = 'input'): CaptionedImage[] {
  const parsed = cocoSchema.safeParse(raw);
  if (!parsed.success) throw invalidFile(parsed.error, file, 'valid COCO captions JSON');
  const byId = new Map<string | number, CaptionedImage>();
  for (const img of parsed.data.images) byId.set(img.id, { id: img.id, file: img.file_name, captions: [] });
  for (const ann of parsed.data.annotations) {
    const img = byId.get(ann.image_id);
    if (!img) throw new Error(`${file}: annotation refers to unknown image_id ${ann.image_id}`);
    img.captions.push(ann.caption.trim());
  }
  return [...byId.values()].filter((img) => img.captions.length > 0);
}

/** Karpathy split format: `{images: [{filename, filepath?, split, sentences: [{tokens, raw}]}]}`. */
export function parseKarpathy(raw: unknown, file = 'input'): CaptionedImage[] {
  const parsed = karpathySchema.safeParse(raw);
  if (!parsed.success) throw invalidFile(parsed.error, file, 'valid Karpathy split JSON');
  return parsed.data.images.map((img) => ({
    id: img.cocoid ?? img.imgid ?? img.filename,
    file: img.filename,
    captions: img.sentences.map((s) => s.raw.trim()),
    tokens: img.sentences.map((s) => s.tokens),
    split: img.split,
  }));
}

export type CaptionFormat = 'coco' | 'karpathy';

export function detectFormat(raw: unknown): CaptionFormat {
  if (typeof raw === 'object' && raw !== null && 'annotations' in raw) return 'coco';
  return 'karpathy';
}

/**
 * Read a captions file in either format. For Karpathy files `splits` picks
 * images by split ('restval' is commonly folded into train); COCO files are
 * one split each, so `splits` does not apply.
 */
export async function loadCaptions(file: string, splits?: readonly string[]): Promise<CaptionedImage[]> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read captions file ${file}: ${(err as Error).message}`);
  }
  if (detectFormat(raw) === 'coco') return parseCoco(raw, path.basename(file));
  const images = parseKarpathy(raw, path.basename(file));
  return splits ? images.filter((img) => img.split !== undefined && splits.includes(img.split)) : images;
}
