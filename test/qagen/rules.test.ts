import { describe, expect, it } from 'vitest';
import { questionsFromCaption, type GeneratedQa } from '../../src/qagen/rules.js';
import { normalizeCaption, tagCaption } from '../../src/qagen/tag.js';

const qa = (caption: string): string[] => questionsFromCaption(caption).map((q: GeneratedQa) => `${q.type} | ${q.question} | ${q.answer}`);

describe('object questions', () => {
  it('asks for the direct object and for the subject', () => {
    expect(qa('A man is riding a horse .')).toEqual([
      'object | what is the man riding ? | horse',
      'object | who is riding a horse ? | man',
    ]);
  });

  it('asks "what" for things and animals, keeps the complement as written', () => {
    // "in the snow" is not the phrase right after the verb: no location question (it could belong to the white dog).
    expect(qa('A black dog is running after a white dog in the snow .')).toEqual([
      'object | what is the black dog running after ? | dog',
      'object | what is running after a white dog in the snow ? | dog',
    ]);
  });

  it('leaves the preposition at the end for a prepositional object', () => {
    expect(qa('A man in a red shirt sits on a bench .')).toEqual([
      'color | what is the color of the shirt ? | red',
      'object | what is the man sitting on ? | bench',
      'object | who is sitting on a bench ? | man',
    ]);
    expect(qa('A black and white dog plays with a ball .')).toEqual([
      'object | what is the black and white dog playing with ? | ball',
      'object | what is playing with a ball ? | dog',
    ]);
  });

  it('does not ask for the object of a light verb, nor anything of a stative one', () => {
    expect(qa('A woman takes a picture .')).toEqual(['object | who is taking a picture ? | woman']);
    expect(qa('A man has a beard .')).toEqual([]);
  });

  it('reads a participle phrase on the subject and a fragment caption', () => {
    expect(qa('A man wearing a black hat is walking down the street .')).toEqual([
      'color | what is the color of the hat ? | black',
      'object | who is walking down the street ? | man',
      'location | where is the man walking ? | street',
    ]);
    expect(qa('A kid in black going down a slide .')).toEqual(['object | who is going down a slide ? | kid']);
    expect(qa('Two girls in black toss their guns in the air .')).toEqual([
      'object | what are the two girls tossing ? | guns',
      'number | how many girls toss their guns in the air ? | two',
    ]);
    expect(qa('Two people wearing black sit on a bench .')).toEqual([
      'object | what are the two people sitting on ? | bench',
      'number | how many people sit on a bench ? | two',
    ]);
    // The -ing verb belongs to the "with" phrase, not to the men.
    expect(qa('Two smiling men with their heads touching')).toEqual([]);
  });

  it('uses an -ing verb as its own gerund', () => {
    expect(qa('A man in a red truck is staring out the driver-side window .')).toEqual([
      'color | what is the color of the truck ? | red',
      'object | who is staring out the driver-side window ? | man',
    ]);
  });
});

describe('number questions', () => {
  it('asks how many of a counted subject, keeping its verb', () => {
    expect(qa('Two dogs play in the snow .')).toEqual([
      'number | how many dogs play in the snow ? | two',
      'location | where are the two dogs playing ? | snow',
    ]);
    expect(qa('Three people stand on a hill .')).toEqual([
      'number | how many people stand on a hill ? | three',
      'location | where are the three people standing ? | hill',
    ]);
  });

  it('answers digits as words and counts objects', () => {
    expect(qa('A man walks 3 dogs .')).toEqual([
      'object | what is the man walking ? | dogs',
      'object | who is walking 3 dogs ? | man',
      'number | how many dogs is the man walking ? | three',
    ]);
  });

  it('names the counted phrase, without the number, for the annotation check', () => {
    const counted = (caption: string) => questionsFromCaption(caption).map((q) => [q.type, q.counted]);
    expect(counted('Two black dogs play in the snow .')).toEqual([
      ['color', undefined],
      ['number', 'black dogs'],
      ['location', undefined],
    ]);
    expect(counted('A man walks 3 dogs .').filter(([type]) => type === 'number')).toEqual([['number', 'dogs']]);
  });

  it('does not count "one" nor a number inside a hyphenated age', () => {
    expect(qa('One dog runs on the beach')).toEqual([
      'object | what is running on the beach ? | dog',
      'location | where is the dog running ? | beach',
    ]);
    expect(qa('A two-year-old boy runs on the beach')).toEqual([
      'object | who is running on the beach ? | boy',
      'location | where is the two-year-old boy running ? | beach',
    ]);
  });
});

describe('color questions', () => {
  it('asks the colour of a thing named by one colour, even in a caption with no verb', () => {
    expect(qa('A black dog runs .')).toEqual(['color | what is the color of the dog ? | black']);
    expect(qa('Brown dog chews on bone .')).toEqual([
      'color | what is the color of the dog ? | brown',
      'object | what is the brown dog chewing on ? | bone',
      'object | what is chewing on bone ? | dog',
    ]);
  });

  it('skips several colours, colours of people, and things named twice with different colours', () => {
    expect(qa('A black and white dog runs .').filter((q) => q.startsWith('color'))).toEqual([]);
    expect(qa('A black haired man walks .').filter((q) => q.startsWith('color'))).toEqual([]);
    expect(qa('A white woman walks .').filter((q) => q.startsWith('color'))).toEqual([]);
    expect(qa('A black dog chases a white dog .').filter((q) => q.startsWith('color'))).toEqual([]);
    expect(qa('A dog looks at the brown dog .').filter((q) => q.startsWith('color'))).toEqual([]);
  });

  it('keeps a clean noun compound and rejects one that swallowed a verb', () => {
    expect(qa('A person wearing a white helmet races in a black race car .')).toEqual([
      'color | what is the color of the helmet ? | white',
      'color | what is the color of the race car ? | black',
      'object | what is the person racing in ? | car',
      'object | who is racing in a black race car ? | person',
    ]);
    expect(qa('A small white dog and large brown dog play on the grass .')).toEqual([]);
    // "jersey playing soccer" is taken for one compound: neither its colour nor an object answer.
    expect(qa('A little boy wearing a green jersey playing soccer .')).toEqual([
      'object | who is wearing a green jersey playing soccer ? | boy',
    ]);
  });
});

describe('location questions', () => {
  it('asks where, answering the place of the phrase after the verb or its object', () => {
    expect(qa('A dog runs in the park .')).toEqual([
      'object | what is running in the park ? | dog',
      'location | where is the dog running ? | park',
    ]);
    expect(qa('A man in a kayak rides waves in the ocean .')).toContain('location | where is the man riding waves ? | ocean');
    expect(qa('A boy is in the pool .')).toEqual(['object | who is in the pool ? | boy', 'location | where is the boy ? | pool']);
    expect(qa('A group of people are standing in the street .')).toEqual(['location | where is the group of people standing ? | street']);
  });

  it('skips looking verbs, places of another phrase, and noun compounds', () => {
    expect(qa('A man looks at the ocean .')).toEqual(['object | who is looking at the ocean ? | man']);
    expect(qa('Two dogs are running through a grassy area near tall trees .')).toEqual([
      'number | how many dogs are running through a grassy area near tall trees ? | two',
    ]);
    expect(qa('A car drives through a parking lot .').filter((q) => q.startsWith('location'))).toEqual([]);
    expect(qa('A dog walks down a dirt and grass hill .').filter((q) => q.startsWith('location'))).toEqual([]);
  });
});

describe('skipped captions', () => {
  it('gives nothing for pronoun or "there is" subjects, coordinated subjects and empty text', () => {
    expect(qa('There is a dog on the grass .')).toEqual([]);
    expect(qa('He is riding a horse .')).toEqual([]);
    expect(qa('A man and a woman walk down the street .')).toEqual([]);
    expect(qa('')).toEqual([]);
    expect(qa(' . ')).toEqual([]);
  });

  it('does not quote a complement that stops in the middle of a phrase', () => {
    // "slide" is read as a noun here, so the complement ends the clause.
    expect(qa('A boy jumps from the top of a blue plastic slide .')).toEqual([
      'object | who is jumping from the top of a blue plastic slide ? | boy',
    ]);
    // "snow covered": the phrase goes on past "snow", so neither "where" nor the quoted complement.
    expect(qa('A line of people are making their way through snow covered mountains .')).toEqual([]);
  });

  it('drops questions longer than 15 words', () => {
    const long = 'A white dog is watching a black dog jump on a lawn next to a pile of large rocks .';
    expect(qa(long).some((q) => q.startsWith('object | what is watching'))).toBe(false);
  });
});

describe('tagging', () => {
  it('normalises captions', () => {
    expect(normalizeCaption("A dog 's  ball , red .")).toBe("a dog's ball, red");
  });

  it('corrects the tagger on colours, -s verbs and multiword prepositions', () => {
    const tags = (c: string): string =>
      tagCaption(c)
        .map((t) => `${t.word}/${t.pos}`)
        .join(' ');
    expect(tags('Brown dog runs in front of a house')).toBe('brown/ADJ dog/NOUN runs/VBP in front of/PREP a/DET house/NOUN');
    expect(tags('two boys on a beam holding a rope')).toBe('two/NUM boys/NOUN on/PREP a/DET beam/NOUN holding/VBG a/DET rope/NOUN');
  });
});
