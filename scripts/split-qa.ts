/**
 * Split a COCO-QA folder into train/ and val/ by image, holding out the images that
 * train:vqa's own split (--val-fraction, --seed) holds out of another folder (--like):
 * models trained on the two folders are then chosen on the same unseen photos.
 *
 *   npx tsx scripts/split-qa.ts --qa .cache/flickr8k-qa/train-clsdet --like .cache/flickr8k-qa/train \
 *     --image-map ../shared/data/flickr8k/captions_train.json --out .cache/flickr8k-qa/train-clsdet-split
 */
import path from 'node:path';
import { cli } from '../src/cli/main.js';
import { readCocoQa, writeCocoQa } from '../src/data/cocoqa.js';
import { loadImageMap } from '../src/data/image-map.js';
import { log } from '../src/log.js';
import { splitByImage } from '../src/vqa/examples.js';

const args = cli({
  usage: 'npx tsx scripts/split-qa.ts',
  summary: "Split a COCO-QA folder into train/ and val/, holding out the images train:vqa's split holds out of --like.",
  example: [
    'npx tsx scripts/split-qa.ts --qa .cache/flickr8k-qa/train-clsdet --like .cache/flickr8k-qa/train \\',
    '  --image-map ../shared/data/flickr8k/captions_train.json --out .cache/flickr8k-qa/train-clsdet-split',
  ],
  options: {
    qa: { type: 'string', required: true, placeholder: 'dir', description: 'COCO-QA folder to split' },
    like: { type: 'string', required: true, placeholder: 'dir', description: 'COCO-QA folder whose held-out images to hold out' },
    imageMap: { type: 'string', required: true, placeholder: 'MAP', description: 'image ids to image keys (as train:vqa takes it)' },
    valFraction: { type: 'number', min: 0, max: 1, default: 0.1, description: "train:vqa's --val-fraction for --like" },
    seed: { type: 'number', int: true, default: 1234, description: "train:vqa's --seed for --like" },
    out: { type: 'string', required: true, output: 'dir', description: 'folder for train/ and val/' },
  },
});
const map = await loadImageMap(args.imageMap);
const held = new Set(splitByImage(await readCocoQa(args.like, map), args.valFraction, args.seed).val.map((e) => String(e.imageId)));
const all = await readCocoQa(args.qa, map);
const val = all.filter((e) => held.has(String(e.imageId)));
await writeCocoQa(
  path.join(args.out, 'train'),
  all.filter((e) => !held.has(String(e.imageId))),
);
await writeCocoQa(path.join(args.out, 'val'), val);
log.info({ out: args.out, heldImages: held.size, train: all.length - val.length, val: val.length }, 'split written');
