import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { z } from 'zod';
import { log } from '../log.js';
import { trainLoop, type EpochRun, type LoopState, type TrainRun } from '../train/loop.js';
import { createOptimizer, OPTIMIZERS } from '../train/optimizer.js';
import { GradientPool } from '../train/parallel.js';
import type { RowBatch } from '../train/spec.js';
import { gradientStep } from '../train/step.js';
import { CELLS, type CharConfig } from './config.js';
import { StreamBatcher, type Chunk, type TextSplits } from './data.js';
import { chunkTensors, evaluate, type LossReport } from './evaluate.js';
import { CharModel, disposeState, type CharTensors } from './model.js';
import { sampleText } from './sample.js';
import { spec, stateMap, stateOf } from './train-spec.js';
import { CharVocab } from './vocab.js';
import { loopOptionFields } from '../train/options.js';

export const charTrainOptionsSchema = z.object({
  // lrDecay applies after each epoch past lrDecayAfter.
  ...loopOptionFields({ name: 'char-tinyshakespeare', epochs: 50, learningRate: 2e-3, lrDecay: 0.97, patience: 5 }),
  cell: z.enum(CELLS).default('lstm'),
  embedDim: z.number().int().min(0).default(0),
  hiddenDim: z.number().int().positive().default(256),
  layers: z.number().int().min(1).max(3).default(2),
  dropout: z.number().min(0).max(0.9).default(0.2),
  /** Parallel streams per batch. */
  batchSize: z.number().int().positive().default(32),
  /** Truncated BPTT length: gradients flow this many steps back; the state flows on. */
  seqLength: z.number().int().positive().default(64),
  optimizer: z.enum(OPTIMIZERS).default('adam'),
  lrDecayAfter: z.number().int().min(0).default(10),
  /** Log a sample every this many iterations (0: never). */
  sampleEvery: z.number().int().min(0).default(500),
  sampleLength: z.number().int().positive().default(200),
  /** Also evaluate (and keep the best model) every this many iterations (0: epoch ends only). */
  evalEvery: z.number().int().min(0).default(0),
});
export type CharTrainOptions = z.infer<typeof charTrainOptionsSchema>;

/**
 * One truncated-BPTT update on a chunk: forward `steps` steps from `state`
 * (a constant: no gradient flows into the previous chunk), backprop, clip the
 * global gradient norm to `clip`, apply. Returns the final state (kept; the
 * caller disposes `state` and passes the new one to the next chunk).
 */
export function trainChunk(
  model: CharModel,
  optimizer: tf.Optimizer,
  chunk: Chunk,
  steps: number,
  state: CharTensors,
  clip: number,
  dropoutSeed: number,
): { loss: number; norm: number; state: CharTensors } {
  if (chunk.inputs.length !== steps * state.h[0]!.shape[0])
    throw new Error(`a chunk of ${chunk.inputs.length} ids is not ${steps} steps of the state's rows`);
  const { inputs, targets } = chunkTensors(chunk);
  try {
    const r = gradientStep(model.variables(), optimizer, clip, () =>
      spec.loss(model, { inputs, targets, ...stateMap(state) }, dropoutSeed),
    );
    return { loss: r.loss, norm: r.norm, state: stateOf(r.carry!, model.config.layers, model.isLstm) };
  } finally {
    tf.dispose([inputs, targets]);
  }
}

/**
 * A chunk as the gradient step takes it: streams as rows, each share its streams' inputs and
 * targets (time-major, as the whole chunk) and the rows of `state` they start from.
 */
export function chunkRows(chunk: Chunk, streams: number, state: CharTensors): RowBatch {
  const steps = chunk.inputs.length / streams;
  const gather = (ids: Int32Array, from: number, to: number) => {
    const n = to - from;
    const out = new Int32Array(steps * n);
    for (let t = 0; t < steps; t++) out.set(ids.subarray(t * streams + from, t * streams + to), t * n);
    return out;
  };
  return {
    rows: streams,
    shard(from, to) {
      const rows = to - from;
      const whole = rows === streams;
      const stateRows = Object.fromEntries(
        Object.entries(stateMap(state)).map(([k, t]) => [k, whole ? tf.clone(t) : tf.slice(t, [from, 0], [rows, t.shape[1]!])]),
      );
      return {
        items: rows * steps,
        tensors: {
          inputs: tf.tensor1d(whole ? chunk.inputs : gather(chunk.inputs, from, to), 'int32'),
          targets: tf.tensor1d(whole ? chunk.targets : gather(chunk.targets, from, to), 'int32'),
          ...stateRows,
        },
      };
    },
  };
}

/**
 * The steps of one pass over the batcher's chunks with truncated BPTT: the hidden
 * state starts at zero (at chunk `from` when resuming) and each chunk starts from the
 * state the previous one ended in. Steps must run in order; `close` frees the state.
 */
export class TbpttEpoch implements EpochRun {
  private hidden: CharTensors;

  constructor(
    private readonly model: CharModel,
    private readonly optimizer: tf.Optimizer,
    private readonly batcher: StreamBatcher,
    private readonly opts: { gradClip: number; seed: number },
    /** Threads to share each chunk's streams among; without, trainChunk on this thread. */
    private readonly pool?: GradientPool<CharConfig, CharModel>,
  ) {
    this.hidden = model.zeroState(batcher.streams);
  }

  get steps(): number {
    return this.batcher.chunks;
  }

  /** The hidden state after the last step (owned by this epoch until `close`). */
  get state(): CharTensors {
    return this.hidden;
  }

  async step(chunk: number, iteration: number): Promise<{ loss: number; items: number; fields: { grad_norm: number } }> {
    const { batcher, opts, model } = this;
    const seed = opts.seed * 100_003 + iteration;
    let r: { loss: number; norm: number; state: CharTensors };
    if (this.pool && this.pool.threads > 1) {
      const grads = await this.pool.gradients(model, chunkRows(batcher.chunk(chunk), batcher.streams, this.hidden), seed);
      const step = gradientStep(model.variables(), this.optimizer, opts.gradClip, grads);
      r = { ...step, state: stateOf(step.carry!, model.config.layers, model.isLstm) };
    } else {
      r = trainChunk(model, this.optimizer, batcher.chunk(chunk), batcher.steps, this.hidden, opts.gradClip, seed);
    }
    disposeState(this.hidden);
    this.hidden = r.state;
    return { loss: r.loss, items: batcher.chunkSize, fields: { grad_norm: r.norm } };
  }

  close(): void {
    disposeState(this.hidden);
  }
}

/**
 * A whole TBPTT pass over the batcher (outside the loop: tests, benchmarks). Returns the final
 * hidden state, which the caller disposes.
 */
export async function trainEpoch(
  model: CharModel,
  optimizer: tf.Optimizer,
  batcher: StreamBatcher,
  opts: { gradClip: number; seed: number },
): Promise<{ state: CharTensors; lossSum: number; chars: number; next: number }> {
  const run = new TbpttEpoch(model, optimizer, batcher, opts);
  let lossSum = 0;
  let chars = 0;
  let k = 0;
  try {
    for (; k < run.steps; k++) {
      const r = await run.step(k, k + 1);
      lossSum += r.loss * r.items;
      chars += r.items;
    }
  } catch (err) {
    run.close();
    throw err;
  }
  return { state: run.state, lossSum, chars, next: k };
}

export interface TrainResult {
  model: CharModel;
  state: LoopState<LossReport>;
  val: LossReport;
  test: LossReport;
}

/**
 * Train a char-level language model with the shared loop and truncated BPTT: `batchSize`
 * parallel streams, the state carried across consecutive `seqLength` chunks; Adam or RMSprop
 * with global-norm clipping and learning-rate decay after `lrDecayAfter` epochs; a copy of
 * the model each epoch (val loss in its name), the best val model in `outDir`, early stopping,
 * a time budget that stops mid-epoch (resumable at that chunk, from a zero state), samples
 * every `sampleEvery` updates. Val and test losses of the best model end up in its config.json.
 */
export async function trainCharModel(splits: TextSplits, opts: CharTrainOptions, dirs: TrainRun): Promise<TrainResult> {
  // The vocabulary covers every split: a character seen only in val/test would otherwise be unscorable.
  const vocab = CharVocab.build(splits.train + splits.val + splits.test);
  const config: CharConfig = {
    kind: 'char-rnn',
    name: opts.name,
    version: opts.version,
    cell: opts.cell,
    embedDim: opts.embedDim,
    hiddenDim: opts.hiddenDim,
    layers: opts.layers,
    dropout: opts.dropout,
    vocab: [...vocab.chars],
  };
  const trainIds = vocab.encode(splits.train);
  const valIds = vocab.encode(splits.val);
  const testIds = vocab.encode(splits.test);
  const batcher = new StreamBatcher(trainIds, opts.batchSize, opts.seqLength);
  if (batcher.chunks < 1) {
    throw new Error(
      `the training text (${trainIds.length} characters) is too short for ${opts.batchSize} streams × ${opts.seqLength} steps`,
    );
  }
  const model = CharModel.init(config, opts.seed);
  log.info(
    {
      vocab: vocab.size,
      trainChars: trainIds.length,
      valChars: valIds.length,
      testChars: testIds.length,
      chunksPerEpoch: batcher.chunks,
      parameters: model.parameterCount(),
    },
    'char training data',
  );
  const optimizer = createOptimizer(opts.optimizer, opts.learningRate);
  const pool = new GradientPool(spec, config, opts.workers - 1);

  /** Log a sample as char-rnn prints it on a terminal, as one JSON line elsewhere. */
  const sample = (iteration: number, loss: number): void => {
    const { text } = sampleText(model, { prime: '', length: opts.sampleLength, temperature: 0.8, topK: 0, seed: iteration });
    if (process.stderr.isTTY) process.stderr.write(`\n---- sample @${iteration} (loss ${loss.toFixed(3)}) ----\n${text}\n----\n`);
    else log.info({ iteration, loss, sample: text }, `sample @${iteration}`);
  };
  const epoch = (): EpochRun => {
    const run = new TbpttEpoch(model, optimizer, batcher, opts, pool);
    return {
      steps: run.steps,
      async step(chunk, iteration) {
        const r = await run.step(chunk, iteration);
        if (opts.sampleEvery > 0 && iteration % opts.sampleEvery === 0) sample(iteration, r.loss);
        return r;
      },
      close: () => run.close(),
    };
  };
  let final: { val: LossReport; test: LossReport } | undefined;
  const { model: best, state } = await trainLoop(
    {
      model,
      optimizer,
      learningRate: (e) => opts.learningRate * Math.pow(opts.lrDecay, Math.max(0, e - 1 - opts.lrDecayAfter)),
      epoch,
      validate: () => evaluate(model, valIds, opts.batchSize, 100),
      score: (val) => val.nats,
      better: 'lower',
      loadBest: (dir) => CharModel.load(dir),
      resources: [pool],
      // Score the best model on val and test; both are stored in its config.
      finalMetrics: (m) => {
        final = { val: evaluate(m, valIds, opts.batchSize, 100), test: evaluate(m, testIds, opts.batchSize, 100) };
        const { val, test } = final;
        log.info({ valLoss: val.nats, testLoss: test.nats, testBpc: test.bitsPerChar, testPpl: test.perplexity }, 'best model scored');
        return final;
      },
      afterEpoch: (e, val, training) => {
        const name = `epoch${String(e).padStart(2, '0')}_val${val.nats.toFixed(4)}`;
        return model.save(path.join(dirs.checkpointDir, name), { training, metrics: { val } });
      },
      unit: 'chars',
      record: { trainChars: trainIds.length },
    },
    opts,
    dirs,
  );
  return { model: best, state, ...final! };
}
