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

/** Element types of graph inputs and outputs. */
export type ElemType = 'float32' | 'int32';

function valueInfo(name: string, dims: Dim[], elem: ElemType = 'float32'): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: elem === 'int32' ? onnx.TensorProto.DataType.INT32 : onnx.TensorProto.DataType.FLOAT,
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

  constructor(private readonly graphName: string) {}

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

  output(tensor: string, dims: Dim[]): void {
    this.outputs.push(valueInfo(tensor, dims));
  }

  /** A float32 constant, stored raw (little-endian, as ONNX requires). */
  floats(name: string, values: Float32Array, dims: number[]): string {
    const size = dims.reduce((a, b) => a * b, 1);
    if (size !== values.length) throw new Error(`initializer ${name}: ${values.length} values for dims [${dims.join(',')}]`);
    const n = this.name(name);
    const raw = new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
    this.initializers.push({ name: n, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: raw });
    return n;
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

  /** Add a node with several outputs (Split), each named as given (made unique); returns their names. */
  opMulti(opType: string, inputs: string[], outNames: string[], attrs: Record<string, AttrValue> = {}): string[] {
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

/** A serialised model's metadata_props (read without building a session). */
export function readMetadata(bytes: Uint8Array): Record<string, string> {
  const model = onnx.ModelProto.decode(bytes);
  const entries = model.metadataProps.map((p): [string, string] => [p.key ?? '', p.value ?? '']);
  return Object.fromEntries(entries);
}
