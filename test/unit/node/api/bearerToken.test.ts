import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { bearerTokenMatches } from '../../../../node/api/server.ts'

const token = 'a-long-enough-test-token-123'
const tokenDigest = createHash('sha256').update(token).digest()

describe('bearerTokenMatches', () => {
  it('accepts exactly the token, with the scheme in any case', () => {
    expect(bearerTokenMatches(`Bearer ${token}`, tokenDigest)).toBe(true)
    expect(bearerTokenMatches(`bearer ${token}`, tokenDigest)).toBe(true)
  })

  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['the scheme alone', 'Bearer '],
    ['the bare token without a scheme', token],
    ['another scheme', `Basic ${token}`],
    ['a prefix of the token', `Bearer ${token.slice(0, -1)}`],
    ['a one-character prefix', `Bearer ${token[0]}`],
    ['the token and one more character', `Bearer ${token}x`],
    ['the token twice', `Bearer ${token}${token}`],
    ['the token with a trailing space', `Bearer ${token} `],
    ['the token with a different last character', `Bearer ${token.slice(0, -1)}4`],
    ['two spaces after the scheme', `Bearer  ${token}`],
    ['the token upper-cased', `Bearer ${token.toUpperCase()}`],
    ['a 64 KiB token', `Bearer ${'a'.repeat(65536)}`]
  ])('refuses %s', (_what, header) => {
    expect(bearerTokenMatches(header, tokenDigest)).toBe(false)
  })

  it('refuses every other string, of any length', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }).filter(s => s !== token), s => !bearerTokenMatches(`Bearer ${s}`, tokenDigest)), { numRuns: 500 })
  })
})
