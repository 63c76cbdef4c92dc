/**
 * Effective configuration: flags, then INFERMESH_* environment variables, then
 * a config file, then the defaults in node/options.ts. Every value remembers
 * where it came from, so `infermesh config` can say so.
 */
import { existsSync, readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import { ROLES, OPTIONAL_PARAMETERS, modelIdSchema, modelIdentitySchema, type ModelIdentity, type ModelOffer, type Role } from '../protocol/capacity.ts'
import { CodedError, ErrorCode } from '../protocol/errors.ts'
import { parseNetworkDefinition, type Network } from '../protocol/network.ts'
import { defaultNodeOptions, referencePrices, upstreamDefaults, type NodeOptions } from './options.ts'
import { isReferenceModelId, REFERENCE_MODELS } from '../protocol/reference/registry.ts'
import { LOG_FORMATS, type LogFormat } from './logger.ts'

export type ConfigSource = 'flag' | 'env' | 'file' | 'default'
export type ConfigKey = keyof NodeOptions

export interface ResolvedConfig {
  options: NodeOptions
  sources: Record<ConfigKey, ConfigSource>
  configFile?: string
}

/** Where seeds/ lives: beside node/ in the package. */
export const SEEDS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'seeds')

const ENV_NAMES: Record<ConfigKey, string> = {
  dataDir: 'INFERMESH_DATA',
  network: 'INFERMESH_NETWORK',
  bootstrap: 'INFERMESH_BOOTSTRAP',
  listen: 'INFERMESH_LISTEN',
  announce: 'INFERMESH_ANNOUNCE',
  relayReserve: 'INFERMESH_RELAY_RESERVE',
  upnp: 'INFERMESH_UPNP',
  relayMaxReservations: 'INFERMESH_RELAY_MAX_RESERVATIONS',
  relayDataLimitKib: 'INFERMESH_RELAY_DATA_LIMIT_KIB',
  relayDurationLimit: 'INFERMESH_RELAY_DURATION_LIMIT',
  api: 'INFERMESH_API',
  apiToken: 'INFERMESH_API_TOKEN',
  roles: 'INFERMESH_ROLE',
  models: 'INFERMESH_MODELS',
  logLevel: 'INFERMESH_LOG_LEVEL',
  logFormat: 'INFERMESH_LOG_FORMAT',
  config: 'INFERMESH_CONFIG',
  backend: 'INFERMESH_BACKEND',
  upstream: 'INFERMESH_UPSTREAM',
  accelerators: 'INFERMESH_ACCELERATORS',
  slots: 'INFERMESH_SLOTS',
  creditLimit: 'INFERMESH_CREDIT_LIMIT',
  upstreamTimeout: 'INFERMESH_UPSTREAM_TIMEOUT',
  upstreamParameters: 'INFERMESH_UPSTREAM_PARAMETERS',
  upstreamInputs: 'INFERMESH_UPSTREAM_INPUTS',
  fault: 'INFERMESH_FAULT',
  maxInboundPerIp: 'INFERMESH_MAX_INBOUND_PER_IP',
  auditsPerEpoch: 'INFERMESH_AUDITS_PER_EPOCH',
  verifyModels: 'INFERMESH_VERIFY_MODELS',
  verifyUpstream: 'INFERMESH_VERIFY_UPSTREAM',
  verifyDialect: 'INFERMESH_VERIFY_DIALECT',
  llamaThreads: 'INFERMESH_LLAMA_THREADS'
}
export { ENV_NAMES }

/**
 * Provider backends. `reference-nondeterministic` is the built-in models with
 * their reductions summed in a random order, imitating a GPU's float
 * nondeterminism (ARCHITECTURE.md §9): it advertises deterministic: false, so
 * validators check it within tolerance. For tests and devnets.
 */
export const BACKENDS = ['reference', 'reference-nondeterministic', 'openai', 'llama'] as const
export type BackendName = typeof BACKENDS[number]

const LIST_KEYS = new Set<ConfigKey>(['bootstrap', 'listen', 'announce', 'roles', 'models', 'verifyModels', 'upstreamParameters', 'upstreamInputs', 'accelerators'])

const fileSchema = z.strictObject({
  dataDir: z.string().min(1),
  network: z.string().min(1),
  bootstrap: z.array(z.string()),
  listen: z.array(z.string()),
  announce: z.array(z.string()),
  relayReserve: z.enum(['auto', 'always', 'never']),
  upnp: z.enum(['auto', 'on', 'off']),
  relayMaxReservations: z.union([z.number(), z.string()]).transform(String),
  relayDataLimitKib: z.union([z.number(), z.string()]).transform(String),
  relayDurationLimit: z.union([z.number(), z.string()]).transform(String),
  api: z.string(),
  apiToken: z.string(),
  roles: z.array(z.string()),
  models: z.array(z.string()),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
  logFormat: z.enum(LOG_FORMATS),
  backend: z.enum(BACKENDS),
  upstream: z.string(),
  accelerators: z.array(z.string()),
  slots: z.union([z.number(), z.string()]).transform(String),
  creditLimit: z.union([z.number(), z.string()]).transform(String),
  upstreamTimeout: z.union([z.number(), z.string()]).transform(String),
  upstreamParameters: z.array(z.string()),
  upstreamInputs: z.array(z.string()),
  fault: z.string(),
  maxInboundPerIp: z.union([z.number(), z.string()]).transform(String),
  auditsPerEpoch: z.union([z.number(), z.string()]).transform(String),
  verifyModels: z.array(z.string()),
  verifyUpstream: z.string(),
  verifyDialect: z.enum(['vllm', 'sglang']),
  llamaThreads: z.union([z.number(), z.string()]).transform(String)
}).partial()

export function splitList (value: string | string[]): string[] {
  const items = Array.isArray(value) ? value : [value]
  return items.flatMap(v => v.split(',')).map(s => s.trim()).filter(s => s.length > 0)
}

/**
 * Layer the sources. `flags` holds only the flags the user actually gave
 * (commander is configured without defaults so absence is visible).
 */
export function resolveConfig (flags: Partial<Record<ConfigKey, string | string[]>>, env: NodeJS.ProcessEnv, cwd: string): ResolvedConfig {
  const options: Record<string, unknown> = { ...defaultNodeOptions }
  const sources = Object.fromEntries(Object.keys(defaultNodeOptions).map(k => [k, 'default'])) as Record<ConfigKey, ConfigSource>

  const fromLayer = (key: ConfigKey, raw: string | string[] | undefined): unknown =>
    raw == null ? undefined : LIST_KEYS.has(key) ? splitList(raw) : Array.isArray(raw) ? raw[raw.length - 1] : raw

  const flagOrEnv = (key: ConfigKey): [unknown, ConfigSource] | undefined => {
    const f = fromLayer(key, flags[key])
    if (f !== undefined) return [f, 'flag']
    const e = fromLayer(key, env[ENV_NAMES[key]])
    if (e !== undefined) return [e, 'env']
    return undefined
  }

  // The data dir and config file path decide which file to read, so settle them first.
  const dataDir = flagOrEnv('dataDir')
  const explicitFile = flagOrEnv('config')
  const dataDirValue = (dataDir?.[0] as string | undefined) ?? defaultNodeOptions.dataDir
  const configFile = explicitFile != null
    ? resolve(cwd, explicitFile[0] as string)
    : existsSync(join(resolve(cwd, dataDirValue), 'config.json')) ? join(resolve(cwd, dataDirValue), 'config.json') : undefined

  let file: z.infer<typeof fileSchema> = {}
  if (configFile != null) {
    let text: string
    try {
      text = readFileSync(configFile, 'utf8')
    } catch (err) {
      throw new CodedError(ErrorCode.CONFIG_INVALID, `cannot read config file ${configFile}: ${(err as Error).message}; fix the path given by --config or ${ENV_NAMES.config}`, { field: 'config' })
    }
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch (err) {
      throw new CodedError(ErrorCode.CONFIG_INVALID, `config file ${configFile} is not valid JSON: ${(err as Error).message}`, { field: 'config' })
    }
    const parsed = fileSchema.safeParse(json)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!
      const field = issue.code === 'unrecognized_keys' ? issue.keys.join(',') : issue.path.join('.')
      throw new CodedError(ErrorCode.CONFIG_INVALID, `config file ${configFile}: field "${field}" ${issue.code === 'unrecognized_keys' ? 'is not a known setting' : issue.message}`, { field })
    }
    file = parsed.data
  }

  for (const key of Object.keys(defaultNodeOptions) as ConfigKey[]) {
    const top = flagOrEnv(key)
    if (top != null) {
      options[key] = top[0]
      sources[key] = top[1]
    } else if (key in file) {
      options[key] = (file as Record<string, unknown>)[key]
      sources[key] = 'file'
    }
  }
  if (configFile != null) options.config = configFile
  return { options: options as NodeOptions, sources, configFile }
}

export interface ApiAddress { host: string, port: number }

export function parseApiAddress (value: string): ApiAddress {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value)
  const host = m?.[1] ?? m?.[2]
  const port = Number(m?.[3])
  if (m == null || host == null || !Number.isInteger(port) || port > 65535) {
    throw new CodedError(ErrorCode.CONFIG_INVALID, `--api "${value}" must be HOST:PORT, e.g. 127.0.0.1:8484`, { field: 'api' })
  }
  return { host, port }
}

export function isLoopbackHost (host: string): boolean {
  if (host === 'localhost') return true
  if (isIP(host) === 4) return host.startsWith('127.')
  if (isIP(host) === 6) return host === '::1'
  return false
}

/** --upstream-parameters: names from OPTIONAL_PARAMETERS (tools, response format, penalties), or "none" to declare that the upstream honours none (whatever its GET /models says). */
export function parseUpstreamParameters (values: string[]): string[] | 'none' {
  if (values.length === 1 && values[0] === 'none') return 'none'
  for (const v of values) {
    if (!OPTIONAL_PARAMETERS.includes(v)) {
      throw new CodedError(ErrorCode.CONFIG_INVALID, `unknown upstream parameter "${v}"; use a comma list of ${OPTIONAL_PARAMETERS.join(', ')}`, { field: 'upstreamParameters' })
    }
  }
  return [...new Set(values)]
}

/** --log-format: auto, json or pretty. */
export function parseLogFormat (value: string): LogFormat {
  if (!(LOG_FORMATS as readonly string[]).includes(value)) throw new CodedError(ErrorCode.CONFIG_INVALID, `--log-format "${value}" is not one of ${LOG_FORMATS.join(', ')}`, { field: 'logFormat' })
  return value as LogFormat
}

/** --upstream-inputs: text and image. */
export function parseUpstreamInputs (values: string[]): string[] {
  for (const v of values) {
    if (v !== 'text' && v !== 'image') throw new CodedError(ErrorCode.CONFIG_INVALID, `unknown upstream input "${v}"; use text, or text,image for a vision model`, { field: 'upstreamInputs' })
  }
  return [...new Set(['text', ...values])]
}

export function parseRoles (values: string[]): Role[] {
  const roles = new Set<Role>()
  for (const v of values) {
    if (!(ROLES as readonly string[]).includes(v)) {
      throw new CodedError(ErrorCode.CONFIG_INVALID, `unknown role "${v}"; use a comma list of ${ROLES.join(', ')}`, { field: 'roles' })
    }
    roles.add(v as Role)
  }
  roles.add('gateway') // every node is a gateway for its own API (ARCHITECTURE.md §2)
  return [...roles]
}

/**
 * One entry of --models: `ID`, `ID=PRICE`, and after either `@SOURCE`.
 * PRICE is in credits per million tokens (both directions). SOURCE is the
 * GGUF file for --backend llama, and for --backend openai what the upstream's
 * weights are, as the operator declares them: `REVISION` or
 * `REVISION#QUANTIZATION` (e.g. `Qwen/Qwen2.5-7B-Instruct@a09a354#bf16`, or
 * the `sha256:…` of the GGUF file the upstream serves).
 */
export interface ModelSpec { id: string, priceMicros: number, source?: string }

const SPEC = /^([^=@]*)(?:=([^@]*))?(?:@(.*))?$/s

export function parseModelSpec (spec: string, field = 'models'): ModelSpec {
  const m = SPEC.exec(spec.trim())
  const id = m?.[1] ?? ''
  if (m == null || !modelIdSchema.safeParse(id).success) {
    throw new CodedError(ErrorCode.CONFIG_INVALID, `model "${id}" in "${spec}" is not a valid id: use 1-128 chars of A-Z a-z 0-9 . _ : / - (then =PRICE and @SOURCE if needed)`, { field })
  }
  const price = m[2]
  const source = m[3]
  let priceMicros = isReferenceModelId(id) ? referencePrices[id] : 0
  if (price != null) {
    const p = Number(price)
    if (price.trim() === '' || !Number.isFinite(p) || p < 0) {
      throw new CodedError(ErrorCode.CONFIG_INVALID, `price "${price}" for model "${id}" must be a non-negative number of credits per million tokens`, { field })
    }
    priceMicros = Math.round(p * 1e6)
  }
  if (source != null && source.trim() === '') throw new CodedError(ErrorCode.CONFIG_INVALID, `"${spec}": nothing after @; give a GGUF path (--backend llama) or the upstream's weights revision (--backend openai)`, { field })
  return source == null ? { id, priceMicros } : { id, priceMicros, source: source.trim() }
}

function parseSpecList (values: string[], field: string): ModelSpec[] {
  const seen = new Set<string>()
  return values.map(v => {
    const spec = parseModelSpec(v, field)
    if (seen.has(spec.id)) throw new CodedError(ErrorCode.CONFIG_INVALID, `model "${spec.id}" is listed twice`, { field })
    seen.add(spec.id)
    return spec
  })
}

/** A declared upstream revision, `REVISION[#QUANTIZATION]`, as a model identity (re-scored tier). */
export function upstreamIdentity (source: string, field = 'models'): ModelIdentity {
  const [weights = '', quantization = 'unknown'] = source.split('#')
  const identity = { weights, quantization, engine: 'openai-upstream', tier: 'rescored' as const }
  const r = modelIdentitySchema.safeParse(identity)
  if (!r.success) throw new CodedError(ErrorCode.CONFIG_INVALID, `"${source}": ${r.error.issues[0]!.path.join('.')} ${r.error.issues[0]!.message}`, { field })
  return r.data
}

/**
 * Offers for the reference and openai backends (the llama backend's come from
 * its files: parseLlamaModelSpecs). Reference models are deterministic only
 * on the reference backend in its default mode; whatever the backend, their
 * wrong answers are fraud proofs (capacity.ts offerTier). An upstream model
 * with a declared revision offers the re-scored tier; without one, none.
 */
export function parseModelSpecs (values: string[], backend: BackendName = 'reference'): ModelOffer[] {
  return parseSpecList(values, 'models').map(({ id, priceMicros, source }) => {
    const ref = isReferenceModelId(id) ? REFERENCE_MODELS[id] : undefined
    if (backend === 'openai') {
      const offer: ModelOffer = { id, backend: 'openai', contextLength: ref?.contextLength ?? upstreamDefaults.contextLength, priceInMicros: priceMicros, priceOutMicros: priceMicros, tokensPerSecondMilli: 0, deterministic: false }
      if (source != null && ref == null) offer.identity = upstreamIdentity(source)
      return offer
    }
    if (backend === 'llama') throw new CodedError(ErrorCode.CONFIG_INVALID, 'internal: llama models are parsed by parseLlamaModelSpecs', { field: 'models' })
    if (ref == null) {
      throw new CodedError(ErrorCode.CONFIG_INVALID, `model "${id}" is not a built-in reference model (${Object.keys(REFERENCE_MODELS).join(', ')}); serve a GGUF file with --backend llama --models ${id}=PRICE@PATH.gguf, or an upstream server with --backend openai --upstream URL`, { field: 'models' })
    }
    if (source != null) throw new CodedError(ErrorCode.CONFIG_INVALID, `"${id}@${source}": the built-in reference models take no @SOURCE`, { field: 'models' })
    return { id, backend: 'reference', contextLength: ref.contextLength, priceInMicros: priceMicros, priceOutMicros: priceMicros, tokensPerSecondMilli: 0, deterministic: backend === 'reference' }
  })
}

/** --backend llama: every model names its GGUF file, `ID=PRICE@PATH`, the path relative to `cwd`. */
export function parseLlamaModelSpecs (values: string[], cwd: string): Array<{ id: string, priceMicros: number, path: string }> {
  return parseSpecList(values, 'models').map(({ id, priceMicros, source }) => {
    if (source == null) throw new CodedError(ErrorCode.CONFIG_INVALID, `--backend llama serves GGUF files: give model "${id}" its file, e.g. --models ${id}=0.1@./models/${id}.gguf`, { field: 'models' })
    return { id, priceMicros, path: resolve(cwd, source) }
  })
}

export type VerifierSpec =
  | { kind: 'llama', models: Array<{ id: string, path: string }> }
  | { kind: 'upstream', url: URL, dialect: 'vllm' | 'sglang', models: Array<{ id: string, identity: ModelIdentity }> }

/**
 * What a validator checks real models with (--verify-models, --verify-upstream):
 * its own GGUF files through the built-in engine (`ID@PATH`), or an
 * OpenAI-compatible server it runs itself (`ID@REVISION[#QUANT]`, the weights
 * that server holds). Undefined when none is given: the validator then audits
 * only the reference models.
 */
export function parseVerifier (options: { verifyModels: string[], verifyUpstream?: string, verifyDialect: string }, cwd: string): VerifierSpec | undefined {
  const specs = parseSpecList(options.verifyModels, 'verifyModels')
  if (specs.length === 0) {
    if (options.verifyUpstream != null) throw new CodedError(ErrorCode.CONFIG_INVALID, '--verify-upstream needs --verify-models ID@REVISION for each model that server holds', { field: 'verifyModels' })
    return undefined
  }
  for (const s of specs) {
    if (s.source == null) throw new CodedError(ErrorCode.CONFIG_INVALID, `--verify-models "${s.id}": say which weights, ${options.verifyUpstream == null ? `e.g. ${s.id}@./models/${s.id}.gguf` : `e.g. ${s.id}@Org/Model@rev#bf16 (what the verify upstream serves)`}`, { field: 'verifyModels' })
  }
  if (options.verifyUpstream == null) return { kind: 'llama', models: specs.map(s => ({ id: s.id, path: resolve(cwd, s.source!) })) }
  let url: URL | undefined
  try {
    url = new URL(options.verifyUpstream)
  } catch {}
  if (url == null || !/^https?:$/.test(url.protocol)) throw new CodedError(ErrorCode.CONFIG_INVALID, `--verify-upstream "${options.verifyUpstream}" must be the base URL of a vLLM or SGLang server you run, e.g. http://127.0.0.1:8000/v1`, { field: 'verifyUpstream' })
  if (options.verifyDialect !== 'vllm' && options.verifyDialect !== 'sglang') throw new CodedError(ErrorCode.CONFIG_INVALID, `--verify-dialect "${options.verifyDialect}" must be vllm or sglang`, { field: 'verifyDialect' })
  return { kind: 'upstream', url, dialect: options.verifyDialect, models: specs.map(s => ({ id: s.id, identity: upstreamIdentity(s.source!, 'verifyModels') })) }
}

export function parsePositiveInt (value: string, field: string, max: number): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new CodedError(ErrorCode.CONFIG_INVALID, `${field} "${value}" must be an integer from 1 to ${max}`, { field })
  }
  return n
}

export function parseBackend (options: { backend: string, upstream?: string }): { kind: 'reference' | 'reference-nondeterministic' | 'llama' } | { kind: 'openai', upstream: URL } {
  if (options.backend === 'reference' || options.backend === 'reference-nondeterministic' || options.backend === 'llama') return { kind: options.backend }
  if (options.backend !== 'openai') {
    throw new CodedError(ErrorCode.CONFIG_INVALID, `unknown backend "${options.backend}"; use ${BACKENDS.join(', ')}`, { field: 'backend' })
  }
  let url: URL | undefined
  try {
    url = options.upstream == null ? undefined : new URL(options.upstream)
  } catch {}
  if (url == null || !/^https?:$/.test(url.protocol)) {
    throw new CodedError(ErrorCode.CONFIG_INVALID, '--backend openai needs --upstream URL, the base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:11434/v1', { field: 'upstream' })
  }
  return { kind: 'openai', upstream: url }
}

/** Read a network by name (seeds/NAME.json) or by path. */
export function loadNetwork (nameOrPath: string, cwd: string): { network: Network, path: string } {
  const looksLikeName = /^[a-z0-9][a-z0-9-]*$/.test(nameOrPath)
  const path = looksLikeName ? join(SEEDS_DIR, `${nameOrPath}.json`) : (isAbsolute(nameOrPath) ? nameOrPath : resolve(cwd, nameOrPath))
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new CodedError(ErrorCode.NETWORK_INVALID, `cannot read network file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; pass --network NAME (a file in seeds/) or --network PATH`, { field: '(file)' })
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new CodedError(ErrorCode.NETWORK_INVALID, `network file ${path} is not valid JSON: ${(err as Error).message}`, { field: '(json)' })
  }
  return { network: parseNetworkDefinition(json, `network file ${path}`), path }
}
