import cliProgress from 'cli-progress';
import { log } from '../log.js';

export interface Progress {
  /** Advance to `done` items; `fields` are shown beside the bar (loss, tokens/s, …). */
  update(done: number, fields?: Record<string, string | number>): void;
  stop(): void;
}

function formatFields(fields: Record<string, string | number>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toPrecision(4)) : v}`)
    .join(' ');
}

/**
 * A progress bar with ETA on a TTY; elsewhere (CI, logs, background runs)
 * one JSON log line every `everySeconds`, so long jobs stay readable.
 */
export function progress(label: string, total: number, everySeconds = 30): Progress {
  const started = Date.now();
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {value}/{total} ETA {eta_formatted} {info}`, stream: process.stderr },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { info: '' });
    return {
      update: (done, fields = {}) => bar.update(done, { info: formatFields(fields) }),
      stop: () => bar.stop(),
    };
  }
  let last = 0;
  return {
    update(done, fields = {}) {
      const now = Date.now();
      if (now - last < everySeconds * 1000 && done < total) return;
      last = now;
      const elapsed = (now - started) / 1000;
      const eta = done > 0 ? Math.round((elapsed / done) * (total - done)) : null;
      log.info({ job: label, done, total, eta_s: eta, ...fields }, `${label} ${done}/${total}`);
    },
    stop() {},
  };
}
