import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { CaptionService } from '../caption/service.js';
import type { CharService } from '../char/service.js';
import { inferenceSlots, type Config } from '../app/config.js';
import { log } from '../log.js';
import { watchClient, type RouteContext } from './context.js';
import { handleClientError, handleError, handleExpectation, handleNotFound, HttpError } from './errors.js';
import { MULTIPART_FIELDS } from './image-input.js';
import { formRefused } from './multipart.js';
import { jsonShapeProblem, notJsonProblem } from './json-shape.js';
import { Limiter } from './limiter.js';
import { Metrics } from './metrics.js';
import { decoderRuntimes, describeModels, encoderStatus, ModelRegistry } from './models.js';
import { registerProtection } from './protection.js';
import { registerDocs } from './openapi.js';
import { adminRoutes } from './routes/admin.js';
import { captionRoutes } from './routes/caption.js';
import { generateRoutes } from './routes/generate.js';
import { healthRoutes, Readiness, type InferenceInfo } from './routes/health.js';
import { jobsDisabledRoutes, jobsRoutes } from './routes/jobs.js';
import type { JobsClient } from '../app/jobs/producer.js';
import { metricsRoutes } from './routes/metrics.js';
import { modelsRoutes } from './routes/models.js';
import { pageRoutes } from './routes/page.js';
import { vqaRoutes } from './routes/vqa.js';
import type { VqaService } from '../vqa/service.js';

/**
 * Services are optional so a server can run with a subset of the models;
 * routes of a missing service are simply not registered (404).
 */
export interface AppDeps {
  config: Config;
  backend: string;
  /** The inference runtime chosen at start (serve.ts); tfjs when absent. */
  runtime?: Pick<InferenceInfo, 'runtime' | 'device' | 'reason' | 'encoder_thread'>;
  caption?: CaptionService;
  /** Visual question answering (POST /vqa). */
  vqa?: VqaService;
  /** Char-level text generation (POST /generate). */
  generate?: CharService;
  /** Shared inference limiter; built from the config when absent (tests pass one to fill it). */
  limiter?: Limiter;
  /** Readiness state; app.close() marks it draining (tests pass one to look at it). */
  readiness?: Readiness;
  /**
   * The models served, swappable by a reload (serve.ts passes one with a
   * loader); built from caption, vqa and generate when absent.
   */
  models?: ModelRegistry;
  /** Bulk jobs in Redis (REDIS_URL); absent: /jobs answers 404 jobs_disabled. */
  jobs?: JobsClient;
}

const SAFE_REQUEST_ID = /^[\w.:-]{1,64}$/;

/** The request id: a valid incoming X-Request-Id (1-64 of A-Z a-z 0-9 _ . : -), else a new UUID. */
export function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
}

/** Largest JSON body: the image as base64 (4 bytes per 3) plus room for the options. */
export function jsonBodyLimit(maxImageBytes: number): number {
  return Math.ceil(maxImageBytes / 3) * 4 + 64 * 1024;
}

/** The HTTP app, ready to `listen` or to be driven through `app.server` in tests. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  // Typed as fastify's base logger: with pino's own Logger type, the instance
  // would not match the plain FastifyInstance that route plugins expect.
  const logger: FastifyBaseLogger = log;
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: jsonBodyLimit(config.MAX_IMAGE_BYTES),
    // A client that trickles its request (1 byte/s) is cut off with a 408
    // once the whole request has taken REQUEST_TIMEOUT_MS; an idle
    // keep-alive connection after KEEP_ALIVE_TIMEOUT_MS.
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    keepAliveTimeout: config.KEEP_ALIVE_TIMEOUT_MS,
    http: {
      headersTimeout: Math.min(60_000, config.REQUEST_TIMEOUT_MS),
      // How often node checks those deadlines (its default, 30 s, would let a trickle run that much longer).
      connectionsCheckingInterval: Math.max(50, Math.min(5_000, Math.floor(config.REQUEST_TIMEOUT_MS / 4))),
      // node's own 400 for an HTTP/1.1 request without Host has an empty body
      // and no request id; the onRequest hook below refuses it in our shape.
      requireHostHeader: false,
    },
    // During app.close() requests on open keep-alive connections are still
    // served (in-flight work finishes) and /health/ready answers the 503 in
    // our error shape; fastify's own closing reply has another shape.
    return503OnClosing: false,
    // X-Request-Id: the caller's id when it is short and safe to log, else ours;
    // fastify puts it in every log line of the request as reqId.
    requestIdHeader: false,
    // req.ip (the rate limit's key) from X-Forwarded-For only across this many trusted proxies.
    trustProxy: config.TRUST_PROXY > 0 ? (_address: string, hop: number) => hop < config.TRUST_PROXY : false,
    genReqId: requestId,
    clientErrorHandler: handleClientError,
    frameworkErrors: (err, req, reply) => void handleError(err, req, reply),
  });
  const limiter = deps.limiter ?? new Limiter(inferenceSlots(config), config.MAX_QUEUE);
  const models = deps.models ?? new ModelRegistry({ caption: deps.caption, vqa: deps.vqa, generate: deps.generate });
  const metrics = new Metrics(limiter, () => encoderStatus(models.services)?.restarts ?? 0);
  const ctx: RouteContext = { config, backend: deps.backend, limiter, metrics };

  // Route schemas are generated from zod for the OpenAPI docs (openapi.ts);
  // the handlers parse with the same zod schemas (image routes take options
  // from the query, form fields or JSON alike), and replies are plain
  // JSON.stringify (no field stripping).
  app.setValidatorCompiler(() => (data: unknown) => ({ value: data }));
  app.setSerializerCompiler(() => (data: unknown) => JSON.stringify(data));
  app.setErrorHandler(handleError);
  app.setNotFoundHandler(handleNotFound);
  // Set first, so every reply (404 and errors included) carries it.
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  app.addHook('onRequest', async (req) => {
    if (req.raw.httpVersion === '1.1' && req.headers.host === undefined) {
      throw new HttpError(400, 'invalid_request', 'the Host header is missing; HTTP/1.1 requests must send one');
    }
  });
  // Expect other than 100-continue: node's 417 would have an empty body.
  app.server.on('checkExpectation', handleExpectation);
  app.addHook('onRequest', watchClient);
  await registerProtection(app, config);
  await registerBodyParsers(app, config);
  registerHttpMetrics(app, metrics);
  await registerDocs(app);

  const readiness = deps.readiness ?? new Readiness();
  // preClose runs before the server stops listening: probes see 503 at once.
  app.addHook('preClose', async () => {
    readiness.draining = true;
  });
  // While draining, each reply closes its connection, so server.close() is not
  // held open by keep-alive sockets until KEEP_ALIVE_TIMEOUT_MS. So does a
  // refusal that left the body unread: kept alive, the connection would wait
  // for the rest of a body nobody reads (CLOSE-WAIT for a minute), or read a
  // declared 10 GB to its end; with `Connection: close` node ends the socket
  // once the reply is out, and what was not read is dropped with it.
  app.addHook('onSend', async (req, reply) => {
    if (readiness.draining || (reply.statusCode >= 400 && (bodyLeftUnread(req.raw) || formRefused(req.raw))))
      reply.header('connection', 'close');
  });
  // Read per request: a reload changes the versions they report.
  await app.register(healthRoutes, {
    backend: deps.backend,
    models: () => describeModels(models.services),
    readiness,
    encoderDown: () => encoderStatus(models.services)?.down,
    inference: inferenceInfo(deps, models),
  });
  await app.register(metricsRoutes, { metrics });
  await app.register(modelsRoutes, { models });
  if (config.ADMIN_TOKEN !== undefined) await app.register(adminRoutes, { token: config.ADMIN_TOKEN, models });
  // The web page at / (web/), bundled in memory at start.
  await app.register(pageRoutes, { ...models.services });
  // Routes are fixed at start (a reload keeps the same tasks); each request leases the services it uses.
  const { caption, vqa, generate } = models.services;
  if (caption) await app.register(captionRoutes, { ...ctx, models });
  if (vqa) await app.register(vqaRoutes, { ...ctx, models, vqa });
  if (generate) await app.register(generateRoutes, { ...ctx, models });
  // No model here: the workers caption; this process only talks to Redis.
  if (deps.jobs) await app.register(jobsRoutes, { config, jobs: deps.jobs });
  else await app.register(jobsDisabledRoutes);
  return app;
}

/**
 * Body parsers, all bounded by MAX_IMAGE_BYTES: raw image/* bodies, multipart
 * (one file, a few short fields) and JSON (fastify's own parser, bodyLimit
 * above). text/plain is removed so it gets a 415 like any other type.
 */
async function registerBodyParsers(app: FastifyInstance, config: Config): Promise<void> {
  app.removeContentTypeParser('text/plain');
  // JSON: that it can be JSON at all, then its shape (depth, key count), is checked on the text before
  // fastify's own parser (with its __proto__ checks) builds anything.
  const parseJson = app.getDefaultJsonParser('error', 'ignore');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    const notJson = notJsonProblem(text);
    if (notJson) {
      done(new HttpError(400, 'invalid_json', notJson), undefined);
      return;
    }
    const problem = jsonShapeProblem(text);
    if (problem) {
      done(new HttpError(400, 'json_too_complex', `${problem}; send the options as one flat object`), undefined);
      return;
    }
    void parseJson(req, text, done);
  });
  app.addContentTypeParser(/^image\/[\w.+-]+/i, { parseAs: 'buffer', bodyLimit: config.MAX_IMAGE_BYTES }, (_req, body, done) =>
    done(null, body),
  );
  await app.register(multipart, {
    limits: {
      fileSize: config.MAX_IMAGE_BYTES,
      files: 1,
      fields: MULTIPART_FIELDS,
      fieldSize: 1024,
      fieldNameSize: 64,
      parts: 20,
      headerPairs: 32,
    },
  });
}

/**
 * Whether the request has a body that was not read to its end: still
 * arriving, waiting in the stream, or stuck in a parser that stopped at an error.
 */
export function bodyLeftUnread(raw: IncomingMessage): boolean {
  const declaresBody = raw.headers['transfer-encoding'] !== undefined || Number(raw.headers['content-length'] ?? 0) > 0;
  return declaresBody && !raw.readableEnded;
}

function registerHttpMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (req, reply) => {
    // The route pattern, not the URL, keeps label cardinality bounded.
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.httpDuration.observe({ method: req.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
}

function inferenceInfo(deps: AppDeps, models: ModelRegistry): InferenceInfo {
  // The VQA models share the caption encoder (src/app/services.ts), so it is the one to report.
  const e = models.services.caption?.encoder;
  const encoders: Record<string, string> = e ? { [e.name]: e.runtime ?? 'tfjs' } : {};
  const decoders = decoderRuntimes(models.services);
  return { ...(deps.runtime ?? { runtime: 'tfjs', device: deps.backend, reason: 'default' }), encoders, decoders };
}
