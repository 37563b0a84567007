import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { QaExample } from './qa.js';
import type { ImageKeyFn } from './image-map.js';
import { invalidFile } from '../util/zod-error.js';

const id = z.union([z.number(), z.string()]);

const questionsSchema = z.object({
  questions: z.array(z.object({ image_id: id, question: z.string().min(1), question_id: id }).passthrough()),
});

const annotationsSchema = z.object({
  annotations: z.array(
    z
      .object({
        question_id: id,
        multiple_choice_answer: z.string().min(1),
        answers: z.array(z.object({ answer: z.string() }).passthrough()).min(1),
        answer_type: z.string().min(1).optional(),
      })
      .passthrough(),
  ),
});

/**
 * VQA v2 layout: `{questions: [{image_id, question, question_id}]}` and
 * `{annotations: [{question_id, multiple_choice_answer, answers: [{answer}], answer_type}]}`.
 * Joined on question_id; `type` is the answer_type ("yes/no", "number", "other").
 */
export function parseVqaV2(
  questionsRaw: unknown,
  annotationsRaw: unknown,
  imageKey: ImageKeyFn,
  files = { questions: 'questions', annotations: 'annotations' },
): QaExample[] {
  const qs = questionsSchema.safeParse(questionsRaw);
  if (!qs.success) throw invalidFile(qs.error, files.questions, 'a VQA v2 questions file');
  const as = annotationsSchema.safeParse(annotationsRaw);
  if (!as.success) throw invalidFile(as.error, files.annotations, 'a VQA v2 annotations file');
  const byQuestion = new Map(as.data.annotations.map((a) => [String(a.question_id), a]));
  return qs.data.questions.map((q) => {
    const ann = byQuestion.get(String(q.question_id));
    if (!ann) throw new Error(`${files.annotations} has no annotation for question_id ${q.question_id} of ${files.questions}`);
    return {
      imageId: q.image_id,
      imageKey: imageKey(q.image_id),
      question: q.question.trim(),
      answer: ann.multiple_choice_answer.trim().toLowerCase(),
      answers: ann.answers.map((a) => a.answer.trim().toLowerCase()),
      type: ann.answer_type ?? 'all',
      questionId: q.question_id,
    };
  });
}

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
}

export async function loadVqaV2(questionsFile: string, annotationsFile: string, imageKey: ImageKeyFn): Promise<QaExample[]> {
  const [q, a] = await Promise.all([readJson(questionsFile), readJson(annotationsFile)]);
  return parseVqaV2(q, a, imageKey, { questions: path.basename(questionsFile), annotations: path.basename(annotationsFile) });
}
