/** Shared helpers for the protocol unit tests. */
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { expect } from 'vitest'
import { CodedError, type ErrorCode, type ErrorMeta } from '../../../protocol/errors.ts'

export interface Golden {
  codec: { valueHex: string }
  identity: Record<'a' | 'b', { seedHex: string, publicKeyHex: string, peerIdBytesHex: string, peerId: string }>
  network: Record<'golden' | 'minimal', { agreedHex: string, idHex: string, protocolPrefix: string }>
  signing: { domain: string, networkIdHex: string, payloadHex: string, messageHex: string, signatureHex: string }
  capacity: { bodyHex: string, sigHex: string, recordHex: string, keyHex: string, modelCids: Record<string, string> }
}

/** golden.json is data generated once by test/fixtures/generate-golden.ts. */
export const golden: Golden = JSON.parse(readFileSync(new URL('../../fixtures/golden.json', import.meta.url), 'utf8'))

/** Runs fn and returns the CodedError it throws; fails the test on any other outcome. */
export function catchCoded (fn: () => unknown): CodedError {
  try {
    fn()
  } catch (err) {
    if (err instanceof CodedError) return err
    throw new Error(`expected a CodedError, got ${String(err)}`, { cause: err })
  }
  throw new Error('expected a CodedError, but nothing was thrown')
}

export function expectCode (fn: () => unknown, code: ErrorCode, meta?: ErrorMeta): CodedError {
  const err = catchCoded(fn)
  expect(err.code, err.message).toBe(code)
  if (meta != null) expect(err.meta).toMatchObject(meta)
  return err
}

/**
 * The node's own Ed25519 verification (libsodium where its addon loads) and its
 * OpenSSL fallback (node/crypto/nativeVerify.ts), for protocol tests that check
 * what node/ runs on hot paths (ARCHITECTURE.md §4).
 */
export { nativeVerify, openSslVerify } from '../../../node/crypto/nativeVerify.ts'

/** Returns a copy of b with one bit flipped. */
export function flipBit (b: Uint8Array, bit: number): Uint8Array {
  const out = b.slice()
  const i = Math.floor(bit / 8) % out.length
  out[i] = out[i]! ^ (1 << (bit % 8))
  return out
}

/** Values the codec is meant to carry: no undefined, NaN, ±Infinity, -0 or unsafe ints. */
export const { cborValue } = fc.letrec(tie => ({
  cborValue: fc.oneof(
    { depthSize: 'small', maxDepth: 6, withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.maxSafeInteger(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter(d => !Object.is(d, -0)),
    fc.string({ unit: 'binary' }),
    fc.uint8Array({ maxLength: 64 }),
    fc.array(tie('cborValue'), { maxLength: 5 }),
    fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), tie('cborValue'), { maxKeys: 5 })
  )
}))
