import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageError } from '../../../src/image/decode.js';
import { InputPathError, listInputs, readInput, relativeInputPath } from '../../../src/app/jobs/inputs.js';

describe('paths under INPUT_ROOT', () => {
  let dir: string;
  let root: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'captioner-inputs-'));
    root = path.join(dir, 'root');
    await mkdir(path.join(root, 'a', 'b'), { recursive: true });
    await writeFile(path.join(root, 'a', '1.jpg'), 'x');
    await writeFile(path.join(root, 'a', 'b', '2.PNG'), 'x');
    await writeFile(path.join(root, 'a', 'notes.txt'), 'x');
    await writeFile(path.join(dir, 'outside.jpg'), 'x');
    await symlink(path.join(dir, 'outside.jpg'), path.join(root, 'a', 'out.jpg'));
    await symlink(path.join(root, 'a', '1.jpg'), path.join(root, 'a', 'in.jpg'));
    await symlink(dir, path.join(root, 'up'));
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps relative paths and absolute ones inside the root; refuses .., NUL and absolute paths outside', () => {
    expect(relativeInputPath('/data', 'a/b.jpg')).toBe('a/b.jpg');
    expect(relativeInputPath('/data', './a//b.jpg')).toBe('a/b.jpg');
    expect(relativeInputPath('/data', '/data/a/b.jpg')).toBe('a/b.jpg');
    expect(relativeInputPath('/data', '.')).toBe('.');
    for (const bad of ['../x.jpg', 'a/../../x.jpg', 'a/..', '/etc/passwd', '/data2/x.jpg', 'a\0.jpg']) {
      expect(() => relativeInputPath('/data', bad), bad).toThrow(InputPathError);
    }
  });

  it('walks folders for image files, follows links only while they stay inside, and refuses a named link out', async () => {
    expect(await listInputs(root, ['.'], 100)).toEqual(['a/1.jpg', 'a/b/2.PNG', 'a/in.jpg']);
    expect(await listInputs(root, ['a/notes.txt', 'a/1.jpg', 'a'], 100)).toEqual(['a/1.jpg', 'a/b/2.PNG', 'a/in.jpg', 'a/notes.txt']);
    await expect(listInputs(root, ['a/out.jpg'], 100)).rejects.toMatchObject({ code: 'invalid_path' });
    await expect(listInputs(root, ['up/outside.jpg'], 100)).rejects.toMatchObject({ code: 'invalid_path' });
    await expect(listInputs(root, ['a/none.jpg'], 100)).rejects.toMatchObject({ code: 'path_not_found' });
    await expect(listInputs(root, ['.'], 2)).rejects.toMatchObject({ code: 'too_many_images' });
  });

  it('a worker reads under the same rules, at most maxBytes', async () => {
    expect((await readInput(root, 'a/1.jpg', 10)).toString()).toBe('x');
    await expect(readInput(root, 'a/out.jpg', 10)).rejects.toBeInstanceOf(InputPathError);
    await expect(readInput(root, 'a/1.jpg', 0)).rejects.toBeInstanceOf(ImageError);
  });
});
