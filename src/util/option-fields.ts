import { z } from 'zod';

/**
 * zod builders for request options that may arrive as JSON numbers or as
 * strings (query string, multipart form fields). Messages state the rule and
 * the value received, e.g. "must be an integer from 1 to 10; got 11".
 * Each field is a check (a transform, for those messages) piped into the plain
 * zod schema of its rule, from which the OpenAPI docs are generated.
 */

export interface NumberRule {
  min: number;
  max: number;
  integer?: boolean;
  /** min itself is not allowed (a value that must be > 0). */
  exclusiveMin?: boolean;
  /** 0 is allowed besides [min, max] (temperature: 0 means argmax, tiny values only overflow). */
  orZero?: boolean;
}

export function describeRule(r: NumberRule): string {
  const kind = r.integer ? 'an integer' : 'a number';
  const range = r.exclusiveMin ? `${kind} > ${r.min} and ≤ ${r.max}` : `${kind} from ${r.min} to ${r.max}`;
  return r.orZero ? `0 or ${range}` : range;
}

function shown(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? 'a list' : String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  return NaN;
}

function fits(n: number, r: NumberRule): boolean {
  if (r.orZero && n === 0) return true;
  if (!Number.isFinite(n) || n > r.max) return false;
  if (r.integer && !Number.isInteger(n)) return false;
  return r.exclusiveMin ? n > r.min : n >= r.min;
}

/**
 * The rule as a plain zod schema. It never rejects anything the checking
 * transform let through; it is there so that the JSON Schema of the field
 * (the OpenAPI docs, src/server/openapi.ts) shows the type, limits and default.
 */
function ruleSchema<F extends number | undefined>(r: NumberRule, fallback: F): z.ZodType<number | F, z.ZodTypeDef, number | F> {
  let n = r.integer ? z.number().int() : z.number();
  // orZero is documented as [0, max] (a plain number type); the description says the rest.
  n = (r.orZero ? n.gte(0) : r.exclusiveMin ? n.gt(r.min) : n.gte(r.min)).lte(r.max);
  // The cast restates what the branch proves: F is undefined in the first, number in the second.
  return (fallback === undefined ? n.optional() : n.default(fallback)) as z.ZodType<number | F, z.ZodTypeDef, number | F>;
}

/**
 * A number option; `fallback` when absent (undefined: stays absent). Numeric
 * strings are accepted: query strings and form fields carry only strings.
 */
export function numberField<F extends number | undefined>(r: NumberRule, fallback: F) {
  return z
    .unknown()
    .transform((v, ctx): number | F => {
      if (v === undefined) return fallback;
      const n = toNumber(v);
      if (!fits(n, r)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `must be ${describeRule(r)}; got ${shown(v)}` });
        return z.NEVER;
      }
      return n;
    })
    .pipe(ruleSchema(r, fallback));
}

/** One of a fixed set of strings; `fallback` when absent. */
export function enumField<const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) {
  return z
    .unknown()
    .transform((v, ctx): T[number] => {
      if (v === undefined) return fallback;
      if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v;
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `must be one of ${values.join(', ')}; got ${shown(v)}` });
      return z.NEVER;
    })
    .pipe(z.enum(values as unknown as [T[number], ...T[number][]]).default(fallback)); // for the docs, as ruleSchema
}
