import { z } from 'zod';
import { CaptionOptionsObject, CaptionOptionsSchema, checkCaptionRules } from '../../caption/options.js';

/** Job ids are UUIDs the server makes; anything else in a URL is refused before Redis is asked. */
export const JobIdSchema = z.string().uuid({ message: 'must be a job id (a UUID as POST /jobs returned)' });

/**
 * Image names: the upload's file name or the path under INPUT_ROOT. They key
 * the results, so they are unique within a job.
 */
export const ImageNameSchema = z
  .string()
  .min(1)
  .max(1024)
  .refine((s) => ![...s].some((c) => c.charCodeAt(0) < 0x20), { message: 'must not contain control characters' });

/** One image's task on the queue. The caption options are the job's (read once per task from its meta). */
export const TaskSchema = z
  .object({
    job: JobIdSchema,
    index: z.number().int().min(0),
    name: ImageNameSchema,
    /** Relative to the worker's INPUT_ROOT; absent: the bytes were uploaded and sit in the job's images hash. */
    path: z.string().min(1).optional(),
  })
  .strict();
export type Task = z.infer<typeof TaskSchema>;

/** What is stored per job (the meta hash), parsed back when read. */
export const JobMetaSchema = z.object({
  total: z.coerce.number().int().min(0),
  created_at: z.string(),
  options: z.string().transform((s, ctx) => {
    const parsed = CaptionOptionsSchema.safeParse(JSON.parse(s));
    if (!parsed.success) {
      ctx.addIssue({ code: 'custom', message: 'stored caption options are invalid' });
      return z.NEVER;
    }
    return parsed.data;
  }),
  state: z.enum(['submitting', 'active', 'cancelled']),
  ttl_s: z.coerce.number().int().min(1),
  finished_at: z.string().optional(),
});
export type JobMeta = z.infer<typeof JobMetaSchema>;

/** POST /jobs with JSON: images named by path under INPUT_ROOT (files, or folders whose images are all taken), and the caption options. */
export const PathJobSchema = CaptionOptionsObject.extend({
  paths: z
    .array(z.string().min(1).max(1024))
    .min(1)
    .max(10_000)
    .describe('files or folders under INPUT_ROOT, relative to it; a folder gives every image in it and below'),
})
  .strict()
  // The rules between the options only: parsing them again would report a bad field twice, the second time its
  // parsed stand-in ("got [object Object]").
  .superRefine(checkCaptionRules);

export const JOB_STATES = ['submitting', 'queued', 'running', 'completed', 'cancelled'] as const;

export const JobStatusSchema = z
  .object({
    id: z.string(),
    state: z
      .enum(JOB_STATES)
      .describe('queued: no image done yet; running: some done; completed: every image has a result or a failure; cancelled'),
    total: z.number().int().describe('images in the job'),
    succeeded: z.number().int().describe('images captioned'),
    failed: z.number().int().describe('images that failed for good (their errors are in the results)'),
    progress: z.number().describe('(succeeded + failed) / total, 0 to 1'),
    created_at: z.string(),
    finished_at: z.string().optional().describe('when the last image got its result'),
  })
  .strict()
  .describe("a bulk job's state and counts");
export type JobStatus = z.infer<typeof JobStatusSchema>;

/** A failure as recorded: the image's error in the API's error shape. */
export const FailureSchema = z.object({ code: z.string(), message: z.string() }).strict();
export type Failure = z.infer<typeof FailureSchema>;
