/**
 * Serving benchmark: for each inference runtime (tfjs, onnx) and batching
 * setting (off, on), the real server (`node --import tsx src/server/main.ts`)
 * runs as a child process on a free loopback port and autocannon drives
 * /caption, /vqa and /generate at each concurrency. All cells in one run, so
 * the ratios hold on a noisy machine. Prints requests/s, p50 and p99 latency,
 * and errors / non-2xx per cell. Not a test.
 *
 *   npx tsx scripts/bench-serve.ts [--duration 5] [--concurrency 1,4,16,64] [--routes caption,vqa,generate] [--markdown]
 *
 * --trees compares source trees (another checkout, e.g. `git worktree add /tmp/before <commit>`) in the
 * same run, alternated --rounds times, so a before/after ratio is not a comparison of two machine loads.
 */
import { readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import sharp from 'sharp';
import { cli } from '../src/cli/main.js';
import { startChildServer, stopChildServer } from '../src/server/child.js';
import { freePort } from '../src/util/net.js';

const ROUTES = ['caption', 'vqa', 'generate'] as const;
type Route = (typeof ROUTES)[number];
const RUNTIMES = ['tfjs', 'onnx'] as const;
const BATCHING = ['off', 'on'] as const;

const args = cli({
  usage: 'npx tsx scripts/bench-serve.ts',
  summary: 'requests/s and p50/p99 latency of /caption, /vqa and /generate on a real server: tfjs vs onnx, batching off vs on.',
  example: 'npx tsx scripts/bench-serve.ts --duration 5 --concurrency 1,4,16,64 --markdown',
  options: {
    duration: { type: 'number', int: true, min: 1, default: 10, description: 'seconds of load per cell' },
    concurrency: { type: 'string', default: '1,4,16,64', placeholder: 'list', description: 'comma-separated client counts' },
    routes: { type: 'string', default: ROUTES.join(','), placeholder: 'list', description: `comma-separated, of ${ROUTES.join(', ')}` },
    runtimes: { type: 'string', default: RUNTIMES.join(','), placeholder: 'list', description: 'comma-separated, of tfjs, onnx' },
    batching: { type: 'string', default: BATCHING.join(','), placeholder: 'list', description: 'comma-separated, of off, on' },
    batchSize: { type: 'number', int: true, min: 2, max: 64, default: 8, description: 'BATCH_MAX_SIZE when batching is on' },
    batchDelayMs: { type: 'number', int: true, min: 0, max: 1000, default: 2, description: 'BATCH_MAX_DELAY_MS when batching is on' },
    maxQueue: {
      type: 'number',
      int: true,
      min: 0,
      default: 256,
      description: 'MAX_QUEUE of the server (the default 32 answers 503s at 64 clients)',
    },
    generateLength: { type: 'number', int: true, min: 1, default: 100, description: 'characters per /generate request' },
    models: {
      type: 'string',
      default: 'models',
      placeholder: 'dir',
      description: 'models folder of the server (relative: inside each --trees tree)',
    },
    markdown: { type: 'boolean', default: false, description: 'print a table ready for the README' },
    trees: {
      type: 'string',
      default: '.',
      placeholder: 'list',
      description: 'comma-separated source trees to serve from, alternated (a checkout needs node_modules)',
    },
    rounds: { type: 'number', int: true, min: 1, max: 20, default: 1, description: 'times each tree runs, alternated' },
  },
});

/** A comma-separated option checked against what it allows. */
function list<T extends string>(name: string, value: string, allowed: readonly T[]): T[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const bad = items.find((s) => !(allowed as readonly string[]).includes(s));
  if (bad !== undefined || items.length === 0) throw new Error(`--${name} must list some of ${allowed.join(', ')}; got "${value}"`);
  return items as T[];
}
const concurrencies = args.concurrency.split(',').map((s) => {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--concurrency must be comma-separated positive integers; got "${args.concurrency}"`);
  return n;
});
const routes = list('routes', args.routes, ROUTES);
const trees = args.trees.split(',').map((t) => path.resolve(t.trim()));
const runtimes = list('runtimes', args.runtimes, RUNTIMES);
const batchings = list('batching', args.batching, BATCHING);

const root = path.resolve(import.meta.dirname, '..');

// A 224×224 JPEG of a real photo (the first fixture), the size the encoders take.
const photos = path.join(root, 'test/fixtures/photos');
const photo = readdirSync(photos).find((f) => f.endsWith('.jpg'));
if (!photo) throw new Error(`no .jpg in ${photos}`);
const image = await sharp(path.join(photos, photo)).resize(224, 224, { fit: 'cover' }).jpeg({ quality: 90 }).toBuffer();

interface Request {
  path: string;
  headers: Record<string, string>;
  body: Buffer | string;
}
const requests: Record<Route, Request> = {
  caption: { path: '/caption', headers: { 'content-type': 'image/jpeg' }, body: image },
  vqa: { path: '/vqa?question=what%20is%20in%20the%20picture', headers: { 'content-type': 'image/jpeg' }, body: image },
  generate: {
    path: '/generate',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prime: 'the ', length: args.generateLength, seed: 1 }),
  },
};

interface Cell {
  tree: string;
  runtime: string;
  device: string;
  batching: string;
  route: Route;
  concurrency: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

function load(base: string, r: Request, connections: number, duration: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(
      { url: `${base}${r.path}`, method: 'POST', headers: r.headers, body: r.body, connections, duration, timeout: 60 },
      (err: unknown, res) => (err ? reject(err instanceof Error ? err : new Error('autocannon failed', { cause: err })) : resolve(res)),
    );
  });
}

const cells: Cell[] = [];
const f1 = (x: number) => x.toFixed(1);
const treeName = (t: string) => (trees.length > 1 ? `${path.basename(t)} ` : '');
const runs = Array.from({ length: args.rounds }, () => trees).flat();
for (const tree of runs) {
  for (const runtime of runtimes) {
    for (const batching of batchings) {
      const env = {
        INFERENCE_RUNTIME: runtime,
        BATCH_MAX_SIZE: batching === 'on' ? String(args.batchSize) : '1',
        BATCH_MAX_DELAY_MS: String(args.batchDelayMs),
      };
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      const server = await startChildServer(
        port,
        {
          // Each tree serves its own models (a relative --models is read inside each tree): an older checkout cannot load newer ones.
          MODELS_DIR: path.resolve(tree, args.models),
          // One client host sending thousands of requests: no rate limit, no load shedding (src/server/protection.ts).
          RATE_LIMIT_MAX: '0',
          SHED_EVENT_LOOP_DELAY_MS: '0',
          SHED_HEAP_USED_MIB: '0',
          SHED_RSS_MIB: '0',
          MAX_QUEUE: String(args.maxQueue),
          ...env,
        },
        180_000,
        tree,
      );
      try {
        const health = (await (await fetch(`${base}/health`)).json()) as { inference?: { device?: string } };
        const device = health.inference?.device ?? '?';
        for (const route of routes) {
          const r = requests[route];
          // Warm-up: first requests pay for lazy initialisation; one short burst fills the batcher's paths too.
          for (let i = 0; i < 3; i++) {
            const body = typeof r.body === 'string' ? r.body : new Uint8Array(r.body);
            const res = await fetch(`${base}${r.path}`, { method: 'POST', headers: r.headers, body });
            if (!res.ok)
              throw new Error(`${runtime}/${batching}: POST ${r.path} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
            await res.arrayBuffer();
          }
          for (const concurrency of concurrencies) {
            const res = await load(base, r, concurrency, args.duration);
            const cell: Cell = {
              tree: treeName(tree),
              runtime,
              device,
              batching,
              route,
              concurrency,
              // Replies over the whole run (the per-second average drops the last partial second).
              rps: res.requests.total / res.duration,
              p50: res.latency.p50,
              p99: res.latency.p99,
              errors: res.errors + res.timeouts,
              non2xx: res.non2xx,
            };
            cells.push(cell);
            // Progress on stderr with --markdown, so stdout is the table alone.
            (args.markdown ? console.error : console.log)(
              `${treeName(tree)}${runtime}(${device}) batching=${batching} /${route} c=${concurrency}: ${f1(cell.rps)} req/s, ` +
                `p50 ${cell.p50} ms, p99 ${cell.p99} ms, errors ${cell.errors}, non-2xx ${cell.non2xx}`,
            );
          }
        }
      } finally {
        await stopChildServer(server);
      }
    }
  }
}

if (args.markdown) {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `${os.cpus().length} × ${cpu}, node ${process.version}; ${args.duration} s per cell; 224×224 JPEG (${photo}); ` +
      `batching on = BATCH_MAX_SIZE ${args.batchSize}, BATCH_MAX_DELAY_MS ${args.batchDelayMs}; MAX_QUEUE ${args.maxQueue}\n`,
  );
  console.log('| route | tree | runtime | batching | clients | req/s | p50 ms | p99 ms | errors | non-2xx |');
  console.log('|---|---|---|---|---:|---:|---:|---:|---:|---:|');
  for (const route of routes) {
    for (const c of cells.filter((x) => x.route === route)) {
      console.log(
        `| /${c.route} | ${c.tree.trim() || '.'} | ${c.runtime} (${c.device}) | ${c.batching} | ${c.concurrency} | ${f1(c.rps)} | ${c.p50} | ${c.p99} | ${c.errors} | ${c.non2xx} |`,
      );
    }
  }
}
