/**
 * Train a char-level language model (LSTM or vanilla RNN) with truncated BPTT.
 *
 *   npm run train:char -- --text ../shared/data/text/tinyshakespeare.txt \
 *     [--out models/char] [--checkpoints runs/char] [--resume] \
 *     [--cell lstm|rnn] [--layers 2] [--hidden 256] [--embed 0] [--dropout 0.2] \
 *     [--batch-size 32] [--seq-length 64] [--optimizer adam|rmsprop] [--lr 2e-3] \
 *     [--lr-decay 0.97] [--lr-decay-after 10] [--grad-clip 5] [--epochs 50] \
 *     [--max-minutes M] [--patience 5] [--sample-every 500] [--eval-every 0] [--seed 1234]
 *
 * The text is split 90/5/5 by position into train/val/test. --embed 0 feeds
 * one-hot characters. Checkpoints go to --checkpoints/epochNN_valX.XXXX/ each
 * epoch and --checkpoints/last/ (for --resume); the best val model to --out.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { splitText } from '../src/char/data.js';
import { charTrainOptionsSchema, trainCharModel } from '../src/char/train.js';
import { log } from '../src/log.js';
import { initBackend, parseBackendName } from '../src/nn/backend.js';

const { values } = parseArgs({
  options: {
    text: { type: 'string' },
    out: { type: 'string', default: 'models/char' },
    checkpoints: { type: 'string', default: 'runs/char' },
    resume: { type: 'boolean', default: false },
    name: { type: 'string' },
    cell: { type: 'string' },
    layers: { type: 'string' },
    hidden: { type: 'string' },
    embed: { type: 'string' },
    dropout: { type: 'string' },
    'batch-size': { type: 'string' },
    'seq-length': { type: 'string' },
    optimizer: { type: 'string' },
    lr: { type: 'string' },
    'lr-decay': { type: 'string' },
    'lr-decay-after': { type: 'string' },
    'grad-clip': { type: 'string' },
    epochs: { type: 'string' },
    'max-minutes': { type: 'string' },
    patience: { type: 'string' },
    'sample-every': { type: 'string' },
    'sample-length': { type: 'string' },
    'eval-every': { type: 'string' },
    seed: { type: 'string' },
  },
});

const num = z.coerce.number().optional();
const textPath = z.string({ required_error: '--text FILE (a plain-text corpus) is required' }).parse(values.text);
const opts = charTrainOptionsSchema.parse({
  name: values.name,
  cell: values.cell,
  layers: num.parse(values.layers),
  hiddenDim: num.parse(values.hidden),
  embedDim: num.parse(values.embed),
  dropout: num.parse(values.dropout),
  batchSize: num.parse(values['batch-size']),
  seqLength: num.parse(values['seq-length']),
  optimizer: values.optimizer,
  learningRate: num.parse(values.lr),
  lrDecay: num.parse(values['lr-decay']),
  lrDecayAfter: num.parse(values['lr-decay-after']),
  gradClip: num.parse(values['grad-clip']),
  epochs: num.parse(values.epochs),
  maxMinutes: num.parse(values['max-minutes']),
  patience: num.parse(values.patience),
  sampleEvery: num.parse(values['sample-every']),
  sampleLength: num.parse(values['sample-length']),
  evalEvery: num.parse(values['eval-every']),
  seed: num.parse(values.seed),
});

const backend = await initBackend(parseBackendName(process.env.TF_BACKEND));
const text = await readFile(textPath, 'utf8');
const splits = splitText(text);
log.info({ backend, text: textPath, chars: [...text].length, cpus: os.cpus().length, opts }, 'training char model');
const { state, val, test } = await trainCharModel(splits, opts, { outDir: values.out!, checkpointDir: values.checkpoints!, resume: values.resume! });
log.info(
  {
    epochs: state.epoch,
    iterations: state.iteration,
    minutes: Math.round(state.elapsedSeconds / 6) / 10,
    val: { nats: val.nats, bpc: val.bitsPerChar, ppl: val.perplexity },
    test: { nats: test.nats, bpc: test.bitsPerChar, ppl: test.perplexity },
    out: values.out,
  },
  'training finished',
);
