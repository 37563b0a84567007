import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { readCocoQa } from '../data/cocoqa.js';
import type { ImageKeyFn } from '../data/image-map.js';
import { loadVqaV2 } from '../data/vqa-v2.js';
import type { QaExample } from '../data/qa.js';

const SOURCE_HELP =
  'give a COCO-QA split folder (questions.txt, answers.txt, img_ids.txt, types.txt), ' +
  'a VQA v2 folder (questions.json + annotations.json), or "QUESTIONS.json,ANNOTATIONS.json"';

/** Read QA examples from any of the layouts we support, told apart by their files. */
export async function loadQaSource(source: string, imageKey: ImageKeyFn): Promise<QaExample[]> {
  const pair = source.split(',');
  if (pair.length === 2) return loadVqaV2(pair[0]!, pair[1]!, imageKey);
  if (!existsSync(source) || !statSync(source).isDirectory()) throw new Error(`${source} is not a folder: ${SOURCE_HELP}`);
  const has = (f: string) => existsSync(path.join(source, f));
  if (has('questions.txt')) return readCocoQa(source, imageKey);
  if (has('questions.json') && has('annotations.json')) {
    return loadVqaV2(path.join(source, 'questions.json'), path.join(source, 'annotations.json'), imageKey);
  }
  throw new Error(`${source} holds no QA data I know: ${SOURCE_HELP}`);
}
