import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** The curves picture's file name, beside config.json and the card (README.md) in a model folder. */
export const CURVES_FILE = 'curves.svg';

/**
 * The card with an image link to the curves: placed under its "## Training"
 * heading (or appended as a section), and left as is when a link is already
 * there, so the script can run again without piling up links.
 */
export function withCurvesLink(card: string, alt: string): string {
  if (card.includes(`](${CURVES_FILE})`)) return card;
  const link = `![${alt.replace(/[[\]]/g, '')}](${CURVES_FILE})`;
  const heading = /^## Training\b.*$/m.exec(card);
  if (!heading) return `${card.replace(/\n*$/, '')}\n\n## Training curves\n\n${link}\n`;
  const end = heading.index + heading[0].length;
  return `${card.slice(0, end)}\n\n${link}${card.slice(end)}`;
}

/** Folders under `root` (itself included) holding both config.json and README.md: the model cards. */
export async function modelCardDirs(root: string): Promise<string[]> {
  const found: string[] = [];
  async function walk(dir: string): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true });
    const names = new Set(entries.filter((e) => e.isFile()).map((e) => e.name));
    if (names.has('config.json') && names.has('README.md')) found.push(dir);
    for (const e of entries) if (e.isDirectory() && e.name !== 'checkpoints') await walk(path.join(dir, e.name));
  }
  await walk(root);
  return found.sort();
}

/** The `training` record and name of a model folder's config.json. */
export async function readTraining(dir: string): Promise<{ name: string; training: unknown }> {
  const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as { name?: unknown; training?: unknown };
  return { name: typeof config.name === 'string' ? config.name : path.basename(dir), training: config.training };
}
