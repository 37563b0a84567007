import type * as tf from '@tensorflow/tfjs';

/** COCO detection classes as human's src/object/labels.ts lists them; CenterNet's class k is COCO_LABELS[k] (kept compact). */
// prettier-ignore
export const COCO_LABELS = [
  'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat', 'traffic light',
  'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow', 'elephant',
  'bear', 'zebra', 'giraffe', 'backpack', 'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard',
  'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket', 'bottle',
  'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple', 'sandwich', 'orange', 'broccoli',
  'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch', 'potted plant', 'bed', 'dining table', 'toilet',
  'tv', 'laptop', 'mouse', 'remote', 'keyboard', 'cell phone', 'microwave', 'oven', 'toaster', 'sink',
  'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear', 'hair drier', 'toothbrush',
] as const;

/** The 12 official COCO super-categories. */
export const SUPERCATEGORIES = [
  'person',
  'vehicle',
  'outdoor',
  'animal',
  'accessory',
  'sports',
  'kitchen',
  'food',
  'furniture',
  'electronic',
  'appliance',
  'indoor',
] as const;
export type Supercategory = (typeof SUPERCATEGORIES)[number];

/** An object a detector found in an image. */
export interface DetectedObject {
  label: string;
  /** Index into COCO_LABELS. */
  classId: number;
  score: number;
  /** x, y, width, height as fractions of the image. */
  box: [number, number, number, number];
}

/** A pretrained CNN that turns images into fixed-length vectors. */
export interface Encoder {
  /** Stable identifier, stored with cached features and trained decoders. */
  readonly name: string;
  /** Length of the feature vector. */
  readonly dim: number;
  /** Side of the square RGB input, in pixels. */
  readonly inputSize: number;
  /** What runs the CNN: "tfjs", "onnx", or, for a combination on both, its parts' joined by "+". Absent means tfjs. */
  readonly runtime?: string;
  /** pixels: [N, S, S, 3] float32 in 0..255 → [N, dim]. Caller disposes the result. Throws for ORT encoders (asynchronous). */
  encode(pixels: tf.Tensor4D): tf.Tensor2D;
  /** Present when the encoder runs asynchronously (onnxruntime): the [N, dim] features, row-major. See encodeFeatures. */
  readonly encodeAsync?: (pixels: tf.Tensor4D) => Promise<Float32Array>;
  /**
   * Present when the encoder also detects objects: one image's ([1, S, S, 3])
   * features, equal to encode()'s, and its objects (score ≥ minScore, best
   * first) from the same forward pass.
   */
  readonly encodeAndDetect?: (pixels: tf.Tensor4D, minScore?: number) => Promise<{ features: Float32Array; objects: DetectedObject[] }>;
  /**
   * Optional batched encodeAndDetect: [N, S, S, 3] → [N, dim] features (row-major)
   * and each image's objects. Parts that can batch do; a detector that takes one
   * image at a time runs per image inside it.
   */
  readonly encodeAndDetectBatch?: (
    pixels: tf.Tensor4D,
    minScore?: number,
  ) => Promise<{ features: Float32Array; objects: DetectedObject[][] }>;
  /**
   * Present when the encoder runs in a supervised thread (src/encoder/thread.ts): why it cannot
   * encode now (`down`, while its thread restarts) and how often its thread was restarted.
   */
  readonly status?: () => EncoderStatus;
  dispose(): void;
}

export interface EncoderStatus {
  restarts: number;
  down?: string;
}
