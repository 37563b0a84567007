import type { z } from 'zod';
import type { StringOption } from './command.js';

/**
 * Command-line options for the fields of a domain option schema (caption
 * search, char sampling), so limits, defaults and descriptions are written
 * once, in the schema. Each flag is taken as text and the schema parses it,
 * as it parses a query string: the same rules and messages as the HTTP API.
 * `beam_size` becomes `--beam-size`; errors about it name that flag.
 */
export function schemaOptions<T extends z.ZodRawShape>(
  schema: z.ZodObject<T>,
  /** Descriptions that read better on a command line than the API's. */
  describe: { [K in keyof T & string]?: string } = {},
): { options: { [K in keyof T & string]: StringOption }; defaults: { [K in keyof T & string]?: unknown } } {
  const defaults = schema.parse({}) as Record<string, unknown>;
  const options: Record<string, StringOption> = {};
  for (const [key, field] of Object.entries(schema.shape)) {
    options[key] = { type: 'string', flag: key.replace(/_/g, '-'), description: describe[key] ?? field.description ?? key };
  }
  return { options: options as { [K in keyof T & string]: StringOption }, defaults: defaults as { [K in keyof T & string]?: unknown } };
}

/** The values of `keys` in parsed command-line values, for the domain schema to parse. */
export function pickValues<K extends string>(values: Record<string, unknown>, keys: readonly K[]): Record<K, unknown> {
  return Object.fromEntries(keys.map((k) => [k, values[k]])) as Record<K, unknown>;
}
