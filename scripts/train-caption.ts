/**
 * Train a caption decoder: --arch plain, grounded (the shipped default) or attention
 * (src/cli/caption-train.ts). Karpathy files: pass the same dataset_*.json to --train and --val;
 * --train-split (default train,restval) and --val-split (default val) pick the images.
 */
import { archDefaultsNote, captionTrainFlags, trainCaption } from '../src/cli/caption-train.js';
import { cli } from '../src/cli/main.js';

const args = cli({
  usage: 'npm run train:caption --',
  summary: 'Train a caption decoder (plain, grounded or attention) on cached features; the best val CIDEr-D model is kept in --out.',
  example: [
    'npm run features -- --images ../shared/data/flickr8k/images --out .cache/flickr8k.both.det.feat \\',
    '  --encoder mobilenet_v2+centernet --detections --min-score 0.1 --workers 2',
    'npm run train:caption -- --arch grounded --train captions_train.json --val captions_val.json --features .cache/flickr8k.both.det.feat',
    'npm run train:caption -- --arch attention --train captions_train.json --val captions_val.json --regions .cache/flickr8k.regions',
    'npm run train:caption -- --arch plain --features .cache/flickr8k.both.feat --normalize-features --scst 3000 --init runs/caption-… …',
  ],
  notes: [
    'Karpathy files: pass the same dataset_*.json to --train and --val; --train-split and --val-split pick the images.',
    'Flags marked "plain:", "grounded:" or "attention:" are refused with the other archs.',
    archDefaultsNote(),
  ].join('\n'),
  options: captionTrainFlags,
});
await trainCaption(args);
