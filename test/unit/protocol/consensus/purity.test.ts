import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

// protocol/consensus must give bit-identical results on every node
// (ARCHITECTURE.md §9): integer arithmetic only, so no transcendental builtins and
// no exponent operator; and it is pure protocol code, so no I/O, timers or
// clocks, and imports only from siblings, ../codec.ts, ../bytes.ts, ../sha256.ts
// (sha256 as @noble/hashes gives it, or the same bytes from a runtime's own) and @noble/hashes.

const DIR = new URL('../../../../protocol/consensus/', import.meta.url)
const files = readdirSync(DIR).filter((f) => f.endsWith('.ts')).sort()
const sources = files.map((f) => ({ file: f, text: readFileSync(new URL(f, DIR), 'utf8') }))

const TRANSCENDENTAL = /Math\s*\.\s*(exp|log|pow|tanh|sin|cos|tan|expm1|log1p|log2|log10|cbrt|hypot|atan|atan2|asin|acos|sinh|cosh|asinh|acosh|atanh|fround|random)\b/
const EXPONENT_OPERATOR = /\*\*/
const IMPURE = /\b(process|setTimeout|setInterval|setImmediate|queueMicrotask|Date|performance|require|fetch|globalThis|crypto)\b|from 'node:|from 'fs'/

function stripComments (src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '')
}

describe('protocol/consensus purity', () => {
  it('finds the source files', () => {
    expect(files).toEqual(expect.arrayContaining(['fixedPoint.ts', 'yuma.ts', 'majorityWeight.ts', 'stateRoot.ts', 'input.ts', 'types.ts', 'index.ts']))
  })

  for (const { file, text } of sources) {
    it(`${file}: no transcendental builtin, no Math.random, no exponent operator`, () => {
      const code = stripComments(text)
      expect(code.match(TRANSCENDENTAL)?.[0]).toBeUndefined()
      expect(code.match(EXPONENT_OPERATOR)?.[0]).toBeUndefined()
    })

    it(`${file}: no I/O, timers or clocks; imports only siblings, ../codec.ts, ../bytes.ts, ../sha256.ts and @noble/hashes/sha2.js`, () => {
      const code = stripComments(text)
      expect(code.match(IMPURE)?.[0]).toBeUndefined()
      const specifiers = [...code.matchAll(/from '([^']+)'/g)].map((m) => m[1]!)
      for (const s of specifiers) expect(s).toMatch(/^(\.\/[a-zA-Z]+\.ts|\.\.\/codec\.ts|\.\.\/bytes\.ts|\.\.\/sha256\.ts|@noble\/hashes\/sha2\.js)$/)
    })
  }

  it('../sha256.ts, the hash hook it imports: pure, and imports only @noble/hashes/sha2.js', () => {
    const code = stripComments(readFileSync(new URL('../sha256.ts', DIR), 'utf8'))
    expect(code.match(IMPURE)?.[0]).toBeUndefined()
    expect([...code.matchAll(/from '([^']+)'/g)].map((m) => m[1])).toEqual(['@noble/hashes/sha2.js'])
  })
})
