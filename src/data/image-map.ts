import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

/**
 * Image id → feature-cache key (an image file name). QA files name images by
 * id only; the features were extracted per file.
 */
export type ImageKeyFn = (id: string | number) => string;

/**
 * A file-name pattern: `{id}` is replaced by the id, `{id:N}` by the id
 * zero-padded to N digits (COCO: `COCO_train2014_{id:12}.jpg`).
 */
export function patternImageMap(pattern: string): ImageKeyFn {
  if (!/\{id(?::\d+)?\}/.test(pattern)) {
    throw new Error(`image pattern "${pattern}" has no {id} placeholder (e.g. "{id}.png" or "COCO_train2014_{id:12}.jpg")`);
  }
  return (id) =>
    pattern.replace(/\{id(?::(\d+))?\}/g, (_, width: string | undefined) => (width ? String(id).padStart(Number(width), '0') : String(id)));
}

const cocoImagesSchema = z.object({
  images: z.array(z.object({ id: z.union([z.number(), z.string()]), file_name: z.string() }).passthrough()),
});

/** Ids and file names from the `images` list of a COCO-style JSON (captions or instances). */
export function cocoImageMap(raw: unknown, source = 'image map'): ImageKeyFn {
  const parsed = cocoImagesSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`${source} has no COCO "images": [{id, file_name}] list: ${parsed.error.issues[0]?.message ?? ''}`);
  }
  const files = new Map(parsed.data.images.map((img) => [String(img.id), img.file_name]));
  return (id) => {
    const file = files.get(String(id));
    if (file === undefined) throw new Error(`${source} has no image with id ${id}`);
    return file;
  };
}

/**
 * The `--image-map` option of the QA scripts: a `.json` file is read as a
 * COCO images list, anything else is a file-name pattern.
 */
export async function loadImageMap(option: string): Promise<ImageKeyFn> {
  if (!option.endsWith('.json')) return patternImageMap(option);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(option, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read image map ${option}: ${(err as Error).message}`);
  }
  return cocoImageMap(raw, path.basename(option));
}
