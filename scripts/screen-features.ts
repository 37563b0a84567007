/**
 * Screen image features by nearest-neighbour caption retrieval: each val image
 * takes the consensus caption of its k nearest train images (standardised,
 * cosine), scored by CIDEr-D and BLEU-4 against its references.
 *
 *   npx tsx scripts/screen-features.ts --features A.feat,B.feat --parts mobilenet_v2,centernet,inception_v3,... \
 *     --train captions_train.json --val captions_val.json
 *
 * Each --parts entry is an encoder or several joined by "+"; its columns are
 * cut from whichever cache holds them (a cache named "a+b" holds a then b).
 */
import { cli } from '../src/cli/main.js';
import { loadCaptions } from '../src/data/captions.js';
import { indexKeys, readFeatureSet, type FeatureSet } from '../src/data/features.js';
import { scoreCaptions } from '../src/eval/caption-metrics.js';
import { columnStats, consensus, nearest, standardizeRows } from '../src/eval/retrieval.js';
import { normalizeCaption } from '../src/eval/tokenize.js';

/** Feature length of each encoder, to find its columns in a combined cache. */
const PART_DIMS: Record<string, number> = { mobilenet_v2: 1280, centernet: 480, inception_v3: 2048 };

const args = cli({
  usage: 'npx tsx scripts/screen-features.ts',
  summary: 'Nearest-neighbour caption retrieval CIDEr-D for feature sets (a cheap screen of encoders).',
  example:
    'npx tsx scripts/screen-features.ts --features .cache/flickr8k.both.det.feat,.cache/flickr8k.incep.det.feat --parts mobilenet_v2,inception_v3+centernet --train ../shared/data/flickr8k/captions_train.json --val ../shared/data/flickr8k/captions_val.json',
  options: {
    features: { type: 'string', required: true, placeholder: 'files', description: 'feature caches, comma-separated' },
    parts: { type: 'string', required: true, description: 'encoders to screen, comma-separated; "a+b" joins columns' },
    train: { type: 'string', required: true, placeholder: 'file', description: 'train captions (the retrieval pool)' },
    val: { type: 'string', required: true, placeholder: 'file', description: 'val captions (the queries)' },
    k: { type: 'number', int: true, min: 1, default: 20, description: 'neighbours whose captions vote' },
    trainImages: { type: 'number', int: true, min: 1, description: 'only the first N train images' },
    valImages: { type: 'number', int: true, min: 1, description: 'only the first N val images' },
  },
});

const caches = await Promise.all(args.features.split(',').map(readFeatureSet));

/** The columns of `name` in `set`, or undefined when the cache does not hold that encoder. */
function columnsOf(set: FeatureSet, name: string): [number, number] | undefined {
  let at = 0;
  for (const part of set.encoder.split('+')) {
    const dim = PART_DIMS[part];
    if (dim === undefined) throw new Error(`unknown encoder part "${part}" in ${set.encoder}; known: ${Object.keys(PART_DIMS).join(', ')}`);
    if (part === name) return [at, at + dim];
    at += dim;
  }
  return undefined;
}

/** Rows of `keys` with the columns of every encoder in `spec`, side by side. */
function matrix(spec: string, keys: string[]): { data: Float32Array; dim: number } {
  const pieces = spec.split('+').map((name) => {
    const set = caches.find((c) => columnsOf(c, name));
    if (!set) throw new Error(`no cache in --features holds "${name}"`);
    return { set, cols: columnsOf(set, name)!, index: indexKeys(set) };
  });
  const dim = pieces.reduce((d, p) => d + p.cols[1] - p.cols[0], 0);
  const data = new Float32Array(keys.length * dim);
  keys.forEach((k, r) => {
    let at = r * dim;
    for (const p of pieces) {
      const i = p.index.get(k);
      if (i === undefined) throw new Error(`${k} is missing from ${p.set.encoder}'s cache`);
      data.set(p.set.data.subarray(i * p.set.dim + p.cols[0], i * p.set.dim + p.cols[1]), at);
      at += p.cols[1] - p.cols[0];
    }
  });
  return { data, dim };
}

let train = await loadCaptions(args.train);
let val = await loadCaptions(args.val);
if (args.trainImages) train = train.slice(0, args.trainImages);
if (args.valImages) val = val.slice(0, args.valImages);
const trainTokens = train.map((im) => im.captions.map(normalizeCaption));
const refs = new Map(val.map((im) => [im.file, im.captions]));

console.log(`| features | dim | CIDEr-D | BLEU-4 |  (${train.length} train, ${val.length} val, k=${args.k})`);
console.log('|---|---|---|---|');
for (const spec of args.parts.split(',')) {
  const t = matrix(
    spec,
    train.map((im) => im.file),
  );
  const q = matrix(
    spec,
    val.map((im) => im.file),
  );
  const stats = columnStats(t.data, t.dim);
  const base = standardizeRows(t.data, t.dim, stats);
  const query = standardizeRows(q.data, q.dim, stats);
  const hyps = new Map<string, string>();
  val.forEach((im, r) => {
    const near = nearest(base, query.subarray(r * q.dim, (r + 1) * q.dim), q.dim, args.k);
    const pool = near.flatMap((i) => train[i]!.captions.map((c, j) => ({ c, tokens: trainTokens[i]![j]! })));
    hyps.set(im.file, pool[consensus(pool.map((p) => p.tokens))]!.c);
  });
  const s = scoreCaptions(refs, hyps);
  console.log(`| ${spec} | ${t.dim} | ${s.ciderD.toFixed(3)} | ${s.bleu4.toFixed(3)} |`);
}
