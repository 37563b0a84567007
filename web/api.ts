/**
 * Calls to the captioner API from the page, and the reply shapes it reads.
 * Replies are checked just enough to render them safely; an error reply is
 * the server's `{"error": {"code", "message"}}`, read into an ApiError. The
 * shapes are the server's own (src/caption/reply.ts, src/vqa/reply.ts,
 * src/server/replies.ts), imported as types only: esbuild erases them, so
 * nothing of src/ (nor zod) is bundled, and those files import only zod.
 */

import type { Box, CaptionReply as CaptionReplySent, CaptionWord, ReportedCaption, ReportedObject } from '../src/caption/reply';
import type { ModelCard as ModelCardSent, TrainingSummary as TrainingSummarySent } from '../src/server/replies';
import type { Evidence, VqaReply as VqaReplySent } from '../src/vqa/reply';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A detected class: `box` is the best instance's, x, y, width, height as fractions of the image. */
export type DetectedObject = ReportedObject;
export type Caption = ReportedCaption;
export type { Box, CaptionWord, Evidence };

/** What the page reads of a POST /caption reply: the captions and objects, and the total time when sent. */
export type CaptionReply = Pick<CaptionReplySent, 'captions' | 'objects'> & {
  timings_ms?: Partial<Pick<CaptionReplySent['timings_ms'], 'total'>>;
};

/** What the page reads of a POST /vqa reply: each answer with its evidence region when the model sent one. */
export type VqaReply = Pick<VqaReplySent, 'answers' | 'unknown_words'>;

/** A card of GET /models; a task this page does not know is still shown, by its name. */
export type ModelCard = Omit<ModelCardSent, 'task'> & { task: string };

/** A model's training summary (GET /assets/training.json); a task this page does not know is still shown. */
export type TrainingSummary = Omit<TrainingSummarySent, 'task'> & { task: string };

type Json = Record<string, unknown>;
const isObject = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);
const isNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const str = (x: unknown): string => (typeof x === 'string' ? x : '');
const arr = (x: unknown): unknown[] => (Array.isArray(x) ? x : []);

function isBox(x: unknown): x is Box {
  return Array.isArray(x) && x.length === 4 && x.every(isNumber);
}

/** The reply's objects; malformed entries are dropped, and a reply without `objects` has none. */
function readObjects(x: unknown): DetectedObject[] {
  return arr(x).flatMap((o) => {
    if (!isObject(o) || !isBox(o.box)) return [];
    const boxes = arr(o.boxes).filter(isBox);
    return [
      {
        label: str(o.label),
        score: isNumber(o.score) ? o.score : 0,
        count: isNumber(o.count) ? o.count : boxes.length || 1,
        box: o.box,
        boxes: boxes.length > 0 ? boxes : [o.box],
      },
    ];
  });
}

/** A caption's words: the reply's own (with object links) when given and valid, else its text split at spaces. */
function readWords(text: string, x: unknown, objects: number): CaptionWord[] {
  const words = arr(x).flatMap((w): CaptionWord[] => {
    if (!isObject(w) || typeof w.text !== 'string') return [];
    const o = w.object;
    return [isNumber(o) && Number.isInteger(o) && o >= 0 && o < objects ? { text: w.text, object: o } : { text: w.text }];
  });
  return words.length > 0
    ? words
    : text
        .split(/\s+/)
        .filter(Boolean)
        .map((t) => ({ text: t }));
}

export function readCaptionReply(x: unknown): CaptionReply {
  if (!isObject(x) || !Array.isArray(x.captions))
    throw new ApiError(0, 'bad_reply', 'the server sent a caption reply this page cannot read');
  const objects = readObjects(x.objects);
  const captions = x.captions.flatMap((c) => {
    if (!isObject(c) || typeof c.text !== 'string') return [];
    return [{ text: c.text, logprob: isNumber(c.logprob) ? c.logprob : NaN, words: readWords(c.text, c.words, objects.length) }];
  });
  const total = isObject(x.timings_ms) && isNumber(x.timings_ms.total) ? x.timings_ms.total : undefined;
  return { captions, objects, timings_ms: { total } };
}

/** An answer's evidence: dropped (the answer kept) when malformed, as from a model without attention. */
function readEvidence(x: unknown): Evidence | undefined {
  if (!isObject(x) || !isBox(x.box) || typeof x.label !== 'string' || !isNumber(x.weight)) return undefined;
  return { box: x.box, label: x.label, weight: x.weight };
}

export function readVqaReply(x: unknown): VqaReply {
  if (!isObject(x) || !Array.isArray(x.answers))
    throw new ApiError(0, 'bad_reply', 'the server sent an answer reply this page cannot read');
  const answers = x.answers.flatMap((a) => {
    if (!isObject(a) || typeof a.answer !== 'string' || !isNumber(a.score)) return [];
    const evidence = readEvidence(a.evidence);
    return [{ answer: a.answer, score: a.score, ...(evidence ? { evidence } : {}) }];
  });
  return { answers, unknown_words: arr(x.unknown_words).filter((w): w is string => typeof w === 'string') };
}

export function readModels(x: unknown): ModelCard[] {
  return arr(isObject(x) ? x.models : undefined).flatMap((m) =>
    isObject(m) && typeof m.task === 'string' && typeof m.name === 'string'
      ? [
          {
            task: m.task,
            name: m.name,
            version: str(m.version),
            kind: str(m.kind),
            ...(typeof m.encoder === 'string' ? { encoder: m.encoder } : {}),
            vocab_size: isNumber(m.vocab_size) ? m.vocab_size : 0,
            ...(isNumber(m.answers) ? { answers: m.answers } : {}),
            ...(isObject(m.metrics) ? { metrics: m.metrics } : {}),
          },
        ]
      : [],
  );
}

export function readTraining(x: unknown): TrainingSummary[] {
  return arr(isObject(x) ? x.models : undefined).flatMap((m) => {
    if (!isObject(m) || typeof m.task !== 'string' || typeof m.name !== 'string') return [];
    const n = (k: string) => (isNumber(m[k]) ? { [k]: m[k] } : {});
    const s = (k: string) => (typeof m[k] === 'string' ? { [k]: m[k] } : {});
    return [
      { task: m.task, name: m.name, ...n('trainingSeconds'), ...n('epochsRun'), ...n('examples'), ...s('curves'), ...s('description') },
    ];
  });
}

/** The error a failed reply carries: the server's own code and words when it sent the error shape. */
export async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  try {
    const body: unknown = JSON.parse(text);
    if (isObject(body) && isObject(body.error) && typeof body.error.message === 'string') {
      return new ApiError(res.status, str(body.error.code) || 'error', body.error.message);
    }
  } catch {
    // not JSON: a proxy's page, say; described below
  }
  return new ApiError(res.status, 'http_error', `the server answered ${res.status} ${res.statusText}`.trim());
}

/** fetch, with a network failure turned into an ApiError that says so. */
export async function call(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', `could not reach the server (${(err as Error).message})`);
  }
}

/** A JSON reply, or the ApiError of a failed one. */
export async function json(url: string, init: RequestInit = {}): Promise<unknown> {
  const res = await call(url, init);
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as unknown;
}

export interface SseEvent {
  event: string;
  data: string;
}

/** Server-sent events from a streamed body, each as it completes (a blank line ends an event). */
export async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length > 0) yield { event, data: data.join('\n') };
    }
  }
}
