import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isHexOf, toHex } from '../../../protocol/bytes.ts'

describe('isHexOf', () => {
  it('agrees with toHex(b) === hex, for the hex of b, of other bytes, in upper case, cut or lengthened', () => {
    const hexOf = fc.uint8Array({ maxLength: 40 }).chain(b => fc.tuple(fc.constant(b), fc.oneof(
      fc.constant(toHex(b)),
      fc.constant(toHex(b).toUpperCase()),
      fc.constant(toHex(b).slice(1)),
      fc.constant(`${toHex(b)}0`),
      fc.uint8Array({ minLength: b.length, maxLength: b.length }).map(toHex),
      fc.nat({ max: 2 * b.length }).chain(i => fc.constantFrom('0', 'f', 'g', 'é').map(c => toHex(b).slice(0, i) + c + toHex(b).slice(i + 1)))
    )))
    fc.assert(fc.property(hexOf, ([b, hex]) => {
      expect(isHexOf(b, hex)).toBe(toHex(b) === hex)
    }), { numRuns: 2000 })
  })
})
