import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cruise, type IConfiguration } from 'dependency-cruiser';
import { afterAll, describe, expect, it } from 'vitest';

// The layer rule of `npm run lint` (.dependency-cruiser.cjs), run on small made-up trees: a rule that
// never fires would pass on any tree, so each break must be caught.

const config = createRequire(import.meta.url)('../.dependency-cruiser.cjs') as IConfiguration;
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** The rules broken by a tree of `files` (path → the paths it imports, all under src/). */
async function broken(files: Record<string, string[]>): Promise<string[]> {
  const root = mkdtempSync(path.join(tmpdir(), 'captioner-layers-'));
  dirs.push(root);
  for (const [file, imports] of Object.entries(files)) {
    mkdirSync(path.join(root, path.dirname(file)), { recursive: true });
    const lines = imports.map((to, i) => {
      const rel = path.relative(path.dirname(file), to).replace(/\.ts$/, '.js');
      return `import { x as x${i} } from '${rel.startsWith('.') ? rel : `./${rel}`}';\nvoid x${i};`;
    });
    writeFileSync(path.join(root, file), `${lines.join('\n')}\nexport const x = 1;\n`);
  }
  // The rules' paths are relative to baseDir.
  const result = await cruise(['src'], {
    baseDir: root,
    ruleSet: { forbidden: config.forbidden },
    validate: true,
    tsPreCompilationDeps: true,
  });
  if (typeof result.output === 'string') throw new Error(result.output);
  return [...new Set(result.output.summary.violations.map((v) => v.rule.name))].sort();
}

describe('the layer rule', () => {
  it('lets a layer import its own layer and those below', async () => {
    expect(await broken({ 'src/server/a.ts': ['src/caption/b.ts'], 'src/caption/b.ts': ['src/util/c.ts'], 'src/util/c.ts': [] })).toEqual(
      [],
    );
  });

  it.each([
    ['util imports a task', { 'src/util/a.ts': ['src/caption/b.ts'], 'src/caption/b.ts': [] }, 'layer-util'],
    ['onnx imports a task', { 'src/onnx/a.ts': ['src/vqa/b.ts'], 'src/vqa/b.ts': [] }, 'layer-nn'],
    ['train imports a task', { 'src/train/a.ts': ['src/char/b.ts'], 'src/char/b.ts': [] }, 'layer-encoder'],
    ['a task imports server', { 'src/caption/a.ts': ['src/server/b.ts'], 'src/server/b.ts': [] }, 'layer-caption'],
    ['jobs imports server', { 'src/jobs/a.ts': ['src/server/b.ts'], 'src/server/b.ts': [] }, 'jobs-server-apart'],
    ['server imports jobs', { 'src/server/a.ts': ['src/jobs/b.ts'], 'src/jobs/b.ts': [] }, 'server-jobs-apart'],
    ['two modules import each other', { 'src/nn/a.ts': ['src/nn/b.ts'], 'src/nn/b.ts': ['src/nn/a.ts'] }, 'no-cycles'],
    [
      'two folders of one layer import each other',
      { 'src/nn/a.ts': ['src/search/b.ts'], 'src/search/b.ts': [], 'src/search/c.ts': ['src/nn/d.ts'], 'src/nn/d.ts': [] },
      'no-folder-cycles',
    ],
  ])('fails when %s', async (_what, files, rule) => {
    expect(await broken(files)).toContain(rule);
  });
});
