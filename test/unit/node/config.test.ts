import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { isLoopbackHost, parseApiAddress, parseBackend, parseLlamaModelSpecs, parseModelSpec, parseModelSpecs, parsePositiveInt, parseRoles, parseVerifier, resolveConfig, upstreamIdentity } from '../../../node/config.ts'
import { defaultNodeOptions } from '../../../node/options.ts'
import { CodedError, isCodedError } from '../../../protocol/errors.ts'
import { tempDir } from '../../helpers/nodeProcess.ts'

describe('resolveConfig precedence: flags, env, file, defaults', () => {
  it('uses defaults when nothing is given', () => {
    const dir = tempDir()
    const { options, sources } = resolveConfig({}, {}, dir)
    expect(options).toEqual(defaultNodeOptions)
    expect(Object.values(sources).every(s => s === 'default')).toBe(true)
  })

  it('layers each source over the next', () => {
    const dir = tempDir()
    const file = join(dir, 'cfg.json')
    writeFileSync(file, JSON.stringify({ api: '127.0.0.1:9000', network: 'filenet', models: ['ref-small'], logLevel: 'warn' }))
    const env = { INFERMESH_CONFIG: file, INFERMESH_API: '127.0.0.1:9001', INFERMESH_MODELS: 'ref-tiny,ref-embed' }
    const { options, sources } = resolveConfig({ api: '127.0.0.1:9002', listen: ['/ip4/127.0.0.1/tcp/1', '/ip4/127.0.0.1/tcp/2'] }, env, dir)
    expect(options.api).toBe('127.0.0.1:9002')
    expect(sources.api).toBe('flag')
    expect(options.models).toEqual(['ref-tiny', 'ref-embed'])
    expect(sources.models).toBe('env')
    expect(options.network).toBe('filenet')
    expect(sources.network).toBe('file')
    expect(options.logLevel).toBe('warn')
    expect(options.listen).toEqual(['/ip4/127.0.0.1/tcp/1', '/ip4/127.0.0.1/tcp/2'])
    expect(sources.roles).toBe('default')
  })

  it('the audit rate comes from a flag, INFERMESH_AUDITS_PER_EPOCH or the file, and must be a positive integer', () => {
    const dir = tempDir()
    expect(resolveConfig({}, {}, dir).options.auditsPerEpoch).toBe('16')
    const fromEnv = resolveConfig({}, { INFERMESH_AUDITS_PER_EPOCH: '40' }, dir)
    expect([fromEnv.options.auditsPerEpoch, fromEnv.sources.auditsPerEpoch]).toEqual(['40', 'env'])
    const fromFlag = resolveConfig({ auditsPerEpoch: '8' }, { INFERMESH_AUDITS_PER_EPOCH: '40' }, dir)
    expect([fromFlag.options.auditsPerEpoch, fromFlag.sources.auditsPerEpoch]).toEqual(['8', 'flag'])
    expect(parsePositiveInt('32', 'auditsPerEpoch', 10_000)).toBe(32)
    for (const bad of ['0', '-1', '1.5', 'many', '10001']) {
      let err: unknown
      try {
        parsePositiveInt(bad, 'auditsPerEpoch', 10_000)
      } catch (e) {
        err = e
      }
      expect(isCodedError(err, 'CONFIG_INVALID') && (err as Error).message).toMatch(/auditsPerEpoch/)
    }
  })

  it('reads <data>/config.json when present', () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'd'))
    writeFileSync(join(dir, 'd', 'config.json'), JSON.stringify({ roles: ['gateway'] }))
    const { options, sources, configFile } = resolveConfig({ dataDir: 'd' }, {}, dir)
    expect(configFile).toBe(join(dir, 'd', 'config.json'))
    expect(options.roles).toEqual(['gateway'])
    expect(sources.roles).toBe('file')
  })

  it('rejects an unknown setting in the file, naming it', () => {
    const dir = tempDir()
    const file = join(dir, 'cfg.json')
    writeFileSync(file, JSON.stringify({ apii: 'x' }))
    expect(() => resolveConfig({ config: file }, {}, dir)).toThrow(/"apii" is not a known setting/)
  })
})

describe('option parsers', () => {
  it('parses API addresses', () => {
    expect(parseApiAddress('127.0.0.1:8484')).toEqual({ host: '127.0.0.1', port: 8484 })
    expect(parseApiAddress('[::1]:80')).toEqual({ host: '::1', port: 80 })
    for (const bad of ['8484', 'host:', ':80', '1.2.3.4:70000', 'a:b']) {
      expect(() => parseApiAddress(bad)).toThrow(/HOST:PORT/)
    }
  })

  it('knows loopback', () => {
    expect(isLoopbackHost('127.0.0.1')).toBe(true)
    expect(isLoopbackHost('127.5.0.1')).toBe(true)
    expect(isLoopbackHost('::1')).toBe(true)
    expect(isLoopbackHost('localhost')).toBe(true)
    expect(isLoopbackHost('0.0.0.0')).toBe(false)
    expect(isLoopbackHost('10.0.0.1')).toBe(false)
    expect(isLoopbackHost('example.com')).toBe(false)
  })

  it('always adds the gateway role and rejects unknown roles', () => {
    expect(parseRoles(['provider'])).toEqual(['provider', 'gateway'])
    try {
      parseRoles(['miner'])
      expect.unreachable()
    } catch (err) {
      expect(isCodedError(err, 'CONFIG_INVALID')).toBe(true)
    }
  })

  it('parses model specs with prices in micro-credits', () => {
    expect(parseModelSpecs(['ref-tiny', 'ref-small=1.25'])).toMatchObject([
      { id: 'ref-tiny', backend: 'reference', priceInMicros: 100_000 },
      { id: 'ref-small', priceInMicros: 1_250_000, priceOutMicros: 1_250_000 }
    ])
    expect(() => parseModelSpecs(['ref-tiny', 'ref-tiny'])).toThrow(/twice/)
    expect(() => parseModelSpecs(['bad model'])).toThrow(/not a valid id/)
    expect(() => parseModelSpecs(['llama-3'])).toThrow(/not a built-in reference model/)
    expect(() => parseModelSpecs(['ref-tiny=abc'])).toThrow(/non-negative/)
  })

  it('declares a model deterministic only on the bit-exact reference backend', () => {
    expect(parseModelSpecs(['ref-tiny']).map(m => m.deterministic)).toEqual([true])
    expect(parseModelSpecs(['ref-tiny', 'ref-small'], 'reference-nondeterministic')).toMatchObject([
      { id: 'ref-tiny', backend: 'reference', deterministic: false },
      { id: 'ref-small', backend: 'reference', deterministic: false }
    ])
    expect(parseModelSpecs(['ref-tiny', 'llama-3'], 'openai').map(m => [m.backend, m.deterministic])).toEqual([['openai', false], ['openai', false]])
    expect(parseBackend({ backend: 'reference-nondeterministic' })).toEqual({ kind: 'reference-nondeterministic' })
    expect(() => parseBackend({ backend: 'gpu' })).toThrow(/reference, reference-nondeterministic, openai, llama/)
  })

  it('reads @SOURCE: a GGUF path for llama, a declared revision (and #quantization) for an upstream', () => {
    expect(parseModelSpec('tiny=0.5@./models/tiny.gguf')).toEqual({ id: 'tiny', priceMicros: 500_000, source: './models/tiny.gguf' })
    expect(parseModelSpec('tiny@/abs/path=with@signs.gguf')).toEqual({ id: 'tiny', priceMicros: 0, source: '/abs/path=with@signs.gguf' })
    expect(() => parseModelSpec('tiny=1@')).toThrow(/nothing after @/)
    expect(parseLlamaModelSpecs(['tiny=0.1@m.gguf'], '/data')).toEqual([{ id: 'tiny', priceMicros: 100_000, path: '/data/m.gguf' }])
    expect(() => parseLlamaModelSpecs(['tiny=0.1'], '/data')).toThrow(/give model "tiny" its file/)
    const [up] = parseModelSpecs(['qwen=0.3@Qwen/Qwen2.5-7B-Instruct@a09a354#bf16'], 'openai')
    expect(up!.identity).toEqual({ weights: 'Qwen/Qwen2.5-7B-Instruct@a09a354', quantization: 'bf16', engine: 'openai-upstream', tier: 'rescored' })
    const [bare] = parseModelSpecs(['qwen=0.3'], 'openai')
    expect(bare!.identity).toBeUndefined()
    // A reference model keeps the reference tier whatever serves it: no identity to declare.
    expect(parseModelSpecs(['ref-tiny@whatever'], 'openai')[0]!.identity).toBeUndefined()
    expect(() => parseModelSpecs(['ref-tiny@x'])).toThrow(/take no @SOURCE/)
    expect(() => upstreamIdentity('has space')).toThrow(CodedError)
  })

  it('reads a validator\'s verifier: its own GGUF files, or its own re-scoring server', () => {
    expect(parseVerifier({ verifyModels: [], verifyDialect: 'vllm' }, '/d')).toBeUndefined()
    expect(parseVerifier({ verifyModels: ['tiny@m.gguf'], verifyDialect: 'vllm' }, '/d')).toEqual({ kind: 'llama', models: [{ id: 'tiny', path: '/d/m.gguf' }] })
    const up = parseVerifier({ verifyModels: ['tiny@sha256:' + 'a'.repeat(64) + '#F16'], verifyUpstream: 'http://127.0.0.1:8000/v1', verifyDialect: 'sglang' }, '/d')
    expect(up).toMatchObject({ kind: 'upstream', dialect: 'sglang', models: [{ id: 'tiny', identity: { weights: 'sha256:' + 'a'.repeat(64), quantization: 'F16', tier: 'rescored' } }] })
    expect(() => parseVerifier({ verifyModels: [], verifyUpstream: 'http://x', verifyDialect: 'vllm' }, '/d')).toThrow(/needs --verify-models/)
    expect(() => parseVerifier({ verifyModels: ['tiny'], verifyDialect: 'vllm' }, '/d')).toThrow(/say which weights/)
    expect(() => parseVerifier({ verifyModels: ['tiny@r'], verifyUpstream: 'ftp://x', verifyDialect: 'vllm' }, '/d')).toThrow(/base URL/)
    expect(() => parseVerifier({ verifyModels: ['tiny@r'], verifyUpstream: 'http://x', verifyDialect: 'tgi' }, '/d')).toThrow(/vllm or sglang/)
  })
})
