import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** The opset the exporters write: ops with their opset-13 signatures (Clip, Pad and Squeeze take inputs, not attributes). */
export const OPSET = 13;
/** IR version 8 is the newest onnx-proto 8 knows; onnxruntime reads it. */
const IR_VERSION = 8;

/** Attribute values: integers and integer lists are INT/INTS; floats are spelled { f } or { floats } so an epsilon of 1 stays FLOAT. */
export type AttrValue = number | number[] | string | { f: number } | { floats: number[] };
/** A dimension: a fixed size, or a name for one chosen at run time (the batch). */
export type Dim = number | string;

function attribute(name: string, value: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  if (typeof value === 'object') return 'f' in value ? { name, type: T.FLOAT, f: value.f } : { name, type: T.FLOATS, floats: value.floats };
  if (!Number.isInteger(value)) throw new Error(`attribute ${name}: ${value} is not an integer (write floats as { f })`);
  return { name, type: T.INT, i: value };
}

/** Element types a graph input or output may have. */
export type ElemType = 'float32' | 'int32' | 'int64';
const ELEM_TYPES: Record<ElemType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64,
};

/** The TensorProto.DataType code of an element type (Cast's `to`). */
export function dataTypeCode(type: ElemType): number {
  return ELEM_TYPES[type];
}

function valueInfo(name: string, dims: Dim[], type: ElemType = 'float32'): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM_TYPES[type],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/**
 * Builds one ONNX graph node by node and serialises it. Names are made unique
 * here, so callers can name tensors after the layers they come from.
 */
export class GraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly used = new Set<string>();

  /**
   * @param quantizeFrom float constants with at least this many values are stored
   * as uint8 codes (per-tensor min + scale, as tfjs quantises) and dequantised by
   * Cast → Mul → Add nodes, which ORT folds at load: a quarter of the file size.
   */
  constructor(
    private readonly graphName: string,
    private readonly quantizeFrom = Infinity,
  ) {}

  /** A fresh tensor name starting with `base`. */
  name(base: string): string {
    let n = base;
    for (let i = 1; this.used.has(n); i++) n = `${base}_${i}`;
    this.used.add(n);
    return n;
  }

  input(name: string, dims: Dim[], elem: ElemType = 'float32'): string {
    const n = this.name(name);
    this.inputs.push(valueInfo(n, dims, elem));
    return n;
  }

  output(tensor: string, dims: Dim[], type: ElemType = 'float32'): void {
    this.outputs.push(valueInfo(tensor, dims, type));
  }

  /** A float32 constant, stored raw (little-endian, as ONNX requires). */
  floats(name: string, values: Float32Array, dims: number[]): string {
    const size = dims.reduce((a, b) => a * b, 1);
    if (size !== values.length) throw new Error(`initializer ${name}: ${values.length} values for dims [${dims.join(',')}]`);
    if (values.length >= this.quantizeFrom) return this.quantized(name, values, dims);
    const n = this.name(name);
    const raw = new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
    this.initializers.push({ name: n, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: raw });
    return n;
  }

  /** `values` as uint8 codes q with min + q·scale, the affine form tfjs's uint8 weights use. */
  private quantized(name: string, values: Float32Array, dims: number[]): string {
    let min = Infinity;
    let max = -Infinity;
    for (const v of values) [min, max] = [Math.min(min, v), Math.max(max, v)];
    const scale = max > min ? (max - min) / 255 : 1;
    const codes = values.map((v) => Math.round((v - min) / scale));
    const q = this.name(`${name}_q`);
    this.initializers.push({ name: q, dims, dataType: onnx.TensorProto.DataType.UINT8, rawData: Uint8Array.from(codes) });
    const asFloat = this.op('Cast', [q], { to: onnx.TensorProto.DataType.FLOAT }, `${name}_cast`);
    const scaled = this.op('Mul', [asFloat, this.floats(`${name}_scale`, Float32Array.of(scale), [])], {}, `${name}_mul`);
    return this.op('Add', [scaled, this.floats(`${name}_min`, Float32Array.of(min), [])], {}, name);
  }

  /** An int64 constant (shapes, pads), stored as int64Data. */
  ints(name: string, values: number[]): string {
    const n = this.name(name);
    this.initializers.push({ name: n, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, int64Data: values });
    return n;
  }

  /** Take `name` as it is (a graph output's), before nodes named after layers could claim it. */
  reserve(name: string): void {
    if (this.used.has(name)) throw new Error(`tensor name "${name}" is taken`);
    this.used.add(name);
  }

  /** Add a node; returns its (single) output's name: `outName` made unique, or exactly a `reserved` one. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outName?: string, reserved?: string): string {
    const out = reserved ?? this.name(outName ?? opType.toLowerCase());
    const attrList = Object.entries(attrs).map(([k, v]) => attribute(k, v));
    this.nodes.push({ opType, input: inputs, output: [out], name: out, attribute: attrList });
    return out;
  }

  /** Add a node with several outputs (TopK: values, indices); returns their names, each `outNames[i]` made unique. */
  opMulti(opType: string, inputs: string[], attrs: Record<string, AttrValue>, outNames: string[]): string[] {
    const outs = outNames.map((n) => this.name(n));
    const attrList = Object.entries(attrs).map(([k, v]) => attribute(k, v));
    this.nodes.push({ opType, input: inputs, output: outs, name: outs[0], attribute: attrList });
    return outs;
  }

  /** The serialised ModelProto. */
  encode(producer = 'captioner', metadata: Record<string, string> = {}): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      producerName: producer,
      metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
      opsetImport: [{ domain: '', version: OPSET }],
      graph: {
        name: this.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

/** A serialised model's metadata_props and graph output names (read without building a session). */
export function readModelInfo(bytes: Uint8Array): { metadata: Record<string, string>; outputs: string[] } {
  const model = onnx.ModelProto.decode(bytes);
  const entries = model.metadataProps.map((p): [string, string] => [p.key ?? '', p.value ?? '']);
  return { metadata: Object.fromEntries(entries), outputs: (model.graph?.output ?? []).map((o) => o.name ?? '') };
}

/** A serialised model's metadata_props (read without building a session). */
export function readMetadata(bytes: Uint8Array): Record<string, string> {
  return readModelInfo(bytes).metadata;
}

/**
 * The model cut down to the nodes (and initializers) that `outputs` depend on.
 * onnxruntime runs every node of a graph whatever is fetched, so a graph with
 * a costly second output (CenterNet's detection head) is pruned for callers
 * that want only the first.
 */
export function pruneToOutputs(bytes: Uint8Array, outputs: string[]): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph;
  if (!graph) throw new Error('the ONNX model has no graph');
  const [nodes, graphOutputs] = [graph.node ?? [], graph.output ?? []];
  const producer = new Map<string, onnxProto.onnx.INodeProto>();
  for (const node of nodes) for (const out of node.output ?? []) producer.set(out, node);
  const needed = new Set<onnxProto.onnx.INodeProto>();
  const stack = [...outputs];
  for (const name of outputs) if (!graphOutputs.some((o) => o.name === name)) throw new Error(`the ONNX graph has no output "${name}"`);
  while (stack.length > 0) {
    const node = producer.get(stack.pop()!);
    if (!node || needed.has(node)) continue;
    needed.add(node);
    stack.push(...(node.input ?? []).filter((i) => i !== ''));
  }
  const node = nodes.filter((n) => needed.has(n));
  const used = new Set(node.flatMap((n) => n.input ?? []));
  const pruned = onnx.ModelProto.create({
    ...model,
    graph: {
      ...graph,
      node,
      initializer: (graph.initializer ?? []).filter((t) => used.has(t.name ?? '')),
      output: graphOutputs.filter((o) => outputs.includes(o.name ?? '')),
    },
  });
  return onnx.ModelProto.encode(pruned).finish();
}
