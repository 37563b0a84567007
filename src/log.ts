import { destination, pino, type Logger } from 'pino';

// Synchronous writes: progress lines of long jobs appear when they happen.
const stdout = destination({ dest: 1, sync: true });
let stderr: ReturnType<typeof destination> | undefined;
let target = stdout;

/**
 * Command-line scripts print their results (JSON lines, text) on stdout, so
 * they send the log to stderr, where it cannot mix with what a pipe reads.
 * The server keeps stdout, as container platforms expect.
 */
export function logToStderr(): void {
  target = stderr ??= destination({ dest: 2, sync: true });
}

/** One JSON logger for the whole process; LOG_LEVEL overrides the level. */
export const log: Logger = pino(
  {
    level: process.env.LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info'),
    base: { service: 'captioner' },
  },
  { write: (line: string) => target.write(line) },
);
