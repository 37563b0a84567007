/**
 * COCO instance annotations (the layout of instances_train2017.json), read for
 * what CHAIR needs: which of CenterNet's classes each photo has at least one
 * instance of. Boxes, segmentations and the rest pass through unread.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { COCO_LABELS } from '../encoder/types.js';
import { invalidFile } from '../util/zod-error.js';

const id = z.union([z.number(), z.string()]);

const instancesSchema = z.object({
  images: z.array(z.object({ id }).passthrough()).optional(),
  categories: z.array(z.object({ id: z.number(), name: z.string() }).passthrough()).min(1),
  annotations: z.array(z.object({ image_id: id, category_id: z.number() }).passthrough()),
});

/** Per image id: the labels (COCO_LABELS) with at least one annotated instance; images listed without one map to an empty set. */
export type InstanceClasses = Map<string | number, Set<string>>;

const LABELS: ReadonlySet<string> = new Set(COCO_LABELS);

/**
 * Validate parsed instances JSON and group its annotations by image. COCO's
 * category ids (1..90, with gaps) are mapped to labels by name: COCO's 80
 * category names are CenterNet's COCO_LABELS, so a name outside them means a
 * file of another label set, and is an error rather than a silent miss.
 */
export function parseCocoInstances(raw: unknown, file = 'input'): InstanceClasses {
  const parsed = instancesSchema.safeParse(raw);
  if (!parsed.success) throw invalidFile(parsed.error, file, 'valid COCO instances JSON');
  const labelOf = new Map<number, string>();
  for (const c of parsed.data.categories) {
    if (!LABELS.has(c.name)) throw new Error(`${file}: category ${c.id} "${c.name}" is not one of CenterNet's 80 COCO classes`);
    labelOf.set(c.id, c.name);
  }
  const byImage: InstanceClasses = new Map();
  for (const img of parsed.data.images ?? []) byImage.set(img.id, new Set());
  for (const ann of parsed.data.annotations) {
    const label = labelOf.get(ann.category_id);
    if (label === undefined) throw new Error(`${file}: annotation of image ${ann.image_id} has unknown category_id ${ann.category_id}`);
    let set = byImage.get(ann.image_id);
    if (!set) byImage.set(ann.image_id, (set = new Set()));
    set.add(label);
  }
  return byImage;
}

/** Read and validate a COCO instances file. */
export async function loadCocoInstances(file: string): Promise<InstanceClasses> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read COCO instances file ${file}: ${(err as Error).message}`);
  }
  return parseCocoInstances(raw, path.basename(file));
}
