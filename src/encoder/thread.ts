import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import { log } from '../log.js';
import { tsWorker } from '../util/ts-worker.js';
import type { EncoderRuntime } from './registry.js';
import type { DetectedObject, Encoder } from './types.js';

/** What the worker (thread-worker.ts) is started with. */
export interface ThreadWorkerData {
  name: string;
  modelsDir: string;
  runtime: EncoderRuntime;
  /** Intra-op threads of the worker's ORT sessions. */
  intraOpThreads: number;
}

/**
 * The worker's ORT threads by default: every core but one, which the main thread keeps for HTTP and
 * decoding. On 2 cores, 1 thread served more /vqa at 16 clients than 2 did (bench-serve, README
 * "Benchmarks"): a pool as wide as the machine competes with the main thread for its core.
 */
export const defaultIntraOpThreads = (): number => Math.max(1, os.availableParallelism() - 1);

type Shape4 = [number, number, number, number];

/** The calls that carry pixels: `detect-*` is encodeAndDetect (one image) / encodeAndDetectBatch, `regions-*` encodeWithRegions(Batch). */
export type PixelOp = 'features' | 'detect-one' | 'detect-batch' | 'regions-one' | 'regions-batch';

/** Main thread → worker. */
export type ThreadRequest =
  | { id: number; op: 'features'; pixels: Float32Array; shape: Shape4 }
  | { id: number; op: Exclude<PixelOp, 'features'>; pixels: Float32Array; shape: Shape4; minScore?: number }
  | { id: number; op: 'tensors' }
  | { op: 'close' };
/** A request that is answered (all but close). */
export type CallRequest = Exclude<ThreadRequest, { op: 'close' }>;

/** Worker → main thread: once `ready` or `load-error`, then one `result`/`count`/`error` per request. */
export type ThreadReply =
  | { type: 'ready'; dim: number; inputSize: number; runtime?: string; detects: boolean; regions: boolean }
  | { type: 'load-error'; message: string }
  /** `objects` for detect and regions calls, `regions` (one array per image, transferred) for regions calls. */
  | { type: 'result'; id: number; features: Float32Array; objects?: DetectedObject[][]; regions?: Float32Array[] }
  | { type: 'count'; id: number; count: number }
  | { type: 'error'; id: number; message: string };

type Done = Extract<ThreadReply, { type: 'result' | 'count' }>;

/** Restarts of a thread that died (see loadThreadedEncoder's `restart`). */
export interface RestartPolicy {
  /** Wait before the first restart; each failed or short-lived restart doubles it. */
  firstDelayMs: number;
  maxDelayMs: number;
  /** A thread that ran this long before it died resets the delay to firstDelayMs. */
  stableMs: number;
}

/**
 * By default: 0.5 s, doubling to 30 s. A thread that crashes on every request (a bad model file, a
 * corrupt install) then costs a reload every 30 s, not a busy loop of reloads.
 */
export const DEFAULT_RESTART: RestartPolicy = { firstDelayMs: 500, maxDelayMs: 30_000, stableMs: 60_000 };

/** Thrown for calls made while the encoder's thread is down and being restarted (HTTP 503). */
export class EncoderUnavailableError extends Error {
  override name = 'EncoderUnavailableError';
  constructor(
    message: string,
    readonly retryAfterS: number,
  ) {
    super(message);
  }
}

/** An encoder running in its own worker thread (see loadThreadedEncoder). */
export interface ThreadedEncoder extends Encoder {
  readonly encodeAsync: NonNullable<Encoder['encodeAsync']>;
  readonly status: NonNullable<Encoder['status']>;
  /** tf.memory().numTensors inside the worker (tests check it does not grow). */
  workerTensors(): Promise<number>;
  /** End the current thread abruptly, as a crash would (tests, fault drills); the supervisor restarts it. */
  kill(): Promise<void>;
  /** dispose(), resolving once the thread has ended. */
  close(): Promise<void>;
}

/** Threads started and not yet ended, for closeEncoderThreads. */
const live = new Set<ThreadedEncoder>();

/**
 * How long a closing thread may take to finish its run before it is terminated. A run is one
 * encoder batch (tens of ms); a thread ends as soon as its run is done, so this bounds only a run
 * that hangs. Kept small so SHUTDOWN_TIMEOUT_MS plus this fits a 30 s stop grace period.
 */
export const CLOSE_GRACE_MS = 3_000;

/**
 * Close every encoder thread, waiting (at most `ms`) for each to finish the run it is in. Call it
 * before process.exit(): exiting, or terminating a worker, while ORT runs in it aborts the process
 * (onnxruntime-node throws a C++ exception into a stopping thread: SIGABRT instead of the exit code).
 */
export async function closeEncoderThreads(ms = CLOSE_GRACE_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const closed = Promise.all([...live].map((t) => t.close())).then(() => true as const);
  if (!(await Promise.race([closed, deadline]))) log.warn({ ms }, ENCODER_GRACE_EXPIRED);
  clearTimeout(timer);
}

/** Logged when an encoder thread was still running once the close grace period ran out. */
export const ENCODER_GRACE_EXPIRED = 'an encoder thread was still running after the grace period';

const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0]!;

/**
 * The pixels as an array this thread may hand over (transfer) to the worker. The wasm backend's
 * data() is a fresh copy; the cpu backend's is the tensor's own storage, which a transfer would
 * detach, so other backends copy first.
 */
async function ownedPixels(pixels: tf.Tensor4D): Promise<Float32Array> {
  const data = (await pixels.data()) as Float32Array;
  return tf.getBackend() === 'wasm' ? data : data.slice();
}

/** Wait for the worker's `ready`; a load error, a crash or an early exit rejects with one line. */
function whenReady(worker: Worker, name: string): Promise<Ready> {
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      off();
      reject(new Error(`could not load encoder "${name}" in its worker thread: ${why}`));
    };
    const onMessage = (m: ThreadReply) => {
      if (m.type === 'ready') {
        off();
        resolve(m);
      } else if (m.type === 'load-error') fail(m.message);
    };
    const onError = (err: Error) => fail(firstLine(err));
    const onExit = (code: number) => fail(`the thread exited (code ${code}) before it loaded`);
    const off = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

type Ready = Extract<ThreadReply, { type: 'ready' }>;

/** One started worker thread: its calls, and how it ends. */
interface ThreadLink {
  ready: Ready;
  call(req: CallRequest, transfer?: ArrayBuffer[]): Promise<Done>;
  /** Reject what is pending with `err`; ask the thread to end after its current run. */
  close(err: Error): Promise<void>;
  /** Terminate now. */
  kill(): Promise<void>;
}

/**
 * Start one worker thread and wait until it has loaded. `onDeath` is called once if it crashes or
 * exits before close(); its pending calls are rejected with the same error.
 */
async function startThread(name: string, workerUrl: URL, data: ThreadWorkerData, onDeath: (err: Error) => void): Promise<ThreadLink> {
  const worker = tsWorker(workerUrl, { workerData: data });
  let ready: Ready;
  try {
    ready = await whenReady(worker, name);
  } catch (err) {
    void worker.terminate();
    throw err;
  }
  const pending = new Map<number, { resolve: (m: Done) => void; reject: (err: Error) => void }>();
  let over: Error | undefined; // set once the thread is closing or gone: later calls reject with it
  // An idle thread does not keep the process alive; one with calls pending does.
  worker.unref();
  const failAll = (err: Error) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
    worker.unref();
  };
  const die = (err: Error) => {
    if (over) return;
    over = err;
    failAll(err);
    onDeath(err);
  };
  worker.on('message', (m: ThreadReply) => {
    if (m.type !== 'result' && m.type !== 'count' && m.type !== 'error') return;
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (pending.size === 0) worker.unref();
    if (m.type === 'error') p.reject(new Error(m.message));
    else p.resolve(m);
  });
  worker.on('error', (err) => die(new Error(`the worker thread of encoder "${name}" crashed: ${firstLine(err)}`)));
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', (code) => {
      die(new Error(`the worker thread of encoder "${name}" exited (code ${code})`));
      resolve();
    }),
  );
  return {
    ready,
    call: (req, transfer = []) => {
      if (over) return Promise.reject(over);
      return new Promise((resolve, reject) => {
        pending.set(req.id, { resolve, reject });
        if (pending.size === 1) worker.ref();
        worker.postMessage(req, transfer);
      });
    },
    close: (err) => {
      if (!over) {
        over = err;
        failAll(err);
        worker.postMessage({ op: 'close' } satisfies ThreadRequest);
        // A run that never ends must not keep the thread for ever; the timer does not keep the process.
        setTimeout(() => void worker.terminate(), CLOSE_GRACE_MS).unref();
      }
      return exited;
    },
    kill: async () => {
      await worker.terminate();
      await exited;
    },
  };
}

/**
 * Load encoder `name` (as loadEncoder does, on ONNX Runtime) in a worker thread and
 * return an Encoder that forwards to it. onnxruntime-node's run() blocks the thread it
 * is called on; here it blocks the worker, so the main thread keeps serving HTTP and
 * decoding while images are encoded. Each call posts the pixels (transferred, not
 * copied) and resolves with what the worker posts back (features and regions transferred too); one call = one message, so a
 * batcher above it keeps its batches. encode() (synchronous) throws, as the ORT
 * encoders' does. dispose() rejects calls still pending and asks the thread to end once its
 * current run is done (terminating it mid-run would abort the process).
 *
 * A thread that crashes or exits is supervised: its pending calls reject, calls while it is
 * down reject at once with EncoderUnavailableError, status() says so (the server's readiness
 * answers 503), and a new thread is started after a backoff (`restart`).
 */
export async function loadThreadedEncoder(
  name: string,
  modelsDir: string,
  opts: {
    /** Where the encoder runs in the thread: onnx only (ORT's run is what blocks a thread). */
    runtime: EncoderRuntime;
    intraOpThreads?: number;
    /** The worker module; tests stand in one that crashes. */
    workerUrl?: URL;
    restart?: RestartPolicy;
  },
): Promise<ThreadedEncoder> {
  const { runtime, intraOpThreads = defaultIntraOpThreads(), restart = DEFAULT_RESTART } = opts;
  if (runtime.runtime !== 'onnx')
    throw new Error(`the encoder thread runs ONNX Runtime encoders only; "${name}" would run on ${runtime.runtime}`);
  const workerUrl = opts.workerUrl ?? new URL('./thread-worker.js', import.meta.url);
  const data: ThreadWorkerData = { name, modelsDir, runtime, intraOpThreads };

  let link: ThreadLink | undefined;
  let down: EncoderUnavailableError | undefined; // set while no thread runs (between a death and its restart)
  let disposed: Error | undefined;
  let restarts = 0;
  let delayMs = restart.firstDelayMs;
  let startedAt = performance.now();
  let timer: NodeJS.Timeout | undefined;
  let starting: Promise<void> | undefined;

  const scheduleRestart = (why: string) => {
    if (disposed) return;
    down = new EncoderUnavailableError(`encoder "${name}" is restarting after ${why}; try again shortly`, Math.ceil(delayMs / 1000));
    log.error({ encoder: name, retry_in_ms: delayMs }, `encoder thread down (${why}); restarting in ${delayMs} ms`);
    timer = setTimeout(() => {
      starting = attempt().finally(() => (starting = undefined));
    }, delayMs);
    timer.unref(); // a server with nothing else to do may still exit
    delayMs = Math.min(restart.maxDelayMs, delayMs * 2);
  };
  const onDeath = (err: Error) => {
    link = undefined;
    if (performance.now() - startedAt >= restart.stableMs) delayMs = restart.firstDelayMs;
    scheduleRestart(firstLine(err).replace(/^the worker thread of /, 'the thread of '));
  };
  const attempt = async () => {
    try {
      const next = await startThread(name, workerUrl, data, onDeath);
      if (disposed) return void (await next.close(disposed));
      link = next;
      down = undefined;
      restarts++;
      startedAt = performance.now();
      log.info({ encoder: name, restarts }, 'encoder thread restarted');
    } catch (err) {
      scheduleRestart(`a failed restart (${firstLine(err)})`);
    }
  };

  link = await startThread(name, workerUrl, data, onDeath);
  const ready = link.ready;
  let nextId = 0;
  const call = (req: CallRequest, transfer?: ArrayBuffer[]): Promise<Done> => {
    if (disposed) return Promise.reject(disposed);
    if (!link) return Promise.reject(down ?? new EncoderUnavailableError(`encoder "${name}" is restarting`, 1));
    return link.call(req, transfer);
  };
  const withPixels = async (op: PixelOp, pixels: tf.Tensor4D, minScore?: number) => {
    const unavailable = disposed ?? down;
    if (unavailable) throw unavailable; // before reading the pixels: a thread that is down answers at once
    const px = await ownedPixels(pixels);
    const req: CallRequest =
      op === 'features'
        ? { id: nextId++, op, pixels: px, shape: pixels.shape }
        : { id: nextId++, op, pixels: px, shape: pixels.shape, ...(minScore === undefined ? {} : { minScore }) };
    const done = await call(req, [px.buffer as ArrayBuffer]);
    if (done.type !== 'result') throw new Error(`encoder thread answered ${done.type} to ${op}`);
    return done;
  };

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      disposed = new Error(`encoder "${name}" is disposed`);
      clearTimeout(timer);
      const current = link;
      link = undefined;
      await current?.close(new Error(`encoder "${name}" was disposed while this call was pending`));
      await starting; // a restart under way closes its new thread itself
      live.delete(encoder);
    })();
    return closed;
  };

  const encoder: ThreadedEncoder = {
    name,
    dim: ready.dim,
    inputSize: ready.inputSize,
    ...(ready.runtime === undefined ? {} : { runtime: ready.runtime }),
    encode: () => {
      throw new Error(`${name} runs in a worker thread, which is asynchronous: call encodeFeatures() (src/encoder/pixels.ts)`);
    },
    encodeAsync: async (pixels) => (await withPixels('features', pixels)).features,
    ...(ready.detects
      ? {
          encodeAndDetect: async (pixels: tf.Tensor4D, minScore?: number) => {
            const { features, objects } = await withPixels('detect-one', pixels, minScore);
            return { features, objects: objects?.[0] ?? [] };
          },
          encodeAndDetectBatch: async (pixels: tf.Tensor4D, minScore?: number) => {
            const { features, objects } = await withPixels('detect-batch', pixels, minScore);
            return { features, objects: objects ?? [] };
          },
        }
      : {}),
    ...(ready.regions
      ? {
          encodeWithRegions: async (pixels: tf.Tensor4D, minScore?: number) => {
            const { features, objects, regions } = await withPixels('regions-one', pixels, minScore);
            if (!objects?.[0] || !regions?.[0]) throw new Error('encoder thread answered regions-one without regions');
            return { features, objects: objects[0], regions: regions[0] };
          },
          encodeWithRegionsBatch: async (pixels: tf.Tensor4D, minScore?: number) => {
            const { features, objects, regions } = await withPixels('regions-batch', pixels, minScore);
            if (!objects || !regions) throw new Error('encoder thread answered regions-batch without regions');
            return { features, objects, regions };
          },
        }
      : {}),
    status: () => ({ restarts, ...(down && !disposed ? { down: down.message } : {}) }),
    workerTensors: async () => {
      const done = await call({ id: nextId++, op: 'tensors' });
      if (done.type !== 'count') throw new Error(`encoder thread answered ${done.type} to tensors`);
      return done.count;
    },
    kill: async () => {
      await link?.kill();
    },
    close,
    dispose: () => void close(),
  };
  live.add(encoder);
  return encoder;
}
