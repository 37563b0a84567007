/**
 * The word ↔ class table: which caption words name which of CenterNet's 80
 * COCO classes, the word to write for a class, and its COCO super-category.
 * The table is data (classes.json, next to this file); this module validates
 * it at load and answers lookups with pure functions.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { COCO_LABELS, SUPERCATEGORIES, type Supercategory } from '../encoder/types.js';
import { formatZodIssue } from '../util/zod-error.js';

export const DEFAULT_TABLE_FILE = fileURLToPath(new URL('./classes.json', import.meta.url));

/** Lower-case words separated by single spaces, as tokenizeWords would give them. */
const phrase = z.string().regex(/^[a-z0-9]+(?: [a-z0-9]+)*$/, 'must be lower-case words separated by single spaces');

const classSchema = z
  .object({
    label: z.string(),
    supercategory: z.enum(SUPERCATEGORIES),
    /** singular[0] is the word written for one object. */
    singular: z.array(phrase).min(1),
    /** plural[0] is the word written for several. */
    plural: z.array(phrase).min(1),
    /** Listed words that often name something else (orange the colour): scans flag them. */
    ambiguous: z.array(phrase).optional(),
  })
  .strict();

const tableSchema = z
  .object({
    version: z.literal(1),
    note: z.string().optional(),
    classes: z.array(classSchema),
    /** word → label, for a word listed under two classes: the class it names. */
    precedence: z.record(phrase, z.string()).optional(),
  })
  .strict();

export type ClassEntry = z.infer<typeof classSchema>;

/** What a caption word (or phrase) names. */
export interface WordSense {
  /** Index into COCO_LABELS (CenterNet's class index). */
  classId: number;
  label: string;
  /** true: plural form; false: singular; null: number-neutral (sheep, skis, broccoli). */
  plural: boolean | null;
  /** The word often names something else (orange the colour, glass the material). */
  ambiguous: boolean;
}

export interface WordTable {
  readonly classes: readonly ClassEntry[];
  /** phrase (words joined by one space) → sense. */
  readonly senses: ReadonlyMap<string, WordSense>;
  /** Most words in any phrase: how far a scan looks ahead. */
  readonly longest: number;
}

/**
 * Validate a parsed table and index its words. Errors name the file and the
 * entry: the classes must be COCO_LABELS in CenterNet's order, and a word
 * under two classes needs a `precedence` entry saying which it names.
 */
export function parseWordTable(raw: unknown, file = 'word table'): WordTable {
  const parsed = tableSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const [, index] = issue.path;
    const entry = issue.path[0] === 'classes' && typeof index === 'number' ? ` (entry ${index}: ${labelAt(raw, index)})` : '';
    throw new Error(`${file}${entry}: ${formatZodIssue(issue)}`);
  }
  const { classes, precedence = {} } = parsed.data;
  classes.forEach((c, i) => {
    if (c.label !== COCO_LABELS[i]) {
      throw new Error(
        `${file} (entry ${i}: ${c.label}): expected "${COCO_LABELS[i] ?? '(none)'}" here; the classes must be CenterNet's 80 in order`,
      );
    }
  });
  if (classes.length !== COCO_LABELS.length) throw new Error(`${file}: has ${classes.length} classes; CenterNet has ${COCO_LABELS.length}`);
  for (const [word, label] of Object.entries(precedence)) {
    if (!classes.some((c) => c.label === label)) throw new Error(`${file}: precedence "${word}" names unknown class "${label}"`);
  }

  const senses = new Map<string, WordSense>();
  let longest = 1;
  classes.forEach((c, classId) => {
    const singular = new Set(c.singular);
    const plural = new Set(c.plural);
    for (const word of c.ambiguous ?? []) {
      if (!singular.has(word) && !plural.has(word))
        throw new Error(`${file} (entry ${classId}: ${c.label}): ambiguous word "${word}" is not listed`);
    }
    for (const word of new Set([...c.singular, ...c.plural])) {
      const sense: WordSense = {
        classId,
        label: c.label,
        plural: singular.has(word) && plural.has(word) ? null : plural.has(word),
        ambiguous: c.ambiguous?.includes(word) ?? false,
      };
      const seen = senses.get(word);
      if (seen && seen.classId !== classId) {
        const winner = precedence[word];
        if (winner === undefined) {
          throw new Error(`${file} (entry ${classId}: ${c.label}): "${word}" is also listed under "${seen.label}"; add a precedence entry`);
        }
        if (winner !== c.label) continue;
      }
      senses.set(word, sense);
      longest = Math.max(longest, word.split(' ').length);
    }
  });
  return { classes, senses, longest };
}

function labelAt(raw: unknown, index: number): string {
  const classes = (raw as { classes?: { label?: unknown }[] } | null)?.classes;
  const label = classes?.[index]?.label;
  return typeof label === 'string' ? label : '?';
}

/** Read and validate a table file (JSON). */
export function loadWordTable(file: string = DEFAULT_TABLE_FILE): WordTable {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read word table ${file}: ${(err as Error).message}`);
  }
  return parseWordTable(raw, file);
}

let shipped: WordTable | undefined;
/** The table shipped in the repo, loaded once. */
export function defaultWordTable(): WordTable {
  return (shipped ??= loadWordTable());
}

/** Possessives name the same thing: "dog's" → "dog", "girls'" → "girls". */
function stem(token: string): string {
  return token.replace(/'s$/, '').replace(/'$/, '');
}

/** The class a word or phrase ("bike", "hot dog", "Dog's") names, or undefined. */
export function senseOf(table: WordTable, words: string | readonly string[]): WordSense | undefined {
  const tokens = typeof words === 'string' ? words.toLowerCase().split(/\s+/).filter(Boolean) : words;
  return table.senses.get(tokens.map(stem).join(' '));
}

function entryOf(table: WordTable, label: string): ClassEntry {
  const entry = table.classes.find((c) => c.label === label);
  if (!entry) throw new Error(`unknown class "${label}"`);
  return entry;
}

/** The word to write for a class: "person" / "people", "dining table" → "table" / "tables". */
export function wordFor(table: WordTable, label: string, plural: boolean): string {
  const entry = entryOf(table, label);
  return plural ? entry.plural[0]! : entry.singular[0]!;
}

/** A class's COCO super-category. */
export function supercategoryOf(table: WordTable, label: string): Supercategory {
  return entryOf(table, label).supercategory;
}

/** A class mention in a tokenised caption: tokens[start, end) name `label`. */
export interface Mention extends WordSense {
  start: number;
  end: number;
}

/**
 * Every class mention in a tokenised caption (tokenizeWords), left to right,
 * taking at each position the longest phrase in the table ("hot dog" before
 * "dog", "teddy bear" before "bear") and moving past it.
 */
export function findMentions(table: WordTable, tokens: readonly string[]): Mention[] {
  const stems = tokens.map(stem);
  const found: Mention[] = [];
  for (let i = 0; i < stems.length;) {
    let hit: Mention | undefined;
    for (let n = Math.min(table.longest, stems.length - i); n >= 1 && !hit; n--) {
      const sense = table.senses.get(stems.slice(i, i + n).join(' '));
      if (sense) hit = { ...sense, start: i, end: i + n };
    }
    if (hit) {
      found.push(hit);
      i = hit.end;
    } else i++;
  }
  return found;
}
