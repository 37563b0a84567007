import type { DetectedObject, Evidence } from './api';
import { byId, fmt, svgEl } from './dom';

/**
 * Boxes drawn over the photo: an SVG the size of the image's own pixels laid
 * over the <img>. The detected objects get one group each (every instance's
 * box, the label and score on the best one); the evidence region of the
 * answer hovered or focused gets a lit group of its own.
 */

/** Size the overlay to the photo's own pixels; a label's font size for that size. */
function frame(svg: SVGSVGElement): { w: number; h: number; font: number } {
  const img = byId('photo', HTMLImageElement);
  const w = img.naturalWidth || 1;
  const h = img.naturalHeight || 1;
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  return { w, h, font: Math.max(10, Math.round(w / 28)) };
}

export function drawBoxes(objects: readonly DetectedObject[]): void {
  const svg = byId('boxes', SVGSVGElement);
  svg.replaceChildren();
  svg.classList.remove('focus', 'evidence');
  const { w, h, font } = frame(svg);
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

/**
 * One answer's evidence region over the photo, lit, with its label and
 * attention weight (the objects' boxes dimmed meanwhile); it replaces any
 * other answer's.
 */
export function drawEvidence(evidence: Evidence, answer: number): void {
  const svg = byId('boxes', SVGSVGElement);
  clearEvidence();
  const { w, h, font } = frame(svg);
  const [x, y, bw, bh] = evidence.box;
  const g = svgEl('g', { 'data-answer': answer, class: 'evidence hot' });
  g.append(svgEl('rect', { x: x * w, y: y * h, width: bw * w, height: bh * h }));
  const label = svgEl('text', { x: x * w + 3, y: Math.max(font, y * h - 4), 'font-size': font, class: 'label' });
  label.textContent = `${evidence.label} ${fmt(evidence.weight)}`;
  g.append(label);
  svg.append(g);
  svg.classList.add('evidence');
}

/** Remove the evidence region drawn, if any (the objects' boxes stay). */
export function clearEvidence(): void {
  const svg = document.getElementById('boxes');
  if (!svg) return;
  for (const g of svg.querySelectorAll('g.evidence')) g.remove();
  svg.classList.remove('evidence');
}
