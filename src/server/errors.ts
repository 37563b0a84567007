import { randomUUID } from 'node:crypto';
import { STATUS_CODES as REASONS, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { z, ZodError } from 'zod';
import { EncoderUnavailableError } from '../encoder/thread.js';
import { ImageError } from '../image/decode.js';
import { formatZodError } from '../util/zod-error.js';
import { ClientGoneError, QueueFullError } from '../batching/errors.js';

/** The one error shape every route answers with. */
export const ErrorBodySchema = z
  .object({
    error: z
      .object({
        code: z.string().describe('stable machine-readable code, e.g. invalid_request, unsupported_image'),
        message: z.string().describe('what was wrong, for people'),
      })
      .strict(),
  })
  .strict();

export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** Longest error message sent (or logged): messages that quote the input must not grow with it. */
export const MAX_MESSAGE_LENGTH = 300;

export function capMessage(message: string): string {
  return message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, MAX_MESSAGE_LENGTH - 3)}...` : message;
}

/** An error whose message is safe to show the caller. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(capMessage(message));
  }
}

// Codes for the 4xx errors fastify and @fastify/multipart raise themselves.
const FRAMEWORK_CODES: Readonly<Record<string, string>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_REQ_FILE_TOO_LARGE: 'payload_too_large',
  FST_FILES_LIMIT: 'payload_too_large',
  FST_FIELDS_LIMIT: 'payload_too_large',
  FST_PARTS_LIMIT: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_INVALID_JSON_FIELD_ERROR: 'invalid_multipart',
  FST_PROTO_VIOLATION: 'invalid_request',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_BAD_URL: 'invalid_request',
};

// Where fastify's own wording would leave the caller guessing.
const FRAMEWORK_MESSAGES: Readonly<Record<string, string>> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported content type; send multipart/form-data, image/* or application/json',
};

const STATUS_CODES: Readonly<Record<number, string>> = {
  400: 'invalid_request',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

function isFastifyError(err: unknown): err is FastifyError {
  return err instanceof Error && typeof (err as Partial<FastifyError>).statusCode === 'number';
}

/** Map anything thrown to an HttpError; unknown errors become an opaque 500. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof ImageError) return new HttpError(err.status, err.code, err.message);
  if (err instanceof ZodError) return new HttpError(400, 'invalid_request', formatZodError(err, 5));
  if (err instanceof EncoderUnavailableError) {
    return new HttpError(503, 'encoder_unavailable', err.message, { 'retry-after': String(Math.max(1, err.retryAfterS)) });
  }
  if (err instanceof QueueFullError) {
    return new HttpError(503, 'overloaded', err.message, { 'retry-after': String(err.retryAfterS) });
  }
  // Nobody reads this reply; 499 (nginx's "client closed request") keeps it apart in logs and metrics.
  if (err instanceof ClientGoneError) return new HttpError(499, 'client_closed', err.message);
  if (isFastifyError(err)) {
    const status = err.statusCode ?? 500;
    // Framework 4xx messages describe the request ("Request body is too large"), never internals.
    if (status >= 400 && status < 500) {
      const code = FRAMEWORK_CODES[err.code] ?? STATUS_CODES[status] ?? 'bad_request';
      return new HttpError(status, code, FRAMEWORK_MESSAGES[err.code] ?? err.message);
    }
  }
  return new HttpError(500, 'internal_error', 'internal server error');
}

export function errorBody(e: HttpError): ErrorBody {
  return { error: { code: e.code, message: e.message } };
}

/** Fastify error handler: JSON errors, 5xx logged with their stack, nothing internal sent. */
export function handleError(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const e = toHttpError(err);
  if (e.status >= 500 && e.status !== 503) req.log.error({ err }, 'request failed');
  else {
    // The library's own words behind a message rewritten for the caller (sharp's, for a corrupt image), first line only.
    const detail = err instanceof Error && err.cause instanceof Error ? err.cause.message.split('\n')[0] : undefined;
    req.log.info({ status: e.status, code: e.code, reason: e.message, ...(detail ? { detail } : {}) }, 'request rejected');
  }
  // The id again: framework errors (a bad URL) can come before the onRequest hook that sets it.
  return reply.status(e.status).headers(e.headers).header('x-request-id', req.id).send(errorBody(e));
}

export function handleNotFound(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply
    .status(404)
    .send(errorBody(new HttpError(404, 'not_found', `no route for ${req.method} ${(req.url.split('?')[0] ?? '').slice(0, 200)}`)));
}

/** Status and code of the errors node's HTTP parser raises before a request reaches fastify. */
function clientError(code: string | undefined): { status: number; code: string; message: string } {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, code: 'request_timeout', message: 'the request took too long to arrive' };
  if (code === 'HPE_HEADER_OVERFLOW') {
    // node's maxHeaderSize counts the request line too: a long query string lands here.
    return {
      status: 431,
      code: 'headers_too_large',
      message: 'the URL and headers are over 16 KB together; shorten the query string or the headers',
    };
  }
  if (code === 'HPE_INVALID_METHOD')
    return { status: 400, code: 'invalid_request', message: 'unknown HTTP method; this API takes GET and POST' };
  return { status: 400, code: 'invalid_request', message: 'malformed HTTP request' };
}

/**
 * A reply written straight on the socket or a bare ServerResponse, where no
 * fastify request exists: the error shape, a fresh request id (there is no
 * request to take one from, nor a log line to match) and nosniff, as fastify's replies have.
 */
function rawErrorHead(e: HttpError, body: string): Record<string, string> {
  return {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    'X-Request-Id': randomUUID(),
    'X-Content-Type-Options': 'nosniff',
    Connection: 'close',
    ...e.headers,
  };
}

/**
 * fastify's clientErrorHandler: what node's parser refuses (bad chunking,
 * oversized headers or URLs, unknown methods, a request that took too long)
 * gets the documented error shape too, unless a reply has already begun on the socket.
 */
export function handleClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const c = clientError(err.code);
  const replying = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (socket.writable && !replying) {
    const e = new HttpError(c.status, c.code, c.message);
    const body = JSON.stringify(errorBody(e));
    const head = Object.entries(rawErrorHead(e, body))
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.write(`HTTP/1.1 ${e.status} ${REASONS[e.status] ?? ''}\r\n${head}\r\n${body}`);
  }
  socket.destroy();
}

/**
 * node's 'checkExpectation' event (an Expect header other than
 * 100-continue): left to node it is a 417 with an empty body. The body the
 * client holds back is never read, so the connection closes.
 */
export function handleExpectation(req: IncomingMessage, res: ServerResponse): void {
  const given = (req.headers.expect ?? '').slice(0, 40);
  const e = new HttpError(417, 'expectation_failed', `unsupported Expect header ${JSON.stringify(given)}; only 100-continue is understood`);
  const body = JSON.stringify(errorBody(e));
  res.writeHead(e.status, rawErrorHead(e, body)).end(body);
}
