/**
 * Word lists for caption → question rules. Closed-class words override the
 * POS tagger (it is wrong on short lower-case captions: "brown dog" as a
 * person's name, "above" as an adjective); open lists decide what may be an
 * answer.
 */

const set = (words: string): ReadonlySet<string> => new Set(words.trim().split(/\s+/));

/** Colour answers (COCO-QA type 2). Hair colours (blond) and shades (dark, light) are not colours here. */
export const COLORS = set('black white red blue green yellow brown orange pink purple gray grey tan silver');

/** Colour + noun pairs that name a thing, not a colour of it. */
export const COLOR_COLLOCATIONS = set('white-water red-carpet');

/** Number words answered by "how many" questions (COCO-QA type 1). "one" is left out, as in COCO-QA. */
export const NUMBER_WORDS: ReadonlyMap<string, string> = new Map([
  ['two', 'two'],
  ['three', 'three'],
  ['four', 'four'],
  ['five', 'five'],
  ['six', 'six'],
  ['seven', 'seven'],
  ['eight', 'eight'],
  ['nine', 'nine'],
  ['ten', 'ten'],
  ['2', 'two'],
  ['3', 'three'],
  ['4', 'four'],
  ['5', 'five'],
  ['6', 'six'],
  ['7', 'seven'],
  ['8', 'eight'],
  ['9', 'nine'],
  ['10', 'ten'],
]);

export const DETERMINERS = set('a an the this these those another each every his her its their my your our');

export const PREPOSITIONS = set(
  'in on at into onto through across along over under underneath beneath above below behind beside ' +
    'near by with without from toward towards around past off down up out inside outside against ' +
    'between among amongst after before during for of about upon within atop beyond',
);

/** Prepositions written as several words, joined into one token. */
export const MULTIWORD_PREPOSITIONS: readonly string[][] = [
  ['in', 'front', 'of'],
  ['on', 'top', 'of'],
  ['next', 'to'],
  ['out', 'of'],
  ['away', 'from'],
  ['close', 'to'],
];

/** Words that end a clause (subordinators, relative pronouns, coordinators). */
export const CONJUNCTIONS = set('and or but while as because when where who which whose whilst so then');

/** Prepositions whose object may be a place: "runs in the park", "jumps into the water". */
export const LOCATION_PREPOSITIONS = set('in on at into onto through across along down up near by inside around');

/** Prepositions left at the end of an object question: "what is the man sitting on ?". */
export const STRANDED_PREPOSITIONS = set(
  'on onto in into with at over under through across after toward towards behind past around off up under beneath',
);

/**
 * Places: head nouns of an "in/on/at … " phrase answered by "where". One word
 * each; a noun compound ("parking lot", "golf course") is never a location answer.
 */
export const PLACES = set(
  'park beach snow grass water field street road sidewalk ocean sea lake river pool sand yard backyard ' +
    'forest woods mountain mountains hill hills hillside trail path track court stadium city town room kitchen ' +
    'store shop restaurant bar stage dirt mud leaves desert meadow lawn garden playground fountain waves surf ' +
    'shore dock pier bridge rocks cliff ice rink arena alley ramp stairs steps floor bed couch sofa carpet rug ' +
    'grassland countryside plaza square market sidewalks streets crosswalk parade pond creek stream ' +
    'puddle waterfall highway ground hay bushes trees woodland jungle marsh swamp tunnel subway station ' +
    'airport church classroom office gym library mall hallway porch patio deck balcony beachfront coast ' +
    'surface dune dunes valley canyon slope slopes shallows tub bathtub bath snowbank',
);

/** Verbs whose prepositional phrase says where one looks, not where one is. */
export const NON_LOCATION_VERBS = set('look stare gaze watch point smile glance peer wave aim shout yell talk');

/**
 * Light verbs: their object is an action ("does a trick", "takes a picture",
 * "makes a face"), not a thing in the picture.
 */
export const LIGHT_VERBS = set('be have do make take get give perform pose begin start try let seem appear become');

/** Stative verbs: no progressive question ("what is the dog having ?"). */
export const STATIVE_VERBS = set('have be seem appear become own need want like love know belong contain resemble remain consist');

/** Nouns that are never answers: actions, parts of a scene, vague words. */
export const NON_ANSWERS = set(
  'trick tricks stunt stunts jump jumps picture pictures photo photos pose poses air way time front top side ' +
    'middle edge background foreground camera something someone thing things one ones other others it each end ' +
    'bottom distance turn break look attention view shot lead race game games fun action midair mid direction surface ' +
    'area part rest lots lot kind sort type bunch group couple pair number row line set variety team crowd ' +
    'herd pack flock family sunlight sun sunshine shade daytime night day sunset sunny pic image ' +
    'dive leap flip swing run walk ride hold grip smile face faces expression backwards forward ' +
    'sideways outdoors indoors upside downhill uphill overhead nearby outside inside back',
);

/** -ing words that are nouns, not verbs. */
export const ING_NOUNS = set(
  'clothing building ceiling painting drawing railing wedding evening morning ring king thing string swing ' +
    'wing spring pudding siding parking icing awning bedding stuffing offering',
);

/** Collective nouns: "a group of people" is not an answer to "what is …". */
export const COLLECTIVES = set('group couple pair crowd team bunch line row herd pack flock family lot number variety set');

/**
 * People: subject questions ask "who" for them. The tagger's Actor tag covers
 * most; these are the ones it misses.
 */
export const PEOPLE = set(
  'man men woman women boy boys girl girls child children kid kids person people guy guys lady ladies baby ' +
    'toddler toddlers teenager teenagers teen teens adult adults player players skier skiers snowboarder ' +
    'surfer surfers swimmer swimmers biker bikers cyclist cyclists rider riders climber climbers runner runners ' +
    'skateboarder skateboarders hiker hikers dancer dancers worker workers crowd family couple gentleman ' +
    'youngster youngsters infant friends friend student students athlete athletes performer musician ' +
    'policeman officer soldier soldiers tourist tourists fisherman cowboy goalie golfer boxer wrestler ' +
    'wrestlers jockey spectators audience brother sister mother father mom dad son daughter',
);

/** The auxiliaries of a present progressive ("is running"); other forms of "be" end the parse. */
export const AUXILIARIES = set('is are');
