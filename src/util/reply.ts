import { z } from 'zod';

/**
 * Pieces shared by the API's replies. Each reply is one zod schema, kept
 * beside the service that produces it (caption/reply.ts, vqa/reply.ts,
 * char/reply.ts): the route validates and documents (OpenAPI) with it, the
 * service's result type is inferred from it, and the page (web/) imports those
 * types. This file and those import nothing but zod, so the browser code can.
 */

export const ModelRefSchema = z.object({ name: z.string(), version: z.string() }).strict().describe('the model that answered');
export type ModelRef = z.infer<typeof ModelRefSchema>;

export const BackendSchema = z.string().describe('TensorFlow.js backend that ran the model, e.g. wasm, tensorflow');

/** A box: x, y, width, height as fractions of the image. */
export const BoxSchema = z
  .tuple([z.number(), z.number(), z.number(), z.number()])
  .describe('x, y, width, height as fractions of the image');
