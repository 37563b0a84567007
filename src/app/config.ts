import { z } from 'zod';
import type { ImageLimits } from '../image/decode.js';
import type { BackendName } from '../nn/backend.js';
import type { InferenceRuntime } from '../onnx/runtime.js';
import { formatZodIssue } from '../util/zod-error.js';

// Spelled out rather than imported, so reading the config loads neither tfjs
// nor the logger (src/log.ts passes LOG_LEVEL to pino, which throws on a bad
// level before we could explain it). The check below fails to compile if
// nn/backend.ts gains a backend missing here.
const BACKENDS = ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'] as const satisfies readonly BackendName[];
const allBackendsListed: [Exclude<BackendName, (typeof BACKENDS)[number]>] extends [never] ? true : never = true;
void allBackendsListed;

// Spelled out for the same reason; checked against src/onnx/runtime.ts the same way.
const INFERENCE_RUNTIMES = ['onnx', 'tfjs'] as const satisfies readonly InferenceRuntime[];
const allRuntimesListed: [Exclude<InferenceRuntime, (typeof INFERENCE_RUNTIMES)[number]>] extends [never] ? true : never = true;
void allRuntimesListed;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** An environment value parsed as an integer in [min, max], with a message naming the rule. */
function intVar(name: string, min: number, max: number, fallback: number) {
  const rule = `${name} must be an integer from ${min} to ${max}`;
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return fallback;
      // Number() accepts "40e6" and "0x10"; isInteger rejects "1.5" and "abc" (NaN).
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${rule}; got "${v}"` });
        return z.NEVER;
      }
      return n;
    });
}

function enumVar<T extends readonly [string, ...string[]]>(name: string, values: T) {
  return z
    .string()
    .optional()
    .refine(
      (v) => v === undefined || (values as readonly string[]).includes(v),
      (v) => ({
        message: `${name} must be one of ${values.join(', ')}; got "${v}"`,
      }),
    )
    .transform((v) => v as T[number] | undefined);
}

const MiB = 1024 * 1024;

/** A comma-separated list of origins (scheme://host[:port]) allowed to call the API from a browser, or `*`. */
const CorsOriginsVar = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const list = (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    for (const origin of list) {
      if (origin !== '*' && !/^https?:\/\/[^/\s?#]+$/.test(origin)) {
        const message = `CORS_ORIGINS must be a comma-separated list of origins like https://app.example.com (no path), or *; got "${origin}"`;
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: message.slice(0, 300) });
        return z.NEVER;
      }
    }
    return list;
  });

/** The admin bearer token: unset turns the admin routes off; short tokens are refused as guessable. */
const AdminTokenVar = z
  .string()
  .optional()
  .refine((v) => v === undefined || (v.length >= 16 && v.length <= 512 && /^[\x21-\x7e]+$/.test(v)), {
    message: 'ADMIN_TOKEN must be 16 to 512 printable characters without spaces (e.g. `openssl rand -hex 24`)',
  });

/** Where the bulk-job queue lives: redis://[user:password@]host[:port][/db] or rediss:// (TLS). */
const RedisUrlVar = z
  .string()
  .optional()
  .refine((v) => v === undefined || /^rediss?:\/\/[^\s]+$/.test(v), {
    message: 'REDIS_URL must look like redis://host:6379 (or rediss:// for TLS)',
  });

const EnvSchema = z.object({
  PORT: intVar('PORT', 0, 65535, 3000),
  HOST: z.string().min(1).optional().default('0.0.0.0'),
  MODELS_DIR: z.string().min(1).optional().default('models'),
  /** The VQA model POST /vqa uses when the request names none (a folder under MODELS_DIR/vqa). */
  VQA_DEFAULT_MODEL: z.string().min(1).optional().default('flickr8k-qa'),
  TF_BACKEND: enumVar('TF_BACKEND', BACKENDS),
  /** Force the inference runtime; unset prefers onnx (onnxruntime-node) and falls back to tfjs. */
  INFERENCE_RUNTIME: enumVar('INFERENCE_RUNTIME', INFERENCE_RUNTIMES),
  /** On the onnx runtime, run the encoders in a worker thread (ORT's run blocks its thread), leaving HTTP and decoding to the main one. */
  ENCODER_THREAD: enumVar('ENCODER_THREAD', ['on', 'off'] as const).transform((v) => v ?? 'on'),
  MAX_IMAGE_BYTES: intVar('MAX_IMAGE_BYTES', 1, 1024 * MiB, 10 * MiB),
  MAX_IMAGE_PIXELS: intVar('MAX_IMAGE_PIXELS', 1, 1_000_000_000, 40_000_000),
  MAX_IMAGE_ASPECT_RATIO: intVar('MAX_IMAGE_ASPECT_RATIO', 1, 10_000, 20),
  MAX_CONCURRENCY: intVar('MAX_CONCURRENCY', 1, 64, 2),
  // 0 is allowed: no waiting at all, every job beyond MAX_CONCURRENCY gets a 503.
  MAX_QUEUE: intVar('MAX_QUEUE', 0, 10_000, 32),
  /** Dynamic batching: most requests per encoder batch (max_batch_size); 1 turns batching off. */
  BATCH_MAX_SIZE: intVar('BATCH_MAX_SIZE', 1, 64, 8),
  /** How long a batch's first request waits for others (max_queue_delay_ms); 0 with BATCH_MAX_SIZE 1 is off. */
  BATCH_MAX_DELAY_MS: intVar('BATCH_MAX_DELAY_MS', 0, 1_000, 2),
  /** The whole request (headers and body) must arrive within this; a 10 MiB upload at 2 Mbit/s takes 42 s. */
  REQUEST_TIMEOUT_MS: intVar('REQUEST_TIMEOUT_MS', 100, 3_600_000, 60_000),
  KEEP_ALIVE_TIMEOUT_MS: intVar('KEEP_ALIVE_TIMEOUT_MS', 100, 3_600_000, 72_000),
  /** On SIGTERM/SIGINT, how long open and queued requests may take to finish before the process exits 1. */
  SHUTDOWN_TIMEOUT_MS: intVar('SHUTDOWN_TIMEOUT_MS', 0, 3_600_000, 25_000),
  LOG_LEVEL: enumVar('LOG_LEVEL', LOG_LEVELS).transform((v) => v ?? 'info'),
  /** Requests per client (IP) per RATE_LIMIT_WINDOW_MS before 429; 0 turns rate limiting off. Health and metrics are exempt. */
  RATE_LIMIT_MAX: intVar('RATE_LIMIT_MAX', 0, 1_000_000, 600),
  RATE_LIMIT_WINDOW_MS: intVar('RATE_LIMIT_WINDOW_MS', 1_000, 86_400_000, 60_000),
  /** Proxy hops whose X-Forwarded-For is trusted for the client address (0: the socket's address is the client). */
  TRUST_PROXY: intVar('TRUST_PROXY', 0, 10, 0),
  /** Load shedding (503 + Retry-After) while the mean event-loop delay of the last second exceeds this; 0 = off. */
  SHED_EVENT_LOOP_DELAY_MS: intVar('SHED_EVENT_LOOP_DELAY_MS', 0, 600_000, 1_000),
  /** ... while the V8 heap in use exceeds this many MiB; 0 = off. */
  SHED_HEAP_USED_MIB: intVar('SHED_HEAP_USED_MIB', 0, 1_048_576, 0),
  /** ... while the resident set exceeds this many MiB (set it below a container's memory limit); 0 = off. */
  SHED_RSS_MIB: intVar('SHED_RSS_MIB', 0, 1_048_576, 0),
  CORS_ORIGINS: CorsOriginsVar,
  ADMIN_TOKEN: AdminTokenVar,
  /** Bulk jobs (POST /jobs, npm run worker): their queue and results in this Redis; unset: /jobs answers 404 jobs_disabled. */
  REDIS_URL: RedisUrlVar,
  /** The folder POST /jobs may name images under (`paths`), and workers read them from; unset: only uploads. */
  INPUT_ROOT: z.string().min(1).optional(),
  /** Most images in one bulk job. */
  JOBS_MAX_IMAGES: intVar('JOBS_MAX_IMAGES', 1, 1_000_000, 10_000),
  /** Most megabytes of images one POST /jobs upload may bring (they wait in Redis until captioned). */
  JOBS_MAX_UPLOAD_MIB: intVar('JOBS_MAX_UPLOAD_MIB', 1, 1_048_576, 1024),
  /** How long a bulk job's uploaded images, results and failures stay in Redis after their last write. */
  JOBS_TTL_S: intVar('JOBS_TTL_S', 60, 90 * 86_400, 7 * 86_400),
  /** Tries per image before its error is recorded as its result (exponential backoff between them). */
  JOBS_ATTEMPTS: intVar('JOBS_ATTEMPTS', 1, 20, 3),
  /** Tasks a worker holds at once and encodes together where the encoder allows a batch. */
  WORKER_BATCH: intVar('WORKER_BATCH', 1, 64, 4),
  /** A worker's lock on a task; a task whose worker died is taken over this long after its last renewal. */
  WORKER_LOCK_MS: intVar('WORKER_LOCK_MS', 500, 600_000, 30_000),
});

export type Config = z.output<typeof EnvSchema>;

/** The batcher's settings, or undefined when BATCH_MAX_SIZE is 1 (every request encoded alone). */
export function batchOptions(config: Config): { maxBatchSize: number; maxDelayMs: number; maxQueue: number } | undefined {
  if (config.BATCH_MAX_SIZE <= 1) return undefined;
  // Requests in flight are bounded by the limiter (MAX_CONCURRENCY × BATCH_MAX_SIZE); this bound only guards the batcher.
  return { maxBatchSize: config.BATCH_MAX_SIZE, maxDelayMs: config.BATCH_MAX_DELAY_MS, maxQueue: Math.max(1, config.MAX_QUEUE) };
}

/** Whether the encoders run in a worker thread: ENCODER_THREAD on and the encoders on onnx (src/encoder/thread.ts). */
export function encoderThread(config: Config, runtime: InferenceRuntime): boolean {
  return config.ENCODER_THREAD === 'on' && runtime === 'onnx';
}

/** The limits every image is checked against (MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, MAX_IMAGE_ASPECT_RATIO): requests and bulk tasks alike. */
export function imageLimits(config: Config): ImageLimits {
  return { maxBytes: config.MAX_IMAGE_BYTES, maxPixels: config.MAX_IMAGE_PIXELS, maxAspectRatio: config.MAX_IMAGE_ASPECT_RATIO };
}

/** Inference jobs that may run at once: each slot of MAX_CONCURRENCY holds a whole batch when batching is on. */
export function inferenceSlots(config: Config): number {
  return config.MAX_CONCURRENCY * config.BATCH_MAX_SIZE;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Read the server configuration from environment variables. Empty strings
 * count as unset (so `PORT= npm start` uses the default). Throws ConfigError
 * listing every invalid variable and what it allows.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const keys = Object.keys(EnvSchema.shape) as (keyof typeof EnvSchema.shape)[];
  const picked: Record<string, string | undefined> = {};
  for (const key of keys) {
    const v = env[key]?.trim();
    picked[key] = v === '' ? undefined : v;
  }
  const parsed = EnvSchema.safeParse(picked);
  if (!parsed.success) {
    const lines = parsed.error.issues.map(formatZodIssue);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return parsed.data;
}
