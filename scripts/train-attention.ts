/**
 * Train the attention caption decoder (Up-Down with a visual sentinel over bottom-up regions)
 * by cross-entropy on a region cache made with `npm run features -- --regions`.
 */
import { captionDataFlags, captionDecoderFlags, loadCaptionSplits } from '../src/cli/caption-flags.js';
import { cli } from '../src/cli/main.js';
import { progress } from '../src/cli/progress.js';
import { loopFlags, prepareTrainingRun, trainingOptions } from '../src/cli/output.js';
import { attentionTrainOptionsSchema, trainAttentionModel } from '../src/caption/attention/train.js';
import { readRegionSet } from '../src/data/regions.js';
import { log } from '../src/log.js';
import { initBackend, parseBackendName } from '../src/nn/backend.js';

const args = cli({
  usage: 'npm run train:attention --',
  summary: 'Train the attention caption decoder on cached regions; the best val CIDEr-D model is kept in --out.',
  example: [
    'npm run features -- --images ../shared/data/flickr8k/images --out .cache/flickr8k.regions --regions --min-score 0.1 --workers 2',
    'npm run train:attention -- --train captions_train.json --val captions_val.json --regions .cache/flickr8k.regions',
  ],
  options: {
    ...captionDataFlags,
    regions: { type: 'string', required: true, placeholder: 'file', description: 'region cache (npm run features -- --regions)' },
    ...trainingOptions('caption-attention'),
    attendDim: { type: 'number', flag: 'attend', description: 'attention layer size' },
    maxRegions: { type: 'number', description: 'most detections the decoder attends over (plus the whole image)' },
    regionMinScore: { type: 'number', description: 'lowest detection score that makes a region' },
    ...captionDecoderFlags,
    ...loopFlags('val CIDEr-D'),
  },
  defaults: attentionTrainOptionsSchema.parse({}),
});
const run = prepareTrainingRun(args);
const opts = attentionTrainOptionsSchema.parse({ ...args, version: run.version });

const backend = await initBackend(parseBackendName(process.env.TF_BACKEND));
const regions = await readRegionSet(args.regions);
const { train, val } = await loadCaptionSplits(args);
log.info({ backend, encoder: regions.encoder, trainImages: train.length, valImages: val.length }, 'training attention caption decoder');
const { state } = await trainAttentionModel({ train, val, regions }, opts, {
  outDir: run.outDir,
  checkpointDir: run.checkpointDir,
  resume: args.resume,
  progress,
});
log.info(
  { bestEpoch: state.best?.epoch, bestCiderD: state.best?.score, seconds: Math.round(state.elapsedSeconds), out: run.outDir },
  'training finished',
);
