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
   * Present when the CNN has a feature grid that its features average (MobileNetV2's
   * out_relu): pixels [N, S, S, 3] → features as encodeFeatures gives them and the grid,
   * from one forward pass.
   */
  readonly encodeWithGrid?: (pixels: tf.Tensor4D) => Promise<FeaturesWithGrid>;
  /**
   * Present when the encoder has both a grid part and a detector (mobilenet_v2+centernet):
   * one image's ([1, S, S, 3]) features, equal to encodeAndDetect's, its objects and their
   * regions, with each CNN run once. `objects` are encodeAndDetect's at minScore (best
   * first) cut to the first REGION_MAX_OBJECTS (src/encoder/regions.ts); `regions` are
   * regionDescriptors of the grid over all of them, then the whole image:
   * [objects.length + 1, C + GEOMETRY_DIM + CLASS_DIM] row-major.
   */
  readonly encodeWithRegions?: (pixels: tf.Tensor4D, minScore?: number) => Promise<ImageRegions>;
  /** Batched encodeWithRegions: [N, S, S, 3] → [N, dim] features (row-major), each image's objects and regions. */
  readonly encodeWithRegionsBatch?: (pixels: tf.Tensor4D, minScore?: number) => Promise<BatchRegions>;
  /**
   * Present when the encoder runs in a supervised thread (src/encoder/thread.ts): why it cannot
   * encode now (`down`, while its thread restarts) and how often its thread was restarted.
   */
  readonly status?: () => EncoderStatus;
  dispose(): void;
}

/** One run's pooled features and the grid they average. */
export interface FeaturesWithGrid {
  /** [N, dim] row-major. */
  features: Float32Array;
  /** [N, S_h, S_w, C] row-major, channels last (regions.ts's grid layout, image by image). */
  grid: Float32Array;
  /** [S_h, S_w, C]. */
  gridShape: readonly [number, number, number];
}

/** One image's features, its objects (best first) and their region descriptors, the whole image last. */
export interface ImageRegions {
  features: Float32Array;
  objects: DetectedObject[];
  /** [objects.length + 1, R] row-major. */
  regions: Float32Array;
}

/** ImageRegions of N images: features [N, dim] row-major; objects and regions per image. */
export interface BatchRegions {
  features: Float32Array;
  objects: DetectedObject[][];
  regions: Float32Array[];
}

export interface EncoderStatus {
  restarts: number;
  down?: string;
}
