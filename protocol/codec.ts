/**
 * Canonical bytes (ARCHITECTURE.md §4): deterministic CBOR as RFC 8949 §4.2.1 defines
 * it (shortest-form integers and floats, map keys sorted bytewise, definite
 * lengths). Chosen once; golden-byte fixtures in test/fixtures pin it.
 */
import { decode, encode, rfc8949EncodeOptions } from 'cborg'
import { asciiReader } from './ascii.ts'
import { bytesEqual } from './bytes.ts'
import { CodedError, ErrorCode } from './errors.ts'

/** No record of ours nests deeper than this; deeper input is hostile. */
export const MAX_DEPTH = 16

/**
 * Walk CBOR item heads iteratively (no recursion, so hostile nesting cannot
 * exhaust the stack) and reject structures deeper than `maxDepth`, indefinite
 * lengths and tags before the real decoder sees them.
 */
function checkStructure (bytes: Uint8Array, maxDepth: number): void {
  const malformed = (why: string): CodedError => new CodedError(ErrorCode.RECORD_MALFORMED, `not canonical CBOR: ${why}`)
  const pending: number[] = [] // items still expected at each open container level
  let pos = 0
  let items = 1
  while (items > 0 || pending.length > 0) {
    if (items === 0) {
      items = pending.pop()!
      continue
    }
    items--
    if (pos >= bytes.length) throw malformed('truncated')
    const head = bytes[pos++]!
    const major = head >> 5
    const info = head & 0x1f
    let arg = info
    if (info >= 24 && info <= 27) {
      const n = 1 << (info - 24)
      if (pos + n > bytes.length) throw malformed('truncated')
      arg = 0
      for (let i = 0; i < n; i++) arg = arg * 256 + bytes[pos++]!
    } else if (info > 27) {
      throw malformed(info === 31 ? 'indefinite lengths are not allowed' : 'reserved additional info')
    }
    if (major === 2 || major === 3) {
      if (arg > bytes.length - pos) throw malformed('truncated')
      pos += arg
    } else if (major === 4 || major === 5) {
      const children = major === 5 ? arg * 2 : arg
      if (children > bytes.length - pos) throw malformed('truncated')
      if (children > 0) {
        pending.push(items)
        if (pending.length > maxDepth) throw malformed(`nested deeper than ${maxDepth}`)
        items = children
      }
    } else if (major === 6) {
      throw malformed('tags are not allowed')
    }
  }
  if (pos !== bytes.length) throw malformed('trailing bytes')
}

export function encodeCanonical (value: unknown): Uint8Array {
  const fast = encodeCanonicalFast(value)
  return fast !== GIVE_UP ? fast : encode(value, rfc8949EncodeOptions)
}

/** cborg's canonical encoding alone, for the agreement tests. */
export function encodeCanonicalByCborg (value: unknown): Uint8Array {
  return encode(value, rfc8949EncodeOptions)
}

/** The fast encoder alone, for the agreement tests: the bytes, or undefined where it gives up. */
export function tryEncodeCanonicalFast (value: unknown): Uint8Array | undefined {
  const v = encodeCanonicalFast(value)
  return v === GIVE_UP ? undefined : v
}

// ---- fast encoder -------------------------------------------------------------

/**
 * What records are made of, written straight into one reused buffer: safe
 * integers, well-formed text, Uint8Arrays, arrays, plain objects with ASCII
 * keys, booleans and null. cborg builds a token list per value and sorts each
 * map's entries by encoding their keys (a task takes ~7 encodes; cborg was most
 * of the CBOR time in the task path's profile). Anything else (floats, -0,
 * undefined, Maps, non-ASCII keys, lone surrogates, other objects, deeper than
 * ENCODE_MAX_DEPTH): GIVE_UP, and cborg encodes it. The agreement tests
 * (codec.test.ts) compare both on random values.
 */
const ENCODE_MAX_DEPTH = 64
let out = new Uint8Array(4096)
let end = 0
const utf8 = new TextEncoder()

function encodeCanonicalFast (value: unknown): Uint8Array | GiveUp {
  end = 0
  if (!encodeItem(value, 0)) return GIVE_UP
  return out.slice(0, end)
}

function room (n: number): void {
  if (end + n <= out.length) return
  let size = out.length * 2
  while (size < end + n) size *= 2
  const bigger = new Uint8Array(size)
  bigger.set(out.subarray(0, end))
  out = bigger
}

/** A head: major type and its argument, a safe non-negative integer, in shortest form. */
function writeHead (major: number, n: number): void {
  room(9)
  const m = major << 5
  if (n < 24) {
    out[end++] = m | n
  } else if (n < 0x100) {
    out[end++] = m | 24
    out[end++] = n
  } else if (n < 0x10000) {
    out[end++] = m | 25
    out[end++] = n >> 8
    out[end++] = n & 0xff
  } else if (n < 0x100000000) {
    out[end++] = m | 26
    out[end++] = n >>> 24
    out[end++] = (n >>> 16) & 0xff
    out[end++] = (n >>> 8) & 0xff
    out[end++] = n & 0xff
  } else {
    const hi = Math.floor(n / 0x100000000)
    const lo = n >>> 0
    out[end++] = m | 27
    out[end++] = hi >>> 24
    out[end++] = (hi >>> 16) & 0xff
    out[end++] = (hi >>> 8) & 0xff
    out[end++] = hi & 0xff
    out[end++] = lo >>> 24
    out[end++] = (lo >>> 16) & 0xff
    out[end++] = (lo >>> 8) & 0xff
    out[end++] = lo & 0xff
  }
}

/** Text as UTF-8; false for a lone surrogate (TextEncoder and cborg would not agree on it). */
function writeText (s: string): boolean {
  const n = s.length
  let ascii = true
  for (let i = 0; i < n; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      ascii = false
      break
    }
  }
  if (ascii) {
    writeHead(3, n)
    room(n)
    for (let i = 0; i < n; i++) out[end++] = s.charCodeAt(i)
    return true
  }
  if (!s.isWellFormed()) return false
  const bytes = utf8.encode(s)
  writeHead(3, bytes.length)
  room(bytes.length)
  out.set(bytes, end)
  end += bytes.length
  return true
}

/** RFC 8949 §4.2.1 order of ASCII keys: by encoded bytes, which is by length, then by bytes. */
function compareKeys (a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)
}

function isAsciiKey (k: string): boolean {
  for (let i = 0; i < k.length; i++) if (k.charCodeAt(i) > 0x7f) return false
  return true
}

function encodeItem (v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'number':
      if (!Number.isSafeInteger(v) || Object.is(v, -0)) return false
      if (v >= 0) writeHead(0, v)
      else writeHead(1, -1 - v)
      return true
    case 'string':
      return writeText(v)
    case 'boolean':
      room(1)
      out[end++] = v ? 0xf5 : 0xf4
      return true
    case 'object': {
      if (v === null) {
        room(1)
        out[end++] = 0xf6
        return true
      }
      if (depth >= ENCODE_MAX_DEPTH) return false
      if (v instanceof Uint8Array) {
        writeHead(2, v.length)
        room(v.length)
        out.set(v, end)
        end += v.length
        return true
      }
      if (Array.isArray(v)) {
        writeHead(4, v.length)
        for (let i = 0; i < v.length; i++) if (!encodeItem(v[i], depth + 1)) return false
        return true
      }
      const proto = Object.getPrototypeOf(v)
      if (proto !== Object.prototype && proto !== null) return false
      const keys = Object.keys(v)
      for (const k of keys) if (!isAsciiKey(k)) return false
      keys.sort(compareKeys)
      writeHead(5, keys.length)
      for (const k of keys) {
        const item = (v as Record<string, unknown>)[k]
        if (item === undefined) return false
        writeText(k)
        if (!encodeItem(item, depth + 1)) return false
      }
      return true
    }
    default:
      return false
  }
}

/**
 * Strict canonical decode: rejects non-canonical integers, duplicate map keys,
 * undefined, indefinite lengths, NaN/Infinity, tags and trailing bytes, so one
 * value has exactly one encoding and re-encoding round-trips byte for byte.
 * For everything that is signed or hashed.
 *
 * Two paths with one answer. The fast path (decodeCanonicalFast) decodes the
 * shapes records use and checks canonical form on the bytes as it reads them;
 * it gives up on anything else (floats, non-ASCII text, non-text map keys,
 * anything malformed), and then the full check decides: walk, cborg, and
 * re-encode comparison. The fast path only returns a value when the full check
 * would return an equal one (codec.test.ts compares both on random and mutated
 * input), so it is never the one that rejects.
 */
export function decodeCanonical (bytes: Uint8Array, maxBytes: number): unknown {
  if (bytes instanceof Uint8Array && bytes.length <= maxBytes) {
    const fast = decodeCanonicalFast(bytes)
    if (fast !== GIVE_UP) return fast
  }
  return decodeCanonicalByReencode(bytes, maxBytes)
}

/** The full check: strict decode, then re-encode and compare byte for byte. Exported for the agreement tests. */
export function decodeCanonicalByReencode (bytes: Uint8Array, maxBytes: number): unknown {
  const value = decodeStrict(bytes, maxBytes)
  // cborg does not check map key order on decode; a re-encode comparison does,
  // and also catches every other non-canonical form at once.
  if (!bytesEqual(encodeCanonical(value), bytes)) {
    throw new CodedError(ErrorCode.RECORD_MALFORMED, 'CBOR is not in canonical form')
  }
  return value
}

// ---- fast path ----------------------------------------------------------------

const GIVE_UP: unique symbol = Symbol('give up')
type GiveUp = typeof GIVE_UP

const NO_TEXT = (): string => ''

/** Read position of the one decode in progress (decoding is synchronous and not re-entered). */
let at = 0
let src: Uint8Array = new Uint8Array(0)
let ascii: (start: number, end: number) => string = NO_TEXT

/**
 * Decode `bytes` if it is canonical CBOR made only of unsigned/negative safe
 * integers, byte strings, ASCII text, arrays, maps with ASCII text keys in
 * canonical order, false, true and null, nested at most MAX_DEPTH deep, with
 * no trailing bytes. Anything else, valid or not: GIVE_UP.
 */
function decodeCanonicalFast (bytes: Uint8Array): unknown {
  at = 0
  src = bytes
  ascii = asciiReader()(bytes)
  try {
    const v = fastItem(0)
    return v === GIVE_UP || at !== bytes.length ? GIVE_UP : v
  } finally {
    src = EMPTY
    ascii = NO_TEXT
  }
}
const EMPTY = new Uint8Array(0)

/** The fast path alone, for the agreement tests: the value, or undefined where it gives up. */
export function tryDecodeCanonicalFast (bytes: Uint8Array): { value: unknown } | undefined {
  const v = decodeCanonicalFast(bytes)
  return v === GIVE_UP ? undefined : { value: v }
}

/** Bytes that follow a CBOR initial byte with additional info `info` (0 below 24); −1 for 28–31 (reserved, indefinite). */
export function headArgBytes (info: number): number {
  return info < 24 ? 0 : info <= 27 ? 1 << (info - 24) : -1
}

/**
 * The argument of a CBOR head with additional info `info` whose argument bytes
 * start at `pos`, if they are all there, in shortest form and at most
 * 2^53 − 1 (beyond that cborg's safe-integer rules decide); −1 otherwise.
 * Reads only: the caller advances by headArgBytes(info).
 */
export function shortestArg (b: Uint8Array, pos: number, info: number): number {
  if (info < 24) return info
  const n = headArgBytes(info)
  if (n < 0 || pos + n > b.length) return -1
  if (n === 1) return b[pos]! >= 24 ? b[pos]! : -1
  if (n === 2) {
    const v = (b[pos]! << 8) | b[pos + 1]!
    return v >= 0x100 ? v : -1
  }
  let v = 0
  for (let i = 0; i < n; i++) v = v * 256 + b[pos + i]!
  return v >= (n === 4 ? 0x10000 : 0x100000000) && v <= Number.MAX_SAFE_INTEGER ? v : -1
}

/** The argument of the head at `at`, advancing past it, if in shortest form; −1 otherwise. */
function fastArg (info: number): number {
  const v = shortestArg(src, at, info)
  if (v >= 0) at += headArgBytes(info)
  return v
}

function fastItem (depth: number): unknown {
  const b = src
  if (at >= b.length) return GIVE_UP
  const head = b[at++]!
  const major = head >> 5
  const info = head & 0x1f
  if (major === 7) {
    if (info === 20) return false
    if (info === 21) return true
    if (info === 22) return null
    return GIVE_UP
  }
  const arg = fastArg(info)
  if (arg < 0) return GIVE_UP
  switch (major) {
    case 0: return arg
    // -1 - (2^53 - 1) is not a safe integer: the full check's call.
    case 1: return arg < Number.MAX_SAFE_INTEGER ? -1 - arg : GIVE_UP
    case 2: {
      if (arg > b.length - at) return GIVE_UP
      // A copy, as cborg makes: the value must not alias the input.
      const out = new Uint8Array(arg)
      out.set(b.subarray(at, at + arg))
      at += arg
      return out
    }
    case 3: return fastText(arg)
    case 4: {
      if (arg > b.length - at || depth >= MAX_DEPTH) return GIVE_UP
      const out = new Array<unknown>(arg)
      for (let i = 0; i < arg; i++) {
        const v = fastItem(depth + 1)
        if (v === GIVE_UP) return GIVE_UP
        out[i] = v
      }
      return out
    }
    case 5: {
      if (arg * 2 > b.length - at || depth >= MAX_DEPTH) return GIVE_UP
      const out: Record<string, unknown> = {}
      let prevStart = -1
      let prevEnd = -1
      for (let i = 0; i < arg; i++) {
        const keyStart = at
        if (at >= b.length || (b[at]! >> 5) !== 3) return GIVE_UP
        const info = b[at++]! & 0x1f
        const len = fastArg(info)
        if (len < 0) return GIVE_UP
        const key = fastKey(len)
        // "__proto__" would set the prototype on a plain object; leave it to the full check.
        if (key === GIVE_UP || key === '__proto__') return GIVE_UP
        // RFC 8949 §4.2.1: keys sorted bytewise by their encoding; strictly, so no key twice.
        if (prevStart >= 0 && compareRanges(b, prevStart, prevEnd, keyStart, at) >= 0) return GIVE_UP
        prevStart = keyStart
        prevEnd = at
        const v = fastItem(depth + 1)
        if (v === GIVE_UP) return GIVE_UP
        out[key] = v
      }
      return out
    }
    default: return GIVE_UP // tags
  }
}

/** ASCII text of `len` bytes at `at`; GIVE_UP for anything else (UTF-8 validity is the full check's job). */
function fastText (len: number): string | GiveUp {
  const b = src
  if (len > b.length - at) return GIVE_UP
  const end = at + len
  for (let i = at; i < end; i++) if (b[i]! > 0x7f) return GIVE_UP
  const s = len === 0 ? '' : ascii(at, end)
  at = end
  return s
}

/**
 * Map keys repeat (every weight is {provider, weight}), so the last key seen
 * per (length, first byte) is kept with its bytes and reused when the bytes
 * match: a byte comparison instead of making a string. Only keys that passed
 * fastText (ASCII) are kept.
 */
const KEY_SLOTS = 64
const keyBytes: Array<Uint8Array | undefined> = new Array(KEY_SLOTS).fill(undefined)
const keyStrings: string[] = new Array(KEY_SLOTS).fill('')

function fastKey (len: number): string | GiveUp {
  const b = src
  if (len === 0 || len > 32 || len > b.length - at) return fastText(len)
  const slot = (len * 7 + b[at]!) & (KEY_SLOTS - 1)
  const known = keyBytes[slot]
  if (known !== undefined && known.length === len) {
    let same = true
    for (let i = 0; i < len; i++) {
      if (known[i] !== b[at + i]) {
        same = false
        break
      }
    }
    if (same) {
      at += len
      return keyStrings[slot]!
    }
  }
  const start = at
  const key = fastText(len)
  if (key !== GIVE_UP) {
    keyBytes[slot] = b.slice(start, start + len)
    keyStrings[slot] = key
  }
  return key
}

function compareRanges (b: Uint8Array, aStart: number, aEnd: number, bStart: number, bEnd: number): number {
  const n = Math.min(aEnd - aStart, bEnd - bStart)
  for (let i = 0; i < n; i++) {
    const d = b[aStart + i]! - b[bStart + i]!
    if (d !== 0) return d
  }
  return (aEnd - aStart) - (bEnd - bStart)
}

/**
 * Strict decode without the canonical-form comparison: for framing that is
 * never signed or hashed (task stream frames), where the re-encode only costs
 * time. Size, nesting, tags, duplicate keys and trailing bytes are still refused.
 */
export function decodeStrict (bytes: Uint8Array, maxBytes: number): unknown {
  if (!(bytes instanceof Uint8Array)) {
    throw new CodedError(ErrorCode.RECORD_MALFORMED, 'expected bytes')
  }
  if (bytes.length > maxBytes) {
    throw new CodedError(ErrorCode.RECORD_TOO_LARGE, `encoded value is ${bytes.length} bytes, limit is ${maxBytes}`, { size: bytes.length, limit: maxBytes })
  }
  checkStructure(bytes, MAX_DEPTH)
  try {
    return decode(bytes, {
      strict: true,
      rejectDuplicateMapKeys: true,
      allowUndefined: false,
      allowIndefinite: false,
      allowNaN: false,
      allowInfinity: false,
      allowBigInt: false,
      useMaps: false,
      tags: []
    })
  } catch (err) {
    throw new CodedError(ErrorCode.RECORD_MALFORMED, `not canonical CBOR: ${(err as Error).message}`)
  }
}
