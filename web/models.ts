import type { ModelCard, TrainingSummary } from './api';
import { byId, el } from './dom';

/** The models view: each loaded model's card (GET /models) with its training record and curves. */

const TASKS: Readonly<Record<string, string>> = { caption: 'captioning', vqa: 'visual question answering', generate: 'text generation' };

/** The card's scores as "split metric: value" rows (per-type breakdowns and counts left out). */
export function scoreRows(metrics: Record<string, unknown> | undefined): [string, string][] {
  const rows: [string, string][] = [];
  for (const [split, scores] of Object.entries(metrics ?? {})) {
    if (typeof scores !== 'object' || scores === null) continue;
    for (const [k, v] of Object.entries(scores as Record<string, unknown>)) {
      if (typeof v === 'number' && k !== 'chars') rows.push([`${split} ${k}`, Number.isInteger(v) ? String(v) : v.toFixed(3)]);
    }
  }
  return rows;
}

function trainingText(t: TrainingSummary | undefined): string | undefined {
  if (!t || t.trainingSeconds === undefined) return undefined;
  const parts = [`${Math.round(t.trainingSeconds / 60)} min`];
  if (t.epochsRun !== undefined) parts.push(`${t.epochsRun} epochs`);
  if (t.examples !== undefined) parts.push(`${t.examples.toLocaleString('en')} ${t.task === 'generate' ? 'characters' : 'examples'}`);
  return parts.join(', ');
}

function card(m: ModelCard, t: TrainingSummary | undefined): HTMLElement {
  const article = el('article', 'card');
  article.append(el('h3', '', `${m.name} · ${TASKS[m.task] ?? m.task}`));
  const dl = el('dl');
  const row = (k: string, v: string | undefined) => {
    if (v === undefined) return;
    dl.append(el('dt', '', k), el('dd', '', v));
  };
  row('kind', m.kind);
  row('version', m.version);
  row('encoder', m.encoder);
  row(m.task === 'generate' ? 'characters' : 'vocabulary', String(m.vocab_size));
  row('answers', m.answers?.toString());
  row('training', trainingText(t));
  for (const [k, v] of scoreRows(m.metrics)) row(k, v);
  article.append(dl);
  if (t?.curves) {
    const img = el('img');
    img.src = t.curves;
    img.alt = `Training curves: ${t.description ?? ''}`;
    img.loading = 'lazy';
    img.width = 600;
    img.height = 200;
    article.append(img);
  }
  return article;
}

export function renderModels(models: readonly ModelCard[], training: readonly TrainingSummary[]): void {
  const find = (m: ModelCard) => training.find((t) => t.task === m.task && t.name === m.name);
  byId('models', HTMLElement).replaceChildren(...models.map((m) => card(m, find(m))));
}
