import * as tf from '@tensorflow/tfjs';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ClientGoneError } from '../batching/errors.js';
import type { Limiter } from './limiter.js';

export type InferenceTask = 'caption' | 'vqa' | 'generate';

/**
 * The app's Prometheus metrics, in a registry of its own (not prom-client's
 * global one) so several apps, e.g. in tests, never clash over names.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly inferenceDuration: Histogram<'task' | 'outcome'>;
  readonly rejected: Counter<'task'>;
  readonly batchSize: Histogram<'task'>;
  readonly decoderBatchSize: Histogram<'task'>;

  /** `encoderRestarts`: how often the encoder thread has been restarted (read at scrape time). */
  constructor(limiter: Limiter, encoderRestarts: () => number = () => 0) {
    collectDefaultMetrics({ register: this.registry });
    this.httpDuration = new Histogram({
      name: 'captioner_http_request_duration_seconds',
      help: 'HTTP request duration by route pattern and status code',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [this.registry],
    });
    this.inferenceDuration = new Histogram({
      name: 'captioner_inference_duration_seconds',
      help: 'Model inference duration (image decoding included, queueing excluded) by task and outcome (ok, error, cancelled: the client left)',
      labelNames: ['task', 'outcome'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [this.registry],
    });
    this.rejected = new Counter({
      name: 'captioner_inference_rejected_total',
      help: 'Inference jobs refused with 503 because the queue was full',
      labelNames: ['task'],
      registers: [this.registry],
    });
    new Gauge({
      name: 'captioner_inference_jobs',
      help: 'Inference jobs running or waiting for a slot',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        this.set({ state: 'running' }, limiter.running);
        this.set({ state: 'waiting' }, limiter.waiting);
      },
    });
    // Read at scrape time: a count that only grows means a leak.
    new Gauge({
      name: 'captioner_tf_tensors',
      help: 'TensorFlow.js tensors alive (tf.memory().numTensors), model weights included',
      registers: [this.registry],
      collect() {
        this.set(tf.memory().numTensors);
      },
    });
    // A counter read at scrape time from the encoder's supervisor; a reload starts a new encoder at 0 (a counter reset).
    new Counter({
      name: 'captioner_encoder_thread_restarts_total',
      help: 'Times the encoder thread died and was restarted (src/encoder/thread.ts)',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(encoderRestarts());
      },
    });
    this.batchSize = new Histogram({
      name: 'captioner_inference_batch_size',
      help: 'Per request, the size of the encoder batch it ran in (1: computed alone), by task',
      labelNames: ['task'],
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers: [this.registry],
    });
    this.decoderBatchSize = new Histogram({
      name: 'captioner_decoder_batch_size',
      help: 'Per request whose decoder is batched (caption searches, VQA question models), how many requests ran it together, by task',
      labelNames: ['task'],
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers: [this.registry],
    });
  }

  /**
   * Run `job` and record its duration under `task` and its outcome: ok,
   * cancelled (its client hung up while it waited for a batch, so it was never
   * computed: not a failure of the model) or error.
   */
  async timeInference<T>(task: InferenceTask, job: () => Promise<T>): Promise<T> {
    const end = this.inferenceDuration.startTimer({ task });
    try {
      const out = await job();
      end({ outcome: 'ok' });
      return out;
    } catch (err) {
      end({ outcome: err instanceof ClientGoneError ? 'cancelled' : 'error' });
      throw err;
    }
  }
}
