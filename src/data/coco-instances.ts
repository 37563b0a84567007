/**
 * COCO instance annotations (the layout of instances_train2017.json), read for
 * what CHAIR and the QA checks need: which of CenterNet's classes each photo
 * has, and how many instances of each. Boxes, segmentations and the rest pass
 * through unread.
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
  annotations: z.array(
    z
      .object({
        image_id: id,
        category_id: z.number(),
        /** 1: one region covering a crowd of objects (COCO's iscrowd), not one object. */
        iscrowd: z.union([z.literal(0), z.literal(1), z.boolean()]).optional(),
      })
      .passthrough(),
  ),
});

/** Per image id: the labels (COCO_LABELS) with at least one annotated instance; images listed without one map to an empty set. */
export type InstanceClasses = Map<string | number, Set<string>>;

/** Annotated instances of one class in one image. */
export interface ClassCount {
  /** Instances annotated one by one (iscrowd 0). */
  count: number;
  /** Some are annotated as a crowd region (iscrowd 1): the class has more than `count` instances, how many is not known. */
  crowd: boolean;
}

/** Per image id: label → its annotated instances; images listed without annotations map to an empty map. */
export type InstanceCounts = Map<string | number, Map<string, ClassCount>>;

const LABELS: ReadonlySet<string> = new Set(COCO_LABELS);

/**
 * Validate parsed instances JSON and count its annotations per image and
 * class. COCO's category ids (1..90, with gaps) are mapped to labels by name:
 * COCO's 80 category names are CenterNet's COCO_LABELS, so a name outside them
 * means a file of another label set, and is an error rather than a silent miss.
 */
export function parseCocoInstanceCounts(raw: unknown, file = 'input'): InstanceCounts {
  const parsed = instancesSchema.safeParse(raw);
  if (!parsed.success) throw invalidFile(parsed.error, file, 'valid COCO instances JSON');
  const labelOf = new Map<number, string>();
  for (const c of parsed.data.categories) {
    if (!LABELS.has(c.name)) throw new Error(`${file}: category ${c.id} "${c.name}" is not one of CenterNet's 80 COCO classes`);
    labelOf.set(c.id, c.name);
  }
  const byImage: InstanceCounts = new Map();
  for (const img of parsed.data.images ?? []) byImage.set(img.id, new Map<string, ClassCount>());
  for (const ann of parsed.data.annotations) {
    const label = labelOf.get(ann.category_id);
    if (label === undefined) throw new Error(`${file}: annotation of image ${ann.image_id} has unknown category_id ${ann.category_id}`);
    let classes = byImage.get(ann.image_id);
    if (!classes) byImage.set(ann.image_id, (classes = new Map<string, ClassCount>()));
    const seen = classes.get(label) ?? { count: 0, crowd: false };
    const crowd = ann.iscrowd === 1 || ann.iscrowd === true;
    classes.set(label, crowd ? { ...seen, crowd: true } : { ...seen, count: seen.count + 1 });
  }
  return byImage;
}

/** Per image, the classes with at least one annotated instance (crowd regions included). */
export function instanceClasses(counts: InstanceCounts): InstanceClasses {
  return new Map([...counts].map(([image, classes]) => [image, new Set(classes.keys())]));
}

/** Validate parsed instances JSON and group its annotated classes by image (see parseCocoInstanceCounts). */
export function parseCocoInstances(raw: unknown, file = 'input'): InstanceClasses {
  return instanceClasses(parseCocoInstanceCounts(raw, file));
}

/** Read and validate a COCO instances file: instance counts per image and class. */
export async function loadCocoInstanceCounts(file: string): Promise<InstanceCounts> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read COCO instances file ${file}: ${(err as Error).message}`);
  }
  return parseCocoInstanceCounts(raw, path.basename(file));
}

/** Read and validate a COCO instances file: the annotated classes per image. */
export async function loadCocoInstances(file: string): Promise<InstanceClasses> {
  return instanceClasses(await loadCocoInstanceCounts(file));
}
