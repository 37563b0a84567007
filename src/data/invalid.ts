import type { z } from 'zod';

/** "path: message" for the first few issues: enough to find and fix the field. */
export function zodIssues(error: z.ZodError, most = 3): string {
  return error.issues
    .slice(0, most)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

/** The error for a data or config file that does not match its schema. */
export function invalidFile(error: z.ZodError, file: string, what: string): Error {
  return new Error(`${file} is not ${what}: ${zodIssues(error)}`);
}
