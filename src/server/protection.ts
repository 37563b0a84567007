import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import underPressure from '@fastify/under-pressure';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../app/config.js';
import { HttpError } from './errors.js';

/**
 * Probes and scrapes: never rate limited or shed, so an orchestrator sees the
 * truth about a busy server instead of the limits meant for clients.
 */
export const EXEMPT_ROUTES: ReadonlySet<string> = new Set(['/health', '/health/live', '/health/ready', '/metrics']);

const isExempt = (req: FastifyRequest) => EXEMPT_ROUTES.has(req.routeOptions.url ?? '');

/**
 * Same-origin scripts, styles and fetches only: enough for Swagger UI at /docs
 * (external scripts, inline style attributes, data: images) and a page at /.
 * No upgrade-insecure-requests: on plain http (a LAN host, no TLS in front)
 * it would send the page's own scripts to an https port that does not exist.
 */
export const CSP_DIRECTIVES = {
  defaultSrc: ["'self'"],
  baseUri: ["'self'"],
  scriptSrc: ["'self'"],
  scriptSrcAttr: ["'none'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  imgSrc: ["'self'", 'data:', 'blob:'],
  fontSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
};

/**
 * Security headers, CORS, per-client rate limiting and load shedding, in that
 * order: a 429 or 503 carries the security and CORS headers too, so a browser
 * client can read it. Register before the routes.
 */
export async function registerProtection(app: FastifyInstance, config: Config): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: CSP_DIRECTIVES },
    // HSTS belongs to whatever terminates TLS in front: sent from here (includeSubDomains) it
    // would bind every subdomain of the host to https for a year.
    strictTransportSecurity: false,
  });
  await registerCors(app, config.CORS_ORIGINS);
  if (config.RATE_LIMIT_MAX > 0) await registerRateLimit(app, config);
  await registerLoadShedding(app, config);
}

async function registerCors(app: FastifyInstance, origins: readonly string[]): Promise<void> {
  // No origin listed: no CORS headers at all, so browsers allow same-origin calls only.
  if (origins.length === 0) return;
  await app.register(cors, {
    origin: origins.includes('*') ? '*' : [...origins],
    methods: ['GET', 'POST', 'OPTIONS'],
    exposedHeaders: ['x-request-id', 'retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
    maxAge: 600,
  });
}

async function registerRateLimit(app: FastifyInstance, config: Config): Promise<void> {
  const window = config.RATE_LIMIT_WINDOW_MS % 1000 === 0 ? `${config.RATE_LIMIT_WINDOW_MS / 1000} s` : `${config.RATE_LIMIT_WINDOW_MS} ms`;
  await app.register(rateLimit, {
    max: config.RATE_LIMIT_MAX,
    timeWindow: config.RATE_LIMIT_WINDOW_MS,
    // The key is req.ip: the socket's address, or with TRUST_PROXY the client X-Forwarded-For names.
    allowList: (req) => isExempt(req),
    // Thrown by the plugin, so it reaches handleError and gets the error shape.
    errorResponseBuilder: (_req, ctx) =>
      new HttpError(429, 'rate_limited', `too many requests: at most ${ctx.max} per ${window} from one client; retry in ${ctx.after}`, {
        'retry-after': String(Math.max(1, Math.ceil(ctx.ttl / 1000))),
      }),
  });
}

/** Seconds a shed client is told to wait: long enough for a queue of inference jobs to drain. */
export const SHED_RETRY_AFTER_S = 10;

async function registerLoadShedding(app: FastifyInstance, config: Config): Promise<void> {
  const MiB = 1024 * 1024;
  const limits = {
    maxEventLoopDelay: config.SHED_EVENT_LOOP_DELAY_MS,
    maxHeapUsedBytes: config.SHED_HEAP_USED_MIB * MiB,
    maxRssBytes: config.SHED_RSS_MIB * MiB,
  };
  // All 0: nothing to check, and no sampling timer either.
  if (Object.values(limits).every((v) => v === 0)) return;
  const what: Record<string, string> = {
    eventLoopDelay: 'the event loop is lagging',
    heapUsedBytes: 'the heap is nearly full',
    rssBytes: 'memory is nearly full',
  };
  await app.register(underPressure, {
    ...limits,
    retryAfter: SHED_RETRY_AFTER_S,
    // Resolving passes the request on; rejecting sends it to handleError (503 in the error shape).
    pressureHandler: async (req, _reply, type) => {
      if (isExempt(req)) return;
      throw new HttpError(503, 'overloaded', `the server is overloaded (${what[type] ?? type}); retry later`, {
        'retry-after': String(SHED_RETRY_AFTER_S),
      });
    },
  });
}
