import type { z } from 'zod';

/** "field: rule" for one issue; unknown keys are named, since zod's own text does not. */
export function formatZodIssue(issue: z.ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown field(s): ${issue.keys.join(', ')}`;
  const field = issue.path.join('.');
  return field && !issue.message.startsWith(field) ? `${field}: ${issue.message}` : issue.message;
}

/** "field: rule" for the first `most` issues, joined in one line: enough to find and fix them. */
export function formatZodError(error: z.ZodError, most = Infinity): string {
  return error.issues.slice(0, most).map(formatZodIssue).join('; ');
}

/** The error for a data or config file that does not match its schema. */
export function invalidFile(error: z.ZodError, file: string, what: string): Error {
  return new Error(`${file} is not ${what}: ${formatZodError(error, 3)}`);
}
