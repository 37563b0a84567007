import { lstat, open, readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { ImageError } from '../../image/decode.js';

/** A path the caller named that may not be read; the route answers 400 with it, a worker records it as the image's failure. */
export class InputPathError extends Error {
  override name = 'InputPathError';
  constructor(
    readonly code: 'invalid_path' | 'path_not_found' | 'too_many_images',
    message: string,
  ) {
    super(message);
  }
}

/** File endings a folder's images are picked by (a file named explicitly is taken whatever its ending). */
const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.heic', '.heif', '.avif']);

/**
 * A caller's path as a clean path relative to the root, lexically: no `..`
 * segment, no NUL, absolute only when it lies under the root. Symbolic links
 * are checked separately (insideRoot), since only the file system knows them.
 */
export function relativeInputPath(root: string, given: string): string {
  if (given.includes('\0')) throw new InputPathError('invalid_path', 'a path contains a NUL byte');
  if (given.split(/[\\/]/).includes('..')) throw new InputPathError('invalid_path', `"${clip(given)}": ".." is not allowed in paths`);
  const abs = path.resolve(root, given);
  const rel = path.relative(path.resolve(root), abs);
  if (rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new InputPathError('invalid_path', `"${clip(given)}" is outside INPUT_ROOT; give paths relative to it`);
  }
  return rel === '' ? '.' : rel.split(path.sep).join('/');
}

/** The real path of root/rel, refused when a symbolic link leads it out of the root. */
async function insideRoot(realRoot: string, rel: string): Promise<string> {
  let real: string;
  try {
    real = await realpath(path.join(realRoot, rel));
  } catch {
    throw new InputPathError('path_not_found', `"${clip(rel)}" does not exist under INPUT_ROOT`);
  }
  const back = path.relative(realRoot, real);
  if (back.startsWith('..') || path.isAbsolute(back)) {
    throw new InputPathError('invalid_path', `"${clip(rel)}" leads outside INPUT_ROOT through a symbolic link`);
  }
  return real;
}

/**
 * The image files the paths name, as paths relative to the root (sorted,
 * each once): files as given, folders walked for image files. Nothing outside
 * the root is listed or followed.
 */
export async function listInputs(root: string, paths: readonly string[], maxImages: number): Promise<string[]> {
  const realRoot = await realpath(root);
  const found = new Set<string>();
  const add = (rel: string) => {
    found.add(rel);
    if (found.size > maxImages)
      throw new InputPathError('too_many_images', `the paths name more than ${maxImages} images (JOBS_MAX_IMAGES)`);
  };
  const walk = async (rel: string): Promise<void> => {
    const real = await insideRoot(realRoot, rel);
    const st = await lstat(real);
    if (st.isFile()) return add(rel);
    if (!st.isDirectory()) throw new InputPathError('invalid_path', `"${clip(rel)}" is neither a file nor a folder`);
    const entries = await readdir(real, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const child = rel === '.' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) await walk(child);
      // Links inside a folder are followed only when they stay in the root (insideRoot); others are skipped, not refused.
      else if ((e.isFile() || e.isSymbolicLink()) && IMAGE_EXTENSIONS.has(path.extname(e.name).toLowerCase())) {
        const ok = await insideRoot(realRoot, child).then(
          () => true,
          () => false,
        );
        if (ok && (await lstat(await realpath(path.join(realRoot, child)))).isFile()) add(child);
      }
    }
  };
  for (const given of paths) await walk(relativeInputPath(realRoot, given));
  return [...found].sort();
}

/**
 * A worker reads one image under the root: the same checks again (the tree
 * may have changed since submission), and no more than maxBytes.
 */
export async function readInput(root: string, rel: string, maxBytes: number): Promise<Buffer> {
  const realRoot = await realpath(root);
  const real = await insideRoot(realRoot, relativeInputPath(realRoot, rel));
  const file = await open(real, 'r');
  try {
    const st = await file.stat();
    if (!st.isFile()) throw new InputPathError('invalid_path', `"${clip(rel)}" is not a file`);
    if (st.size > maxBytes) throw new ImageError('image_too_large', `the image is ${st.size} bytes; the limit is ${maxBytes} bytes`, 413);
    return await file.readFile();
  } finally {
    await file.close();
  }
}

const clip = (s: string) => (s.length > 120 ? `${s.slice(0, 117)}...` : s);
