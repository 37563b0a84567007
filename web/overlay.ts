import type { DetectedObject } from './api';
import { byId, svgEl } from './dom';

/**
 * The detected objects' boxes drawn over the photo: an SVG the size of the
 * image's own pixels laid over the <img>, one group per object (every
 * instance's box, the label and score on the best one).
 */

export function drawBoxes(objects: readonly DetectedObject[]): void {
  const svg = byId('boxes', SVGSVGElement);
  const img = byId('photo', HTMLImageElement);
  svg.replaceChildren();
  svg.classList.remove('focus');
  const w = img.naturalWidth || 1;
  const h = img.naturalHeight || 1;
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  const font = Math.max(10, Math.round(w / 28));
  objects.forEach((o, i) => {
    const g = svgEl('g', { 'data-object': i, class: 'object' });
    for (const [x, y, bw, bh] of o.boxes) g.append(svgEl('rect', { x: x * w, y: y * h, width: bw * w, height: bh * h }));
    const [x, y] = o.box;
    const label = svgEl('text', { x: x * w + 3, y: Math.max(font, y * h - 4), 'font-size': font, class: 'label' });
    label.textContent = `${o.label} ${o.score.toFixed(2)}`;
    g.append(label);
    svg.append(g);
  });
}

/** Highlight one object's boxes (and dim the others), or none. */
export function highlight(index: number | undefined): void {
  const svg = document.getElementById('boxes');
  if (!svg) return;
  svg.classList.toggle('focus', index !== undefined);
  for (const g of svg.querySelectorAll('g.object')) g.classList.toggle('hot', g.getAttribute('data-object') === String(index));
  for (const e of document.querySelectorAll('[data-object]:not(g)'))
    e.classList.toggle('hot', e.getAttribute('data-object') === String(index));
}
