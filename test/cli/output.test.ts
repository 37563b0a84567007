import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/command.js';
import { isInside, prepareOutput, prepareTrainingRun, runStamp, SHIPPED_MODELS_DIR, type TrainingArgs } from '../../src/cli/output.js';

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'cli-out-'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

describe('prepareOutput', () => {
  it("creates a file's missing parent folders, and a folder itself", () => {
    prepareOutput(path.join(tmp, '.cache/deep/x.feat'), 'file', '--out');
    expect(statSync(path.join(tmp, '.cache/deep')).isDirectory()).toBe(true);
    expect(existsSync(path.join(tmp, '.cache/deep/x.feat'))).toBe(false);
    prepareOutput(path.join(tmp, 'qa/train'), 'dir');
    expect(statSync(path.join(tmp, 'qa/train')).isDirectory()).toBe(true);
  });

  it('fails naming the flag and path when the folder cannot be made or the file is a folder', () => {
    writeFileSync(path.join(tmp, 'file'), 'x');
    const under = path.join(tmp, 'file/x.json');
    expect(() => prepareOutput(under, 'file', '--results')).toThrow(`--results: cannot write ${under}:`);
    expect(() => prepareOutput(tmp, 'file', '--out')).toThrow('it is a folder');
  });
});

describe('prepareTrainingRun', () => {
  const now = new Date(Date.UTC(2025, 0, 2, 3, 4, 5));
  const base: TrainingArgs = { out: undefined, checkpoints: undefined, resume: false, force: false, name: 'caption', version: undefined };

  it('defaults to runs/<name>-<timestamp>/ with checkpoints inside, the timestamp as version', () => {
    expect(runStamp(now)).toBe('20250102-030405');
    const run = prepareTrainingRun(base, { now, runsDir: path.join(tmp, 'runs'), shippedDir: path.join(tmp, 'models') });
    expect(run).toEqual({
      outDir: path.join(tmp, 'runs/caption-20250102-030405'),
      checkpointDir: path.join(tmp, 'runs/caption-20250102-030405/checkpoints'),
      version: '20250102-030405',
    });
    expect(statSync(run.checkpointDir).isDirectory()).toBe(true);
  });

  it('takes --out, --checkpoints and --version as given', () => {
    const args = { ...base, out: path.join(tmp, 'a'), checkpoints: path.join(tmp, 'ck'), version: '2' };
    const run = prepareTrainingRun(args, { now, shippedDir: path.join(tmp, 'models') });
    expect(run).toEqual({ outDir: args.out, checkpointDir: args.checkpoints, version: '2' });
  });

  it('keeps the version of a run folder given to --out (a resumed run)', () => {
    const out = path.join(tmp, 'runs/caption-20241231-235959');
    const run = prepareTrainingRun({ ...base, out, resume: true }, { now, shippedDir: path.join(tmp, 'models') });
    expect(run.version).toBe('20241231-235959');
  });

  it('refuses models/ (and its subfolders) without --force, and writes there with it', () => {
    const shippedDir = path.join(tmp, 'models');
    const into = { ...base, out: path.join(shippedDir, 'caption') };
    expect(() => prepareTrainingRun(into, { now, shippedDir })).toThrow(UsageError);
    expect(() => prepareTrainingRun(into, { now, shippedDir })).toThrow(/--out .*models\/caption is inside .*add --force/);
    expect(existsSync(into.out)).toBe(false); // refused before creating anything
    const ckpt = { ...base, out: path.join(tmp, 'a'), checkpoints: path.join(shippedDir, 'ck') };
    expect(() => prepareTrainingRun(ckpt, { now, shippedDir })).toThrow(/--checkpoints/);
    expect(prepareTrainingRun({ ...into, force: true }, { now, shippedDir }).outDir).toBe(into.out);
    expect(statSync(into.out).isDirectory()).toBe(true);
  });

  it('guards the repository models/ folder by default', () => {
    expect(isInside(path.join(SHIPPED_MODELS_DIR, 'vqa/x'), SHIPPED_MODELS_DIR)).toBe(true);
    expect(isInside(path.join(SHIPPED_MODELS_DIR, '../models-mine'), SHIPPED_MODELS_DIR)).toBe(false);
    expect(existsSync(path.join(SHIPPED_MODELS_DIR, 'caption/config.json'))).toBe(true);
    expect(() => prepareTrainingRun({ ...base, out: path.join(SHIPPED_MODELS_DIR, 'caption') })).toThrow(/add --force/);
  });

  it('needs --out to resume, and a --name that can name a folder', () => {
    expect(() => prepareTrainingRun({ ...base, resume: true }, { now })).toThrow('--resume needs --out');
    expect(() => prepareTrainingRun({ ...base, name: '../x' }, { now })).toThrow('--name: use letters');
  });
});
