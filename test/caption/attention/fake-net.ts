import type { AttentionNet, AttentionRows } from '../../../src/caption/attention/step-model.js';
import { Vocab, END_ID, SPECIALS } from '../../../src/text/vocab.js';
import type { SelectedRegions } from '../../../src/encoder/regions.js';
import { COCO_LABELS, type DetectedObject } from '../../../src/encoder/types.js';

/** The fake net's words: "hot" makes "hot dog" a two-word class name. */
export const FAKE_VOCAB = new Vocab([...SPECIALS, 'a', 'dog', 'runs', 'cat', 'sleeps', 'hot', 'man']);
/** Width of a fake region row: [attention score, unused]. */
export const FAKE_R = 2;

/** Per step t, each word's score before the log-softmax (words absent score −8); after the script, <end>. */
export const SCRIPT: readonly Readonly<Record<string, number>>[] = [{ a: 6 }, { dog: 6, cat: 4, man: 3 }, { runs: 6, sleeps: 4 }];

/** The sentinel's share at step t: low while writing the class word (t = 1), high otherwise. */
export const fakeBeta = (t: number): number => (t === 1 ? 0.1 : 0.8);

function logSoftmax(scores: Float32Array): void {
  const max = Math.max(...scores);
  const log = Math.log(scores.reduce((s, v) => s + Math.exp(v - max), 0)) + max;
  for (let i = 0; i < scores.length; i++) scores[i] = scores[i]! - log;
}

/**
 * A hand-made AttentionNet: it writes "a dog runs" (the script, whatever the regions), its step
 * count kept in h1, and attends to the real regions by softmax of each region row's first value,
 * times 1 − β. Counts its steps, so tests can see lockstep batching, and keeps the ids each step read.
 */
export function fakeNet(
  script: readonly Readonly<Record<string, number>>[] = SCRIPT,
  vocab: Vocab = FAKE_VOCAB,
): AttentionNet & { steps: number; fed: number[][] } {
  const V = vocab.size;
  const net = {
    runtime: 'tfjs' as const,
    steps: 0,
    fed: [] as number[][],
    initial(regions: Float32Array, mask: Float32Array, n: number, k: number): AttentionRows {
      const features = new Float32Array(n * k);
      for (let i = 0; i < n * k; i++) features[i] = regions[i * FAKE_R]!;
      const zeros = () => new Float32Array(n);
      return { n, k, features, keys: features, mean: zeros(), mask, h1: zeros(), c1: zeros(), h2: zeros(), c2: zeros() };
    },
    step(rows: AttentionRows, ids: Int32Array) {
      net.steps++;
      net.fed.push([...ids]);
      const { n, k } = rows;
      const logProbs = new Float32Array(n * V);
      const alpha = new Float32Array(n * k);
      const beta = new Float32Array(n);
      const h1 = new Float32Array(n);
      for (let r = 0; r < n; r++) {
        const t = rows.h1[r]!;
        h1[r] = t + 1;
        const row = logProbs.subarray(r * V, (r + 1) * V).fill(-8);
        const scores = script[t];
        if (scores && ids[r] !== END_ID) for (const [w, s] of Object.entries(scores)) row[vocab.id(w)] = s;
        else row[END_ID] = 6;
        logSoftmax(row);
        beta[r] = fakeBeta(t);
        let sum = 0;
        for (let j = 0; j < k; j++) sum += rows.mask[r * k + j]! * Math.exp(rows.features[r * k + j]!);
        for (let j = 0; j < k; j++) alpha[r * k + j] = (rows.mask[r * k + j]! * Math.exp(rows.features[r * k + j]!) * (1 - beta[r]!)) / sum;
      }
      return { logProbs, alpha, beta, rows: { ...rows, h1 } };
    },
    dispose: () => undefined,
  };
  return net;
}

export function detection(label: (typeof COCO_LABELS)[number], score: number): DetectedObject {
  return { label, classId: COCO_LABELS.indexOf(label), score, box: [0.1, 0.1, 0.5, 0.5] };
}

/** Kept regions for the fake net: one row per object ([attention score, 0]), then the whole image (score 0). */
export function fakeRegions(objects: { object: DetectedObject; attention: number }[]): SelectedRegions {
  const rows = new Float32Array((objects.length + 1) * FAKE_R);
  objects.forEach((o, j) => (rows[j * FAKE_R] = o.attention));
  return { rows, objects: objects.map((o) => o.object) };
}

/** A plain grey 8×8 photo: the pixels regionDescriptors reads colours from. */
export const GREY_IMAGE = { data: new Float32Array(8 * 8 * 3).fill(128), height: 8, width: 8 };
