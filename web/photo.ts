import { byId } from './dom';
import { clearErrors, showError } from './errors';

/**
 * The photo the page works on: picked, dropped, pasted or taken with the
 * camera. Whatever the user gives is sent as is; the server decides whether
 * it is an image (its error then shows beside the picker).
 */

export interface Photo {
  blob: Blob;
  name: string;
}

type Listener = (photo: Photo) => void;

let current: Photo | undefined;
let previewUrl: string | undefined;
const listeners: Listener[] = [];

export const currentPhoto = (): Photo | undefined => current;
export const onPhoto = (l: Listener): void => void listeners.push(l);

function use(blob: Blob, name: string): void {
  clearErrors('photo');
  current = { blob, name };
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = URL.createObjectURL(blob);
  const img = byId('photo', HTMLImageElement);
  img.alt = `The chosen photo (${name}), not yet captioned`;
  img.src = previewUrl;
  byId('stage', HTMLElement).hidden = false;
  byId('photo-caption', HTMLElement).textContent = name;
  for (const l of listeners) l(current);
}

function firstFile(list: FileList | null | undefined): File | undefined {
  return list && list.length > 0 ? (list[0] ?? undefined) : undefined;
}

export function setUpPhoto(): void {
  const input = byId('photo-input', HTMLInputElement);
  // A file the browser cannot show (a text file, say) leaves no broken-image icon; the server's verdict shows beside the picker.
  byId('photo', HTMLImageElement).addEventListener('error', () => (byId('stage', HTMLElement).hidden = true));
  const drop = byId('drop', HTMLElement);
  input.addEventListener('change', () => {
    const file = firstFile(input.files);
    if (file) use(file, file.name);
  });
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const file = firstFile(e.dataTransfer?.files);
    if (file) use(file, file.name);
  });
  // Paste anywhere on the page except into a text field (where pasting text is meant).
  document.addEventListener('paste', (e) => {
    const target = e.target;
    if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement) return;
    const file = firstFile(e.clipboardData?.files);
    if (file) {
      e.preventDefault();
      use(file, file.name || 'pasted image');
    }
  });
  setUpCamera();
}

function setUpCamera(): void {
  const button = byId('camera-button', HTMLButtonElement);
  const panel = byId('camera', HTMLElement);
  const video = byId('camera-video', HTMLVideoElement);
  // Only where the browser offers a camera API (secure contexts: https or localhost).
  if (!navigator.mediaDevices?.getUserMedia) return;
  button.hidden = false;
  let stream: MediaStream | undefined;
  const stop = () => {
    for (const t of stream?.getTracks() ?? []) t.stop();
    stream = undefined;
    panel.hidden = true;
    button.focus();
  };
  button.addEventListener('click', () => {
    clearErrors('photo');
    navigator.mediaDevices
      .getUserMedia({ video: { facingMode: 'environment' }, audio: false })
      .then((s) => {
        stream = s;
        video.srcObject = s;
        panel.hidden = false;
        byId('snap-button', HTMLButtonElement).focus();
      })
      .catch((err: unknown) => showError('photo', new Error(`the camera is not available: ${(err as Error).message}`)));
  });
  byId('camera-close', HTMLButtonElement).addEventListener('click', stop);
  byId('snap-button', HTMLButtonElement).addEventListener('click', () => {
    const canvas = document.createElement('canvas');
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext('2d')?.drawImage(video, 0, 0);
    canvas.toBlob(
      (blob) => {
        if (blob) use(blob, 'camera photo');
        stop();
      },
      'image/jpeg',
      0.9,
    );
  });
}
