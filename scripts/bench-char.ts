/**
 * Char-LSTM throughput: training characters/s (truncated-BPTT updates: forward,
 * backward, clipping, Adam) and sampling characters/s (one stream, one
 * character at a time), for the shipped model's configuration, next to a
 * PyTorch peer running the same configuration in the same run. Not a test.
 *
 *   npm run bench:char -- [--model models/char] [--iters 20] [--sample-chars 2000] \
 *     [--peer /usr/bin/python3] [--no-peer] [--cpu-time]
 *
 * The peer is scripts/bench/char_lstm_torch.py (Debian python3-torch:
 * apt-get install -y python3-torch libopenblas0-pthread), run with
 * OPENBLAS_NUM_THREADS=2 and torch.set_num_threads(1). Both sides use one
 * thread for the math. Timings are wall-clock; on a busy machine add
 * --cpu-time to also report characters per CPU-second of this process.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cli } from '../src/cli/main.js';
import { readCharConfig, type CharConfig } from '../src/char/config.js';
import { StreamBatcher } from '../src/char/data.js';
import { CharModel, disposeState } from '../src/char/model.js';
import { generate } from '../src/char/sample.js';
import { onnxCharStepper } from '../src/char/onnx.js';
import { chooseRuntime } from '../src/onnx/runtime.js';
import { trainChunk } from '../src/char/train.js';
import { createOptimizer } from '../src/train/optimizer.js';
import { log } from '../src/log.js';
import { initBackend, parseBackendName } from '../src/nn/backend.js';
import * as tf from '@tensorflow/tfjs';
import type { CharStep } from '../src/char/stepper.js';

const args = cli({
  usage: 'npm run bench:char --',
  summary: "Char-LSTM training and sampling characters/s for the model's configuration, next to a PyTorch peer run alike.",
  example: 'npm run bench:char -- --iters 20 --cpu-time',
  notes: 'The peer is scripts/bench/char_lstm_torch.py (Debian: apt-get install -y python3-torch libopenblas0-pthread).',
  options: {
    model: { type: 'string', default: 'models/char', placeholder: 'dir', description: 'char model whose configuration is used' },
    iters: { type: 'number', int: true, min: 1, default: 20, description: 'timed training updates' },
    sampleChars: { type: 'number', int: true, min: 1, default: 2000, description: 'characters sampled for timing' },
    peer: { type: 'string', default: '/usr/bin/python3', placeholder: 'python', description: 'python with torch for the PyTorch peer' },
    noPeer: { type: 'boolean', description: 'skip the PyTorch peer' },
    cpuTime: { type: 'boolean', description: 'also report characters per CPU-second of this process' },
  },
});
log.level = 'warn';
const { iters, sampleChars } = args;

/** The shipped config and its training batch shape; a 2x256 default when no model is there yet. */
async function shippedConfig(): Promise<{ config: CharConfig; batch: number; seq: number; source: string }> {
  const file = path.join(args.model, 'config.json');
  if (existsSync(file)) {
    const config = await readCharConfig(args.model);
    const o = (config.training?.options ?? {}) as { batchSize?: number; seqLength?: number };
    return { config, batch: o.batchSize ?? 32, seq: o.seqLength ?? 64, source: file };
  }
  const vocab = [...new Set("\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")];
  return {
    config: { kind: 'char-rnn', name: 'bench', version: '0', cell: 'lstm', embedDim: 0, hiddenDim: 256, layers: 2, dropout: 0.1, vocab },
    batch: 32,
    seq: 64,
    source: 'default (no model found)',
  };
}

const backend = await initBackend(parseBackendName(process.env.TF_BACKEND));
const { config, batch, seq, source } = await shippedConfig();
const V = config.vocab.length;
const model = CharModel.init(config, 1); // weights do not change the speed
console.log(
  `config: ${config.layers}x${config.hiddenDim} ${config.cell}, embed ${config.embedDim || 'one-hot'}, vocab ${V}, dropout ${config.dropout}, batch ${batch}, seq ${seq}  (${source})`,
);
console.log(`tfjs backend: ${backend}`);

const clock = () => ({ wall: performance.now(), cpu: process.cpuUsage() });
const since = (c: ReturnType<typeof clock>) => {
  const u = process.cpuUsage(c.cpu);
  return { wall: (performance.now() - c.wall) / 1000, cpu: (u.user + u.system) / 1e6 };
};

// Training: warm-up, then `iters` updates with the state carried.
const ids = Int32Array.from({ length: batch * seq * (iters + 3) + 1 }, (_, i) => (i * 7919 + ((i * i) % 13)) % V);
const batcher = new StreamBatcher(ids, batch, seq);
const optimizer = createOptimizer('adam', 2e-3);
let state = model.zeroState(batch);
let t = clock();
for (let k = 0; k < batcher.chunks; k++) {
  if (k === 2) t = clock();
  const r = trainChunk(model, optimizer, batcher.chunk(k), seq, state, 5, k);
  disposeState(state);
  state = r.state;
}
const train = since(t);
disposeState(state);
const trainChars = (batcher.chunks - 2) * batch * seq;

// Sampling: one stream, temperature 1.
let n = 0;
for (const _ of generate(model, { prime: 'a', length: 50, temperature: 1, topK: 0, seed: 1 })) n++;
t = clock();
n = 0;
for (const _ of generate(model, { prime: 'a', length: sampleChars, temperature: 1, topK: 0, seed: 1 })) n++;
const sample = since(t);

const ours = { train: trainChars / train.wall, sample: n / sample.wall };
const fmt = (x: number) => Math.round(x).toString().padStart(7);
console.log(`tfjs-${backend}: training ${fmt(ours.train)} chars/s   sampling ${fmt(ours.sample)} chars/s`);
if (args.cpuTime) {
  console.log(`tfjs-${backend} per CPU-second: training ${fmt(trainChars / train.cpu)}   sampling ${fmt(n / sample.cpu)}`);
}
// The same sampling on onnxruntime (the server's preferred runtime), when it loads.
if ((await chooseRuntime()).runtime === 'onnx') {
  const stepper = onnxCharStepper(model);
  for (const _ of generate(model, { prime: 'a', length: 50, temperature: 1, topK: 0, seed: 1 }, stepper)) n++;
  t = clock();
  n = 0;
  for (const _ of generate(model, { prime: 'a', length: sampleChars, temperature: 1, topK: 0, seed: 1 }, stepper)) n++;
  const ort = since(t);
  stepper.dispose();
  console.log(`onnxruntime: sampling ${fmt(n / ort.wall)} chars/s (${(ort.wall / sample.wall).toFixed(2)}× tfjs's time)`);
}
// The JS stepper is a hand-written fast path: it stays only while it beats the one definition of a step
// (charStep, src/char/model.ts) run on tfjs, which this times in the same run.
{
  const defined = definedStepper(model);
  for (const _ of generate(model, { prime: 'a', length: 20, temperature: 1, topK: 0, seed: 1 }, defined)) n++;
  const chars = Math.max(50, Math.floor(sampleChars / 4));
  t = clock();
  n = 0;
  for (const _ of generate(model, { prime: 'a', length: chars, temperature: 1, topK: 0, seed: 1 }, defined)) n++;
  const def = since(t);
  console.log(
    `charStep on tfjs-${backend}: sampling ${fmt(n / def.wall)} chars/s (the JS stepper samples ${(ours.sample / (n / def.wall)).toFixed(2)}× as fast)`,
  );
}
optimizer.dispose();
model.dispose();

/** charStep (CharModel.step) as a one-stream CharStep: tensors built from and read back to arrays each character. */
function definedStepper(m: CharModel): CharStep {
  const H = m.config.hiddenDim;
  const toTensors = (a: Float32Array[]) => a.map((x) => tf.tensor2d(x, [1, H]));
  return {
    vocabSize: m.vocab.size,
    initialState: () => ({
      h: Array.from({ length: m.config.layers }, () => new Float32Array(H)),
      c: Array.from({ length: m.config.layers }, () => new Float32Array(m.isLstm ? H : 0)),
    }),
    step(state, id) {
      const out = tf.tidy(() => m.step({ h: toTensors(state.h), c: m.isLstm ? toTensors(state.c) : [] }, tf.tensor1d([id], 'int32')));
      const read = (x: tf.Tensor) => x.dataSync() as Float32Array;
      const next = { h: out.state.h.map(read), c: m.isLstm ? out.state.c.map(read) : state.c.map(() => new Float32Array(0)) };
      const logProbs = read(out.logProbs);
      tf.dispose([out.logProbs, ...out.state.h, ...out.state.c]);
      return { logProbs, state: next };
    },
    dispose: () => undefined,
  };
}

if (!args.noPeer) {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'bench', 'char_lstm_torch.py');
  const peerArgs = [
    script,
    '--hidden',
    String(config.hiddenDim),
    '--layers',
    String(config.layers),
    '--vocab',
    String(V),
    '--cell',
    config.cell,
    '--embed',
    String(config.embedDim),
    '--dropout',
    String(config.dropout),
    '--batch',
    String(batch),
    '--seq',
    String(seq),
    '--iters',
    String(iters),
    '--sample-chars',
    String(sampleChars),
  ];
  const res = spawnSync(args.peer, peerArgs, { env: { ...process.env, OPENBLAS_NUM_THREADS: '2' }, encoding: 'utf8' });
  if (res.status !== 0) {
    console.log(
      `peer (${args.peer} ${path.relative(process.cwd(), script)}) did not run: ${(res.stderr || String(res.error)).trim().split('\n').slice(-2).join(' ')}`,
    );
  } else {
    const peer = JSON.parse(res.stdout.trim().split('\n').pop()!) as {
      torch: string;
      train_chars_per_s: number;
      sample_chars_per_s: number;
      train_cpu_chars_per_s: number;
      sample_cpu_chars_per_s: number;
    };
    console.log(`torch ${peer.torch}: training ${fmt(peer.train_chars_per_s)} chars/s   sampling ${fmt(peer.sample_chars_per_s)} chars/s`);
    if (args.cpuTime)
      console.log(`torch per CPU-second:  training ${fmt(peer.train_cpu_chars_per_s)}   sampling ${fmt(peer.sample_cpu_chars_per_s)}`);
    console.log(
      `ratio tfjs/torch: training ${(ours.train / peer.train_chars_per_s).toFixed(2)}   sampling ${(ours.sample / peer.sample_chars_per_s).toFixed(2)}`,
    );
  }
}
