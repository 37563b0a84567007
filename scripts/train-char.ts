/**
 * Train a char-level language model (LSTM or vanilla RNN) with truncated BPTT.
 *
 * The text is split 90/5/5 by position into train/val/test. --embed 0 feeds
 * one-hot characters. Checkpoints go to --checkpoints/epochNN_valX.XXXX/ each
 * epoch and --checkpoints/last/ (for --resume); the best val model to --out.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { cli } from '../src/cli/main.js';
import { progress } from '../src/cli/progress.js';
import { loopFlags, prepareTrainingRun, trainingOptions } from '../src/cli/output.js';
import { CELLS } from '../src/char/config.js';
import { splitText } from '../src/char/data.js';
import { charTrainOptionsSchema, trainCharModel } from '../src/char/train.js';
import { log } from '../src/log.js';
import { initBackend, parseBackendName } from '../src/nn/backend.js';

const args = cli({
  usage: 'npm run train:char --',
  summary: 'Train a char-level language model (LSTM or vanilla RNN) with truncated BPTT; the best val model is kept in --out.',
  example: 'npm run train:char -- --text ../shared/data/text/tinyshakespeare.txt --layers 2 --hidden 256 --max-minutes 95',
  notes: [
    'The text is split 90/5/5 by position into train/val/test. Checkpoints go to <checkpoints>/epochNN_valX.XXXX/',
    'each epoch and <checkpoints>/last/ (for --resume).',
  ].join('\n'),
  options: {
    text: { type: 'string', required: true, placeholder: 'file', description: 'a plain-text corpus' },
    ...trainingOptions('char'),
    cell: { type: 'choice', choices: CELLS, description: 'recurrent cell' },
    layers: { type: 'number', description: 'stacked layers' },
    hiddenDim: { type: 'number', flag: 'hidden', description: 'state size per layer' },
    embedDim: { type: 'number', flag: 'embed', description: 'character embedding size (0: one-hot)' },
    dropout: { type: 'number', description: 'dropout between layers' },
    batchSize: { type: 'number', description: 'parallel streams per batch' },
    seqLength: { type: 'number', description: 'truncated BPTT length' },
    optimizer: { type: 'choice', choices: ['adam', 'rmsprop'], description: 'optimizer' },
    ...loopFlags('val loss'),
    lrDecayAfter: { type: 'number', description: 'epochs before the learning rate starts to decay' },
    sampleEvery: { type: 'number', description: 'log a sample every N iterations (0: never)' },
    sampleLength: { type: 'number', description: 'characters per logged sample' },
    evalEvery: { type: 'number', description: 'also evaluate every N iterations (0: at epoch ends only)' },
  },
  defaults: charTrainOptionsSchema.parse({}),
});
const run = prepareTrainingRun(args);
const opts = charTrainOptionsSchema.parse({ ...args, version: run.version });

const backend = await initBackend(parseBackendName(process.env.TF_BACKEND));
const text = await readFile(args.text, 'utf8');
const splits = splitText(text);
log.info({ backend, text: args.text, chars: [...text].length, cpus: os.cpus().length, opts }, 'training char model');
const { state, val, test } = await trainCharModel(splits, opts, {
  outDir: run.outDir,
  checkpointDir: run.checkpointDir,
  resume: args.resume,
  progress,
});
log.info(
  {
    epochs: state.epoch,
    iterations: state.iteration,
    minutes: Math.round(state.elapsedSeconds / 6) / 10,
    val: { nats: val.nats, bpc: val.bitsPerChar, ppl: val.perplexity },
    test: { nats: test.nats, bpc: test.bitsPerChar, ppl: test.perplexity },
    out: run.outDir,
  },
  'training finished',
);
