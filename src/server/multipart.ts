import type { IncomingMessage } from 'node:http';
import type { Multipart } from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';

/** What a multipart body may hold; the numbers are also what the refusals quote. */
export interface FormLimits {
  /** Largest Content-Length accepted: a body declared larger is refused before any of it is read. */
  maxBytes: number;
  /** Largest file in bytes (MAX_IMAGE_BYTES). */
  fileSize: number;
  files: number;
  fields: number;
  /** The field the files go in, for messages. */
  fileField: string;
}

/** A part of the form, read: files as bytes (each bounded by FormLimits.fileSize), fields as text. */
export type FormPart =
  | { type: 'file'; fieldname: string; filename: string; bytes: Buffer }
  | { type: 'field'; fieldname: string; value: unknown; valueTruncated: boolean };

/** Room for the part headers and option fields of a form beside its files' bytes. */
export const FORM_OVERHEAD_BYTES = 64 * 1024;

/**
 * The parts of a multipart request, files read into memory, each error an
 * HttpError that says what to fix. Three things @fastify/multipart does not:
 * a declared Content-Length over `limits.maxBytes` is a 413 before anything
 * is read; a part without `Content-Disposition: form-data; name=...` is a 400
 * (busboy skips such a part, and one of 17 KB or more ending in the same
 * chunk as its data never lets the body flow again, so the request hung); a
 * file cut short by a limit reports that limit, not "Premature close".
 */
export async function* readForm(
  req: FastifyRequest,
  limits: FormLimits,
  options: Parameters<FastifyRequest['parts']>[0] = {},
): AsyncGenerator<FormPart> {
  const declared = Number(req.headers['content-length']);
  if (declared > limits.maxBytes) {
    throw new HttpError(413, 'payload_too_large', `the body is ${declared} bytes; the limit is ${limits.maxBytes} bytes`);
  }
  const parts = req.parts(options)[Symbol.asyncIterator]();
  // The first next() pipes the body into busboy; the watch goes on the same
  // stream straight after, before any of it flows (resume() waits a tick).
  let next = parts.next();
  const watch = watchPartHeaders(req.raw, boundaryOf(req.headers['content-type']));
  try {
    for (;;) {
      const step = await Promise.race([next, watch.refused]);
      if (step.done === true) return;
      const part: Multipart = step.value;
      if (part.type === 'file') {
        const bytes = await Promise.race([part.toBuffer(), watch.refused]);
        yield { type: 'file', fieldname: part.fieldname, filename: part.filename, bytes };
      } else {
        yield { type: 'field', fieldname: part.fieldname, value: part.value, valueTruncated: part.valueTruncated };
      }
      next = parts.next();
    }
  } catch (err) {
    // At once: left on, the watch would keep the refused body flowing in.
    watch.stop();
    refused.add(req.raw);
    throw formError(await causeOf(err, parts, watch.problem()), limits);
  } finally {
    watch.stop();
  }
}

const refused = new WeakSet<IncomingMessage>();

/**
 * Whether reading the form of `raw` stopped at an error: what is left of its
 * body sits in busboy or the socket, so its connection must not be reused.
 */
export function formRefused(raw: IncomingMessage): boolean {
  return refused.has(raw);
}

/**
 * A file stream destroyed by @fastify/multipart ("Premature close") means
 * the parser stopped on an error it queued as the iterator's next value (a
 * limit, a malformed body): that error is the one to report.
 */
async function causeOf(err: unknown, parts: AsyncIterator<Multipart>, refused: HttpError | undefined): Promise<unknown> {
  if (refused) return refused;
  if ((err as { code?: unknown } | null)?.code !== 'ERR_STREAM_PREMATURE_CLOSE') return err;
  // Already queued when the stream was destroyed; the bound only keeps a surprise from hanging the request.
  const settled = new Promise<undefined>((resolve) => setImmediate(resolve, undefined));
  try {
    await Promise.race([parts.next(), settled]);
  } catch (queued) {
    return queued;
  }
  return err;
}

// Codes of the limits @fastify/multipart raises; their own messages ("reach fields limit") name no number.
function limitMessage(code: string, limits: FormLimits): string | undefined {
  const files = limits.files === 1 ? `one file (field "${limits.fileField}")` : `${limits.files} files (field "${limits.fileField}")`;
  if (code === 'FST_FIELDS_LIMIT') return `too many form fields: at most ${limits.fields} beside the file`;
  if (code === 'FST_FILES_LIMIT') return `too many files: at most ${files}`;
  if (code === 'FST_PARTS_LIMIT') return `too many parts: at most ${files} and ${limits.fields} fields`;
  if (code === 'FST_REQ_FILE_TOO_LARGE') return `a file is over ${limits.fileSize} bytes, the limit`;
  return undefined;
}

/**
 * Any error of reading a form as an HttpError. busboy's parse errors
 * ("Malformed part header", "Unexpected end of form") carry no status: they
 * are the client's fault, so 400, not 500.
 */
export function formError(err: unknown, limits: FormLimits): HttpError {
  if (err instanceof HttpError) return err;
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  const code = (err as { code?: unknown } | null)?.code;
  const limit = typeof code === 'string' ? limitMessage(code, limits) : undefined;
  if (limit) return new HttpError(413, 'payload_too_large', limit);
  const reason = err instanceof Error ? err.message : 'unreadable';
  if (typeof status === 'number' && status >= 400 && status < 500) return new HttpError(status, 'invalid_multipart', reason);
  if (code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return new HttpError(
      400,
      'invalid_multipart',
      'the multipart body ended inside a file; send each part whole and end with the closing boundary',
    );
  }
  return new HttpError(400, 'invalid_multipart', `malformed multipart body: ${reason.slice(0, 200)}`);
}

function boundaryOf(contentType: string | undefined): string | undefined {
  const m = /;\s*boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  return m?.[1] ?? m?.[2];
}

interface PartHeaderWatch {
  /** Rejects with the first bad part header; never resolves. */
  refused: Promise<never>;
  problem(): HttpError | undefined;
  stop(): void;
}

/** Watch the body as it flows to busboy for a part header busboy would skip (see readForm). */
function watchPartHeaders(raw: IncomingMessage, boundary: string | undefined): PartHeaderWatch {
  let problem: HttpError | undefined;
  let refuse: (e: HttpError) => void = () => {};
  const refused = new Promise<never>((_resolve, reject) => (refuse = reject));
  refused.catch(() => {}); // read through problem() when nobody races it
  if (boundary === undefined) return { refused, problem: () => problem, stop: () => {} }; // busboy says so itself
  const scanner = new PartHeaderScanner(boundary);
  let n = 0;
  const onData = (chunk: Buffer) => {
    for (const block of scanner.push(chunk)) {
      n++;
      const why = partHeaderProblem(block);
      if (why && !problem) {
        problem = new HttpError(400, 'invalid_multipart', `part ${n}: ${why}; each part needs Content-Disposition: form-data; name="..."`);
        refuse(problem);
        raw.removeListener('data', onData);
      }
    }
    if (scanner.overflow && !problem) {
      problem = new HttpError(431, 'headers_too_large', `part ${n + 1}: its headers are over ${MAX_PART_HEADER_BYTES} bytes`);
      refuse(problem);
      raw.removeListener('data', onData);
    }
  };
  raw.on('data', onData);
  return { refused, problem: () => problem, stop: () => raw.removeListener('data', onData) };
}

/** Why a part's header block (latin1, lines joined by CRLF) would be skipped, or undefined if it names its field. */
export function partHeaderProblem(block: string): string | undefined {
  const line = block.split('\r\n').find((l) => /^content-disposition\s*:/i.test(l));
  if (line === undefined) return 'no Content-Disposition header';
  const value = line.slice(line.indexOf(':') + 1);
  if (!/^\s*form-data\s*(;|$)/i.test(value)) return 'Content-Disposition is not form-data';
  if (!/;\s*name\s*=\s*("[^"\r\n]*"|[^;\s"]+)/i.test(value)) return 'Content-Disposition has no name';
  return undefined;
}

/** busboy's own limit on a part's header block. */
export const MAX_PART_HEADER_BYTES = 80 * 1024;

/**
 * Finds the header block of each part in a multipart body as it streams by,
 * however it is cut into chunks. Only the delimiter lines and header blocks
 * are looked at, and at most a header block is kept between chunks.
 */
export class PartHeaderScanner {
  private readonly delimiter: Buffer;
  private rest = Buffer.from('\r\n'); // as busboy does: the first delimiter then has the CRLF the others have
  private state: 'body' | 'delimiter' | 'headers' | 'end' = 'body';
  overflow = false;

  constructor(boundary: string) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  }

  /** The header blocks completed by `chunk`. */
  push(chunk: Buffer): string[] {
    const blocks: string[] = [];
    let buf = this.rest.length > 0 ? Buffer.concat([this.rest, chunk]) : chunk;
    for (;;) {
      if (this.state === 'end' || this.overflow) return blocks;
      if (this.state === 'body') {
        const at = buf.indexOf(this.delimiter);
        if (at < 0) {
          this.rest = Buffer.from(buf.subarray(Math.max(0, buf.length - this.delimiter.length + 1)));
          return blocks;
        }
        buf = buf.subarray(at + this.delimiter.length);
        this.state = 'delimiter';
      } else if (this.state === 'delimiter') {
        // "--" closes the body; else the line ends (after optional padding) and headers follow.
        if (buf.length >= 2 && buf[0] === 0x2d && buf[1] === 0x2d) {
          this.state = 'end';
          continue;
        }
        const eol = buf.indexOf('\r\n');
        if (eol < 0) return this.keep(buf, blocks);
        buf = buf.subarray(eol + 2);
        this.state = 'headers';
      } else {
        // An empty header block is the blank line at once.
        const end = buf.subarray(0, 2).toString('latin1') === '\r\n' ? -2 : buf.indexOf('\r\n\r\n');
        if (end === -1) return this.keep(buf, blocks);
        blocks.push(end === -2 ? '' : buf.toString('latin1', 0, end));
        // The CRLF before the next delimiter belongs to it, so the part's data starts here.
        buf = buf.subarray(end === -2 ? 2 : end + 4);
        this.state = 'body';
      }
    }
  }

  private keep(buf: Buffer, blocks: string[]): string[] {
    if (buf.length > MAX_PART_HEADER_BYTES) this.overflow = true;
    this.rest = Buffer.from(buf);
    return blocks;
  }
}
