/**
 * Canonical bytes (design.md §4): deterministic CBOR as RFC 8949 §4.2.1 defines
 * it (shortest-form integers and floats, map keys sorted bytewise, definite
 * lengths). Chosen once; golden-byte fixtures in test/fixtures pin it.
 */
import { decode, encode, rfc8949EncodeOptions } from 'cborg'
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
  return encode(value, rfc8949EncodeOptions)
}

/**
 * Strict canonical decode: rejects non-canonical integers, duplicate map keys,
 * undefined, indefinite lengths, NaN/Infinity, tags and trailing bytes, so one
 * value has exactly one encoding and re-encoding round-trips byte for byte.
 * For everything that is signed or hashed.
 */
export function decodeCanonical (bytes: Uint8Array, maxBytes: number): unknown {
  const value = decodeStrict(bytes, maxBytes)
  // cborg does not check map key order on decode; a re-encode comparison does,
  // and also catches every other non-canonical form at once.
  if (!bytesEqual(encodeCanonical(value), bytes)) {
    throw new CodedError(ErrorCode.RECORD_MALFORMED, 'CBOR is not in canonical form')
  }
  return value
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
