/**
 * Canonical bytes (design.md §4): deterministic CBOR as RFC 8949 §4.2.1 defines
 * it (shortest-form integers and floats, map keys sorted bytewise, definite
 * lengths). Chosen once; golden-byte fixtures in test/fixtures pin it.
 */
import { decode, encode, rfc8949EncodeOptions } from 'cborg'
import { bytesEqual } from './bytes.ts'
import { CodedError, ErrorCode } from './errors.ts'

export function encodeCanonical (value: unknown): Uint8Array {
  return encode(value, rfc8949EncodeOptions)
}

/**
 * Strict decode: rejects non-canonical integers, duplicate map keys, undefined,
 * indefinite lengths, NaN/Infinity, tags and trailing bytes, so one value has
 * exactly one encoding and re-encoding round-trips byte for byte.
 */
export function decodeCanonical (bytes: Uint8Array, maxBytes: number): unknown {
  if (!(bytes instanceof Uint8Array)) {
    throw new CodedError(ErrorCode.RECORD_MALFORMED, 'expected bytes')
  }
  if (bytes.length > maxBytes) {
    throw new CodedError(ErrorCode.RECORD_TOO_LARGE, `encoded value is ${bytes.length} bytes, limit is ${maxBytes}`, { size: bytes.length, limit: maxBytes })
  }
  let value: unknown
  try {
    value = decode(bytes, {
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
  // cborg does not check map key order on decode; a re-encode comparison does,
  // and also catches every other non-canonical form at once.
  if (!bytesEqual(encodeCanonical(value), bytes)) {
    throw new CodedError(ErrorCode.RECORD_MALFORMED, 'CBOR is not in canonical form')
  }
  return value
}
