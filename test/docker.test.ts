import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { CLOSE_GRACE_MS } from '../src/encoder/thread.js';
import { loadConfig } from '../src/app/config.js';

// No Docker engine runs here: the Dockerfiles and the compose file are read
// and their essentials checked, so a careless edit fails in CI.

const root = path.resolve(import.meta.dirname, '..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

interface Instruction {
  op: string;
  args: string;
}

/** Instructions in order: comments dropped, continuation lines joined (as the Dockerfile parser does). */
function instructions(text: string): Instruction[] {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    if (/^\s*#/.test(raw)) continue;
    const line = raw.trimEnd();
    if (line.endsWith('\\')) current += `${line.slice(0, -1)} `;
    else {
      current += line;
      if (current.trim() !== '') logical.push(current.trim());
      current = '';
    }
  }
  return logical.map((l) => {
    const [op = '', ...rest] = l.split(/\s+/);
    return { op: op.toUpperCase(), args: rest.join(' ') };
  });
}

interface Stage {
  from: string;
  name?: string;
  body: Instruction[];
}

function stages(all: Instruction[]): { args: Map<string, string>; stages: Stage[] } {
  const args = new Map<string, string>();
  const out: Stage[] = [];
  for (const ins of all) {
    if (ins.op === 'FROM') {
      const [from = '', as, name] = ins.args.split(/\s+/);
      out.push({ from, name: as?.toUpperCase() === 'AS' ? name : undefined, body: [] });
    } else if (out.length === 0 && ins.op === 'ARG') {
      const [k = '', v = ''] = ins.args.split('=');
      args.set(k, v);
    } else out.at(-1)?.body.push(ins);
  }
  return { args, stages: out };
}

/** The image a FROM names, with global ARG defaults substituted. */
const resolveImage = (from: string, args: Map<string, string>) => from.replace(/\$\{(\w+)\}/g, (_, k: string) => args.get(k) ?? '');

function dockerfile(file: string) {
  const all = instructions(read(file));
  const parsed = stages(all);
  const final = parsed.stages.at(-1);
  if (!final) throw new Error(`${file} has no FROM`);
  const copies = final.body.filter((i) => i.op === 'COPY').map((i) => i.args);
  const copyIndex = (re: RegExp) => copies.findIndex((c) => re.test(c));
  return { all, ...parsed, final, copies, copyIndex };
}

/** Checks both images share: multi-stage, non-root, health check, layer order, optional deps kept. */
function commonEssentials(file: string): ReturnType<typeof dockerfile> {
  const d = dockerfile(file);
  // The instructions, without comments (which may well say "never --omit=optional").
  const text = d.all.map((i) => `${i.op} ${i.args}`).join('\n');
  expect(d.stages.length, 'multi-stage').toBeGreaterThanOrEqual(2);
  const user = d.final.body.filter((i) => i.op === 'USER').at(-1)?.args;
  expect(user, 'USER in the final stage').toBeDefined();
  expect(user).not.toMatch(/^(root|0)(:|$)/);
  const health = d.final.body.filter((i) => i.op === 'HEALTHCHECK');
  expect(health).toHaveLength(1);
  expect(health[0]?.args).toContain('/health/ready');
  // Exec form: valid JSON, run by node (no curl or wget in the image).
  const probe = JSON.parse(/\bCMD (\[.*\])$/.exec(health[0]?.args ?? '')?.[1] ?? 'null') as string[] | null;
  expect(probe?.[0]).toBe('node');
  // Dependencies, then models, then code: a code edit must not rebuild the model layer.
  const [deps, models, src] = [d.copyIndex(/--from=\w+ \/app\/node_modules/), d.copyIndex(/^models /), d.copyIndex(/^src /)];
  expect(deps, 'node_modules copied from the deps stage').toBeGreaterThanOrEqual(0);
  expect(models).toBeGreaterThan(deps);
  expect(src).toBeGreaterThan(models);
  // npm ci in a build stage, keeping optional dependencies (sharp, tfjs-node).
  const npmCi = d.all.filter((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args));
  expect(npmCi.length).toBeGreaterThan(0);
  expect(
    d.final.body.some((i) => i.op === 'RUN' && /\bnpm (ci|install)\b/.test(i.args)),
    'no install in the final stage',
  ).toBe(false);
  expect(text).not.toMatch(/--omit[= ]optional|--no-optional/);
  // No build tools in the runtime image.
  expect(d.final.body.some((i) => i.op === 'RUN' && /apt-get install/.test(i.args))).toBe(false);
  // A failure must not be turned into success.
  expect(text).not.toMatch(/\|\|\s*(echo|true)\b/);
  // The server bundles web/ at start (it does not start without it); the worker services run scripts/worker.ts.
  expect(
    d.copies.some((c) => /^web /.test(c)),
    `${file}: COPY web`,
  ).toBe(true);
  expect(
    d.copies.some((c) => /\bscripts\/worker\.ts\b/.test(c)),
    `${file}: COPY scripts/worker.ts`,
  ).toBe(true);
  // Every local file copied exists.
  for (const c of d.all.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))) {
    for (const src of c.args.split(/\s+/).slice(0, -1)) expect(existsSync(path.join(root, src)), `${file}: COPY ${src}`).toBe(true);
  }
  return d;
}

describe('Dockerfile (CPU)', () => {
  it('Node LTS slim base without CUDA, multi-stage, non-root, /health/ready check, models before code', () => {
    const d = commonEssentials('Dockerfile');
    const node = d.args.get('NODE_IMAGE') ?? '';
    expect(node).toMatch(/^node:(22|24)(\.\d+)*-(bookworm|trixie)-slim$/);
    for (const s of d.stages) expect(resolveImage(s.from, d.args)).toBe(node);
    expect(d.all.map((i) => i.args).join('\n')).not.toMatch(/cuda/i);
    // onnxruntime-node's install script fetches the CUDA provider unless told to skip, before npm ci runs.
    const deps = d.stages.find((st) => st.name === 'deps')?.body ?? [];
    const at = (re: RegExp) => deps.findIndex((i) => re.test(`${i.op} ${i.args}`));
    expect(at(/^ENV ONNXRUNTIME_NODE_INSTALL=skip$/), 'ONNXRUNTIME_NODE_INSTALL=skip in the deps stage').toBeGreaterThanOrEqual(0);
    expect(at(/^ENV ONNXRUNTIME_NODE_INSTALL=skip$/)).toBeLessThan(at(/^RUN npm ci\b/));
    expect(at(/^COPY .*\.npmrc/)).toBeLessThan(at(/^RUN npm ci\b/));
    // node itself as the command, so SIGTERM reaches the server.
    const cmd = d.final.body.find((i) => i.op === 'CMD')?.args ?? '';
    expect(JSON.parse(cmd)).toEqual(['node', '--import', 'tsx', 'src/server/main.ts']);
  });
});

describe('Dockerfile.gpu', () => {
  it('CUDA + cuDNN runtime base, Node copied in, fails the build and the start loudly without the GPU runtime', () => {
    const d = commonEssentials('Dockerfile.gpu');
    expect(d.args.get('CUDA_IMAGE')).toMatch(/^nvidia\/cuda:\d+\.\d+\.\d+-cudnn\d*-runtime-ubuntu\d+\.\d+$/);
    expect(d.args.get('NODE_IMAGE')).toMatch(/^node:(22|24)(\.\d+)*-(bookworm|trixie)-slim$/);
    expect(d.final.from).toBe('${CUDA_IMAGE}');
    expect(d.final.body.some((i) => i.op === 'COPY' && /--from=node \/usr\/local\/bin\/node/.test(i.args))).toBe(true);
    // Build: libraries and binding; start: a GPU device, before the server (&&: a failure stops it).
    const deps = d.stages.find((s) => s.name === 'deps');
    expect(deps?.body.some((i) => i.op === 'RUN' && /scripts\/gpu-check\.ts --stage build$/.test(i.args))).toBe(true);
    const cmd = JSON.parse(d.final.body.find((i) => i.op === 'CMD')?.args ?? '[]') as string[];
    expect(cmd.at(-1)).toMatch(/gpu-check\.ts --stage start && exec node --import tsx src\/server\/main\.ts$/);
  });

  it("runs the models on ORT's CUDA 12 provider: CUDA 12 + cuDNN 9 base, the provider installed by npm ci, ORT forced", () => {
    const d = dockerfile('Dockerfile.gpu');
    // cuDNN 9 is what the nvidia/cuda 12.x "cudnn" tags carry (the CUDA 11 ones say cudnn8).
    expect(d.args.get('CUDA_IMAGE')).toMatch(/^nvidia\/cuda:12\.\d+\.\d+-cudnn-runtime-ubuntu22\.04$/);
    const deps = d.stages.find((s) => s.name === 'deps')?.body ?? [];
    const at = (re: RegExp) => deps.findIndex((i) => re.test(`${i.op} ${i.args}`));
    // The install script reads ONNXRUNTIME_NODE_INSTALL before .npmrc's skip: it must be in the environment of npm ci.
    const arg = at(/^ARG ONNXRUNTIME_NODE_INSTALL=cuda12$/);
    const env = at(/^ENV ONNXRUNTIME_NODE_INSTALL=\$\{ONNXRUNTIME_NODE_INSTALL\}$/);
    const ci = at(/^RUN npm ci\b/);
    expect(arg).toBeGreaterThanOrEqual(0);
    expect(env).toBeGreaterThan(arg);
    expect(ci).toBeGreaterThan(env);
    // The build check needs the ORT code it imports, copied before it runs.
    expect(at(/^COPY src\/onnx /)).toBeGreaterThanOrEqual(0);
    expect(at(/^COPY src\/onnx /)).toBeLessThan(at(/gpu-check\.ts --stage build$/));
    // ORT forced: a server that cannot load it exits instead of serving on tfjs.
    const finalEnv = d.final.body
      .filter((i) => i.op === 'ENV')
      .map((i) => i.args)
      .join(' ');
    expect(finalEnv).toMatch(/\bINFERENCE_RUNTIME=onnx\b/);
    expect(finalEnv).not.toMatch(/TF_BACKEND=tfjs-node-gpu/);
  });
});

const ServiceSchema = z
  .object({
    profiles: z.array(z.string()).optional(),
    build: z.object({ context: z.string(), dockerfile: z.string() }).optional(),
    image: z.string().optional(),
    command: z.array(z.string()).optional(),
    ports: z.array(z.string()).optional(),
    environment: z.record(z.string()).optional(),
    volumes: z.array(z.string()).optional(),
    healthcheck: z
      .object({ disable: z.boolean().optional(), test: z.array(z.string()).optional() })
      .passthrough()
      .optional(),
    deploy: z.unknown().optional(),
  })
  .passthrough();
const ComposeSchema = z.object({ services: z.record(ServiceSchema) });

describe('docker-compose.yml', () => {
  const compose = ComposeSchema.parse(parse(read('docker-compose.yml'), { merge: true }));
  const usesGpu = (s: z.infer<typeof ServiceSchema>) => JSON.stringify(s.deploy ?? {}).includes('nvidia');
  /** The services `docker compose up` starts with these profiles on: those without a profile always start. */
  const started = (profiles: readonly string[]) =>
    Object.entries(compose.services)
      .filter(([, s]) => s.profiles === undefined || s.profiles.some((p) => profiles.includes(p)))
      .map(([name]) => name);
  const defaultProfiles = (/^COMPOSE_PROFILES=(.*)$/m.exec(read('.env'))?.[1] ?? '').split(',').filter((p) => p !== '');

  it('a cpu and a gpu profile, each on its own Dockerfile', () => {
    const byProfile = (p: string) => Object.values(compose.services).filter((s) => s.profiles?.includes(p) && s.ports);
    expect(byProfile('cpu').map((s) => s.build?.dockerfile)).toEqual(['Dockerfile']);
    expect(byProfile('gpu').map((s) => s.build?.dockerfile)).toEqual(['Dockerfile.gpu']);
    expect(byProfile('gpu').every(usesGpu)).toBe(true);
    expect(byProfile('cpu').some(usesGpu)).toBe(false);
  });

  it('plain `docker compose up` (profiles from .env) starts the CPU service only: no GPU needed', () => {
    expect(defaultProfiles).toEqual(['cpu']);
    const names = started(defaultProfiles);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(usesGpu(compose.services[name]!), name).toBe(false);
  });

  it('--profile gpu (which replaces COMPOSE_PROFILES) starts the GPU server and GPU workers (and Redis), all on the GPU image', () => {
    const names = started(['gpu']).filter((n) => compose.services[n]!.build);
    expect(names.sort()).toEqual(['captioner-gpu', 'worker-gpu']);
    for (const name of names) {
      expect(usesGpu(compose.services[name]!), name).toBe(true);
      expect(compose.services[name]!.build?.dockerfile, name).toBe('Dockerfile.gpu');
    }
    const worker = compose.services['worker-gpu']!;
    // The GPU check before the worker (&&), as the GPU image's own command does for the server.
    expect(worker.command?.join(' ')).toMatch(/gpu-check\.ts --stage start && exec node --import tsx scripts\/worker\.ts$/);
    expect(worker.ports).toBeUndefined();
    expect(worker.environment?.REDIS_URL).toBe('redis://redis:6379');
  });

  it("the servers' stop grace period holds the drain (SHUTDOWN_TIMEOUT_MS) plus the encoder thread's end", () => {
    const seconds = (v: unknown) => Number(/^(\d+)s$/.exec(String(v))?.[1] ?? NaN);
    for (const name of ['captioner', 'captioner-gpu']) {
      const service = compose.services[name]!;
      const drainMs = Number(service.environment?.SHUTDOWN_TIMEOUT_MS ?? loadConfig({}).SHUTDOWN_TIMEOUT_MS);
      expect(seconds(service.stop_grace_period) * 1000, name).toBeGreaterThanOrEqual(drainMs + CLOSE_GRACE_MS + 1000);
    }
  });

  it('bulk jobs: Redis (noeviction, persisted), and a worker service that --scale multiplies', () => {
    const redis = compose.services.redis!;
    expect(redis.image).toMatch(/^redis:7/);
    expect(redis.command?.join(' ')).toMatch(/--maxmemory-policy noeviction/); // BullMQ's keys must not be evicted
    expect(redis.healthcheck?.test).toBeDefined();
    const worker = compose.services.worker!;
    expect(started(defaultProfiles)).toEqual(expect.arrayContaining(['redis', 'worker', 'captioner']));
    expect(worker.build?.dockerfile).toBe('Dockerfile');
    expect(worker.command?.join(' ')).toMatch(/scripts\/worker\.ts$/);
    expect(worker.ports, 'a published port would collide between scaled replicas').toBeUndefined();
    expect(worker.healthcheck?.disable, 'the image checks the HTTP server, which a worker does not run').toBe(true);
    for (const name of ['worker', 'captioner']) {
      const env = compose.services[name]!.environment ?? {};
      expect(env.REDIS_URL, name).toBe('redis://redis:6379');
      expect(env.INPUT_ROOT, name).toBe('/input');
      expect(
        compose.services[name]!.volumes?.some((v) => v.endsWith(':/input:ro')),
        name,
      ).toBe(true);
    }
    // The image carries the worker's entry point.
    expect(dockerfile('Dockerfile').copies).toContain('scripts/worker.ts ./scripts/worker.ts');
  });
});

describe('runtime dependencies', () => {
  it('nsfwjs (needed only to extract the encoder weights) is a dev dependency, not in the image', () => {
    const pkg = z
      .object({ dependencies: z.record(z.string()), devDependencies: z.record(z.string()) })
      .passthrough()
      .parse(JSON.parse(read('package.json')));
    expect(pkg.dependencies.nsfwjs).toBeUndefined();
    expect(pkg.devDependencies.nsfwjs).toBeDefined();
    const ignored = read('.dockerignore').split('\n');
    for (const needed of ['models', 'src', 'scripts', 'package.json', 'package-lock.json']) expect(ignored).not.toContain(needed);
  });
});
