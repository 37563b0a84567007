import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/nn/backend.js';
import { readMetadata } from '../../src/onnx/graph.js';
import { exportLayersModel, kerasPads } from '../../src/onnx/keras.js';
import { createSession, loadOrt } from '../../src/onnx/runtime.js';
import { agreement } from './parity.js';

beforeAll(async () => {
  await initBackend();
});

/** Every layer kind the exporter knows, with odd sizes so 'same' padding is uneven, and trained-looking BN statistics. */
function tinyModel(): tf.LayersModel {
  const input = tf.input({ shape: [13, 11, 3] });
  const padded = tf.layers
    .zeroPadding2d({
      padding: [
        [0, 1],
        [1, 0],
      ],
    })
    .apply(input) as tf.SymbolicTensor;
  const conv = tf.layers
    .conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: true })
    .apply(padded) as tf.SymbolicTensor;
  const bn = tf.layers.batchNormalization({ epsilon: 0.001 }).apply(conv) as tf.SymbolicTensor;
  const relu6 = tf.layers.reLU({ maxValue: 6 }).apply(bn) as tf.SymbolicTensor;
  const dw = tf.layers
    .depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', useBias: false })
    .apply(relu6) as tf.SymbolicTensor;
  const bn2 = tf.layers.batchNormalization({ scale: false, epsilon: 0.01 }).apply(dw) as tf.SymbolicTensor;
  const act = tf.layers.activation({ activation: 'relu' }).apply(bn2) as tf.SymbolicTensor;
  const proj = tf.layers
    .conv2d({ filters: 8, kernelSize: 1, padding: 'same', useBias: false, activation: 'relu6' })
    .apply(act) as tf.SymbolicTensor;
  const add = tf.layers.add().apply([proj, relu6]) as tf.SymbolicTensor;
  const maxPool = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(add) as tf.SymbolicTensor;
  const avgPool = tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(add) as tf.SymbolicTensor;
  const validPool = tf.layers.averagePooling2d({ poolSize: 2, strides: 2, padding: 'valid' }).apply(add) as tf.SymbolicTensor;
  const cat = tf.layers.concatenate({ axis: -1 }).apply([maxPool, avgPool]) as tf.SymbolicTensor;
  const flat = tf.layers.flatten().apply(cat) as tf.SymbolicTensor;
  const dense = tf.layers.dense({ units: 5, activation: 'softmax' }).apply(flat) as tf.SymbolicTensor;
  const gap = tf.layers.globalAveragePooling2d({}).apply(validPool) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: [dense, gap, flat] });
  // Fresh BN layers hold mean 0 / variance 1; give them values that make epsilon and every statistic matter.
  for (const layer of model.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
    layer.setWeights(
      layer.getWeights().map((w, i) => tf.randomUniform(w.shape, i === layer.getWeights().length - 1 ? 0.001 : -1, 1, 'float32', i + 1)),
    );
  }
  return model;
}

describe('Keras → ONNX exporter', () => {
  it("computes TF's 'same' pads: the odd pixel goes after", () => {
    expect(kerasPads(224, 3, 2, 1, 'same')).toEqual({ out: 112, pads: [0, 1] });
    expect(kerasPads(13, 3, 1, 1, 'same')).toEqual({ out: 13, pads: [1, 1] });
    expect(kerasPads(8, 1, 2, 1, 'same')).toEqual({ out: 4, pads: [0, 0] });
    expect(kerasPads(299, 3, 2, 1, 'valid')).toEqual({ out: 149, pads: [0, 0] });
  });

  it('gives what tfjs gives, for every supported layer kind, inputs in 0..255 divided in the graph', async () => {
    const model = tinyModel();
    const bytes = exportLayersModel(model, {
      outputs: [
        { name: 'probs', layer: model.outputs[0]!.sourceLayer.name },
        { name: 'pooled', layer: model.outputs[1]!.sourceLayer.name },
        { name: 'flat', layer: model.outputs[2]!.sourceLayer.name },
        { name: 'add_gap', layer: model.layers.find((l) => l.getClassName() === 'Add')!.name, globalAvgPool: true },
      ],
      inputDivisor: 255,
      metadata: { note: 'test' },
    });
    expect(readMetadata(bytes)).toEqual({ note: 'test' });
    const ort = await loadOrt();
    const session = await createSession(bytes);
    expect(session.outputNames).toEqual(['probs', 'pooled', 'flat', 'add_gap']);
    const x = tf.randomUniform([3, 13, 11, 3], 0, 255, 'float32', 7);
    const out = await session.run({ pixels: new ort.Tensor('float32', x.dataSync() as Float32Array, [3, 13, 11, 3]) });
    const addLayer = model.layers.find((l) => l.getClassName() === 'Add')!;
    const probe = tf.model({ inputs: model.inputs, outputs: [...model.outputs, addLayer.output as tf.SymbolicTensor] });
    const ref = tf.tidy(() => (probe.predict(x.div(255)) as tf.Tensor[]).map((t, i) => (i === 3 ? t.mean([1, 2]) : t).dataSync()));
    ['probs', 'pooled', 'flat', 'add_gap'].forEach((name, i) => {
      const got = out[name]!;
      expect(got.dims[0]).toBe(3);
      const { maxAbs } = agreement(ref[i]!, got.data as Float32Array);
      expect(maxAbs, name).toBeLessThan(1e-5);
    });
    await session.release();
    x.dispose();
    model.dispose();
  });

  it('quantised export: uint8 weights dequantised in the graph, exact for weights on a uint8 grid', async () => {
    const input = tf.input({ shape: [6, 6, 3] });
    const conv = tf.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same' });
    const model = tf.model({ inputs: input, outputs: conv.apply(input) as tf.SymbolicTensor });
    // Kernel values min + q·scale with q in 0..255 (as tfjs's uint8 weights dequantise), both ends present.
    const [kernel, bias] = conv.getWeights();
    const q = tf.tidy(() => tf.randomUniform(kernel!.shape, 0, 256, 'int32', 3).clipByValue(0, 255).toFloat());
    const buf = q.bufferSync();
    buf.values[0] = 0;
    buf.values[1] = 255;
    conv.setWeights([tf.tidy(() => buf.toTensor().mul(0.01).add(-1.3)), bias!]);
    const outputs = [{ name: 'y', layer: conv.name }];
    const full = exportLayersModel(model, { outputs });
    const small = exportLayersModel(model, { outputs, quantize: true });
    expect(small.length).toBeLessThan(full.length / 2); // 1,728 weights: 4 bytes each → 1, plus the dequantising nodes
    const ort = await loadOrt();
    const x = tf.randomUniform([2, 6, 6, 3], 0, 255, 'float32', 9);
    const feed = { pixels: new ort.Tensor('float32', x.dataSync() as Float32Array, [2, 6, 6, 3]) };
    const [a, b] = await Promise.all([full, small].map(async (bytes) => (await (await createSession(bytes)).run(feed)).y!.data));
    expect(agreement(a as Float32Array, b as Float32Array).maxAbs).toBeLessThan(1e-4);
    tf.dispose([x, q]);
    model.dispose();
  });

  it('refuses a layer it cannot export, naming it', () => {
    const input = tf.input({ shape: [4] });
    const model = tf.model({ inputs: input, outputs: tf.layers.layerNormalization().apply(input) as tf.SymbolicTensor });
    expect(() => exportLayersModel(model, { outputs: [{ name: 'y', layer: model.layers[1]!.name }] })).toThrow(
      /LayerNormalization is not supported/,
    );
    expect(() => exportLayersModel(model, { outputs: [{ name: 'y', layer: 'nope' }] })).toThrow(/has no layer "nope"/);
  });
});
