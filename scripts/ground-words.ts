/**
 * How well the word ↔ class table (src/grounding/classes.json) covers a
 * captions file: the share of captions that name some COCO class, mentions
 * per class, and the most frequent nouns outside any mention (missing synonyms?).
 *
 *   npx tsx scripts/ground-words.ts --captions ../shared/data/coco-dev/captions.json [--top 40]
 */
import nlp from 'compromise';
import { cli } from '../src/cli/main.js';
import { loadCaptions } from '../src/data/captions.js';
import { coverage, topCounts } from '../src/grounding/coverage.js';
import { DEFAULT_TABLE_FILE, loadWordTable } from '../src/grounding/words.js';
import { tokenizeWords } from '../src/text/tokenize.js';

const args = cli({
  usage: 'npx tsx scripts/ground-words.ts',
  summary: 'Report how much of a captions file the word ↔ class table covers, and the most frequent nouns it misses.',
  example: 'npx tsx scripts/ground-words.ts --captions ../shared/data/coco-dev/captions.json --top 40',
  options: {
    captions: { type: 'string', required: true, placeholder: 'file', description: 'captions file (COCO or Karpathy layout)' },
    table: { type: 'string', default: DEFAULT_TABLE_FILE, placeholder: 'file', description: 'word table JSON' },
    top: { type: 'number', int: true, min: 1, default: 40, description: 'how many uncovered nouns and classes to list' },
  },
});

const table = loadWordTable(args.table);
const captions = (await loadCaptions(args.captions)).flatMap((img) => img.captions);
// compromise tags words in context ("a man runs" vs "the runs"); its noun terms, tokenised like captions.
const nounsOf = (caption: string) =>
  new Set(tokenizeWords((nlp(caption).match('#Noun').not('#Pronoun').out('array') as string[]).join(' ')));
const c = coverage(table, captions, nounsOf);
const pct = (n: number) => `${((100 * n) / c.captions).toFixed(1)}%`;
console.log(`${args.captions}: ${c.captions} captions, ${c.withMention} (${pct(c.withMention)}) name at least one class`);
console.log(`classes mentioned: ${c.byClass.size} of ${table.classes.length}`);
console.log(
  `top classes: ${topCounts(c.byClass, args.top)
    .map(([w, n]) => `${w} ${n}`)
    .join(', ')}`,
);
console.log(
  `top uncovered nouns: ${topCounts(c.uncovered, args.top)
    .map(([w, n]) => `${w} ${n}`)
    .join(', ')}`,
);
