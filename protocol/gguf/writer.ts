/**
 * GGUF v3 encoder (gguf.md "File Structure"). Produces the same bytes as
 * gguf-py's GGUFWriter for the same keys and tensors in the same order: the
 * data section starts at the header rounded up to the alignment, and every
 * tensor, the last one included, is followed by zero padding to the
 * alignment (gguf-py write_padding, gguf.cpp gguf_write_to_buf).
 *
 * encodeGgufParts returns the header and each tensor's data (plus padding) as
 * separate chunks, so a large model is never copied into one array; a caller
 * writing a file writes the chunks in order. encodeGguf joins them, which
 * suits test models of a few MB.
 *
 * Bad input (a duplicate key, a value out of its type's range, tensor data of
 * the wrong length) is a programming error here and throws RangeError.
 */
import {
  GGML_MAX_DIMS, GGML_MAX_NAME_BYTES, GGML_TYPE_TRAITS, GGUF_DEFAULT_ALIGNMENT, GGUF_KEY_ALIGNMENT, GGUF_MAGIC,
  GGUF_VERSION, SCALAR_TYPE_CODE, GgufValueType, alignUp, tensorByteLength,
  type GgufFileInput, type GgufScalarType, type GgufValue
} from './format.ts'

const encoder = new TextEncoder()

/** A growable little-endian byte sink for the header. */
class ByteSink {
  private buf = new Uint8Array(4096)
  private view = new DataView(this.buf.buffer)
  length = 0

  private reserve (n: number): number {
    const need = this.length + n
    if (need > this.buf.length) {
      let size = this.buf.length * 2
      while (size < need) size *= 2
      const next = new Uint8Array(size)
      next.set(this.buf.subarray(0, this.length))
      this.buf = next
      this.view = new DataView(next.buffer)
    }
    const at = this.length
    this.length = need
    return at
  }

  // reserve() may replace the buffer, so it runs before this.view is read
  u8 (v: number): void { const at = this.reserve(1); this.view.setUint8(at, v) }
  i8 (v: number): void { const at = this.reserve(1); this.view.setInt8(at, v) }
  u16 (v: number): void { const at = this.reserve(2); this.view.setUint16(at, v, true) }
  i16 (v: number): void { const at = this.reserve(2); this.view.setInt16(at, v, true) }
  u32 (v: number): void { const at = this.reserve(4); this.view.setUint32(at, v, true) }
  i32 (v: number): void { const at = this.reserve(4); this.view.setInt32(at, v, true) }
  f32 (v: number): void { const at = this.reserve(4); this.view.setFloat32(at, v, true) }
  f64 (v: number): void { const at = this.reserve(8); this.view.setFloat64(at, v, true) }
  u64 (v: bigint): void { const at = this.reserve(8); this.view.setBigUint64(at, v, true) }
  i64 (v: bigint): void { const at = this.reserve(8); this.view.setBigInt64(at, v, true) }
  bytes (b: Uint8Array): void { const at = this.reserve(b.length); this.buf.set(b, at) }

  string (s: string): void {
    const b = encoder.encode(s)
    this.u64(BigInt(b.length))
    this.bytes(b)
  }

  pad (alignment: number): void {
    this.reserve(alignUp(this.length, alignment) - this.length)
  }

  result (): Uint8Array {
    return this.buf.slice(0, this.length)
  }
}

const INT_RANGE: Readonly<Record<string, readonly [number, number]>> = {
  u8: [0, 0xff], i8: [-0x80, 0x7f], u16: [0, 0xffff], i16: [-0x8000, 0x7fff], u32: [0, 0xffff_ffff], i32: [-0x8000_0000, 0x7fff_ffff]
}
const BIG_RANGE: Readonly<Record<string, readonly [bigint, bigint]>> = {
  u64: [0n, 0xffff_ffff_ffff_ffffn], i64: [-0x8000_0000_0000_0000n, 0x7fff_ffff_ffff_ffffn]
}

function writeScalar (sink: ByteSink, type: GgufScalarType, v: unknown, key: string): void {
  const bad = (): never => { throw new RangeError(`metadata ${key}: ${String(v)} is not a valid ${type}`) }
  switch (type) {
    case 'u8': case 'i8': case 'u16': case 'i16': case 'u32': case 'i32': {
      const [lo, hi] = INT_RANGE[type]!
      if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) bad()
      sink[type](v as number)
      return
    }
    case 'f32': case 'f64':
      if (typeof v !== 'number') bad()
      sink[type](v as number)
      return
    case 'u64': case 'i64': {
      const [lo, hi] = BIG_RANGE[type]!
      if (typeof v !== 'bigint' || v < lo || v > hi) bad()
      sink[type](v as bigint)
      return
    }
    case 'bool':
      if (typeof v !== 'boolean') bad()
      sink.u8(v === true ? 1 : 0)
      return
    case 'string':
      if (typeof v !== 'string') bad()
      sink.string(v as string)
  }
}

function writeValue (sink: ByteSink, key: string, value: GgufValue): void {
  if (value.type === 'array') {
    sink.u32(GgufValueType.ARRAY)
    sink.u32(SCALAR_TYPE_CODE[value.itemType])
    sink.u64(BigInt(value.value.length))
    for (const item of value.value) writeScalar(sink, value.itemType, item, key)
  } else {
    sink.u32(SCALAR_TYPE_CODE[value.type])
    writeScalar(sink, value.type, value.value, key)
  }
}

/** Chunks of a GGUF v3 file: the header (through the data section's leading padding), then each tensor's data and padding. */
export function encodeGgufParts (file: GgufFileInput): Uint8Array[] {
  const entries = [...file.metadata]
  const keys = new Set<string>()
  let alignment = GGUF_DEFAULT_ALIGNMENT
  for (const [key, value] of entries) {
    if (key.length === 0) throw new RangeError('metadata key is empty')
    if (keys.has(key)) throw new RangeError(`duplicate metadata key ${key}`)
    keys.add(key)
    if (key === GGUF_KEY_ALIGNMENT) {
      if (value.type !== 'u32' || value.value === 0 || (value.value & (value.value - 1)) !== 0) {
        throw new RangeError(`${GGUF_KEY_ALIGNMENT} must be a u32 power of two`)
      }
      alignment = value.value
    }
  }

  const names = new Set<string>()
  let offset = 0
  const layout = file.tensors.map(t => {
    const nameBytes = encoder.encode(t.name).length
    if (nameBytes === 0 || nameBytes > GGML_MAX_NAME_BYTES) throw new RangeError(`tensor name must be 1-${GGML_MAX_NAME_BYTES} bytes: ${t.name}`)
    if (names.has(t.name)) throw new RangeError(`duplicate tensor ${t.name}`)
    names.add(t.name)
    if (t.dims.length < 1 || t.dims.length > GGML_MAX_DIMS) throw new RangeError(`tensor ${t.name}: 1-${GGML_MAX_DIMS} dims`)
    for (const d of t.dims) if (!Number.isSafeInteger(d) || d < 0) throw new RangeError(`tensor ${t.name}: bad dim ${d}`)
    const traits = GGML_TYPE_TRAITS.get(t.type)
    if (traits == null) throw new RangeError(`tensor ${t.name}: unknown ggml type ${t.type}`)
    if (t.dims[0]! % traits.blockSize !== 0) throw new RangeError(`tensor ${t.name}: row of ${t.dims[0]} is not a whole number of ${traits.name} blocks`)
    const elements = t.dims.reduce((a, b) => a * b, 1)
    const bytes = tensorByteLength(t.type, elements)
    if (t.data.length !== bytes) throw new RangeError(`tensor ${t.name}: ${t.data.length} bytes of data, expected ${bytes}`)
    const at = offset
    offset += alignUp(bytes, alignment)
    return { t, at, bytes }
  })

  const sink = new ByteSink()
  sink.u32(GGUF_MAGIC)
  sink.u32(GGUF_VERSION)
  sink.u64(BigInt(file.tensors.length))
  sink.u64(BigInt(entries.length))
  for (const [key, value] of entries) {
    sink.string(key)
    writeValue(sink, key, value)
  }
  for (const { t, at } of layout) {
    sink.string(t.name)
    sink.u32(t.dims.length)
    for (const d of t.dims) sink.u64(BigInt(d))
    sink.u32(t.type)
    sink.u64(BigInt(at))
  }
  sink.pad(alignment)

  const parts = [sink.result()]
  for (const { t, bytes } of layout) {
    const padded = alignUp(bytes, alignment)
    if (padded === bytes) {
      parts.push(t.data)
    } else {
      const chunk = new Uint8Array(padded)
      chunk.set(t.data)
      parts.push(chunk)
    }
  }
  return parts
}

/** A whole GGUF v3 file in one array. */
export function encodeGguf (file: GgufFileInput): Uint8Array {
  const parts = encodeGgufParts(file)
  let total = 0
  for (const p of parts) total += p.length
  const out = new Uint8Array(total)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}
