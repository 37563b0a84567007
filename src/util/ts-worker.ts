import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** URL of tsx's ESM API (resolved by hand: import.meta.resolve is missing under vitest). */
function tsxApiUrl(): string {
  const cjs = createRequire(import.meta.url).resolve('tsx/esm/api'); // …/dist/esm/api/index.cjs
  return pathToFileURL(cjs.replace(/\.cjs$/, '.mjs')).href;
}

/**
 * Start a worker thread from a TypeScript module. Node 20 workers do not
 * inherit tsx's loader, so the worker registers it before importing `url`.
 */
export function tsWorker(url: URL, options: WorkerOptions = {}): Worker {
  const code = `import(${JSON.stringify(tsxApiUrl())}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })
    .catch((err) => { console.error(err); process.exit(1); });`;
  return new Worker(code, { ...options, eval: true });
}
