import { z } from 'zod';

/**
 * zod builders for request options that may arrive as JSON numbers or as
 * strings (query string, multipart form fields). Messages state the rule and
 * the value received, e.g. "must be an integer from 1 to 10; got 11".
 */

export interface NumberRule {
  min: number;
  max: number;
  integer?: boolean;
  /** min itself is not allowed (temperature > 0). */
  exclusiveMin?: boolean;
}

export function describeRule(r: NumberRule): string {
  const kind = r.integer ? 'an integer' : 'a number';
  return r.exclusiveMin ? `${kind} > ${r.min} and ≤ ${r.max}` : `${kind} from ${r.min} to ${r.max}`;
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
  if (!Number.isFinite(n) || n > r.max) return false;
  if (r.integer && !Number.isInteger(n)) return false;
  return r.exclusiveMin ? n > r.min : n >= r.min;
}

/** A number option; `fallback` when absent (undefined: stays absent). */
export function numberField<F extends number | undefined>(r: NumberRule, fallback: F) {
  return z.unknown().transform((v, ctx): number | F => {
    if (v === undefined) return fallback;
    const n = toNumber(v);
    if (!fits(n, r)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `must be ${describeRule(r)}; got ${shown(v)}` });
      return z.NEVER;
    }
    return n;
  });
}

/** One of a fixed set of strings; `fallback` when absent. */
export function enumField<const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) {
  return z.unknown().transform((v, ctx): T[number] => {
    if (v === undefined) return fallback;
    if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T[number];
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `must be one of ${values.join(', ')}; got ${shown(v)}` });
    return z.NEVER;
  });
}

/** JSON schema of a number option, for the OpenAPI docs only (validation is zod's). */
export function numberDoc(r: NumberRule, description: string, fallback?: number): Record<string, unknown> {
  return {
    type: r.integer ? 'integer' : 'number',
    minimum: r.min,
    ...(r.exclusiveMin ? { exclusiveMinimum: true } : {}), // OpenAPI 3.0 spelling
    maximum: r.max,
    ...(fallback === undefined ? {} : { default: fallback }),
    description,
  };
}
