// A stand-in for src/encoder/thread-worker.ts that loads, then dies on its first request:
// it throws (modelsDir "throws") or exits with code 3 (modelsDir "exits").
import { parentPort, workerData } from 'node:worker_threads';
import type { ThreadReply, ThreadWorkerData } from '../../src/encoder/thread.js';

const port = parentPort!;
const { modelsDir: mode } = workerData as ThreadWorkerData;
port.on('message', () => {
  if (mode === 'exits') process.exit(3);
  throw new Error('boom');
});
port.postMessage({ type: 'ready', dim: 1, inputSize: 2, detects: false, regions: false } satisfies ThreadReply);
