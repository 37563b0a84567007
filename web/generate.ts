import { ApiError, call, errorOf, sseEvents } from './api';
import { byId, el, numberOf, valueOf } from './dom';
import { clearErrors, showError } from './errors';

/** The text form: the char model's text streamed in as server-sent events. */

let running: AbortController | undefined;

function body(f: HTMLFormElement): Record<string, unknown> {
  const out: Record<string, unknown> = { prime: valueOf(f, 'prime'), stream: true };
  for (const name of ['temperature', 'length', 'seed']) {
    const v = numberOf(f, name);
    if (v !== undefined) out[name] = v;
  }
  return out;
}

type Event = { text?: unknown; seed?: unknown; timings_ms?: { generate?: unknown }; error?: { code?: string; message?: string } };

async function generate(f: HTMLFormElement): Promise<void> {
  running?.abort();
  const controller = new AbortController();
  running = controller;
  clearErrors('generate');
  const out = byId('generated', HTMLElement);
  const status = byId('generate-status', HTMLElement);
  const stop = byId('generate-stop', HTMLButtonElement);
  const request = body(f);
  out.replaceChildren(el('span', 'prime', String(request.prime)));
  const text = document.createTextNode('');
  out.append(text);
  status.textContent = 'Generating…';
  stop.disabled = false;
  try {
    const res = await call('/generate', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
      signal: controller.signal,
    });
    if (!res.ok) throw await errorOf(res);
    if (!res.body) throw new ApiError(0, 'bad_reply', 'the server sent no stream');
    for await (const e of sseEvents(res.body)) {
      const data = JSON.parse(e.data) as Event;
      if (e.event === 'text' && typeof data.text === 'string') {
        text.appendData(data.text);
        out.scrollTop = out.scrollHeight;
      } else if (e.event === 'done') {
        const ms = typeof data.timings_ms?.generate === 'number' ? `${Math.round(data.timings_ms.generate)} ms` : '';
        status.textContent = `Done: ${text.length} characters${ms ? ` in ${ms}` : ''}, seed ${String(data.seed)} (enter it to get the same text again).`;
      } else if (e.event === 'error') {
        throw new ApiError(500, data.error?.code ?? 'error', data.error?.message ?? 'generation failed');
      }
    }
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') {
      status.textContent = `Stopped after ${text.length} characters.`;
    } else {
      status.textContent = '';
      showError('generate', err);
    }
  } finally {
    if (running === controller) {
      running = undefined;
      stop.disabled = true;
    }
  }
}

export function setUpGenerate(): void {
  const f = byId('generate-form', HTMLFormElement);
  f.addEventListener('submit', (e) => {
    e.preventDefault();
    void generate(f);
  });
  byId('generate-stop', HTMLButtonElement).addEventListener('click', () => running?.abort());
}
