import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

// protocol/ is pure (no I/O, timers, clocks or Node-only APIs): the GGUF
// module works on Uint8Array and DataView, and the node does the file reads.

const DIR = new URL('../../../../protocol/gguf/', import.meta.url)
const files = readdirSync(DIR).filter(f => f.endsWith('.ts')).sort()
const IMPURE = /\b(process|setTimeout|setInterval|setImmediate|queueMicrotask|Date|performance|require|fetch|globalThis|Buffer)\b|from 'node:|from 'fs'/

function stripComments (src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '')
}

describe('protocol/gguf purity', () => {
  it('finds the source files', () => {
    expect(files).toEqual(expect.arrayContaining(['format.ts', 'quantize.ts', 'writer.ts', 'reader.ts', 'llama.ts', 'testModel.ts', 'vocab.ts']))
  })

  for (const file of files) {
    const code = stripComments(readFileSync(new URL(file, DIR), 'utf8'))
    it(`${file} uses no I/O, timers, clocks or Buffer`, () => {
      expect(code.match(IMPURE)?.[0]).toBeUndefined()
    })

    it(`${file} imports only sibling files and pure protocol modules`, () => {
      const specifiers = [...code.matchAll(/from '([^']+)'/g)].map(m => m[1]!)
      for (const s of specifiers) expect(s).toMatch(/^(\.\/[a-zA-Z]+\.ts|\.\.\/(errors|bytes)\.ts|\.\.\/reference\/prng\.ts)$/)
    })
  }
})
