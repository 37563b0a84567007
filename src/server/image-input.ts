import type { FastifyRequest } from 'fastify';
import { checkImageBytes, ImageError, type ImageLimits } from '../image/decode.js';
import { HttpError } from './errors.js';
import { FORM_OVERHEAD_BYTES, readForm, type FormLimits } from './multipart.js';

/** How the image reached us; options come from the query string plus the body's own fields. */
export type BodyKind = 'multipart' | 'raw' | 'json';

export interface ImageRequest {
  kind: BodyKind;
  image: Buffer;
  /** Every non-image field (query string merged with form fields or JSON properties), unvalidated. */
  fields: Record<string, unknown>;
}

const HOW_TO_SEND = 'send the image as multipart/form-data field "image", as a raw image/* body, or as JSON {"image": "<base64>"}';

/**
 * Read the image bytes and option fields of a request in any of the three
 * body kinds. Only bytes are accepted: nothing here reads a path or fetches a URL.
 */
export async function readImageRequest(req: FastifyRequest, limits: ImageLimits): Promise<ImageRequest> {
  const query = asRecord(req.query);
  let read: { kind: BodyKind; image: Buffer | undefined; fields: Record<string, unknown> };
  if (req.isMultipart()) read = { kind: 'multipart', ...(await readMultipart(req, limits)) };
  else if (Buffer.isBuffer(req.body)) read = { kind: 'raw', image: req.body, fields: {} };
  else if (isPlainObject(req.body)) read = { kind: 'json', ...readJson(req.body, limits) };
  else if (req.body === undefined || req.body === null) throw new HttpError(400, 'missing_image', `no body; ${HOW_TO_SEND}`);
  else throw new HttpError(400, 'invalid_request', `the JSON body must be an object; ${HOW_TO_SEND}`);
  if (!read.image) throw new HttpError(400, 'missing_image', `no image in the request; ${HOW_TO_SEND}`);
  checkImageBytes(read.image, limits);
  return { kind: read.kind, image: read.image, fields: mergeFields(query, read.fields) };
}

function asRecord(v: unknown): Record<string, unknown> {
  return isPlainObject(v) ? v : {};
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

/** Query and body fields together; one name in both places is ambiguous, so refused. */
function mergeFields(query: Record<string, unknown>, body: Record<string, unknown>): Record<string, unknown> {
  // Object.hasOwn: `k in query` would find toString and the like on the prototype.
  const twice = Object.keys(body).filter((k) => Object.hasOwn(query, k));
  if (twice.length > 0) {
    throw new HttpError(400, 'invalid_request', `field(s) given both in the query string and the body: ${twice.join(', ')}`);
  }
  return { ...query, ...body };
}

async function readMultipart(
  req: FastifyRequest,
  limits: ImageLimits,
): Promise<{ image: Buffer | undefined; fields: Record<string, unknown> }> {
  let image: Buffer | undefined;
  const fields: Record<string, unknown> = {};
  for await (const part of readForm(req, imageFormLimits(limits.maxBytes))) {
    if (part.type === 'file') {
      if (part.fieldname !== 'image') {
        throw new HttpError(400, 'invalid_request', `unexpected file field "${part.fieldname}"; the image goes in field "image"`);
      }
      if (image) throw new HttpError(400, 'invalid_request', 'more than one "image" file');
      image = part.bytes;
    } else {
      if (part.valueTruncated) throw new HttpError(413, 'payload_too_large', `form field "${part.fieldname}" is too long`);
      if (Object.hasOwn(fields, part.fieldname)) throw new HttpError(400, 'invalid_request', `form field "${part.fieldname}" given twice`);
      fields[part.fieldname] = part.value;
    }
  }
  return { image, fields };
}

/** The image routes' form: one file, "image", and the multipart plugin's field limits (app.ts). */
export function imageFormLimits(maxImageBytes: number): FormLimits {
  return { maxBytes: maxImageBytes + FORM_OVERHEAD_BYTES, fileSize: maxImageBytes, files: 1, fields: MULTIPART_FIELDS, fileField: 'image' };
}

/** Option fields a multipart request may carry (the plugin's `fields` limit, app.ts). */
export const MULTIPART_FIELDS = 16;

function readJson(body: Record<string, unknown>, limits: ImageLimits): { image: Buffer | undefined; fields: Record<string, unknown> } {
  const { image, ...fields } = body;
  if (image === undefined || image === null) return { image: undefined, fields };
  if (typeof image !== 'string') throw new HttpError(400, 'invalid_request', 'image: must be a base64 string');
  return { image: decodeBase64(image, limits.maxBytes), fields };
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/**
 * Strict base64 (standard or URL-safe alphabet, whitespace ignored, an
 * optional data: URL prefix). Buffer.from alone would silently skip bad
 * characters. The decoded size is checked before anything is allocated.
 */
export function decodeBase64(text: string, maxBytes: number): Buffer {
  const dataUrl = /^data:[\w.+/-]*(;[\w=.+-]+)*;base64,/i.exec(text.slice(0, 256));
  if (!dataUrl && /^[a-z][a-z0-9+.-]*:/i.test(text.slice(0, 32))) {
    throw new HttpError(400, 'invalid_base64', 'image: must be base64-encoded bytes; URLs are not fetched');
  }
  const b64 = (dataUrl ? text.slice(dataUrl[0].length) : text).replace(/\s+/g, '');
  if (!BASE64.test(b64) || b64.length % 4 === 1) {
    throw new HttpError(400, 'invalid_base64', 'image: is not valid base64');
  }
  const bytes = Math.floor((b64.replace(/=+$/, '').length * 3) / 4);
  if (bytes > maxBytes) {
    throw new ImageError('image_too_large', `the image is ${bytes} bytes; the limit is ${maxBytes} bytes`, 413);
  }
  return Buffer.from(b64, 'base64');
}
