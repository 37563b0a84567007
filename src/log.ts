import { destination, pino, type Logger } from 'pino';

/** One JSON logger for the whole process; LOG_LEVEL overrides the level. */
export const log: Logger = pino(
  {
    level: process.env.LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info'),
    base: { service: 'captioner' },
  },
  // Synchronous writes: progress lines of long jobs appear when they happen.
  destination({ dest: 1, sync: true }),
);
