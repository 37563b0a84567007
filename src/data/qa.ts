/**
 * The one in-memory form of a question-answer example, whatever file layout
 * it came from (VQA v2 JSON, COCO-QA text files, our caption-derived QA).
 */
export interface QaExample {
  /** Image id as the source gives it (VQA / COCO numeric id, or a string). */
  imageId: string | number;
  /** Key into the feature cache (an image file name). */
  imageKey: string;
  question: string;
  /** The single answer to train on (VQA v2 `multiple_choice_answer`, COCO-QA's answer). */
  answer: string;
  /**
   * Every annotator's answer (VQA v2 has 10, easy-VQA 3), for VQA accuracy
   * `min(#matching / 3, 1)`. COCO-QA has one: `[answer]`.
   */
  answers: string[];
  /** Question type: COCO-QA's object/number/color/location, VQA's answer_type. */
  type: string;
  questionId?: string | number;
}

/** COCO-QA `types.txt` codes (Ren et al. 2015). */
export const COCOQA_TYPES = ['object', 'number', 'color', 'location'] as const;
export type CocoQaType = (typeof COCOQA_TYPES)[number];
