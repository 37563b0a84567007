import { describe, expect, it } from 'vitest';
import {
  attentionDecoder,
  attentionRules,
  generateAttention,
  generateAttentionMany,
  type AttentionCaption,
} from '../../../src/caption/attention/generate.js';
import { maskRepeats } from '../../../src/caption/attention/step-model.js';
import { classWords, maskUnsupported, supportedClasses, unsupportedWords } from '../../../src/caption/attention/support.js';
import { DEFAULT_CAPTION_SEARCH, type CaptionSearchOptions } from '../../../src/caption/options.js';
import { COCO_LABELS } from '../../../src/encoder/types.js';
import { objectMentions } from '../../../src/grounding/chair.js';
import { defaultWordTable } from '../../../src/grounding/words.js';
import { Vocab } from '../../../src/text/vocab.js';
import { detection, FAKE_R, FAKE_VOCAB, fakeNet, fakeRegions } from './fake-net.js';

const table = defaultWordTable();
const id = (w: string) => FAKE_VOCAB.id(w);
const cls = (label: (typeof COCO_LABELS)[number]) => COCO_LABELS.indexOf(label);

describe('class words of a vocabulary', () => {
  it('maps unambiguous one-word names (people words as person) and two-word names whose second word names another class', () => {
    const words = classWords(table, FAKE_VOCAB);
    expect(Object.fromEntries([...words.single].map(([w, c]) => [FAKE_VOCAB.word(w), COCO_LABELS[c]]))).toEqual({
      dog: 'dog',
      cat: 'cat',
      man: 'person',
    });
    expect([...words.pairs.keys()]).toEqual([id('hot')]);
    expect(words.pairs.get(id('hot'))!.get(id('dog'))).toBe(cls('hot dog'));
  });

  it('leaves out ambiguous words and names the vocabulary cannot spell', () => {
    const vocab = FAKE_VOCAB.words.concat(['orange', 'dogs', "dog's", 'teddy']);
    const words = classWords(table, new Vocab(vocab));
    const labels = [...words.single].map(([, c]) => COCO_LABELS[c]);
    expect(labels.filter((l) => l === 'orange')).toEqual([]);
    expect(labels.filter((l) => l === 'dog')).toHaveLength(3); // dog, dogs, dog's
    expect([...words.pairs.keys()].map((w) => vocab[w])).toEqual(['hot']); // "teddy bear": no "bear"
  });
});

describe('the unsupported-class rule (pure parts)', () => {
  const words = classWords(table, FAKE_VOCAB);

  it('supports the classes of kept regions scoring at least the threshold', () => {
    const objects = [detection('cat', 0.9), detection('dog', 0.25), detection('person', 0.5)];
    expect([...supportedClasses(objects, 0.3)].sort()).toEqual([cls('person'), cls('cat')].sort());
    expect(supportedClasses(objects, 0.2).has(cls('dog'))).toBe(true);
  });

  it('bans the words of unsupported classes; after "hot", "dog" follows the hot dog class', () => {
    const catOnly = unsupportedWords(words, new Set([cls('cat')]));
    expect(catOnly.banned.sort()).toEqual([id('dog'), id('man')].sort());
    expect(catOnly.phrases.get(id('hot'))!.get(id('dog'))).toBe(false);
    const hotDog = unsupportedWords(words, new Set([cls('hot dog')]));
    expect(hotDog.banned).toContain(id('dog'));
    expect(hotDog.phrases.get(id('hot'))!.get(id('dog'))).toBe(true);
  });

  it('masks a row: banned words, lifted after the first word of a supported name, added after one of an unsupported name', () => {
    const row = () => new Float32Array(FAKE_VOCAB.size).fill(-1);
    const hotDog = unsupportedWords(words, new Set([cls('hot dog')]));
    const afterA = row();
    maskUnsupported(afterA, hotDog.banned, hotDog.phrases, id('a'));
    expect(afterA[id('dog')]).toBe(-Infinity);
    expect(afterA[id('cat')]).toBe(-Infinity);
    expect(afterA[id('runs')]).toBe(-1);
    const afterHot = row();
    maskUnsupported(afterHot, hotDog.banned, hotDog.phrases, id('hot'));
    expect(afterHot[id('dog')]).toBe(-1);
    expect(afterHot[id('cat')]).toBe(-Infinity);
    // A real dog but no hot dog: "dog" is fine after "a", not after "hot".
    const dog = unsupportedWords(words, new Set([cls('dog')]));
    const afterHot2 = row();
    maskUnsupported(afterHot2, dog.banned, dog.phrases, id('hot'));
    expect(afterHot2[id('dog')]).toBe(-Infinity);
    const afterA2 = row();
    maskUnsupported(afterA2, dog.banned, dog.phrases, id('a'));
    expect(afterA2[id('dog')]).toBe(-1);
  });
});

describe('the unsupported-class rule in every search', () => {
  const net = fakeNet();
  const decoder = attentionDecoder(net, FAKE_VOCAB, FAKE_R, 4);
  const on = attentionRules(table, FAKE_VOCAB, 0.3);
  const off = attentionRules(table, FAKE_VOCAB);
  const catOnly = fakeRegions([{ object: detection('cat', 0.9), attention: 1 }]);
  const modes: CaptionSearchOptions[] = [
    { ...DEFAULT_CAPTION_SEARCH, mode: 'greedy' },
    { ...DEFAULT_CAPTION_SEARCH, mode: 'beam', beamSize: 5, n: 5 },
    ...Array.from({ length: 10 }, (_, seed) => ({ ...DEFAULT_CAPTION_SEARCH, mode: 'sample' as const, n: 3, temperature: 3, seed })),
  ];
  const named = (captions: AttentionCaption[]) => new Set(captions.flatMap((c) => objectMentions(table, c.text)));

  it('the fake model prefers "dog" without the rule', () => {
    expect(generateAttention(decoder, off, catOnly, modes[0]!)[0]!.text).toBe('a dog runs');
  });

  it('never writes a class no region supports, people included, in greedy, beam and sampling', () => {
    const all = modes.flatMap((opts) => generateAttention(decoder, on, catOnly, opts));
    expect(all[0]!.text).toBe('a cat runs');
    expect(all.length).toBeGreaterThan(20);
    expect([...named(all)]).toEqual(['cat']);
    for (const c of all) expect(c.text.split(' ')).not.toContain('dog');
    // Without the rule the same searches do name dogs and people.
    const free = named(modes.flatMap((opts) => generateAttention(decoder, off, catOnly, opts)));
    expect(free.has('dog')).toBe(true);
    expect(free.has('person')).toBe(true);
  });

  it('a region under the threshold supports nothing; at the threshold it does', () => {
    const weakDog = fakeRegions([
      { object: detection('cat', 0.9), attention: 1 },
      { object: detection('dog', 0.25), attention: 1 },
    ]);
    expect(generateAttention(decoder, on, weakDog, modes[0]!)[0]!.text).toBe('a cat runs');
    expect(generateAttention(decoder, attentionRules(table, FAKE_VOCAB, 0.25), weakDog, modes[0]!)[0]!.text).toBe('a dog runs');
  });

  it('a detection weaker than the regions (not attended to) supports its class when the threshold reaches it, unlinked', () => {
    const image = {
      ...fakeRegions([{ object: detection('cat', 0.9), attention: 1 }]),
      detections: [detection('cat', 0.9), detection('dog', 0.15)],
    };
    expect(generateAttention(decoder, on, image, modes[0]!)[0]!.text).toBe('a cat runs');
    const [c] = generateAttention(decoder, attentionRules(table, FAKE_VOCAB, 0.1), image, modes[0]!);
    expect(c!.text).toBe('a dog runs');
    expect(c!.words.every((w) => w.region === undefined)).toBe(true);
  });

  it('with nothing detected, no class word at all', () => {
    const nothing = fakeRegions([]);
    const all = modes.flatMap((opts) => generateAttention(decoder, on, nothing, opts));
    expect(named(all).size).toBe(0);
  });
});

describe('word → region links from the attention', () => {
  const net = fakeNet();
  const decoder = attentionDecoder(net, FAKE_VOCAB, FAKE_R, 4);
  const rules = attentionRules(table, FAKE_VOCAB, 0.3);

  it('links a class word to the region of its class the decoder attended to most, and reports β per word', () => {
    // Two dogs: the weaker detection draws more attention; the cat draws the most, but is not a dog.
    const image = fakeRegions([
      { object: detection('dog', 0.9), attention: 0.5 },
      { object: detection('cat', 0.8), attention: 4 },
      { object: detection('dog', 0.6), attention: 2 },
    ]);
    const [c] = generateAttention(decoder, rules, image, { ...DEFAULT_CAPTION_SEARCH, mode: 'greedy' });
    expect(c!.words).toEqual([
      { text: 'a', beta: expect.closeTo(0.8, 6) as number },
      { text: 'dog', region: 2, beta: expect.closeTo(0.1, 6) as number },
      { text: 'runs', beta: expect.closeTo(0.8, 6) as number },
    ]);
    expect(c!.words.map((w) => w.text).join(' ')).toBe(c!.text);
  });

  it('one region of the class: linked whatever its attention; no region: no link', () => {
    const one = fakeRegions([
      { object: detection('cat', 0.8), attention: 4 },
      { object: detection('dog', 0.6), attention: -3 },
    ]);
    const [c] = generateAttention(decoder, rules, one, { ...DEFAULT_CAPTION_SEARCH, mode: 'greedy' });
    expect(c!.words[1]).toMatchObject({ text: 'dog', region: 1 });
    const [free] = generateAttention(decoder, attentionRules(table, FAKE_VOCAB), fakeRegions([]), {
      ...DEFAULT_CAPTION_SEARCH,
      mode: 'greedy',
    });
    expect(free!.text).toBe('a dog runs');
    expect(free!.words.every((w) => w.region === undefined)).toBe(true);
  });

  it('links every caption of a beam, and several images in lockstep equal each alone in fewer steps', () => {
    const images = [
      fakeRegions([{ object: detection('dog', 0.9), attention: 1 }]),
      fakeRegions([{ object: detection('cat', 0.9), attention: 1 }]),
      fakeRegions([]),
    ];
    const items = images.flatMap((image, i) => [
      { image, opts: { ...DEFAULT_CAPTION_SEARCH, beamSize: 4, n: 3 } },
      { image, opts: { ...DEFAULT_CAPTION_SEARCH, mode: 'sample' as const, n: 2, seed: i, temperature: 2 } },
      { image, opts: { ...DEFAULT_CAPTION_SEARCH, mode: 'greedy' as const } },
    ]);
    net.steps = 0;
    const alone = items.map((it) => generateAttention(decoder, rules, it.image, it.opts));
    const aloneSteps = net.steps;
    net.steps = 0;
    const together = generateAttentionMany(decoder, rules, items);
    expect(together).toEqual(alone);
    expect(net.steps).toBeLessThan(aloneSteps / 3);
    const beam = alone[0]!;
    expect(beam).toHaveLength(3);
    for (const c of beam) expect(c.words.filter((w) => w.text === 'dog').every((w) => w.region === 0)).toBe(true);
    expect(generateAttentionMany(decoder, rules, [])).toEqual([]);
  });
});

describe('blocking repeated n-grams (a banned class word can leave the model looping)', () => {
  it('masks the words that followed an earlier occurrence of the last n − 1 words', () => {
    const [a, group, of] = [id('a'), id('dog'), id('runs')];
    const masked = (history: number[], n: number) => {
      const row = new Float32Array(FAKE_VOCAB.size);
      maskRepeats(row, history, n);
      return [...row.keys()].filter((w) => row[w] === -Infinity).map((w) => FAKE_VOCAB.word(w));
    };
    // "a dog runs a dog": after "dog", bigram blocking bans "runs"; trigram blocking too ("a dog" seen before "runs").
    expect(masked([a, group, of, a, group], 2)).toEqual(['runs']);
    expect(masked([a, group, of, a, group], 3)).toEqual(['runs']);
    expect(masked([a, group, of, group], 3)).toEqual([]);
    expect(masked([a, group, of, a], 2)).toEqual(['dog']);
    expect(masked([a, group], 0)).toEqual([]);
    expect(masked([], 2)).toEqual([]);
  });

  it('a looping model writes new bigrams in every search when blocking is on, and loops when it is off', () => {
    const loop = Array.from({ length: 6 }, (_, t): Record<string, number> =>
      t % 2 === 0 ? { a: 6, runs: 1 } : { dog: 6, cat: 5, sleeps: 4 },
    );
    const rules = attentionRules(table, FAKE_VOCAB);
    const image = fakeRegions([]);
    const greedy = { ...DEFAULT_CAPTION_SEARCH, mode: 'greedy' as const };
    const free = attentionDecoder(fakeNet(loop), FAKE_VOCAB, FAKE_R, 4);
    expect(generateAttention(free, rules, image, greedy)[0]!.text).toBe('a dog a dog a dog');
    const blocked = attentionDecoder(fakeNet(loop), FAKE_VOCAB, FAKE_R, 4, { noRepeatNgram: 2 });
    expect(generateAttention(blocked, rules, image, greedy)[0]!.text).toBe('a dog a cat a sleeps');
    const modes = [
      greedy,
      { ...DEFAULT_CAPTION_SEARCH, beamSize: 4, n: 4 },
      { ...DEFAULT_CAPTION_SEARCH, mode: 'sample' as const, n: 4, seed: 3 },
    ];
    for (const opts of modes) {
      for (const c of generateAttention(blocked, rules, image, opts)) {
        const words = c.text.split(' ');
        const bigrams = words.slice(1).map((w, i) => `${words[i]} ${w}`);
        expect(new Set(bigrams).size).toBe(bigrams.length);
      }
    }
    // In lockstep with an image whose decoder state has no history yet, as alone.
    const items = modes.map((opts) => ({ image, opts }));
    expect(generateAttentionMany(blocked, rules, items)).toEqual(items.map((it) => generateAttention(blocked, rules, it.image, it.opts)));
  });
});
