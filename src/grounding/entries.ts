import { COCO_LABELS, SUPERCATEGORIES, type DetectedObject } from '../encoder/types.js';
import { supercategoryOf, type WordTable } from './words.js';

/**
 * What a grounded decoder can point at: one entry per detected class, best
 * score first. Classes, not boxes: captions name "three horses", not each
 * horse, and a class entry carries its count.
 */
export interface ObjectEntry {
  classId: number;
  label: string;
  /** Best instance's score. */
  score: number;
  /** Instances at or above COUNT_MIN_SCORE (at least 1). */
  count: number;
  /** Best instance's box: x, y, w, h as fractions of the image. */
  box: [number, number, number, number];
  /** The best instance's box, then those of the other counted instances (score ≥ COUNT_MIN_SCORE). */
  boxes: [number, number, number, number][];
}

/** Most entries a decoder sees per image. */
export const MAX_ENTRIES = 8;
/** Lowest detection score an entry is made from (recall 0.86 on coco-dev at 0.1, docs/grounding.md). */
export const ENTRY_MIN_SCORE = 0.1;
/** Instances below this are not counted: at 0.1 a class gets many spurious boxes. */
export const COUNT_MIN_SCORE = 0.3;

/**
 * Per-entry descriptor, free of class identity so what a decoder learns for
 * dogs and horses carries to giraffes: super-category (one-hot), score,
 * log count, the best box (centre, size, area) and the entry's rank.
 */
export const ENTRY_FEATURES = SUPERCATEGORIES.length + 8;

/** Group detections into class entries (best score first, at most `max`). */
export function objectEntries(objects: readonly DetectedObject[], max = MAX_ENTRIES, minScore = ENTRY_MIN_SCORE): ObjectEntry[] {
  const byClass = new Map<number, ObjectEntry>();
  for (const o of [...objects].sort((a, b) => b.score - a.score)) {
    if (!(o.score >= minScore)) continue;
    const seen = byClass.get(o.classId);
    if (seen) {
      // Only counted instances get a box: at 0.1 a class collects many spurious ones.
      if (o.score >= COUNT_MIN_SCORE) {
        seen.count++;
        seen.boxes.push(o.box);
      }
    } else byClass.set(o.classId, { classId: o.classId, label: o.label, score: o.score, count: 1, box: o.box, boxes: [o.box] });
  }
  return [...byClass.values()].slice(0, max);
}

/** The descriptor rows of `entries` (ENTRY_FEATURES each), row-major. */
export function entryFeatures(table: WordTable, entries: readonly ObjectEntry[]): Float32Array {
  const F = ENTRY_FEATURES;
  const out = new Float32Array(entries.length * F);
  entries.forEach((e, j) => {
    const row = out.subarray(j * F, (j + 1) * F);
    row[SUPERCATEGORIES.indexOf(supercategoryOf(table, e.label))] = 1;
    const [x, y, w, h] = e.box;
    const at = SUPERCATEGORIES.length;
    row.set([e.score, Math.log(e.count), x + w / 2, y + h / 2, w, h, Math.sqrt(w * h), j / MAX_ENTRIES], at);
  });
  return out;
}

/** d: each COCO class's best detection score (0 when not detected), the decoder's view of the whole scene. */
export function classScores(objects: readonly DetectedObject[]): Float32Array {
  const d = new Float32Array(COCO_LABELS.length);
  for (const o of objects) d[o.classId] = Math.max(d[o.classId]!, o.score);
  return d;
}
