/**
 * Train the grounded caption decoder (Neural Baby Talk-style slots filled from
 * CenterNet's detections) on a feature cache made with `npm run features -- --detections`.
 */
import { captionDataFlags, captionDecoderFlags, loadCaptionSplits } from '../src/cli/caption-flags.js';
import { cli } from '../src/cli/main.js';
import { progress } from '../src/cli/progress.js';
import { loopFlags, prepareTrainingRun, trainingOptions } from '../src/cli/output.js';
import { groundedTrainOptionsSchema, trainGroundedModel } from '../src/caption/grounded/train.js';
import { readFeatureSet } from '../src/data/features.js';
import { loadWordTable, DEFAULT_TABLE_FILE } from '../src/grounding/words.js';
import { log } from '../src/log.js';
import { initBackend, parseBackendName } from '../src/nn/backend.js';

const args = cli({
  usage: 'npm run train:grounded --',
  summary: 'Train the grounded caption decoder on cached features and detections; the best val CIDEr-D model is kept in --out.',
  example: [
    'npm run features -- --images ../shared/data/flickr8k/images --out .cache/flickr8k.both.det.feat \\',
    '  --encoder mobilenet_v2+centernet --detections --min-score 0.1 --workers 2',
    'npm run train:grounded -- --train captions_train.json --val captions_val.json --features .cache/flickr8k.both.det.feat',
  ],
  options: {
    ...captionDataFlags,
    features: {
      type: 'string',
      required: true,
      placeholder: 'file',
      description: 'feature cache with detections (npm run features -- --detections)',
    },
    words: { type: 'string', default: DEFAULT_TABLE_FILE, placeholder: 'file', description: 'word ↔ class table' },
    ...trainingOptions('caption-grounded'),
    attendDim: { type: 'number', flag: 'attend', description: 'pointer attention size' },
    maxEntries: { type: 'number', description: 'most detected classes the pointer sees per image' },
    entryMinScore: { type: 'number', description: 'lowest detection score that makes an entry' },
    ...captionDecoderFlags,
    ...loopFlags('val CIDEr-D'),
  },
  defaults: groundedTrainOptionsSchema.parse({}),
});
const run = prepareTrainingRun(args);
const opts = groundedTrainOptionsSchema.parse({ ...args, version: run.version });

const backend = await initBackend(parseBackendName(process.env.TF_BACKEND));
const features = await readFeatureSet(args.features);
const { train, val } = await loadCaptionSplits(args);
log.info({ backend, encoder: features.encoder, trainImages: train.length, valImages: val.length }, 'training grounded caption decoder');
const { state } = await trainGroundedModel({ train, val, features, table: loadWordTable(args.words) }, opts, {
  outDir: run.outDir,
  checkpointDir: run.checkpointDir,
  resume: args.resume,
  progress,
});
log.info(
  { bestEpoch: state.best?.epoch, bestCiderD: state.best?.score, seconds: Math.round(state.elapsedSeconds), out: run.outDir },
  'training finished',
);
