import { Readable } from 'node:stream';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CaptionOptionsSchema, type CaptionOptions } from '../../caption/options.js';
import { isRedisUnavailable } from '../../app/jobs/names.js';
import { SubmitError, type JobsClient, type Upload } from '../../app/jobs/producer.js';
import { ImageNameSchema, JobIdSchema, JobStatusSchema, PathJobSchema } from '../../app/jobs/schemas.js';
import { formatZodError } from '../../util/zod-error.js';
import type { Config } from '../../app/config.js';
import { handleError, HttpError } from '../errors.js';
import { FORM_OVERHEAD_BYTES, readForm, type FormLimits } from '../multipart.js';
import { openApiSchema, routeSchema } from '../openapi.js';

export const CancelReplySchema = JobStatusSchema.extend({
  removed: z.number().int().describe('tasks taken off the queue before any worker started them'),
})
  .strict()
  .describe('the job is cancelled: workers skip its remaining tasks; results written so far stay readable');

const IdParamsSchema = z.object({ id: JobIdSchema }).strict();

/** Form fields of a multipart POST /jobs besides the files: the caption options. */
const MAX_FORM_FIELDS = 16;

export interface JobsRouteOptions {
  config: Config;
  jobs: JobsClient;
}

function jobId(req: FastifyRequest): string {
  const parsed = IdParamsSchema.safeParse(req.params);
  if (!parsed.success) throw new HttpError(404, 'job_not_found', `no such job: ${formatZodError(parsed.error)}`);
  return parsed.data.id;
}

const notFound = (id: string) => new HttpError(404, 'job_not_found', `no job ${id} (never made, or expired after JOBS_TTL_S)`);

const SUBMIT_STATUS: Readonly<Record<string, number>> = { payload_too_large: 413, too_many_images: 413 };

function submitError(err: unknown): unknown {
  if (err instanceof SubmitError) return new HttpError(SUBMIT_STATUS[err.code] ?? 400, err.code, err.message);
  return err;
}

/** Bytes of part headers allowed per file beside its data (a file name may take 1,024). */
const PART_OVERHEAD_BYTES = 2048;

/** The form of a multipart POST /jobs: many files in field `images`, the caption options as fields. */
function jobFormLimits(config: Config): FormLimits {
  return {
    maxBytes: config.JOBS_MAX_UPLOAD_MIB * 1024 * 1024 + config.JOBS_MAX_IMAGES * PART_OVERHEAD_BYTES + FORM_OVERHEAD_BYTES,
    fileSize: config.MAX_IMAGE_BYTES,
    files: config.JOBS_MAX_IMAGES,
    fields: MAX_FORM_FIELDS,
    fileField: 'images',
  };
}

/**
 * The files of a multipart POST /jobs as they arrive (field `images`, one
 * part each, each at most MAX_IMAGE_BYTES), collecting the option fields into
 * `fields` on the way. The file name is the image's name in the results.
 */
async function* readUploads(req: FastifyRequest, fields: Record<string, unknown>, config: Config): AsyncGenerator<Upload> {
  let n = 0;
  const limits = jobFormLimits(config);
  // This route's limits: many files, where the image routes take one.
  for await (const part of readForm(req, limits, { limits: { files: limits.files, parts: limits.files + MAX_FORM_FIELDS } })) {
    if (part.type === 'file') {
      if (part.fieldname !== 'images') {
        throw new HttpError(
          400,
          'invalid_request',
          `unexpected file field "${part.fieldname}"; send each image as a file in field "images"`,
        );
      }
      const given = part.filename.trim();
      const name = ImageNameSchema.safeParse(given);
      if (given !== '' && !name.success)
        throw new HttpError(400, 'invalid_request', `file name "${given.slice(0, 80)}": ${formatZodError(name.error)}`);
      yield { name: given === '' ? `image-${n}` : given, bytes: part.bytes };
      n++;
    } else {
      if (part.valueTruncated) throw new HttpError(413, 'payload_too_large', `form field "${part.fieldname}" is too long`);
      if (Object.hasOwn(fields, part.fieldname)) throw new HttpError(400, 'invalid_request', `form field "${part.fieldname}" given twice`);
      if (Object.keys(fields).length >= MAX_FORM_FIELDS)
        throw new HttpError(413, 'payload_too_large', `too many form fields: at most ${MAX_FORM_FIELDS}`);
      fields[part.fieldname] = part.value;
    }
  }
}

function captionOptions(fields: Record<string, unknown>): CaptionOptions {
  const parsed = CaptionOptionsSchema.safeParse(fields);
  if (!parsed.success) throw new HttpError(400, 'invalid_request', formatZodError(parsed.error));
  return parsed.data;
}

/**
 * Bulk jobs: POST /jobs (uploads or paths under INPUT_ROOT), GET /jobs/:id,
 * GET /jobs/:id/results (JSON lines), DELETE /jobs/:id. All state is in
 * Redis, so any replica answers for any job.
 */
export const jobsRoutes: FastifyPluginAsync<JobsRouteOptions> = async (app, { config, jobs }) => {
  // Redis away: 503 with Retry-After in the error shape, rather than a 500 or a hung request.
  app.setErrorHandler(async (err, req, reply) => {
    const e = isRedisUnavailable(err)
      ? new HttpError(503, 'jobs_unavailable', 'the job queue (Redis) cannot be reached; try again shortly', { 'retry-after': '5' })
      : err;
    return handleError(e, req, reply);
  });

  app.post('/jobs', { schema: submitSchema }, async (req, reply) => {
    let status;
    try {
      if (req.isMultipart()) {
        const fields: Record<string, unknown> = { ...(req.query as Record<string, unknown>) };
        status = await jobs.submitUploads(readUploads(req, fields, config), () => captionOptions(fields));
      } else {
        const parsed = PathJobSchema.safeParse(req.body ?? {});
        if (!parsed.success) throw new HttpError(400, 'invalid_request', formatZodError(parsed.error));
        const { paths, ...options } = parsed.data;
        status = await jobs.submitPaths(options, paths);
      }
    } catch (err) {
      throw submitError(err);
    }
    req.log.info({ job: status.id, images: status.total }, 'bulk job submitted');
    return reply.code(202).header('location', `/jobs/${status.id}`).send(status);
  });

  app.get('/jobs/:id', { schema: statusSchema }, async (req) => {
    const id = jobId(req);
    const status = await jobs.status(id);
    if (!status) throw notFound(id);
    return status;
  });

  app.get('/jobs/:id/results', { schema: resultsSchema }, async (req, reply) => {
    const id = jobId(req);
    if (!(await jobs.status(id))) throw notFound(id);
    const lines = jobs.store.lines(id);
    const body = Readable.from(
      (async function* () {
        for await (const line of lines) yield `${line}\n`;
      })(),
    );
    return reply.type('application/x-ndjson').send(body);
  });

  app.delete('/jobs/:id', { schema: cancelSchema }, async (req) => {
    const id = jobId(req);
    const cancelled = await jobs.cancel(id);
    if (!cancelled) throw notFound(id);
    req.log.info({ job: id, removed: cancelled.removed }, 'bulk job cancelled');
    return { ...cancelled.status, removed: cancelled.removed };
  });
};

/**
 * Without REDIS_URL: the same URLs answer 404 `jobs_disabled`, saying what to
 * set (404 rather than 503: no retry makes them appear; hidden from the docs).
 */
export const jobsDisabledRoutes: FastifyPluginAsync = async (app) => {
  const disabled = async (_req: FastifyRequest, _reply: FastifyReply): Promise<never> => {
    throw new HttpError(404, 'jobs_disabled', 'bulk jobs are off on this server: set REDIS_URL (and run `npm run worker`) to turn them on');
  };
  const hidden = { schema: { hide: true } };
  app.post('/jobs', hidden, disabled);
  app.get('/jobs/:id', hidden, disabled);
  app.get('/jobs/:id/results', hidden, disabled);
  app.delete('/jobs/:id', hidden, disabled);
};

const params = { params: openApiSchema(IdParamsSchema) };

const submitSchema = {
  ...routeSchema({
    summary: 'Submit a bulk captioning job',
    description:
      'Multipart: each image a file in field `images` (its file name names its result; at most JOBS_MAX_IMAGES files of ' +
      'MAX_IMAGE_BYTES each), caption options as form fields. JSON: `{"paths": [...], ...options}` names files or folders ' +
      "under the server's INPUT_ROOT (relative to it; `..` and links leading out are refused; URLs are never fetched). " +
      'Replies 202 with the job, `Location: /jobs/{id}`; workers (`npm run worker`) caption it. Absent (404 `jobs_disabled`) without REDIS_URL.',
    tags: ['jobs'],
    reply: JobStatusSchema,
  }),
  body: {
    content: {
      'multipart/form-data': {
        schema: {
          ...openApiSchema(CaptionOptionsSchema),
          required: ['images'],
          properties: {
            images: { type: 'array', items: { type: 'string', format: 'binary' } },
            ...(openApiSchema(CaptionOptionsSchema).properties as Record<string, unknown>),
          },
        },
      },
      'application/json': { schema: openApiSchema(PathJobSchema) },
    },
  },
};

const statusSchema = {
  ...routeSchema({ summary: "A bulk job's state, counts and progress", tags: ['jobs'], reply: JobStatusSchema }),
  ...params,
};

const resultsSchema = {
  ...routeSchema({
    summary: "A bulk job's results as JSON lines",
    description:
      'One line per image that is done, in no particular order: `{"name", "index", "ok": true, captions, objects, model, ' +
      'timings_ms, worker}` as POST /caption replies, or `{"name", "index", "ok": false, "error": {code, message}, worker}`. ' +
      'Readable while the job runs (the lines so far); each image appears once.',
    tags: ['jobs'],
    reply: { 'application/x-ndjson': z.string().describe('JSON lines, one per image done') },
  }),
  ...params,
};

const cancelSchema = {
  ...routeSchema({ summary: 'Cancel a bulk job', tags: ['jobs'], reply: CancelReplySchema }),
  ...params,
};
