import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { invalidFile } from '../util/zod-error.js';

/**
 * Fields every model config has: its name and version (reported by the API)
 * and free-form records of how it was trained and scored.
 */
export const modelIdentityFields = {
  name: z.string().min(1),
  version: z.string().min(1),
  training: z.record(z.unknown()).optional(),
  metrics: z.record(z.unknown()).optional(),
};

/** Every model folder keeps its shapes, vocabulary and hyper-parameters here. */
export const CONFIG_FILE = 'config.json';

/** Read and validate `dir/config.json`; the error names the file and each bad field. */
export async function readModelConfig<S extends z.ZodTypeAny>(dir: string, schema: S, what: string): Promise<z.output<S>> {
  const file = path.join(dir, CONFIG_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read ${what} config ${file}: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw invalidFile(parsed.error, file, `a ${what} config`);
  }
  return parsed.data as z.output<S>;
}
