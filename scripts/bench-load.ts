/**
 * Load test: the real server (`node --import tsx src/server/main.ts`, the
 * models in --models) as a child process on a free loopback port, N clients
 * posting one JPEG to /caption for T seconds while /health is polled every
 * 200 ms. Prints throughput, latency (all replies, and 200s alone), replies by
 * status (503: the queue was full) and /health latency under load. Not a test.
 *
 *   npm run bench:load -- --image photo.jpg [--clients 50] [--seconds 60]
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import autocannon from 'autocannon';
import { cli } from '../src/cli/main.js';
import { startChildServer, stopChildServer } from '../src/server/child.js';
import { freePort } from '../src/util/net.js';

const args = cli({
  usage: 'npm run bench:load --',
  summary: 'N clients post a JPEG to /caption of a freshly started server for T seconds; /health is polled meanwhile.',
  example: 'npm run bench:load -- --image ../shared/data/coco-dev/images/000000000790.jpg --clients 50 --seconds 60',
  options: {
    image: { type: 'string', required: true, placeholder: 'file', description: 'the JPEG every request sends' },
    clients: { type: 'number', int: true, min: 1, default: 50, description: 'concurrent connections' },
    seconds: { type: 'number', int: true, min: 1, default: 60, description: 'duration of the load' },
    query: { type: 'string', default: '', description: 'caption options in the query string, e.g. "mode=greedy"' },
    healthMs: { type: 'number', int: true, min: 10, default: 200, description: 'milliseconds between /health polls' },
    models: { type: 'string', default: 'models', placeholder: 'dir', description: 'models folder of the server' },
  },
});

const image = await readFile(args.image);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quantile = (xs: number[], q: number) =>
  xs.length === 0 ? NaN : [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

/** Poll GET /health every `everyMs` until `stop` is aborted: latencies of the 200s, and the rest counted. */
async function pollHealth(base: string, everyMs: number, stop: AbortSignal): Promise<{ ms: number[]; failed: number }> {
  const ms: number[] = [];
  let failed = 0;
  while (!stop.aborted) {
    const t0 = performance.now();
    try {
      const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(30_000) });
      await res.arrayBuffer();
      if (res.ok) ms.push(performance.now() - t0);
      else failed++;
    } catch {
      failed++;
    }
    await sleep(Math.max(0, everyMs - (performance.now() - t0)));
  }
  return { ms, failed };
}

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const tStart = performance.now();
const server = await startChildServer(port, { MODELS_DIR: path.resolve(args.models), RATE_LIMIT_MAX: '0' });
console.log(`server ready on ${base} in ${((performance.now() - tStart) / 1000).toFixed(1)} s (models: ${args.models})`);
try {
  const url = `${base}/caption${args.query ? `?${args.query}` : ''}`;
  const warm = await fetch(url, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: image });
  if (!warm.ok) throw new Error(`a single caption request failed: ${warm.status} ${await warm.text()}`);

  // /health alone first, for comparison with the figures under load.
  const idle = new AbortController();
  const idleHealth = pollHealth(base, args.healthMs, idle.signal);
  await sleep(20 * args.healthMs);
  idle.abort();
  const { ms: idleMs } = await idleHealth;

  const stop = new AbortController();
  const health = pollHealth(base, args.healthMs, stop.signal);
  const okMs: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        method: 'POST',
        headers: { 'content-type': 'image/jpeg' },
        body: image,
        connections: args.clients,
        duration: args.seconds,
        timeout: 60,
      },
      (err: unknown, res) => (err ? reject(err instanceof Error ? err : new Error('autocannon failed', { cause: err })) : resolve(res)),
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) okMs.push(ms);
    });
  });
  stop.abort();
  const { ms: healthMs, failed: healthFailed } = await health;

  const seconds = result.duration;
  const byStatus = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, s.count ?? 0]));
  const total = Object.values(byStatus).reduce((a, b) => a + b, 0);
  const f = (x: number) => x.toFixed(1);
  console.log(`image ${args.image} (${image.length} bytes), POST /caption${args.query ? `?${args.query}` : ''}`);
  console.log(`load: ${args.clients} clients for ${f(seconds)} s: ${total} replies, ${result.errors} errors (${result.timeouts} timeouts)`);
  console.log(`replies by status: ${JSON.stringify(byStatus)}; non-2xx ${result.non2xx}`);
  console.log(`throughput: ${f(total / seconds)} replies/s, ${f(okMs.length / seconds)} captions (200)/s`);
  console.log(`latency, all replies: p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms`);
  console.log(`latency, 200s only: p50 ${f(quantile(okMs, 0.5))} ms, p99 ${f(quantile(okMs, 0.99))} ms (n=${okMs.length})`);
  console.log(`/health idle: p50 ${f(quantile(idleMs, 0.5))} ms, max ${f(Math.max(...idleMs))} ms (n=${idleMs.length})`);
  console.log(
    `/health under load (every ${args.healthMs} ms): p50 ${f(quantile(healthMs, 0.5))} ms, p99 ${f(quantile(healthMs, 0.99))} ms, ` +
      `max ${f(Math.max(...healthMs))} ms (n=${healthMs.length}, failed ${healthFailed})`,
  );
} finally {
  const code = await stopChildServer(server);
  console.log(`server stopped with SIGTERM: exit ${code}`);
}
