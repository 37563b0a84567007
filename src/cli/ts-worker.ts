import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Start a worker thread from a TypeScript module. Node 20 workers do not
 * inherit tsx's loader, so the worker registers it before importing `url`.
 */
export function tsWorker(url: URL, options: WorkerOptions = {}): Worker {
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })
    .catch((err) => { console.error(err); process.exit(1); });`;
  return new Worker(code, { ...options, eval: true });
}
