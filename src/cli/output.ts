import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from './command.js';

/** The repository's models/ folder: the shipped models, which training must not overwrite by accident. */
export const SHIPPED_MODELS_DIR = fileURLToPath(new URL('../../models', import.meta.url));

/**
 * Create the folder a script will write (`target` itself for a folder, its
 * parent for a file) and check it can be written, before any long work starts.
 * Errors name `label` (the flag) and the path.
 */
export function prepareOutput(target: string, kind: 'file' | 'dir', label: string = target): void {
  const dir = kind === 'dir' ? target : path.dirname(target);
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    if (kind === 'file' && existsSync(target)) {
      if (statSync(target).isDirectory()) throw new Error('it is a folder');
      accessSync(target, constants.W_OK);
    }
  } catch (err) {
    throw new Error(`${label}: cannot write ${target}: ${(err as Error).message}`);
  }
}

/** Whether `child` is `parent` or lies below it (both resolved against the working directory). */
export function isInside(child: string, parent: string): boolean {
  const rel = path.relative(path.resolve(parent), path.resolve(child));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** "20250102-030405" (UTC): sorts by time and is safe in a folder name. */
export function runStamp(date: Date): string {
  return date.toISOString().slice(0, 19).replace(/-|:/g, '').replace('T', '-');
}

/** The options every trainer shares, spread into its option specs. */
export function trainingOptions(name: string) {
  return {
    out: { type: 'string', placeholder: 'dir', description: 'folder for the best model', defaultText: 'runs/<name>-<timestamp>/' },
    checkpoints: { type: 'string', placeholder: 'dir', description: 'checkpoint folder', defaultText: '<out>/checkpoints' },
    resume: { type: 'boolean', description: 'continue from <checkpoints>/last; needs --out of that run' },
    force: { type: 'boolean', description: 'allow --out or --checkpoints inside models/, replacing a shipped model' },
    name: { type: 'string', default: name, description: "the model's name in config.json, and the run folder's prefix" },
    version: { type: 'string', description: "the model's version in config.json", defaultText: "the run's timestamp" },
  } as const;
}

/**
 * The flags of the options every trainer's schema has (src/train/options.ts);
 * their defaults come from that schema. `metric`: what early stopping watches.
 */
export function loopFlags(metric: string) {
  return {
    epochs: { type: 'number', description: 'most passes over the training data' },
    learningRate: { type: 'number', flag: 'lr', description: 'learning rate' },
    lrDecay: { type: 'number', description: 'learning-rate factor after each epoch' },
    gradClip: { type: 'number', description: 'global gradient-norm clip' },
    patience: { type: 'number', description: `stop after this many epochs without a better ${metric}` },
    maxMinutes: { type: 'number', description: 'stop once training has run this long (checkpointed mid-epoch; --resume continues)' },
    seed: { type: 'number', description: 'random seed' },
    workers: { type: 'number', description: 'gradient threads (the wasm backend uses one core per thread)' },
  } as const;
}

export interface TrainingArgs {
  out: string | undefined;
  checkpoints: string | undefined;
  resume: boolean;
  force: boolean;
  name: string;
  version: string | undefined;
}

export interface TrainingRun {
  outDir: string;
  checkpointDir: string;
  /** --version, or the run's timestamp (from --out's name when it has one): a retrained model never passes for the shipped one. */
  version: string;
}

/**
 * Where a training run writes: runs/<name>-<timestamp>/ unless --out is given,
 * checkpoints inside it, never inside models/ without --force. Creates both
 * folders up front.
 */
export function prepareTrainingRun(args: TrainingArgs, env: { now?: Date; runsDir?: string; shippedDir?: string } = {}): TrainingRun {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(args.name)) {
    throw new UsageError(`--name: use letters, digits, '.', '_' and '-' (it names a folder), got '${args.name}'`);
  }
  if (args.resume && args.out === undefined) {
    throw new UsageError('--resume needs --out DIR: the folder of the run to continue (e.g. runs/caption-20250102-030405)');
  }
  const stamp = runStamp(env.now ?? new Date());
  const outDir = args.out ?? path.join(env.runsDir ?? 'runs', `${args.name}-${stamp}`);
  const checkpointDir = args.checkpoints ?? path.join(outDir, 'checkpoints');
  const shipped = env.shippedDir ?? SHIPPED_MODELS_DIR;
  for (const [flag, dir] of [
    ['--out', outDir],
    ['--checkpoints', checkpointDir],
  ] as const) {
    if (!args.force && isInside(dir, shipped)) {
      const where = path.relative(process.cwd(), shipped) || shipped;
      throw new UsageError(`${flag} ${dir} is inside ${where}/ (the shipped models); add --force to replace them`);
    }
  }
  prepareOutput(outDir, 'dir', '--out');
  prepareOutput(checkpointDir, 'dir', '--checkpoints');
  // A resumed run keeps the version it started with: the timestamp in its folder's name.
  const folderStamp = /-(\d{8}-\d{6})$/.exec(path.basename(path.resolve(outDir)))?.[1];
  return { outDir, checkpointDir, version: args.version ?? folderStamp ?? stamp };
}
