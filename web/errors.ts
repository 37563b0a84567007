import { ApiError } from './api';

/**
 * Errors shown next to the control that caused them: image problems beside
 * the photo picker, a field the server names ("beam_size: ...") beside that
 * field, anything else beside the form's button. Each slot is a <p> with id
 * `<form>-<field>-error` (or `photo-error`, `<form>-form-error`).
 */

// The server's codes for an image it cannot take (src/image, src/server/image-input.ts).
const IMAGE_CODES = new Set([
  'missing_image',
  'empty_image',
  'image_too_large',
  'payload_too_large',
  'unsupported_image',
  'corrupt_image',
  'bad_aspect_ratio',
  'too_many_pixels',
  'unsupported_media_type',
]);

export type Scope = 'caption' | 'ask' | 'generate';

/** The slot for an error: the field the message starts with ("n: must be ..."), if that field has a slot. */
export function slotFor(scope: Scope, err: ApiError): string {
  if (IMAGE_CODES.has(err.code)) return 'photo-error';
  const field = /^([a-z_]+)(?:\.\w+)*:/.exec(err.message)?.[1];
  if (field && document.getElementById(`${scope}-${field}-error`)) return `${scope}-${field}-error`;
  return `${scope}-form-error`;
}

function controlOf(slot: HTMLElement): HTMLElement | null {
  return document.querySelector(`[aria-describedby~="${slot.id}"]`);
}

export function clearErrors(scope: Scope | 'photo'): void {
  const selector = scope === 'photo' ? '#photo-error' : `[id^="${scope}-"][id$="-error"]`;
  for (const slot of document.querySelectorAll<HTMLElement>(selector)) {
    slot.hidden = true;
    slot.textContent = '';
    controlOf(slot)?.removeAttribute('aria-invalid');
  }
}

/** Show an error in words next to its control, mark the control invalid; returns the slot used. */
export function showError(scope: Scope | 'photo', err: unknown): HTMLElement | null {
  const apiErr = err instanceof ApiError ? err : new ApiError(0, 'page_error', err instanceof Error ? err.message : String(err));
  const id = scope === 'photo' ? 'photo-error' : slotFor(scope, apiErr);
  const slot = document.getElementById(id);
  if (!slot) return null;
  slot.textContent = apiErr.message + (apiErr.status ? ` (${apiErr.code}, HTTP ${apiErr.status})` : '');
  slot.hidden = false;
  const control = controlOf(slot);
  control?.setAttribute('aria-invalid', 'true');
  return slot;
}
