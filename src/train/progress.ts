/** One epoch's progress as the loop reports it. */
export interface ProgressBar {
  /** Advance to `done` steps; `fields` are shown beside it (loss, tokens/s, …). */
  update(done: number, fields?: Record<string, string | number>): void;
  stop(): void;
}

/** Starts a progress report of `total` steps; the scripts pass the command line's (src/cli/progress.ts). */
export type ProgressReporter = (label: string, total: number) => ProgressBar;

/** Reports nothing: the loop's default (tests, callers without a terminal or log to show it on). */
export const noProgress: ProgressReporter = () => ({ update() {}, stop() {} });
