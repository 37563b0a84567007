import { initBackend, type BackendName } from '../nn/backend.js';
import { chooseRuntime, type RuntimeChoice } from '../onnx/runtime.js';
import { encoderThread, type Config } from './config.js';

/** How a serving process (the server, a bulk worker) runs inference: chosen once at its start, then passed down. */
export interface Inference {
  /** The TensorFlow.js backend: image pre-processing, and the models on tfjs. */
  backend: BackendName;
  /** Where the models run (onnxruntime when it loads, else tfjs; INFERENCE_RUNTIME forces one): the loaders' `runtime`. */
  runtime: RuntimeChoice;
  /** Whether the encoders run in a worker thread (ENCODER_THREAD, on onnx only). */
  encoderThread: boolean;
}

/**
 * Start the tfjs backend (TF_BACKEND, else the ladder) and choose the inference runtime, once per process.
 * The choice is then handed to loadServices/loadCaptionService (src/app/services.ts); nothing else reads it.
 */
export async function startInference(config: Config): Promise<Inference> {
  const backend = await initBackend(config.TF_BACKEND);
  const runtime = await chooseRuntime(config.INFERENCE_RUNTIME);
  return { backend, runtime, encoderThread: encoderThread(config, runtime.runtime) };
}
