import { tokenizeWords } from '../text/tokenize.js';
import { findMentions, type WordTable } from './words.js';

/** Classes that at least `minCaptions` of an image's reference captions name. */
export function mentionedClasses(table: WordTable, captions: readonly string[], minCaptions = 2): Set<string> {
  const votes = new Map<string, number>();
  for (const caption of captions) {
    for (const label of new Set(findMentions(table, tokenizeWords(caption)).map((m) => m.label))) {
      votes.set(label, (votes.get(label) ?? 0) + 1);
    }
  }
  return new Set([...votes].filter(([, n]) => n >= minCaptions).map(([label]) => label));
}

export interface DetectionScore {
  /** Mentioned classes the detector found. */
  hits: number;
  /** Mentioned classes, all images. */
  mentioned: number;
  /** Distinct detected classes, all images. */
  detected: number;
  recall: number;
  precision: number;
}

/** Micro-averaged class recall and precision of detections against mentions, over images. */
export function scoreDetections(images: readonly { mentioned: ReadonlySet<string>; detected: ReadonlySet<string> }[]): DetectionScore {
  let hits = 0;
  let mentioned = 0;
  let detected = 0;
  for (const img of images) {
    mentioned += img.mentioned.size;
    detected += img.detected.size;
    for (const label of img.detected) if (img.mentioned.has(label)) hits++;
  }
  return { hits, mentioned, detected, recall: mentioned ? hits / mentioned : 0, precision: detected ? hits / detected : 0 };
}
