import { json, readCaptionReply, type Caption, type CaptionReply, type DetectedObject } from './api';
import { byId, el, fmt, numberOf, valueOf } from './dom';
import { clearErrors, showError } from './errors';
import { drawBoxes, highlight } from './overlay';
import { currentPhoto, onPhoto, type Photo } from './photo';

/** The caption form: options, the captions with their log-probabilities, and the detected objects. */

const form = () => byId('caption-form', HTMLFormElement);

/** Only the options the chosen mode uses are sent (and enabled). */
function syncMode(): void {
  const f = form();
  const mode = valueOf(f, 'mode');
  const set = (name: string, on: boolean) => {
    const c = f.elements.namedItem(name);
    if (c instanceof HTMLInputElement) c.disabled = !on;
  };
  set('beam_size', mode === 'beam');
  set('n', mode !== 'greedy');
  set('temperature', mode === 'sample');
}

function fields(): Record<string, string> {
  const f = form();
  const mode = valueOf(f, 'mode');
  const out: Record<string, string> = { mode };
  const add = (name: string) => {
    const v = numberOf(f, name);
    if (v !== undefined) out[name] = String(v);
  };
  if (mode === 'beam') add('beam_size');
  if (mode !== 'greedy') add('n');
  if (mode === 'sample') add('temperature');
  return out;
}

/** Multipart body: the photo as field `image`, then the options. */
export function photoForm(photo: Photo, extra: Record<string, string>): FormData {
  const body = new FormData();
  for (const [k, v] of Object.entries(extra)) body.append(k, v);
  body.append('image', photo.blob, photo.name);
  return body;
}

function wordsOf(c: Caption, objects: readonly DetectedObject[]): HTMLElement {
  const text = el('span', 'text');
  c.words.forEach((w, i) => {
    if (i > 0) text.append(' ');
    const o = w.object === undefined ? undefined : objects[w.object];
    if (w.object === undefined || !o) {
      text.append(w.text);
      return;
    }
    const span = el('span', 'word grounded', w.text);
    span.dataset.object = String(w.object);
    span.tabIndex = 0;
    span.title = `${o.label}, detected with score ${fmt(o.score)}`;
    span.setAttribute('aria-label', `${w.text} (${o.label}, score ${fmt(o.score)})`);
    text.append(span);
  });
  return text;
}

function objectList(objects: readonly DetectedObject[]): HTMLElement[] {
  return objects.map((o, i) => {
    const li = el('li', '', `${o.label} ${fmt(o.score)}${o.count > 1 ? ` ×${o.count}` : ''}`);
    li.dataset.object = String(i);
    li.tabIndex = 0;
    return li;
  });
}

function render(reply: CaptionReply): void {
  const list = byId('captions', HTMLOListElement);
  list.replaceChildren(
    ...reply.captions.map((c) => {
      const li = el('li');
      li.append(wordsOf(c, reply.objects), el('span', 'logprob', `log p ${fmt(c.logprob)}`));
      return li;
    }),
  );
  byId('objects', HTMLUListElement).replaceChildren(...objectList(reply.objects));
  drawBoxes(reply.objects);
  const best = reply.captions[0]?.text;
  const img = byId('photo', HTMLImageElement);
  if (best) {
    img.alt = best;
    byId('photo-caption', HTMLElement).textContent = best;
  }
  const n = reply.captions.length;
  const objects =
    reply.objects.length > 0 ? `${reply.objects.length} detected object${reply.objects.length > 1 ? 's' : ''}` : 'no detected objects';
  const time = reply.timings_ms?.total !== undefined ? ` in ${Math.round(reply.timings_ms.total)} ms` : '';
  byId('caption-status', HTMLElement).textContent = `${n} caption${n === 1 ? '' : 's'}, ${objects}${time}.`;
}

let latest = 0;

async function caption(photo: Photo): Promise<void> {
  const ticket = ++latest;
  clearErrors('caption');
  clearErrors('photo');
  const status = byId('caption-status', HTMLElement);
  status.textContent = 'Captioning…';
  try {
    const reply = readCaptionReply(await json('/caption', { method: 'POST', body: photoForm(photo, fields()) }));
    if (ticket !== latest) return;
    // Boxes are sized from the image's own pixels: wait until it is decoded.
    await byId('photo', HTMLImageElement)
      .decode()
      .catch(() => undefined);
    render(reply);
  } catch (err) {
    if (ticket !== latest) return;
    status.textContent = '';
    byId('captions', HTMLOListElement).replaceChildren();
    byId('objects', HTMLUListElement).replaceChildren();
    drawBoxes([]);
    showError('caption', err);
  }
}

export function setUpCaption(): void {
  const f = form();
  const mode = f.elements.namedItem('mode');
  if (mode instanceof HTMLSelectElement) mode.addEventListener('change', syncMode);
  syncMode();
  f.addEventListener('submit', (e) => {
    e.preventDefault();
    const photo = currentPhoto();
    if (photo) void caption(photo);
  });
  onPhoto((photo) => {
    for (const b of document.querySelectorAll<HTMLButtonElement>('#caption-form button[type=submit], #ask-form button[type=submit]'))
      b.disabled = false;
    byId('answers', HTMLOListElement).replaceChildren();
    void caption(photo);
  });
  // Hover or focus a grounded word (or an object chip) to light up its boxes.
  const hot = (e: Event) => {
    const t = e.target;
    if (t instanceof HTMLElement && t.dataset.object !== undefined) highlight(Number(t.dataset.object));
  };
  const cold = (e: Event) => {
    if (e.target instanceof HTMLElement && e.target.dataset.object !== undefined) highlight(undefined);
  };
  for (const id of ['captions', 'objects']) {
    const list = byId(id, HTMLElement);
    list.addEventListener('mouseover', hot);
    list.addEventListener('mouseout', cold);
    list.addEventListener('focusin', hot);
    list.addEventListener('focusout', cold);
  }
}
