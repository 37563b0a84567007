/** Limits on the shape of a JSON body, checked on the text before JSON.parse builds anything. */
export interface JsonShapeLimits {
  /** Deepest nesting of objects and arrays. */
  maxDepth: number;
  /** Most keys and array items in the whole body (the request options are a flat object of a dozen). */
  maxItems: number;
}

export const JSON_SHAPE_LIMITS: JsonShapeLimits = { maxDepth: 8, maxItems: 256 };

/**
 * Why `text` is too deep or has too many items, or undefined if it is within
 * `limits`. One pass over the text, jumping over strings with indexOf, so a
 * 13 MB base64 image costs little; parsing a body of 760,000 keys blocked the
 * event loop 3.5 s and nested arrays took 667 MB, which this refuses first.
 * Syntax is left to JSON.parse: this only counts brackets, commas and colons
 * outside strings.
 */
export function jsonShapeProblem(text: string, limits: JsonShapeLimits = JSON_SHAPE_LIMITS): string | undefined {
  let depth = 0;
  let items = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      i = stringEnd(text, i);
      continue;
    }
    if (c === 0x7b || c === 0x5b) {
      if (++depth > limits.maxDepth) return `the JSON body nests deeper than ${limits.maxDepth} levels`;
    } else if (c === 0x7d || c === 0x5d) depth--;
    else if (c === 0x2c || c === 0x3a) {
      if (++items > limits.maxItems) return `the JSON body has more than ${limits.maxItems} keys and items`;
    }
  }
  return undefined;
}

/**
 * Why `text` cannot be JSON at all, or undefined: it does not start like a
 * JSON value, or it holds a control character (JSON allows only tab, CR and
 * LF between tokens, and none raw in strings). An image sent as
 * application/json is caught here, before its bytes are counted as brackets
 * ("nests deeper than 8 levels") or parsed.
 */
export function notJsonProblem(text: string): string | undefined {
  const first = /\S/.exec(text.slice(0, 1024))?.[0];
  if (first === undefined) return undefined; // empty: fastify's own "empty JSON body" says so
  // eslint-disable-next-line no-control-regex -- control characters are what it looks for
  if (!/[{["\-\dtfn]/.test(first) || /[\x00-\x08\x0b\x0c\x0e-\x1f]/.test(text)) {
    return 'the body is not JSON; send a JSON object (an image goes as a raw image/* body, or base64 in {"image": ...})';
  }
  return undefined;
}

/** Index of the quote closing the string opened at `open` (text.length if unterminated). */
function stringEnd(text: string, open: number): number {
  let i = open;
  for (;;) {
    i = text.indexOf('"', i + 1);
    if (i < 0) return text.length;
    let backslashes = 0;
    while (text.charCodeAt(i - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return i;
  }
}
