/**
 * Issue 16, memory: `npm start` runs the bundle with memoryDefaults' V8 flags,
 * and the bundle loads a role's modules only when the role needs them.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { memoryDefaults, VERSION } from '../../../node/options.ts'
import { build, BUILD_ENTRY, buildIsFresh, REPO_ROOT } from '../../../scripts/build.ts'

const scripts = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts

describe('npm start', () => {
  it('runs the built bundle with exactly memoryDefaults.v8Flags, after building it', () => {
    const words = scripts.start!.split(/\s+/)
    expect(words[0]).toBe('node')
    const entry = words.findIndex(w => !w.startsWith('-') && w !== 'node')
    expect(words.slice(1, entry)).toEqual([...memoryDefaults.v8Flags])
    expect(join(REPO_ROOT, words[entry]!)).toBe(BUILD_ENTRY)
    expect(words.slice(entry + 1)).toEqual(['start'])
    expect(scripts.prestart).toMatch(/^node scripts\/build\.ts\b/)
  })

  it('every memory limit is a positive number', () => {
    for (const [k, v] of Object.entries(memoryDefaults)) {
      if (k === 'v8Flags') continue
      if (typeof v === 'object') for (const [k2, v2] of Object.entries(v)) expect(v2, `${k}.${k2}`).toBeGreaterThan(0)
      else expect(v, k).toBeGreaterThan(0)
    }
    for (const f of memoryDefaults.v8Flags) expect(f).toMatch(/^--[a-z-]+=\d+$/)
  })
})

describe('the bundle', () => {
  // Beside the real build, so the packages left out of the bundle (classic-level) resolve from node_modules.
  // node_modules/.cache does not exist on a fresh clone before the first build.
  mkdirSync(join(REPO_ROOT, 'node_modules', '.cache'), { recursive: true })
  const out = mkdtempSync(join(REPO_ROOT, 'node_modules', '.cache', 'infermesh-test-'))
  afterAll(() => rmSync(out, { recursive: true, force: true }))

  it('builds, runs, and keeps role-specific code in chunks of its own', { timeout: 60_000 }, async () => {
    const entry = await build({ quiet: true, outDir: out })
    expect(execFileSync(process.execPath, [entry, '--version'], { encoding: 'utf8' }).trim()).toBe(VERSION)
    const chunks = readdirSync(out)
    // Loaded only by a validator, a provider of the reference backend, the devnet and doctor commands.
    // ...and by a node with --upnp (node:https and node:tls come with it).
    for (const name of ['auditor', 'reference', 'devnet', 'doctor', 'portMapping']) expect(chunks.some(c => c.startsWith(`${name}-`)), name).toBe(true)
    // node:http is never imported as an ES module: its facade would load Node's own undici (scripts/build.ts).
    for (const c of chunks.filter(c => c.endsWith('.mjs'))) expect(readFileSync(join(out, c), 'utf8'), c).not.toMatch(/from\s*["'`](node:)?http["'`]/)
    // One-byte source strings in V8: the bundle is ASCII.
    expect(/[^\x00-\x7f]/.test(readFileSync(entry, 'latin1'))).toBe(false)
    // import.meta is rewritten to the original file's place: the seeds directory resolves.
    expect(existsSync(join(REPO_ROOT, 'seeds'))).toBe(true)
    expect(execFileSync(process.execPath, [entry, 'config', '--json', '--data', out], { encoding: 'utf8', cwd: out })).toContain('"network"')
  })

  it('is rebuilt when a source changes, or when another checkout built it (a worktree sharing node_modules)', () => {
    // Runs after the build above, in the same directory.
    expect(buildIsFresh(out)).toBe(true)
    const manifestPath = join(out, 'manifest.json')
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { builtAt: number, root: string, inputs: string[] }
    expect(manifest.inputs).toContain(join('node', 'market', 'gateway.ts'))
    writeFileSync(manifestPath, JSON.stringify({ ...manifest, root: '/another/checkout' }))
    expect(buildIsFresh(out)).toBe(false)
    // A source file newer than the build.
    writeFileSync(manifestPath, JSON.stringify({ ...manifest, builtAt: statSync(join(REPO_ROOT, 'node', 'market', 'gateway.ts')).mtimeMs - 1 }))
    expect(buildIsFresh(out)).toBe(false)
    writeFileSync(manifestPath, JSON.stringify(manifest))
    expect(buildIsFresh(out)).toBe(true)
  })
})
