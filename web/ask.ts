import { json, readVqaReply, type ModelCard, type VqaReply } from './api';
import { photoForm } from './caption';
import { byId, el, fmt, valueOf } from './dom';
import { clearErrors, showError } from './errors';
import { clearEvidence, drawEvidence } from './overlay';
import { currentPhoto, onPhoto } from './photo';

/**
 * The question form: ranked answers about the current photo, as bars. An
 * answer that came with its evidence (the region the model looked at most)
 * shows that region over the photo while it is hovered or focused.
 */

const TOP_K = 5;

/** The answers shown, and which of them the mouse is on and which has the focus. */
let shown: VqaReply['answers'] = [];
let hovered: number | undefined;
let focused: number | undefined;

/** Light the hovered answer's evidence, else the focused one's, else none. */
function showEvidence(): void {
  const i = hovered ?? focused;
  const evidence = i === undefined ? undefined : shown[i]?.evidence;
  for (const li of byId('answers', HTMLOListElement).children)
    li.classList.toggle('hot', evidence !== undefined && li.getAttribute('data-answer') === String(i));
  if (evidence && i !== undefined) drawEvidence(evidence, i);
  else clearEvidence();
}

/** Forget the answers' evidence (they are gone or replaced). */
function resetEvidence(answers: VqaReply['answers'] = []): void {
  shown = answers;
  hovered = focused = undefined;
  clearEvidence();
}

function render(reply: VqaReply): void {
  resetEvidence(reply.answers);
  byId('answers', HTMLOListElement).replaceChildren(
    ...reply.answers.map((a, i) => {
      const li = el('li');
      const pct = `${(a.score * 100).toFixed(1)}%`;
      const bar = el('span', 'bar');
      bar.setAttribute('aria-hidden', 'true');
      const fill = el('span');
      fill.style.width = `${Math.max(0, Math.min(100, a.score * 100))}%`;
      bar.append(fill);
      li.append(el('span', 'answer', a.answer), bar, el('span', 'score', pct));
      const { evidence } = a;
      if (evidence) {
        // Reachable by keyboard too: focusing it shows the region as hovering does.
        li.dataset.answer = String(i);
        li.classList.add('evidence');
        li.tabIndex = 0;
        li.setAttribute('aria-label', `${a.answer}, ${pct}; the model looked most at: ${evidence.label} (weight ${fmt(evidence.weight)})`);
        li.addEventListener('mouseenter', () => {
          hovered = i;
          showEvidence();
        });
        li.addEventListener('mouseleave', () => {
          hovered = undefined;
          showEvidence();
        });
        li.addEventListener('focus', () => {
          focused = i;
          showEvidence();
        });
        li.addEventListener('blur', () => {
          focused = undefined;
          showEvidence();
        });
      }
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
    const reply = readVqaReply(await json('/vqa', { method: 'POST', body: photoForm(photo, fields) }));
    // Evidence boxes are sized from the image's own pixels: wait until it is decoded.
    await byId('photo', HTMLImageElement)
      .decode()
      .catch(() => undefined);
    render(reply);
  } catch (err) {
    status.textContent = '';
    resetEvidence();
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
  // A new photo clears the answers (caption.ts): their evidence goes with them.
  onPhoto(() => resetEvidence());
  byId('ask-form', HTMLFormElement).addEventListener('submit', (e) => {
    e.preventDefault();
    void ask();
  });
}
