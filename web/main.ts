import './style.css';
import { json, readModels, readTraining } from './api';
import { setUpAsk, setVqaModels } from './ask';
import { setUpCaption } from './caption';
import { byId } from './dom';
import { setUpGenerate } from './generate';
import { renderModels } from './models';
import { setUpPhoto } from './photo';

/** The page's entry point (bundled by esbuild when the server starts: src/server/routes/page.ts). */

async function loadModels(): Promise<void> {
  try {
    const [models, training] = await Promise.all([json('/models'), json('/assets/training.json')]);
    const cards = readModels(models);
    setVqaModels(cards);
    renderModels(cards, readTraining(training));
    // Sections whose model this server did not load say so instead of failing on use.
    const missing = (task: string) => !cards.some((c) => c.task === task);
    if (missing('generate')) byId('generate-status', HTMLElement).textContent = 'This server has no text model loaded.';
    if (missing('vqa')) byId('ask-status', HTMLElement).textContent = 'This server has no question-answering model loaded.';
  } catch (err) {
    const slot = byId('models-error', HTMLElement);
    slot.hidden = false;
    slot.textContent = `The models could not be listed: ${err instanceof Error ? err.message : String(err)}`;
  }
}

setUpPhoto();
setUpCaption();
setUpAsk();
setUpGenerate();
void loadModels();
