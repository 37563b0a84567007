import { json, readVqaReply, type ModelCard, type VqaReply } from './api';
import { photoForm } from './caption';
import { byId, el, valueOf } from './dom';
import { clearErrors, showError } from './errors';
import { currentPhoto } from './photo';

/** The question form: ranked answers about the current photo, as bars. */

const TOP_K = 5;

function render(reply: VqaReply): void {
  byId('answers', HTMLOListElement).replaceChildren(
    ...reply.answers.map((a) => {
      const li = el('li');
      const pct = `${(a.score * 100).toFixed(1)}%`;
      const bar = el('span', 'bar');
      bar.setAttribute('aria-hidden', 'true');
      const fill = el('span');
      fill.style.width = `${Math.max(0, Math.min(100, a.score * 100))}%`;
      bar.append(fill);
      li.append(el('span', 'answer', a.answer), bar, el('span', 'score', pct));
      return li;
    }),
  );
  const unknown = reply.unknown_words.length > 0 ? ` Words the model never saw: ${reply.unknown_words.join(', ')}.` : '';
  byId('ask-status', HTMLElement).textContent = `${reply.answers.length} answers, best first.${unknown}`;
}

async function ask(): Promise<void> {
  const photo = currentPhoto();
  if (!photo) return;
  const f = byId('ask-form', HTMLFormElement);
  clearErrors('ask');
  const status = byId('ask-status', HTMLElement);
  status.textContent = 'Thinking…';
  const fields: Record<string, string> = { question: valueOf(f, 'question'), top_k: String(TOP_K) };
  const model = valueOf(f, 'model');
  if (model) fields.model = model;
  try {
    render(readVqaReply(await json('/vqa', { method: 'POST', body: photoForm(photo, fields) })));
  } catch (err) {
    status.textContent = '';
    byId('answers', HTMLOListElement).replaceChildren();
    showError('ask', err);
  }
}

/** The VQA models the server loaded, as choices. */
export function setVqaModels(models: readonly ModelCard[]): void {
  const select = byId('ask-form', HTMLFormElement).elements.namedItem('model');
  if (!(select instanceof HTMLSelectElement)) return;
  for (const m of models.filter((c) => c.task === 'vqa')) {
    const o = el('option', '', `${m.name} (${m.answers ?? '?'} answers)`);
    o.value = m.name;
    select.append(o);
  }
}

export function setUpAsk(): void {
  byId('ask-form', HTMLFormElement).addEventListener('submit', (e) => {
    e.preventDefault();
    void ask();
  });
}
