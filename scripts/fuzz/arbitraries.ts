/**
 * Hostile-input generators shared by the fuzz script (scripts/fuzz/run.ts) and
 * its small in-suite run (test/unit/fuzz/decoders.fuzz.test.ts). Three kinds
 * of input, as ARCHITECTURE.md §13 asks of every decoder:
 *   - random bytes, including over-size ones;
 *   - random CBOR of random structure (canonical, non-canonical, and raw item
 *     heads with hostile lengths and nesting);
 *   - mutations of valid encodings: bit flips, byte sets, truncation,
 *     insertions, deletions and splices with other valid encodings; and, for
 *     signed objects, field-level mutations that are re-signed, so the schema
 *     checks behind the signature are reached too.
 */
import { encode } from 'cborg'
import fc from 'fast-check'
import { encodeCanonical } from '../../protocol/codec.ts'
import type { GgufValue } from '../../protocol/gguf/format.ts'

/** Values CBOR can carry, plus the edge values a hostile peer would pick. */
export const { cborValue } = fc.letrec(tie => ({
  cborValue: fc.oneof(
    { depthSize: 'small', maxDepth: 5, withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.constantFrom(0, -1, 1, 255, 256, 65535, 65536, 2 ** 32, 2 ** 53, -(2 ** 53), Number.MAX_SAFE_INTEGER, 1e308, 0.5, -0.5),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter(d => !Object.is(d, -0)),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.constantFrom('', 'req', 'chunk', 'emb', 'receipt', 'error', 'commit', 'reveal', 'fraud', 'endorse', 'roots', 'ids', 'get', 'entries',
      '__proto__', 'constructor', 'ref-tiny', '12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf', 'f'.repeat(64), '0'.repeat(32)),
    fc.uint8Array({ maxLength: 70 }),
    fc.array(tie('cborValue'), { maxLength: 5 }),
    fc.dictionary(fc.oneof(fc.string({ unit: 'binary', maxLength: 8 }), fc.constantFrom('t', 'v', 'body', 'sig', 'kind', 'payload', '__proto__')), tie('cborValue'), { maxKeys: 5 })
  )
}))

/** JSON values, with the keys an HTTP body parser must not trip over. */
export const jsonValue = fc.jsonValue({ maxDepth: 4 })

/** Encode without ever throwing inside a generator (a throw there would be blamed on the property). */
function safeEncode (value: unknown, canonical: boolean): Uint8Array {
  try {
    return canonical ? encodeCanonical(value) : encode(value)
  } catch {
    return new Uint8Array(0)
  }
}

/** Random CBOR items, canonically or loosely (cborg's default: length-first key order) encoded. */
export const randomCbor: fc.Arbitrary<Uint8Array> = fc.tuple(cborValue, fc.boolean()).map(([v, canonical]) => safeEncode(v, canonical))

/**
 * Raw CBOR item heads: every major type with every additional-info value
 * (including reserved 28-30 and indefinite 31) and random arguments, so huge
 * declared lengths, deep nesting, tags and break codes all occur.
 */
export const cborHeads: fc.Arbitrary<Uint8Array> = fc.array(fc.record({
  major: fc.integer({ min: 0, max: 7 }),
  info: fc.oneof(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 24, max: 31 })),
  arg: fc.uint8Array({ minLength: 8, maxLength: 8 }),
  tail: fc.uint8Array({ maxLength: 4 })
}), { minLength: 1, maxLength: 40 }).map(heads => {
  const out: number[] = []
  for (const h of heads) {
    out.push((h.major << 5) | h.info)
    if (h.info >= 24 && h.info <= 27) out.push(...h.arg.subarray(0, 1 << (h.info - 24)))
    out.push(...h.tail)
  }
  return Uint8Array.from(out)
})

/** Deeply nested arrays or maps: the depth guard, never the stack, must stop them. */
export const deepNesting: fc.Arbitrary<Uint8Array> = fc.record({ depth: fc.integer({ min: 1, max: 5000 }), map: fc.boolean() })
  .map(({ depth, map }) => {
    const out = new Uint8Array(depth * (map ? 2 : 1) + 1)
    let i = 0
    for (let d = 0; d < depth; d++) {
      if (map) { out[i++] = 0xa1; out[i++] = 0x00 } else out[i++] = 0x81
    }
    out[i] = 0x00
    return out
  })

export type ByteMutation =
  | { op: 'flip', at: number, bit: number }
  | { op: 'set', at: number, value: number }
  | { op: 'truncate', at: number }
  | { op: 'insert', at: number, bytes: Uint8Array }
  | { op: 'delete', at: number, len: number }
  | { op: 'splice', at: number, from: number, len: number, donor: number }
  | { op: 'duplicate', at: number, len: number }

const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.oneof(fc.constantFrom(0x00, 0xff, 0x1f, 0x3f, 0x5f, 0x7f, 0x9f, 0xbf, 0xc0, 0xd8, 0xf6, 0xf7, 0xf9, 0xfa, 0xfb, 0xff, 0x1b, 0x5b, 0x7b, 0x9b, 0xbb), fc.integer({ min: 0, max: 255 })) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 16 }) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('splice' as const), at: fc.nat(), from: fc.nat(), len: fc.integer({ min: 1, max: 64 }), donor: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 32 }) }), weight: 1 }
)

/** Apply byte-level mutations; positions are taken modulo the current length. */
export function applyByteMutations (base: Uint8Array, mutations: readonly ByteMutation[], donors: readonly Uint8Array[]): Uint8Array {
  let b: Uint8Array = base.slice()
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % (b.length + 1)
    switch (m.op) {
      case 'flip':
        if (b.length > 0) b[m.at % b.length]! ^= 1 << m.bit
        break
      case 'set':
        if (b.length > 0) b[m.at % b.length] = m.value
        break
      case 'truncate':
        b = b.slice(0, at)
        break
      case 'insert':
        b = concat(b.subarray(0, at), m.bytes, b.subarray(at))
        break
      case 'delete':
        b = concat(b.subarray(0, at), b.subarray(at + m.len))
        break
      case 'splice': {
        const donor = donors.length > 0 ? donors[m.donor % donors.length]! : b
        const from = donor.length === 0 ? 0 : m.from % donor.length
        b = concat(b.subarray(0, at), donor.subarray(from, from + m.len), b.subarray(Math.min(b.length, at + m.len)))
        break
      }
      case 'duplicate':
        b = concat(b.subarray(0, at + m.len), b.subarray(at, at + m.len), b.subarray(at + m.len))
        break
    }
  }
  return b
}

function concat (...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let off = 0
  for (const p of parts) { out.set(p, off); off += p.length }
  return out
}

/** One valid encoding with 1-4 byte mutations, donors for splices taken from the same list. */
export function mutatedBytes (valids: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc.record({ base: fc.nat(), mutations: fc.array(byteMutation, { minLength: 1, maxLength: 4 }) })
    .map(({ base, mutations }) => applyByteMutations(valids[base % valids.length]!, mutations, valids))
}

export type ValueMutation = { path: number[], op: 'replace' | 'delete' | 'addKey' | 'wrap' | 'dup', value: unknown, key: string }

export const valueMutation: fc.Arbitrary<ValueMutation> = fc.record({
  path: fc.array(fc.nat(), { maxLength: 6 }),
  op: fc.constantFrom('replace', 'replace', 'replace', 'delete', 'addKey', 'wrap', 'dup'),
  value: cborValue,
  key: fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__proto__', 'constructor', 'toString', 'extra', 't', 'v'))
})

function isContainer (v: unknown): v is Record<string, unknown> | unknown[] {
  return v != null && typeof v === 'object' && !(v instanceof Uint8Array)
}

function cloneValue (v: unknown): unknown {
  if (v instanceof Uint8Array) return v.slice()
  if (Array.isArray(v)) return v.map(cloneValue)
  if (isContainer(v)) {
    const out: Record<string, unknown> = {}
    // defineProperty, not assignment: an own "__proto__" key must stay a key, not become the prototype.
    for (const [k, x] of Object.entries(v)) Object.defineProperty(out, k, { value: cloneValue(x), enumerable: true, configurable: true, writable: true })
    return out
  }
  return v
}

/**
 * Apply one field-level mutation to a decoded value: walk `path` (indices
 * modulo the number of children) and replace, delete, wrap or duplicate the
 * node reached, or add an unknown key beside it. Returns a new value.
 */
export function applyValueMutation (root: unknown, m: ValueMutation): unknown {
  const copy = cloneValue(root)
  if (!isContainer(copy)) return m.op === 'wrap' ? [copy] : m.value
  let parent: Record<string, unknown> | unknown[] = copy
  let key: string | number | undefined
  for (const step of m.path) {
    const node: unknown = key == null ? parent : (parent as Record<string, unknown>)[key as string]
    if (!isContainer(node)) break
    const keys: Array<string | number> = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node)
    if (keys.length === 0) break
    parent = node
    key = keys[step % keys.length]!
  }
  if (key == null) {
    // The root itself: add a key or replace a top-level field.
    const keys = Array.isArray(copy) ? copy.map((_, i) => i) : Object.keys(copy)
    if (keys.length === 0 || m.op === 'addKey') {
      if (!Array.isArray(copy)) Object.defineProperty(copy, m.key, { value: m.value, enumerable: true, configurable: true, writable: true })
      return copy
    }
    parent = copy
    key = keys[(m.path[0] ?? 0) % keys.length]!
  }
  const p = parent as Record<string | number, unknown>
  switch (m.op) {
    case 'replace': Object.defineProperty(p, key, { value: m.value, enumerable: true, configurable: true, writable: true }); break
    case 'delete':
      if (Array.isArray(parent)) parent.splice(key as number, 1)
      else delete p[key]
      break
    case 'addKey':
      if (Array.isArray(parent)) parent.push(m.value)
      else Object.defineProperty(parent, m.key, { value: m.value, enumerable: true, configurable: true, writable: true })
      break
    case 'wrap': Object.defineProperty(p, key, { value: [p[key]], enumerable: true, configurable: true, writable: true }); break
    case 'dup':
      if (Array.isArray(parent)) parent.splice(key as number, 0, cloneValue(parent[key as number]))
      else Object.defineProperty(p, key, { value: cloneValue(p[key]), enumerable: true, configurable: true, writable: true })
      break
  }
  return copy
}

/** A decoded valid value with 1-3 field-level mutations. */
export function mutatedValue (valids: readonly unknown[]): fc.Arbitrary<unknown> {
  return fc.record({ base: fc.nat(), mutations: fc.array(valueMutation, { minLength: 1, maxLength: 3 }) })
    .map(({ base, mutations }) => mutations.reduce((v, m) => applyValueMutation(v, m), valids[base % valids.length]))
}

/** Bytes longer than `max`: the size check must refuse them before any parsing. */
export function oversize (max: number, valids: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc.record({ extra: fc.integer({ min: 1, max: 64 }), base: fc.nat() }).map(({ extra, base }) => {
    const out = new Uint8Array(max + extra)
    const v = valids[base % valids.length]!
    out.set(v.subarray(0, Math.min(v.length, out.length)))
    return out
  })
}

/**
 * The standard mix of byte inputs for a decoder: random bytes, random CBOR,
 * raw heads, deep nesting, mutated valid encodings, the valid encodings
 * themselves (so acceptance is exercised too) and, rarely, over-size input.
 */
export function hostileBytes (valids: readonly Uint8Array[], maxBytes: number, extra: Array<fc.WeightedArbitrary<Uint8Array>> = []): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { arbitrary: fc.uint8Array({ maxLength: 256 }), weight: 3 },
    { arbitrary: fc.uint8Array({ minLength: 256, maxLength: 4096 }), weight: 1 },
    { arbitrary: randomCbor, weight: 3 },
    { arbitrary: cborHeads, weight: 2 },
    { arbitrary: deepNesting, weight: 1 },
    { arbitrary: mutatedBytes(valids), weight: 6 },
    { arbitrary: fc.nat().map(i => valids[i % valids.length]!), weight: 1 },
    { arbitrary: oversize(maxBytes, valids), weight: 1 },
    ...extra
  )
}

// ---- GGUF (protocol/gguf/reader.ts, llama.ts) ------------------------------------

/**
 * GGUF metadata values of every type, with the numbers and strings that
 * decide a llama file: small counts, powers of two, u32 edges, the tokenizer
 * and rope-scaling names llama.cpp knows, and ones it does not.
 */
export const ggufValue: fc.Arbitrary<GgufValue> = (() => {
  const u32 = fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 7, 8, 16, 32, 64, 128, 255, 256, 266, 512, 513, 4096, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff), fc.nat({ max: 0xffff_ffff }))
  const i32 = fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff })
  const f32 = fc.oneof(fc.constantFrom(0, -0, 1e-5, 1, 10000, -1, Infinity, -Infinity, NaN), fc.float())
  const str = fc.oneof(fc.constantFrom('', 'llama', 'gpt2', 'qwen2', 'none', 'linear', 'yarn', 'longrope', 'bogus', 'mistral', 'model', 'Ġ', '\ufffd'), fc.string({ maxLength: 24 }))
  const short = { maxLength: 8 }
  return fc.oneof(
    { arbitrary: u32.map(value => ({ type: 'u32' as const, value })), weight: 4 },
    { arbitrary: i32.map(value => ({ type: 'i32' as const, value })), weight: 2 },
    { arbitrary: fc.nat({ max: 255 }).map(value => ({ type: 'u8' as const, value })), weight: 1 },
    { arbitrary: fc.integer({ min: -32768, max: 32767 }).map(value => ({ type: 'i16' as const, value })), weight: 1 },
    { arbitrary: f32.map(value => ({ type: 'f32' as const, value })), weight: 2 },
    { arbitrary: fc.double().map(value => ({ type: 'f64' as const, value })), weight: 1 },
    { arbitrary: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(value => ({ type: 'u64' as const, value })), weight: 1 },
    { arbitrary: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(value => ({ type: 'i64' as const, value })), weight: 1 },
    { arbitrary: fc.boolean().map(value => ({ type: 'bool' as const, value })), weight: 1 },
    { arbitrary: str.map(value => ({ type: 'string' as const, value })), weight: 3 },
    { arbitrary: fc.array(str, short).map(value => ({ type: 'array' as const, itemType: 'string' as const, value })), weight: 2 },
    { arbitrary: fc.array(i32, short).map(value => ({ type: 'array' as const, itemType: 'i32' as const, value })), weight: 1 },
    { arbitrary: fc.array(u32, short).map(value => ({ type: 'array' as const, itemType: 'u32' as const, value })), weight: 1 },
    { arbitrary: fc.array(f32, short).map(value => ({ type: 'array' as const, itemType: 'f32' as const, value })), weight: 1 },
    { arbitrary: fc.array(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), short).map(value => ({ type: 'array' as const, itemType: 'u64' as const, value })), weight: 1 }
  )
})()

/** A tensor as the GGUF mutations see it: its data is only ever zeros of the right length. */
export interface GgufTensorShape { name: string, dims: number[], type: number }
export interface GgufShape { metadata: Array<[string, GgufValue]>, tensors: GgufTensorShape[] }

export type GgufMutation =
  | { op: 'dropKey', i: number }
  | { op: 'setValue', i: number, value: GgufValue }
  | { op: 'addKey', key: string, value: GgufValue }
  | { op: 'moveKey', i: number, j: number }
  | { op: 'dropTensor', i: number }
  | { op: 'dupTensor', i: number, name: string }
  | { op: 'tensorDims', i: number, dims: number[] }
  | { op: 'tensorType', i: number, type: number }
  | { op: 'tensorName', i: number, name: string }
  | { op: 'moveTensor', i: number, j: number }

/** Keys a llama file may carry that the test model leaves out, and junk ones. */
const GGUF_EXTRA_KEYS = ['general.alignment', 'llama.rope.scaling.type', 'llama.rope.scaling.factor', 'llama.attention.key_length', 'llama.attention.value_length',
  'llama.expert_count', 'llama.expert_used_count', 'tokenizer.ggml.scores', 'tokenizer.ggml.padding_token_id', 'tokenizer.ggml.unknown_token_id',
  'tokenizer.chat_template', 'general.architecture', 'x', '']

/** The ggml types a tensor may claim: the four supported, others ggml knows, and unknown ones. */
const GGML_TYPE_CODES = fc.oneof(fc.constantFrom(0, 1, 2, 8), fc.constantFrom(3, 6, 7, 9, 10, 12, 14, 24, 26, 30, 34, 39), fc.nat({ max: 0xffff_ffff }))

export const ggufMutation: fc.Arbitrary<GgufMutation> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('dropKey' as const), i: fc.nat() }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('setValue' as const), i: fc.nat(), value: ggufValue }), weight: 6 },
  { arbitrary: fc.record({ op: fc.constant('addKey' as const), key: fc.oneof(fc.constantFrom(...GGUF_EXTRA_KEYS), fc.string({ maxLength: 12 })), value: ggufValue }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('moveKey' as const), i: fc.nat(), j: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('dropTensor' as const), i: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('dupTensor' as const), i: fc.nat(), name: fc.constantFrom('blk.1.attn_q.weight', 'blk.0.attn_q.bias', 'output.weight', 'extra.weight', 'blk.512.ffn_up.weight') }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('tensorDims' as const), i: fc.nat(), dims: fc.array(fc.oneof(fc.constantFrom(0, 1, 16, 32, 64, 266, 288, 2 ** 32, 2 ** 53 - 1), fc.nat({ max: 4096 }).map(n => n * 32)), { maxLength: 5 }) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('tensorType' as const), i: fc.nat(), type: GGML_TYPE_CODES }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('tensorName' as const), i: fc.nat(), name: fc.oneof(fc.constantFrom('', 'output.weight', 'token_embd.weight', 'blk.0.attn_q.weight', 'a'.repeat(63), 'a'.repeat(64)), fc.string({ maxLength: 70 })) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('moveTensor' as const), i: fc.nat(), j: fc.nat() }), weight: 1 }
)

/** Apply mutations to a GGUF header's shape; indices are taken modulo the current counts. Returns a new shape. */
export function applyGgufMutations (base: GgufShape, mutations: readonly GgufMutation[]): GgufShape {
  const metadata = base.metadata.map(([k, v]) => [k, v] as [string, GgufValue])
  const tensors = base.tensors.map(t => ({ ...t, dims: [...t.dims] }))
  const move = <T>(list: T[], i: number, j: number): void => {
    if (list.length === 0) return
    const [x] = list.splice(i % list.length, 1)
    list.splice(j % (list.length + 1), 0, x!)
  }
  for (const m of mutations) {
    const mi = metadata.length === 0 ? -1 : ('i' in m ? m.i % metadata.length : 0)
    const ti = tensors.length === 0 ? -1 : ('i' in m ? m.i % tensors.length : 0)
    switch (m.op) {
      case 'dropKey': if (mi >= 0) metadata.splice(mi, 1); break
      case 'setValue': if (mi >= 0) metadata[mi] = [metadata[mi]![0], m.value]; break
      case 'addKey': metadata.push([m.key, m.value]); break
      case 'moveKey': move(metadata, m.i, m.j); break
      case 'dropTensor': if (ti >= 0) tensors.splice(ti, 1); break
      case 'dupTensor': if (ti >= 0) tensors.push({ ...tensors[ti]!, dims: [...tensors[ti]!.dims], name: m.name }); break
      case 'tensorDims': if (ti >= 0) tensors[ti]!.dims = [...m.dims]; break
      case 'tensorType': if (ti >= 0) tensors[ti]!.type = m.type; break
      case 'tensorName': if (ti >= 0) tensors[ti]!.name = m.name; break
      case 'moveTensor': move(tensors, m.i, m.j); break
    }
  }
  return { metadata, tensors }
}
