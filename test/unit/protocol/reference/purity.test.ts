import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

// protocol/reference must compute bit-identical results in every JS engine
// (ARCHITECTURE.md §8): no transcendental builtins (their results are not specified
// to the bit), no exponent operator (it is Math.pow), and no I/O, timers or
// clocks (protocol/ is pure).

const DIR = new URL('../../../../protocol/reference/', import.meta.url)
const files = readdirSync(DIR).filter((f) => f.endsWith('.ts')).sort()
const sources = files.map((f) => ({ file: f, text: readFileSync(new URL(f, DIR), 'utf8') }))

const TRANSCENDENTAL = /Math\s*\.\s*(exp|log|pow|tanh|sin|cos|tan|expm1|log1p|log2|log10|cbrt|hypot|atan|atan2|asin|acos|sinh|cosh|asinh|acosh|atanh|fround)/
const MATH_INDEXED = /Math\s*\[/
const EXPONENT_OPERATOR = /\*\*/
const IMPURE = /\b(process|setTimeout|setInterval|setImmediate|queueMicrotask|Date|performance|require|fetch|globalThis)\b|from 'node:|from 'fs'/

function stripComments (src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '')
}

describe('protocol/reference purity', () => {
  it('finds the source files', () => {
    expect(files).toEqual(expect.arrayContaining(['detmath.ts', 'model.ts', 'sampler.ts', 'prng.ts', 'weights.ts', 'index.ts']))
  })

  it('the patterns catch what they are meant to catch', () => {
    for (const s of ['Math.exp(x)', 'Math.log2(x)', 'Math.log1p(x)', 'Math.tanh(x)', 'Math.pow(2, k)', 'Math.fround(x)', 'Math .sin(x)']) {
      expect(TRANSCENDENTAL.test(s)).toBe(true)
    }
    expect(TRANSCENDENTAL.test('Math.sqrt(x) + Math.floor(y) + Math.imul(a, b)')).toBe(false)
    expect(EXPONENT_OPERATOR.test(stripComments('const y = 2 ** k'))).toBe(true)
    expect(EXPONENT_OPERATOR.test(stripComments('/** doc */\n// xoshiro128**\nconst y = 2 * k'))).toBe(false)
    expect(IMPURE.test("import { readFileSync } from 'node:fs'")).toBe(true)
    expect(IMPURE.test('const t = Date.now()')).toBe(true)
  })

  for (const { file, text } of sources) {
    it(`${file} calls no transcendental builtin, even in comments`, () => {
      expect(text.match(TRANSCENDENTAL)?.[0]).toBeUndefined()
      expect(text.match(MATH_INDEXED)?.[0]).toBeUndefined()
    })

    it(`${file} uses no exponent operator and no I/O, timers or clocks`, () => {
      const code = stripComments(text)
      expect(code.match(EXPONENT_OPERATOR)?.[0]).toBeUndefined()
      expect(code.match(IMPURE)?.[0]).toBeUndefined()
    })

    it(`${file} imports only sibling files, ../bytes.ts and @noble/hashes`, () => {
      const specifiers = [...stripComments(text).matchAll(/from '([^']+)'/g)].map((m) => m[1]!)
      for (const s of specifiers) expect(s).toMatch(/^(\.\/[a-zA-Z]+\.ts|\.\.\/bytes\.ts|@noble\/hashes\/sha2\.js)$/)
    })
  }
})
