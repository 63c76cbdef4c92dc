/**
 * GGUF header reader (gguf.md "File Structure"): header, metadata and tensor
 * infos from a prefix of the file. Model files are gigabytes and the header
 * is at most a few MB, so the caller reads a prefix from disk and calls
 * parseGgufHeader; the answer is either the parsed header or { needBytes: N }
 * ("read at least N bytes from the start of the file"), and the caller reads
 * more and calls again. N is a lower bound (the reader cannot know how long
 * the strings it has not seen are), so grow the read geometrically, e.g. to
 * max(N, 4 × the current prefix).
 *
 * The input is untrusted (an operator's file, or one downloaded from anyone),
 * so every count is bounded by a named limit before anything is allocated,
 * every read is bounds-checked, and the only exception that leaves this
 * module is CodedError GGUF_INVALID. Beyond the spec we reject what llama.cpp's
 * own reader (ggml/src/gguf.cpp gguf_init_from_reader) rejects: duplicate or
 * empty keys, arrays of arrays, a general.alignment that is not a u32 power of
 * two, tensor names of 64 bytes or more, duplicate tensor names, more than 4
 * dims, unknown ggml types, rows that are not whole blocks, element counts that
 * overflow. Not checked here: that tensor data lies inside the file, and
 * gguf.cpp's rule that tensors are packed in order (see checkLlamaGguf).
 */
import { CodedError, ErrorCode, type ErrorMeta } from '../errors.ts'
import {
  GGML_MAX_DIMS, GGML_MAX_NAME_BYTES, GGML_TYPE_TRAITS, GGUF_DEFAULT_ALIGNMENT, GGUF_KEY_ALIGNMENT, GGUF_MAGIC,
  SCALAR_BYTES, SCALAR_TYPE_BY_CODE, alignUp,
  type GgufHeader, type GgufScalarType, type GgufTensorInfo, type GgufValue
} from './format.ts'

/**
 * Limits on what the reader accepts. The defaults leave room for every real
 * model we know of (a 262k-token vocabulary, ~500k BPE merges, ~1100 tensors
 * in a 405B model, chat templates of tens of kB, tokenizer.huggingface.json of
 * a few MB) while bounding memory and time for a hostile file.
 */
export interface GgufLimits {
  /** Metadata key/value pairs. Real models have 20-60. */
  maxMetadataEntries: number
  /** Bytes of one key. The spec allows 65535; real keys are under 100. */
  maxKeyBytes: number
  /** Bytes of one string value or array element. */
  maxStringBytes: number
  /** Elements of one array (vocabularies, merges, scores). */
  maxArrayLength: number
  /** Tensors in the file. */
  maxTensors: number
  /** Bytes from the start of the file to the end of the tensor infos. */
  maxHeaderBytes: number
}

export const GGUF_MAX_METADATA_ENTRIES = 4096
export const GGUF_MAX_KEY_BYTES = 65535
export const GGUF_MAX_STRING_BYTES = 16 * 1024 * 1024
export const GGUF_MAX_ARRAY_LENGTH = 4 * 1024 * 1024
export const GGUF_MAX_TENSORS = 65536
export const GGUF_MAX_HEADER_BYTES = 64 * 1024 * 1024

export const defaultGgufLimits: Readonly<GgufLimits> = {
  maxMetadataEntries: GGUF_MAX_METADATA_ENTRIES,
  maxKeyBytes: GGUF_MAX_KEY_BYTES,
  maxStringBytes: GGUF_MAX_STRING_BYTES,
  maxArrayLength: GGUF_MAX_ARRAY_LENGTH,
  maxTensors: GGUF_MAX_TENSORS,
  maxHeaderBytes: GGUF_MAX_HEADER_BYTES
}

export interface ParseGgufOptions {
  /** Size of the whole file, when known: a header that would need more is truncated, not "need more". */
  fileSize?: number
  limits?: Partial<GgufLimits>
}

/**
 * A parsed header, or { needBytes }: the prefix ended inside the header, read
 * at least needBytes bytes from the start of the file and call again.
 * checkLlamaGguf takes either and refuses the second (a file that ends inside
 * its header).
 */
export type GgufParseResult = (GgufHeader & { needBytes?: undefined }) | { needBytes: number }

/** Thrown inside the reader when the prefix ends; caught in parseGgufHeader, never escapes. */
class PrefixEnded {
  readonly atLeast: number
  constructor (atLeast: number) { this.atLeast = atLeast }
}

function invalid (message: string, meta: ErrorMeta = {}): CodedError {
  return new CodedError(ErrorCode.GGUF_INVALID, `invalid GGUF: ${message}`, meta)
}

/** Non-fatal, BOM-keeping: llama.cpp treats strings as bytes, so we never reject a file for its text encoding. */
const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true })

class Cursor {
  readonly bytes: Uint8Array
  readonly view: DataView
  readonly limits: GgufLimits
  pos = 0

  constructor (bytes: Uint8Array, limits: GgufLimits) {
    this.bytes = bytes
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.limits = limits
  }

  /** Ensures n more bytes are in the prefix (n may be a lower bound on what follows). */
  need (n: number): void {
    const end = this.pos + n
    if (end > this.limits.maxHeaderBytes) throw invalid(`header is larger than ${this.limits.maxHeaderBytes} bytes`, { offset: this.pos })
    if (end > this.bytes.length) throw new PrefixEnded(end)
  }

  u32 (): number { this.need(4); const v = this.view.getUint32(this.pos, true); this.pos += 4; return v }
  u64 (): bigint { this.need(8); const v = this.view.getBigUint64(this.pos, true); this.pos += 8; return v }

  /** A u64 that must be at most `max`, as a number. */
  count (max: number, what: string): number {
    const at = this.pos
    const v = this.u64()
    if (v > BigInt(max)) throw invalid(`${what} ${v} exceeds the limit of ${max}`, { offset: at })
    return Number(v)
  }

  string (maxBytes: number, what: string): string {
    const n = this.count(maxBytes, `${what} length`)
    this.need(n)
    const s = decoder.decode(this.bytes.subarray(this.pos, this.pos + n))
    this.pos += n
    return s
  }

  scalar (type: Exclude<GgufScalarType, 'string'>): number | bigint | boolean {
    const size = SCALAR_BYTES[type]
    this.need(size)
    const v = this.view
    const p = this.pos
    this.pos += size
    switch (type) {
      case 'u8': return v.getUint8(p)
      case 'i8': return v.getInt8(p)
      case 'u16': return v.getUint16(p, true)
      case 'i16': return v.getInt16(p, true)
      case 'u32': return v.getUint32(p, true)
      case 'i32': return v.getInt32(p, true)
      case 'f32': return v.getFloat32(p, true)
      case 'f64': return v.getFloat64(p, true)
      case 'u64': return v.getBigUint64(p, true)
      case 'i64': return v.getBigInt64(p, true)
      // gguf.cpp reads a bool as an int8 and treats any non-zero value as true
      case 'bool': return v.getUint8(p) !== 0
    }
  }
}

function valueType (code: number, at: number, key: string): GgufScalarType | 'array' {
  if (code === 9) return 'array'
  const t = SCALAR_TYPE_BY_CODE[code]
  if (t == null) throw invalid(`key ${key} has unknown value type ${code}`, { offset: at, key })
  return t
}

function readValue (c: Cursor, key: string): GgufValue {
  const at = c.pos
  const type = valueType(c.u32(), at, key)
  if (type !== 'array') {
    if (type === 'string') return { type, value: c.string(c.limits.maxStringBytes, 'string') }
    return { type, value: c.scalar(type) } as GgufValue
  }
  const itemAt = c.pos
  const itemType = valueType(c.u32(), itemAt, key)
  if (itemType === 'array') throw invalid(`key ${key} is an array of arrays, which llama.cpp does not read`, { offset: itemAt, key })
  const n = c.count(c.limits.maxArrayLength, `array ${key} length`)
  // each element takes at least this much: ask for all of it before looping
  c.need(n * (itemType === 'string' ? 8 : SCALAR_BYTES[itemType]))
  if (itemType === 'string') {
    const items: string[] = []
    for (let i = 0; i < n; i++) items.push(c.string(c.limits.maxStringBytes, 'string'))
    return { type: 'array', itemType, value: items }
  }
  const items: Array<number | bigint | boolean> = []
  for (let i = 0; i < n; i++) items.push(c.scalar(itemType))
  return { type: 'array', itemType, value: items } as GgufValue
}

function readTensorInfo (c: Cursor, names: Set<string>): Omit<GgufTensorInfo, 'fileOffset'> {
  const at = c.pos
  const name = c.string(GGML_MAX_NAME_BYTES, 'tensor name')
  if (names.has(name)) throw invalid(`duplicate tensor ${name}`, { offset: at, tensor: name })
  names.add(name)
  const nDims = c.u32()
  if (nDims > GGML_MAX_DIMS) throw invalid(`tensor ${name} has ${nDims} dims, at most ${GGML_MAX_DIMS}`, { offset: at, tensor: name })
  const dims: number[] = []
  let elements = 1
  for (let i = 0; i < nDims; i++) {
    // gguf.cpp reads int64 and rejects negatives; a u64 above 2^53 is unusable anyway
    const d = c.count(Number.MAX_SAFE_INTEGER, `tensor ${name} dim`)
    dims.push(d)
    elements *= d
  }
  if (elements > Number.MAX_SAFE_INTEGER) throw invalid(`tensor ${name} has too many elements`, { offset: at, tensor: name })
  const type = c.u32()
  const traits = GGML_TYPE_TRAITS.get(type)
  if (traits == null) throw invalid(`tensor ${name} has unknown ggml type ${type}`, { offset: at, tensor: name })
  const ne0 = dims[0] ?? 1
  if (ne0 % traits.blockSize !== 0) throw invalid(`tensor ${name}: a row of ${ne0} is not a whole number of ${traits.name} blocks`, { offset: at, tensor: name })
  const byteLength = (elements / traits.blockSize) * traits.blockBytes
  if (!Number.isSafeInteger(byteLength)) throw invalid(`tensor ${name} is too large`, { offset: at, tensor: name })
  const offset = c.count(Number.MAX_SAFE_INTEGER, `tensor ${name} offset`)
  return { name, dims, type, elements, byteLength, offset }
}

function parse (c: Cursor, fileSize: number | undefined): GgufHeader {
  c.need(4)
  if (c.u32() !== GGUF_MAGIC) throw invalid('not a GGUF file (bad magic)', { offset: 0 })
  const version = c.u32()
  // gguf.cpp: 1 is no longer supported, 0x03000000-style values are the other endianness
  if (version !== 2 && version !== 3) throw invalid(`unsupported GGUF version ${version}`, { offset: 4 })
  const nTensors = c.count(c.limits.maxTensors, 'tensor count')
  const nKv = c.count(c.limits.maxMetadataEntries, 'metadata count')

  const metadata = new Map<string, GgufValue>()
  for (let i = 0; i < nKv; i++) {
    const at = c.pos
    const key = c.string(c.limits.maxKeyBytes, 'key')
    if (key.length === 0) throw invalid(`metadata key ${i} is empty`, { offset: at })
    if (metadata.has(key)) throw invalid(`duplicate metadata key ${key}`, { offset: at, key })
    metadata.set(key, readValue(c, key))
  }

  let alignment = GGUF_DEFAULT_ALIGNMENT
  const a = metadata.get(GGUF_KEY_ALIGNMENT)
  if (a != null) {
    if (a.type !== 'u32') throw invalid(`${GGUF_KEY_ALIGNMENT} must be u32, is ${a.type}`, { key: GGUF_KEY_ALIGNMENT })
    if (a.value === 0 || (a.value & (a.value - 1)) !== 0) throw invalid(`${GGUF_KEY_ALIGNMENT} ${a.value} is not a power of two`, { key: GGUF_KEY_ALIGNMENT })
    alignment = a.value
  }

  const names = new Set<string>()
  const infos: Array<Omit<GgufTensorInfo, 'fileOffset'>> = []
  for (let i = 0; i < nTensors; i++) infos.push(readTensorInfo(c, names))
  const headerBytes = c.pos
  const dataOffset = alignUp(headerBytes, alignment)
  if (fileSize != null && nTensors > 0 && dataOffset > fileSize) throw invalid('file ends before its data section', { offset: headerBytes })

  const tensors = infos.map(t => {
    if (t.offset % alignment !== 0) throw invalid(`tensor ${t.name} offset ${t.offset} is not a multiple of the alignment ${alignment}`, { tensor: t.name })
    return { ...t, fileOffset: dataOffset + t.offset }
  })
  return { version, metadata, tensors, alignment, headerBytes, dataOffset }
}

/**
 * Parses the header of a GGUF file from its first bytes. Returns the header,
 * or { needBytes } when the prefix is too short. Throws only CodedError
 * GGUF_INVALID (malformed, over a limit, or truncated when fileSize is given).
 */
export function parseGgufHeader (prefix: Uint8Array, options: ParseGgufOptions = {}): GgufParseResult {
  const limits: GgufLimits = { ...defaultGgufLimits, ...options.limits }
  const { fileSize } = options
  try {
    return parse(new Cursor(prefix, limits), fileSize)
  } catch (err) {
    if (err instanceof PrefixEnded) {
      if (fileSize != null && err.atLeast > fileSize) throw invalid(`file of ${fileSize} bytes ends inside its header (needs at least ${err.atLeast})`)
      return { needBytes: err.atLeast }
    }
    if (err instanceof CodedError) throw err
    // Unreachable by design; keeps the contract that nothing else escapes.
    throw invalid(`unexpected ${err instanceof Error ? err.name : typeof err}`)
  }
}

/** The header of a complete file in memory (tests, small files): truncation is an error. */
export function parseGguf (file: Uint8Array, limits?: Partial<GgufLimits>): GgufHeader {
  const r = parseGgufHeader(file, { fileSize: file.length, ...(limits != null ? { limits } : {}) })
  if (r.needBytes !== undefined) throw invalid('file ends inside its header')
  return r
}

export { checkLlamaGguf, type LlamaGgufSummary, type Quantization } from './llama.ts'
