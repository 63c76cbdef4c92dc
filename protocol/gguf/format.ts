/**
 * GGUF v3 constants and types (spec: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md).
 *
 * A GGUF file is: magic "GGUF", u32 version, u64 tensor count, u64 metadata
 * count, the metadata key/values, the tensor infos, padding to the alignment,
 * then the tensor data. Everything is little-endian. Tensor dimensions are in
 * ggml order: dims[0] (ne0) is the fastest-varying one, the length of a row.
 *
 * Numbers here are the ones llama.cpp uses (ggml/include/ggml.h enum ggml_type,
 * ggml/include/gguf.h, gguf-py/gguf/constants.py GGML_QUANT_SIZES); the
 * llama.cpp revision read is the one node-llama-cpp 3.22.1 bundles
 * (node_modules/node-llama-cpp/llama/gitRelease.bundle).
 */

/** "GGUF" read as a little-endian u32. */
export const GGUF_MAGIC = 0x46554747
export const GGUF_MAGIC_BYTES: readonly number[] = [0x47, 0x47, 0x55, 0x46]
/** The version this module writes; the reader also accepts 2, which has the same layout (gguf.cpp does too). */
export const GGUF_VERSION = 3
/** Alignment of the data section and of every tensor, unless general.alignment says otherwise. */
export const GGUF_DEFAULT_ALIGNMENT = 32
export const GGUF_KEY_ALIGNMENT = 'general.alignment'

/** Metadata value types (gguf.md "gguf_metadata_value_type"). */
export const GgufValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12
} as const
export type GgufValueType = typeof GgufValueType[keyof typeof GgufValueType]

/** Scalar element types by the short names this module uses. */
export type GgufNumberType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'f64'
export type GgufBigIntType = 'u64' | 'i64'
export type GgufScalarType = GgufNumberType | GgufBigIntType | 'bool' | 'string'

export const SCALAR_TYPE_CODE: Readonly<Record<GgufScalarType, GgufValueType>> = {
  u8: GgufValueType.UINT8,
  i8: GgufValueType.INT8,
  u16: GgufValueType.UINT16,
  i16: GgufValueType.INT16,
  u32: GgufValueType.UINT32,
  i32: GgufValueType.INT32,
  f32: GgufValueType.FLOAT32,
  bool: GgufValueType.BOOL,
  string: GgufValueType.STRING,
  u64: GgufValueType.UINT64,
  i64: GgufValueType.INT64,
  f64: GgufValueType.FLOAT64
}

/** Inverse of SCALAR_TYPE_CODE; index by the code (ARRAY = 9 has no scalar name). */
export const SCALAR_TYPE_BY_CODE: ReadonlyArray<GgufScalarType | undefined> = [
  'u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'f32', 'bool', 'string', undefined, 'u64', 'i64', 'f64'
]

/** Encoded size of a fixed-size scalar; strings are a u64 length then bytes. */
export const SCALAR_BYTES: Readonly<Record<Exclude<GgufScalarType, 'string'>, number>> = {
  u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, bool: 1, u64: 8, i64: 8, f64: 8
}

/**
 * A metadata value. Strings are UTF-8 on the wire; u64/i64 are bigint so no
 * value is rounded. Arrays hold one element type; arrays of arrays are legal
 * in the spec but llama.cpp's reader (gguf.cpp) rejects them, and so does ours.
 */
export type GgufValue =
  | { type: GgufNumberType, value: number }
  | { type: GgufBigIntType, value: bigint }
  | { type: 'bool', value: boolean }
  | { type: 'string', value: string }
  | { type: 'array', itemType: GgufNumberType, value: readonly number[] }
  | { type: 'array', itemType: GgufBigIntType, value: readonly bigint[] }
  | { type: 'array', itemType: 'bool', value: readonly boolean[] }
  | { type: 'array', itemType: 'string', value: readonly string[] }

/** ggml tensor types this module quantizes and that checkLlamaGguf accepts. */
export const GgmlType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q8_0: 8
} as const
export type GgmlType = typeof GgmlType[keyof typeof GgmlType]
export type GgmlTypeName = keyof typeof GgmlType

export const GGML_TYPE_NAMES: Readonly<Record<GgmlType, GgmlTypeName>> = { 0: 'F32', 1: 'F16', 2: 'Q4_0', 8: 'Q8_0' }

/** Elements per block: Q8_0 and Q4_0 store 32 weights per block (QK8_0, QK4_0 in ggml-common.h). */
export const QK8_0 = 32
export const QK4_0 = 32
/** block_q8_0 = { f16 d; int8 qs[32] }: 34 bytes. */
export const Q8_0_BLOCK_BYTES = 2 + QK8_0
/** block_q4_0 = { f16 d; u8 qs[16] } (two 4-bit weights a byte): 18 bytes. */
export const Q4_0_BLOCK_BYTES = 2 + QK4_0 / 2

export interface GgmlTypeTraits {
  name: string
  /** Elements per block; a row (dims[0]) must be a multiple of it. */
  blockSize: number
  /** Bytes per block. */
  blockBytes: number
}

/**
 * Every ggml type a GGUF file may carry, so the reader can size any tensor
 * (and reject a row that is not a whole number of blocks, as gguf.cpp does).
 * Ids 4, 5 and 31-33, 36-38 were removed from ggml and are invalid in a file.
 * From gguf-py/gguf/constants.py GGML_QUANT_SIZES of the bundled llama.cpp.
 */
export const GGML_TYPE_TRAITS: ReadonlyMap<number, GgmlTypeTraits> = new Map([
  [0, { name: 'F32', blockSize: 1, blockBytes: 4 }],
  [1, { name: 'F16', blockSize: 1, blockBytes: 2 }],
  [2, { name: 'Q4_0', blockSize: 32, blockBytes: 18 }],
  [3, { name: 'Q4_1', blockSize: 32, blockBytes: 20 }],
  [6, { name: 'Q5_0', blockSize: 32, blockBytes: 22 }],
  [7, { name: 'Q5_1', blockSize: 32, blockBytes: 24 }],
  [8, { name: 'Q8_0', blockSize: 32, blockBytes: 34 }],
  [9, { name: 'Q8_1', blockSize: 32, blockBytes: 40 }],
  [10, { name: 'Q2_K', blockSize: 256, blockBytes: 84 }],
  [11, { name: 'Q3_K', blockSize: 256, blockBytes: 110 }],
  [12, { name: 'Q4_K', blockSize: 256, blockBytes: 144 }],
  [13, { name: 'Q5_K', blockSize: 256, blockBytes: 176 }],
  [14, { name: 'Q6_K', blockSize: 256, blockBytes: 210 }],
  [15, { name: 'Q8_K', blockSize: 256, blockBytes: 292 }],
  [16, { name: 'IQ2_XXS', blockSize: 256, blockBytes: 66 }],
  [17, { name: 'IQ2_XS', blockSize: 256, blockBytes: 74 }],
  [18, { name: 'IQ3_XXS', blockSize: 256, blockBytes: 98 }],
  [19, { name: 'IQ1_S', blockSize: 256, blockBytes: 50 }],
  [20, { name: 'IQ4_NL', blockSize: 32, blockBytes: 18 }],
  [21, { name: 'IQ3_S', blockSize: 256, blockBytes: 110 }],
  [22, { name: 'IQ2_S', blockSize: 256, blockBytes: 82 }],
  [23, { name: 'IQ4_XS', blockSize: 256, blockBytes: 136 }],
  [24, { name: 'I8', blockSize: 1, blockBytes: 1 }],
  [25, { name: 'I16', blockSize: 1, blockBytes: 2 }],
  [26, { name: 'I32', blockSize: 1, blockBytes: 4 }],
  [27, { name: 'I64', blockSize: 1, blockBytes: 8 }],
  [28, { name: 'F64', blockSize: 1, blockBytes: 8 }],
  [29, { name: 'IQ1_M', blockSize: 256, blockBytes: 56 }],
  [30, { name: 'BF16', blockSize: 1, blockBytes: 2 }],
  [34, { name: 'TQ1_0', blockSize: 256, blockBytes: 54 }],
  [35, { name: 'TQ2_0', blockSize: 256, blockBytes: 66 }],
  [39, { name: 'MXFP4', blockSize: 32, blockBytes: 17 }],
  [40, { name: 'NVFP4', blockSize: 64, blockBytes: 36 }],
  [41, { name: 'Q1_0', blockSize: 128, blockBytes: 18 }],
  [42, { name: 'Q2_0', blockSize: 64, blockBytes: 18 }]
])

/** ggml's GGML_MAX_DIMS. */
export const GGML_MAX_DIMS = 4
/** ggml's GGML_MAX_NAME is 64 including the NUL: gguf.cpp rejects names of 64 bytes or more. */
export const GGML_MAX_NAME_BYTES = 63

/** Bytes of a tensor of `type` with `elements` elements (a whole number of blocks). */
export function tensorByteLength (type: number, elements: number): number {
  const t = GGML_TYPE_TRAITS.get(type)
  if (t == null) throw new RangeError(`unknown ggml type ${type}`)
  if (elements % t.blockSize !== 0) throw new RangeError(`${elements} elements is not a whole number of ${t.name} blocks`)
  return (elements / t.blockSize) * t.blockBytes
}

export function alignUp (offset: number, alignment: number): number {
  const r = offset % alignment
  return r === 0 ? offset : offset + alignment - r
}

/** A tensor as the writer takes it: dims in ggml order (dims[0] = row length), data already encoded in `type`. */
export interface GgufTensorInput {
  name: string
  dims: readonly number[]
  type: number
  data: Uint8Array
}

export interface GgufFileInput {
  /** Written in this order. general.alignment, if present, must be u32 and a power of two. */
  metadata: Iterable<readonly [string, GgufValue]>
  tensors: readonly GgufTensorInput[]
}

/** A tensor as the reader reports it. */
export interface GgufTensorInfo {
  name: string
  dims: number[]
  type: number
  elements: number
  byteLength: number
  /** Offset from the start of the data section, as written in the file. */
  offset: number
  /** Offset from the start of the file. */
  fileOffset: number
}

export interface GgufHeader {
  version: number
  /** Insertion order is the file's order. */
  metadata: Map<string, GgufValue>
  tensors: GgufTensorInfo[]
  alignment: number
  /** Bytes of header, metadata and tensor infos, before the padding. */
  headerBytes: number
  /** Start of the data section (headerBytes rounded up to the alignment). */
  dataOffset: number
}
