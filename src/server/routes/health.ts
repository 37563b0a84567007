import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { HttpError } from '../errors.js';
import { BackendSchema } from '../../util/reply.js';
import { routeSchema } from '../openapi.js';

export const ModelInfoSchema = z.object({ name: z.string(), version: z.string(), encoder: z.string().optional() }).strict();

export type ModelInfo = z.infer<typeof ModelInfoSchema>;

export const InferenceInfoSchema = z
  .object({
    runtime: z.enum(['onnx', 'tfjs']).describe('preferred inference runtime: onnxruntime-node, or the TensorFlow.js backend'),
    device: z.string().describe('where ORT runs (cpu, cuda), or the tfjs backend'),
    reason: z.string().describe('why this runtime: INFERENCE_RUNTIME, or what made onnx unavailable'),
    encoders: z.record(z.string()).describe('runtime of each loaded encoder, by encoder name ("onnx+tfjs": one per part)'),
    encoder_thread: z.boolean().optional().describe('whether the encoders run in a worker thread (ENCODER_THREAD; onnx only)'),
    decoders: z.record(z.enum(['onnx', 'tfjs'])).describe('runtime of each loaded decoder, by task: caption, generate, vqa/<name>'),
  })
  .strict();
export type InferenceInfo = z.infer<typeof InferenceInfoSchema>;

export const HealthReplySchema = z
  .object({
    status: z.literal('ok'),
    backend: BackendSchema,
    inference: InferenceInfoSchema,
    models: z.record(ModelInfoSchema).describe('loaded models by task: caption, generate, vqa/<name>'),
    uptime_s: z.number(),
  })
  .strict()
  .describe('alive, and what is loaded');

export type HealthReply = z.infer<typeof HealthReplySchema>;

export const LiveReplySchema = z
  .object({ status: z.literal('live') })
  .strict()
  .describe('the process is up and its event loop answers');
export const ReadyReplySchema = z
  .object({ status: z.literal('ready'), models: z.array(z.string()).describe('loaded models by task') })
  .strict()
  .describe('every configured model is loaded and the server is not shutting down');

/**
 * Whether the server takes work. The app is built only after every configured
 * model has loaded (serve.ts), so the one way to stop being ready is shutting
 * down: app.close() sets `draining` before it stops listening.
 */
export class Readiness {
  draining = false;
}

export interface HealthRouteOptions {
  backend: string;
  inference: InferenceInfo;
  /** Loaded models by task, now (a reload changes them). */
  models: () => Readonly<Record<string, ModelInfo>>;
  readiness: Readiness;
  /** Why the encoder cannot encode now (its thread is restarting), read per probe. */
  encoderDown: () => string | undefined;
}

const healthSchema = routeSchema({ summary: 'Liveness and loaded models', tags: ['ops'], reply: HealthReplySchema, errors: false });
const liveSchema = routeSchema({ summary: 'Liveness probe: the process is up', tags: ['ops'], reply: LiveReplySchema, errors: false });
const readySchema = routeSchema({
  summary:
    'Readiness probe: 200 when models are loaded, 503 (error shape) while shutting down, with no model or while the encoder thread restarts',
  tags: ['ops'],
  reply: ReadyReplySchema,
});

/** The reason the server is not ready, or undefined when it is. `encoderDown`: why the encoder thread is down. */
export function notReadyReason(
  readiness: Readiness,
  models: Readonly<Record<string, ModelInfo>>,
  encoderDown?: string,
): string | undefined {
  if (readiness.draining) return 'the server is shutting down; send new work elsewhere';
  if (Object.keys(models).length === 0) return 'no model is loaded; check MODELS_DIR';
  return encoderDown;
}

/** GET /health, /health/live and /health/ready: cheap, never touch a model. */
export const healthRoutes: FastifyPluginAsync<HealthRouteOptions> = async (app, opts) => {
  const startedAt = performance.now();
  app.get('/health', { schema: healthSchema }, async (): Promise<HealthReply> => ({
    status: 'ok',
    backend: opts.backend,
    inference: opts.inference,
    models: opts.models(),
    uptime_s: Math.round((performance.now() - startedAt) / 100) / 10,
  }));
  app.get('/health/live', { schema: liveSchema }, async () => ({ status: 'live' as const }));
  app.get('/health/ready', { schema: readySchema }, async () => {
    const models = opts.models();
    const reason = notReadyReason(opts.readiness, models, opts.encoderDown());
    if (reason) throw new HttpError(503, 'not_ready', reason, { 'retry-after': '5' });
    return { status: 'ready' as const, models: Object.keys(models) };
  });
};
