import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { COCOQA_TYPES, type QaExample } from './qa.js';
import type { ImageKeyFn } from './image-map.js';

/**
 * COCO-QA's release layout (Ren et al. 2015): a split folder with four text
 * files, one line per question, line N of each describing question N.
 */
export const COCOQA_FILES = {
  questions: 'questions.txt',
  answers: 'answers.txt',
  imgIds: 'img_ids.txt',
  types: 'types.txt',
} as const;

const TYPE_CODES = COCOQA_TYPES.map((t, i) => `${i} ${t}`).join(', ');

const lineSchema = z.object({
  question: z.string().trim().min(1, { message: 'question is empty' }),
  answer: z.string().trim().min(1, { message: 'answer is empty: every question needs a one-word answer' }),
  imgId: z
    .string()
    .trim()
    .min(1, { message: 'image id is empty' })
    .transform((id) => (/^\d+$/.test(id) && Number.isSafeInteger(Number(id)) ? Number(id) : id)),
  type: z
    .string()
    .trim()
    .regex(/^[0-3]$/, { message: `is not a COCO-QA type code (${TYPE_CODES})` })
    .transform((code) => COCOQA_TYPES[Number(code)]!),
});

const FIELD_FILE: Record<string, string> = {
  question: COCOQA_FILES.questions,
  answer: COCOQA_FILES.answers,
  imgId: COCOQA_FILES.imgIds,
  type: COCOQA_FILES.types,
};

/** Lines of a text file; a final newline does not make an extra empty line. */
function lines(text: string): string[] {
  if (text.length === 0) return [];
  const out = text.split(/\r?\n/);
  if (out[out.length - 1] === '') out.pop();
  return out;
}

async function readSplitFile(dir: string, name: string): Promise<string[]> {
  const file = path.join(dir, name);
  try {
    return lines(await readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`${file} is missing: a COCO-QA split folder needs ${Object.values(COCOQA_FILES).join(', ')}, one line per question`);
    }
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/**
 * Read a COCO-QA split folder. `imageKey` maps the image ids of `img_ids.txt`
 * to feature-cache keys (see `loadImageMap`). Errors say which file and line
 * to fix; up to five line errors are reported at once.
 */
export async function readCocoQa(dir: string, imageKey: ImageKeyFn): Promise<QaExample[]> {
  const [questions, answers, imgIds, types] = await Promise.all([
    readSplitFile(dir, COCOQA_FILES.questions),
    readSplitFile(dir, COCOQA_FILES.answers),
    readSplitFile(dir, COCOQA_FILES.imgIds),
    readSplitFile(dir, COCOQA_FILES.types),
  ]);
  const counts = { questions, answers, imgIds, types };
  const sizes = new Set(Object.values(counts).map((l) => l.length));
  if (sizes.size > 1) {
    const detail = (Object.keys(counts) as (keyof typeof counts)[]).map((k) => `${COCOQA_FILES[k]} ${counts[k].length}`).join(', ');
    throw new Error(`${dir}: line counts differ (${detail}); each file needs exactly one line per question`);
  }
  const errors: string[] = [];
  const examples: QaExample[] = [];
  for (let i = 0; i < questions.length; i++) {
    const parsed = lineSchema.safeParse({ question: questions[i], answer: answers[i], imgId: imgIds[i], type: types[i] });
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const field = String(issue.path[0]);
        const shown = field === 'type' ? ` "${types[i]}"` : '';
        errors.push(`${FIELD_FILE[field]} line ${i + 1}${shown}: ${issue.message}`);
      }
      if (errors.length >= 5) break;
      continue;
    }
    const { question, answer, imgId, type } = parsed.data;
    let key: string;
    try {
      key = imageKey(imgId);
    } catch (err) {
      errors.push(`${COCOQA_FILES.imgIds} line ${i + 1}: ${(err as Error).message}`);
      if (errors.length >= 5) break;
      continue;
    }
    examples.push({ imageId: imgId, imageKey: key, question, answer, answers: [answer], type });
  }
  if (errors.length > 0) throw new Error(`${dir} is not a valid COCO-QA split:\n  ${errors.slice(0, 5).join('\n  ')}`);
  return examples;
}

const writeSchema = z.object({
  question: z
    .string()
    .trim()
    .min(1, { message: 'question is empty' })
    .refine((s) => !/[\r\n]/.test(s), { message: 'question has a line break' }),
  answer: z
    .string()
    .trim()
    .min(1, { message: 'answer is empty' })
    .refine((s) => !/[\r\n]/.test(s), { message: 'answer has a line break' }),
  imageId: z.union([z.number(), z.string()]).refine((id) => String(id).trim().length > 0 && !/[\r\n]/.test(String(id)), {
    message: 'image id is empty or has a line break',
  }),
  type: z.enum(COCOQA_TYPES, {
    errorMap: () => ({ message: `type must be one of ${COCOQA_TYPES.join(', ')}` }),
  }),
});

/** Write examples as a COCO-QA split folder (created if needed); img_ids.txt gets `imageId`. */
export async function writeCocoQa(dir: string, examples: readonly QaExample[]): Promise<void> {
  const out = { questions: [] as string[], answers: [] as string[], imgIds: [] as string[], types: [] as string[] };
  examples.forEach((example, i) => {
    const parsed = writeSchema.safeParse(example);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new Error(`example ${i} ("${example.question}") cannot be written as COCO-QA: ${issue.message}`);
    }
    out.questions.push(parsed.data.question);
    out.answers.push(parsed.data.answer);
    out.imgIds.push(String(parsed.data.imageId).trim());
    out.types.push(String(COCOQA_TYPES.indexOf(parsed.data.type)));
  });
  await mkdir(dir, { recursive: true });
  await Promise.all(
    (Object.keys(out) as (keyof typeof out)[]).map((k) => writeFile(path.join(dir, COCOQA_FILES[k]), out[k].map((l) => `${l}\n`).join(''))),
  );
}
