import type * as tf from '@tensorflow/tfjs';

/** A pretrained CNN that turns images into fixed-length vectors. */
export interface Encoder {
  /** Stable identifier, stored with cached features and trained decoders. */
  readonly name: string;
  /** Length of the feature vector. */
  readonly dim: number;
  /** Side of the square RGB input, in pixels. */
  readonly inputSize: number;
  /** pixels: [N, S, S, 3] float32 in 0..255 → [N, dim]. Caller disposes the result. */
  encode(pixels: tf.Tensor4D): tf.Tensor2D;
  dispose(): void;
}
