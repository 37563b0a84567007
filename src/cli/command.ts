import { Command, CommanderError, Option } from 'commander';

/** A mistake in the command line (exit code 2), as opposed to a failure while running (exit code 1). */
export class UsageError extends Error {
  override name = 'UsageError';
}

interface OptionBase {
  description: string;
  /** The flag without dashes; by default the key in kebab case (`beamSize` → `--beam-size`). */
  flag?: string;
  /** The default as --help shows it, for one computed at run time ("the run's timestamp"). */
  defaultText?: string;
}
export interface StringOption extends OptionBase {
  type: 'string';
  default?: string;
  required?: boolean;
  /** Shown as `--flag <placeholder>`. */
  placeholder?: string;
  /** A path the script writes: its folder is created (and checked for writing) right after parsing. */
  output?: 'file' | 'dir';
}
export interface NumberOption extends OptionBase {
  type: 'number';
  default?: number;
  required?: boolean;
  placeholder?: string;
  int?: boolean;
  min?: number;
  max?: number;
}
export interface ChoiceOption extends OptionBase {
  type: 'choice';
  choices: readonly [string, ...string[]];
  default?: string;
  required?: boolean;
}
export interface BooleanOption extends OptionBase {
  type: 'boolean';
}
export type OptionSpec = StringOption | NumberOption | ChoiceOption | BooleanOption;
export type OptionSpecs = Record<string, OptionSpec>;

type Always<O> = O extends { default: string | number } ? true : O extends { required: true } ? true : false;
type Scalar<O> = O extends { type: 'number' } ? number : O extends { choices: readonly (infer C)[] } ? C : string;
/** The parsed value of one option: undefined only when it has neither a default nor `required`. */
export type OptionValue<O> = O extends { type: 'boolean' } ? boolean : Always<O> extends true ? Scalar<O> : Scalar<O> | undefined;
export type Values<S extends OptionSpecs> = { -readonly [K in keyof S]: OptionValue<S[K]> };

/** Operands after the options (`IMAGE…`), all under one key. */
export interface PositionalSpec<N extends string> {
  name: N;
  /** As shown in the usage line, e.g. "IMAGE…" or "A.feat B.feat OUT.feat". */
  usage: string;
  description: string;
  min?: number;
  max?: number;
}

export interface CommandDef<S extends OptionSpecs, N extends string> {
  /** How the script is run, e.g. "npm run train:caption --"; the usage line starts with it. */
  usage: string;
  /** One line: what the script does. */
  summary: string;
  /** Command lines shown under "Example:". */
  example: string | readonly string[];
  /** More text after the options (formats, caveats). */
  notes?: string;
  options: S;
  positionals?: PositionalSpec<N>;
  /** Defaults shown in --help for options left undefined here because a domain schema applies them. */
  defaults?: { [K in keyof S]?: unknown };
}

export type Parsed<S extends OptionSpecs, N extends string> = Values<S> & { [K in N]: string[] };
export type ParseResult<S extends OptionSpecs, N extends string> =
  { kind: 'help'; text: string } | { kind: 'values'; values: Parsed<S, N> };

export interface CliCommand<S extends OptionSpecs, N extends string> {
  readonly def: CommandDef<S, N>;
  /** The --help text. */
  help(): string;
  /** Parse arguments (without node and the script path); throws UsageError. */
  parse(argv: readonly string[]): ParseResult<S, N>;
  /** "--flag" for an option key, so errors about a key can name what the user typed. */
  flagOf: (key: string) => string | undefined;
}

/** An option key as its flag's name: `beamSize` → `beam-size`. */
export const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const flagName = (key: string, spec: OptionSpec) => `--${spec.flag ?? kebab(key)}`;

function placeholder(spec: Exclude<OptionSpec, BooleanOption>): string {
  if (spec.type === 'choice') return spec.choices.join('|');
  if (spec.type === 'number') return spec.placeholder ?? 'n';
  return spec.placeholder ?? spec.output ?? 'value';
}

function showValue(v: unknown): string {
  return typeof v === 'string' ? (v === '' ? '""' : v) : String(v);
}

function describe(spec: OptionSpec, shownDefault: unknown): string {
  if (spec.type === 'boolean') return spec.description;
  if ('required' in spec && spec.required) return `${spec.description} (required)`;
  const fallback = spec.default ?? spec.defaultText ?? shownDefault;
  return fallback === undefined ? spec.description : `${spec.description} (default: ${showValue(fallback)})`;
}

function range(spec: NumberOption): string {
  const what = spec.int ? 'an integer' : 'a number';
  if (spec.min !== undefined && spec.max !== undefined) return `${what} from ${spec.min} to ${spec.max}`;
  if (spec.min !== undefined) return `${what} ≥ ${spec.min}`;
  if (spec.max !== undefined) return `${what} ≤ ${spec.max}`;
  return what;
}

/** "--epochs: expected a number, got 'abc'": Number() alone would turn "abc" into NaN and "" into 0. */
export function parseNumber(text: string, flag: string, spec: NumberOption): number {
  const n = text.trim() === '' ? NaN : Number(text);
  const bad =
    !Number.isFinite(n) ||
    (spec.int && !Number.isInteger(n)) ||
    (spec.min !== undefined && n < spec.min) ||
    (spec.max !== undefined && n > spec.max);
  if (bad) throw new UsageError(`${flag}: expected ${range(spec)}, got '${text}'`);
  return n;
}

function convert(spec: OptionSpec, raw: unknown, flag: string): unknown {
  if (spec.type === 'boolean') return raw === true;
  if (raw === undefined) {
    if (spec.default !== undefined) return spec.default;
    if (spec.required) throw new UsageError(`${flag} is required: ${spec.description}`);
    return undefined;
  }
  // commander gives option values as strings (booleans are handled above).
  const text = typeof raw === 'string' ? raw : JSON.stringify(raw);
  if (spec.type === 'number') return parseNumber(text, flag, spec);
  if (spec.type === 'choice' && !spec.choices.includes(text)) {
    throw new UsageError(`${flag}: expected one of ${spec.choices.join(', ')}, got '${text}'`);
  }
  return text;
}

/** Commander's messages start with "error: " and may add a suggestion on a second line. */
const oneLine = (message: string) => message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');

function countRule(p: PositionalSpec<string>): string {
  if (p.min !== undefined && p.min === p.max) return `${p.min}`;
  if (p.max === undefined) return `at least ${p.min ?? 0}`;
  return `${p.min ?? 0} to ${p.max}`;
}

/**
 * A script's command line, declared once: options (type, default, description),
 * a one-line summary and an example. Commander does the tokenising, --help and
 * unknown-option errors; this layer adds typed values, numbers checked with the
 * flag named, and one-line UsageErrors instead of printing and exiting.
 */
export function defineCommand<const S extends OptionSpecs, const N extends string = never>(def: CommandDef<S, N>): CliCommand<S, N> {
  const entries = Object.entries(def.options);
  const flags = new Map(entries.map(([key, spec]) => [key, flagName(key, spec)]));

  function program(): { cmd: Command; attribute: Map<string, string> } {
    const cmd = new Command()
      .name(def.usage)
      .description(def.summary)
      .helpOption('-h, --help', 'show this help and exit')
      .allowExcessArguments(false)
      .exitOverride()
      .configureOutput({ writeOut: () => {}, writeErr: () => {}, outputError: () => {} });
    const attribute = new Map<string, string>();
    for (const [key, spec] of entries) {
      const flag = flags.get(key)!;
      const option = new Option(spec.type === 'boolean' ? flag : `${flag} <${placeholder(spec)}>`, describe(spec, def.defaults?.[key]));
      // A flag means what it says: "--no-peer" is its own switch, not commander's negation of "--peer".
      option.negate = false;
      cmd.addOption(option);
      attribute.set(key, option.attributeName());
    }
    const p = def.positionals;
    // The usage text ("A.feat B.feat OUT.feat") names the operands better than the key does.
    if (p)
      cmd
        .argument(`[${p.name}...]`, p.description)
        .usage(`[options] ${p.usage}`)
        .configureHelp({ argumentTerm: () => p.usage });
    const example = `Example:\n${[def.example]
      .flat()
      .map((e) => `  ${e}`)
      .join('\n')}`;
    const after = [def.notes, example, 'DEBUG=1 or --verbose prints the stack trace of an error.'];
    cmd.addHelpText('after', `\n${after.filter(Boolean).join('\n\n')}\n`);
    return { cmd, attribute };
  }

  const help = () => {
    const { cmd } = program();
    let text = '';
    cmd.configureOutput({ writeOut: (s) => (text += s) });
    cmd.outputHelp();
    return text;
  };

  function parse(argv: readonly string[]): ParseResult<S, N> {
    const { cmd, attribute } = program();
    try {
      cmd.parse([...argv], { from: 'user' });
    } catch (err) {
      if (!(err instanceof CommanderError)) throw err;
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help') return { kind: 'help', text: help() };
      throw new UsageError(oneLine(err.message));
    }
    const raw = cmd.opts();
    const values: Record<string, unknown> = {};
    for (const [key, spec] of entries) values[key] = convert(spec, raw[attribute.get(key)!], flags.get(key)!);
    const p = def.positionals;
    if (p) {
      const operands = cmd.args;
      if (operands.length < (p.min ?? 0) || (p.max !== undefined && operands.length > p.max)) {
        throw new UsageError(`expected ${countRule(p)} argument(s) (${p.usage}), got ${operands.length}`);
      }
      values[p.name] = operands;
    }
    // The loop above gave every declared key a value of its declared type.
    return { kind: 'values', values: values as Parsed<S, N> };
  }

  return { def, help, parse, flagOf: (key) => flags.get(key) };
}
