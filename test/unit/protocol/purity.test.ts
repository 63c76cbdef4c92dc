import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// protocol/ is pure (ARCHITECTURE.md §3): no `node:` module, no I/O, timers,
// clocks, environment or runtime globals, and imports only from protocol/ itself
// and a short list of portable, pure packages. What it needs from the runtime
// (native Ed25519, a fast sha256 or ASCII reader) is passed in by node/.
// The narrower tests beside it (consensus/, reference/, gguf/) add their own rules.

const ROOT = fileURLToPath(new URL('../../../protocol/', import.meta.url))
const PURE_PACKAGES = /^(@noble\/hashes\/sha2\.js|@noble\/curves\/ed25519\.js|cborg|zod|multiformats\/(bases\/base58|cid|codecs\/raw|hashes\/digest))$/
const IMPURE = /\b(process|setTimeout|setInterval|setImmediate|queueMicrotask|clearTimeout|clearInterval|Date|performance|require|fetch|globalThis|window|Buffer|crypto|navigator|Deno|Bun|WebSocket|XMLHttpRequest|localStorage|console|getBuiltinModule)\b/

function tsFiles (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(e => {
    const p = join(dir, e.name)
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith('.ts') ? [p] : []
  }).sort()
}

/**
 * The code with comments and the contents of string and template literals
 * blanked out (template substitutions kept: they are code), so that prose and
 * test prompts about `process` or `fetch` do not count.
 */
export function codeOnly (src: string): string {
  let out = ''
  let i = 0
  const braces: number[] = [] // per open template substitution, the brace depth inside it
  while (i < src.length) {
    const c = src[i]!
    const next = src[i + 1]
    if (c === '/' && next === '/') {
      while (i < src.length && src[i] !== '\n') i++
    } else if (c === '/' && next === '*') {
      const end = src.indexOf('*/', i + 2)
      i = end === -1 ? src.length : end + 2
      out += ' '
    } else if (c === '\'' || c === '"') {
      i++
      while (i < src.length && src[i] !== c && src[i] !== '\n') i += src[i] === '\\' ? 2 : 1
      i++
      out += c + c
    } else if (c === '`' || (c === '}' && braces.length > 0 && braces[braces.length - 1] === 0)) {
      if (c === '}') braces.pop()
      i++
      while (i < src.length && src[i] !== '`' && !(src[i] === '$' && src[i + 1] === '{')) i += src[i] === '\\' ? 2 : 1
      if (src[i] === '$') { braces.push(0); i += 2; out += '`${' } else { i++; out += '``' }
    } else {
      if (braces.length > 0) {
        if (c === '{') braces[braces.length - 1]!++
        else if (c === '}') braces[braces.length - 1]!--
      }
      out += c
      i++
    }
  }
  return out
}

/** Every import and export-from specifier, and dynamic imports, of the source. */
export function specifiersOf (src: string): string[] {
  const stripped = src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '')
  return [
    ...[...stripped.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]/gm)].map(m => m[1]!),
    ...[...stripped.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm)].map(m => m[1]!),
    ...[...stripped.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]/g)].map(m => m[1]!)
  ]
}

/** Why `file` (a path under protocol/) is impure, or undefined. */
export function impurity (file: string, src: string): string | undefined {
  for (const s of specifiersOf(src)) {
    if (s.startsWith('.')) {
      const target = relative(ROOT, join(ROOT, file, '..', s))
      if (target.startsWith('..')) return `imports ${s}, outside protocol/`
    } else if (!PURE_PACKAGES.test(s)) {
      return `imports ${s}`
    }
  }
  if (/\bimport\s*\(/.test(codeOnly(src))) return 'imports dynamically'
  const hit = codeOnly(src).match(IMPURE)?.[0]
  return hit == null ? undefined : `uses ${hit}`
}

const files = tsFiles(ROOT).map(p => ({ file: relative(ROOT, p), text: readFileSync(p, 'utf8') }))

describe('protocol/ purity, every file', () => {
  it('finds every part of protocol/', () => {
    const dirs = new Set(files.map(f => f.file.split('/')[0]))
    for (const d of ['consensus', 'corpus', 'gguf', 'ledger', 'reference', 'sampling', 'verify', 'codec.ts', 'task.ts']) expect(dirs).toContain(d)
    expect(files.length).toBeGreaterThan(50)
  })

  it('catches what it is meant to catch, and lets prose and strings be', () => {
    const planted: Array<[string, string]> = [
      ["import { createHash } from 'node:crypto'\n", 'imports node:crypto'],
      ["import { readFileSync } from 'fs'\n", 'imports fs'],
      ["export { x } from 'node:os'\n", 'imports node:os'],
      ["import 'node:process'\n", 'imports node:process'],
      ["import { Level } from 'level'\n", 'imports level'],
      ["import { x } from '../../node/options.ts'\n", 'imports ../../node/options.ts, outside protocol/'],
      ['const m = await import(name)\n', 'imports dynamically'],
      ['const t = Date.now()\n', 'uses Date'],
      ['setTimeout(f, 10)\n', 'uses setTimeout'],
      ['const h = process.env.HOME\n', 'uses process'],
      ["const c = (globalThis as any).process.getBuiltinModule('node:crypto')\n", 'uses globalThis'],
      ['const b = Buffer.from(x)\n', 'uses Buffer'],
      ['const s = `${Date.now()}`\n', 'uses Date']
    ]
    for (const [src, why] of planted) expect(impurity('ledger/entries.ts', src), src).toBe(why)
    const fine = [
      "import { sha256 } from '@noble/hashes/sha2.js'\nimport { toHex } from '../bytes.ts'\n",
      "// process.env and setTimeout in a comment\n/** Date.now() in a doc */\nconst x = 1\n",
      "const prompt = 'Uncaught ReferenceError: process is not defined'\nconst code = \"setTimeout(() => fetch(url), 100)\"\n",
      'const t = `for (;;) { setTimeout(f) }`\nconst u = `${a + `nested ${b}`} and Date`\n'
    ]
    for (const src of fine) expect(impurity('corpus/pools.ts', src), src).toBeUndefined()
  })

  for (const { file, text } of files) {
    it(`${file} imports no node: module and reaches no runtime`, () => {
      expect(impurity(file, text)).toBeUndefined()
    })
  }
})
