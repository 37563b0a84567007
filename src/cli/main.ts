import { z } from 'zod';
import { logToStderr } from '../log.js';
import { formatZodIssue } from '../util/zod-error.js';
import { defineCommand, UsageError, type CommandDef, type OptionSpecs, type Parsed } from './command.js';
import { prepareOutput } from './output.js';

export { UsageError } from './command.js';

export interface Failure {
  /** What to print on stderr: one line, unless `debug` asked for the stack. */
  text: string;
  /** 2 for a wrong command line (options, arguments), 1 for a failure while running. */
  exitCode: 1 | 2;
}

/**
 * The message for an error that ended a script. Option validation by a zod
 * schema is a usage error, and its issues name the flag (via `flagOf`) rather
 * than the schema key. Stack traces, library source and multi-line messages
 * only help the person debugging, so they need `debug`.
 */
export function describeFailure(err: unknown, flagOf: (key: string) => string | undefined = () => undefined, debug = false): Failure {
  const usage = err instanceof UsageError || err instanceof z.ZodError;
  const exitCode = usage ? 2 : 1;
  if (debug) return { text: err instanceof Error ? (err.stack ?? err.message) : String(err), exitCode };
  let message: string;
  if (err instanceof z.ZodError) {
    message = err.issues
      .map((issue) => {
        const [head, ...rest] = issue.path;
        const flag = typeof head === 'string' ? flagOf(head) : undefined;
        return formatZodIssue(flag ? { ...issue, path: [flag, ...rest] } : issue);
      })
      .join('; ');
  } else if (err instanceof Error) {
    message = err.message || err.name;
  } else {
    message = String(err);
  }
  const line = message.replace(/\s*\n\s*/g, '; ');
  return { text: `error: ${line.length > 1000 ? `${line.slice(0, 1000)}…` : line}${usage ? ' (see --help)' : ''}`, exitCode };
}

const debugging = () => ['1', 'true', 'yes'].includes(process.env.DEBUG ?? '') || process.argv.includes('--verbose');

/**
 * From here on, an error nobody caught ends the process with one line on
 * stderr. Prepended so that it runs before the handler emscripten installs
 * with the wasm backend, which rethrows and makes Node print the whole
 * minified line it sits on (exit code 7).
 */
export function exitOnFailure(flagOf?: (key: string) => string | undefined): void {
  const fail = (err: unknown) => {
    const { text, exitCode } = describeFailure(err, flagOf, debugging());
    process.stderr.write(`${text}\n`);
    process.exit(exitCode);
  };
  process.prependListener('uncaughtException', fail);
  process.prependListener('unhandledRejection', fail);
}

/**
 * A script's head: declare the command line once, get typed values back. It
 * sends the log to stderr (stdout is the script's output), makes every later
 * uncaught error (the script's top-level awaits included) a one-line message
 * with exit code 1 or 2, prints --help and exits 0, and creates the folders
 * of `output` options before the script's work.
 */
export function cli<const S extends OptionSpecs, const N extends string = never>(def: CommandDef<S, N>): Parsed<S, N> {
  const command = defineCommand(def);
  logToStderr();
  exitOnFailure(command.flagOf);
  const result = command.parse(process.argv.slice(2).filter((a) => a !== '--verbose'));
  if (result.kind === 'help') {
    process.stdout.write(result.text);
    process.exit(0);
  }
  const values: Record<string, unknown> = result.values;
  for (const [key, spec] of Object.entries(def.options)) {
    const value = values[key];
    if (spec.type === 'string' && spec.output && typeof value === 'string') prepareOutput(value, spec.output, command.flagOf(key));
  }
  return result.values;
}
