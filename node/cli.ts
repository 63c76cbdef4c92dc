/**
 * The infermesh command line (commander). Exit status: 0 ok, 1 runtime failure,
 * 2 bad input (flags, config, network file, identity, port in use). Every error
 * says what to do next.
 */
import { resolve } from 'node:path'
import { Command, CommanderError } from 'commander'
import { CodedError, ErrorCode, isCodedError } from '../protocol/errors.ts'
import { ENV_NAMES, parseLogFormat, resolveConfig, type ConfigKey } from './config.ts'
import { createLogger, prettyLogs } from './logger.ts'
import { bannerInfo, startBanner } from './banner.ts'
import { startNode } from './node.ts'
import { auditorDefaults, cliDefaults, defaultNodeOptions, VERSION } from './options.ts'
import { OPTIONAL_PARAMETERS } from '../protocol/capacity.ts'
import { loadOrCreateIdentity } from './store/identityFile.ts'
import { execForMemory, reduceHeapWhenIdle, runsLlama } from './memoryExec.ts'

export const EXIT_RUNTIME = 1
export const EXIT_USAGE = 2

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value]

function fail (err: unknown): never {
  const usage = isCodedError(err) && err.code !== ErrorCode.INTERNAL
  process.stderr.write(`infermesh: ${(err as Error).message}\n`)
  process.exit(usage ? EXIT_USAGE : EXIT_RUNTIME)
}

function pad (s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length)
}

export function formatTable (headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: string[]): string => cells.map((c, i) => pad(c, widths[i]!)).join('  ').trimEnd()
  return [line(headers), line(widths.map(w => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n'
}

async function apiGet (base: string, path: string, token?: string, method: 'GET' | 'POST' = 'GET', timeoutMs = 30_000): Promise<unknown> {
  let res: Response
  try {
    res = await fetch(new URL(path, base), { method, headers: token != null ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(timeoutMs) })
  } catch (err) {
    throw new CodedError(ErrorCode.CONFIG_INVALID, `cannot reach the node API at ${base} (${(err as Error).cause != null ? String(((err as Error).cause as Error).message) : (err as Error).message}); start a node with "infermesh start" or pass --api URL`)
  }
  const body = await res.json().catch(() => undefined) as { error?: { message?: string } } | undefined
  if (!res.ok) throw new CodedError(ErrorCode.INVALID_REQUEST, `the node answered ${res.status}: ${body?.error?.message ?? res.statusText}`)
  return body
}

function startFlags (opts: Record<string, unknown>): Partial<Record<ConfigKey, string | string[]>> {
  const map: Record<string, ConfigKey> = {
    data: 'dataDir', network: 'network', bootstrap: 'bootstrap', listen: 'listen', announce: 'announce', relayReserve: 'relayReserve', upnp: 'upnp', relayMaxReservations: 'relayMaxReservations', relayDataLimit: 'relayDataLimitKib', relayDurationLimit: 'relayDurationLimit', api: 'api', apiToken: 'apiToken', role: 'roles', models: 'models', logLevel: 'logLevel', logFormat: 'logFormat', config: 'config', backend: 'backend', accelerator: 'accelerators', upstream: 'upstream', slots: 'slots', creditLimit: 'creditLimit', upstreamTimeout: 'upstreamTimeout', upstreamParameters: 'upstreamParameters', upstreamInputs: 'upstreamInputs', fault: 'fault', maxInboundPerIp: 'maxInboundPerIp', auditsPerEpoch: 'auditsPerEpoch', verifyModels: 'verifyModels', verifyUpstream: 'verifyUpstream', verifyDialect: 'verifyDialect', llamaThreads: 'llamaThreads'
  }
  const flags: Partial<Record<ConfigKey, string | string[]>> = {}
  for (const [flag, key] of Object.entries(map)) {
    const v = opts[flag]
    if (v !== undefined) flags[key] = v as string | string[]
  }
  return flags
}

export function buildProgram (): Command {
  const program = new Command()
  program
    .name('infermesh')
    .description('Decentralized inference marketplace node')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()

  program.command('start')
    .description('run a node: join the network, advertise capacity, serve the API')
    .option('--data <dir>', `data directory (default ${defaultNodeOptions.dataDir})`)
    .option('--network <name|file>', `network name in seeds/ or a network file (default ${defaultNodeOptions.network})`)
    .option('--bootstrap <multiaddr>', 'extra bootstrap peer, repeatable; adds to the network file\'s list', collect)
    .option('--listen <multiaddr>', `libp2p listen address, repeatable (default ${defaultNodeOptions.listen.join(',')})`, collect)
    .option('--announce <multiaddr>', 'address to advertise instead of the listen addresses (e.g. the public address behind NAT), repeatable', collect)
    .option('--relay-reserve <when>', `reserve a slot on circuit relays and advertise the relayed address: auto (when listening on a LAN address and announcing none: behind NAT), always or never (default ${defaultNodeOptions.relayReserve})`)
    .option('--upnp <when>', `map the listen port on the router by UPnP IGD or NAT-PMP: auto (the rule of --relay-reserve), on or off (default ${defaultNodeOptions.upnp})`)
    .option('--relay-max-reservations <n>', `relay role: reservations held at once (default ${defaultNodeOptions.relayMaxReservations})`)
    .option('--relay-data-limit <KiB>', `relay role: data one relayed connection may carry, both ways (default ${defaultNodeOptions.relayDataLimitKib})`)
    .option('--relay-duration-limit <seconds>', `relay role: how long one relayed connection may stay open (default ${defaultNodeOptions.relayDurationLimit})`)
    .option('--api <host:port>', `HTTP API address (default ${defaultNodeOptions.api})`)
    .option('--api-token <token>', 'bearer token for the API; required for a non-loopback --api (prefer INFERMESH_API_TOKEN)')
    .option('--role <roles>', `comma list of provider, validator, gateway, relay (a circuit relay for peers behind NAT) (default ${defaultNodeOptions.roles.join(',')})`)
    .option('--models <ids>', `models to advertise, comma separated: ID, ID=PRICE, and @SOURCE after either: the GGUF file for --backend llama (ID=0.1@./m.gguf), the upstream's weights for --backend openai (ID=0.1@Org/Model@rev#bf16) (default ${defaultNodeOptions.models.join(',')})`)
    .option('--backend <kind>', `reference (built-in models, bit-exact), reference-nondeterministic (the same with random reduction order, for tests), llama (GGUF files on the built-in llama.cpp) or openai (an upstream server) (default ${defaultNodeOptions.backend})`)
    .option('--accelerator <spec>', 'an accelerator this node serves with but cannot detect, KIND:VENDOR:MODEL:MEMORY_GIB[:COUNT] (e.g. npu:Groq:LPU:0.23:8), repeatable; marked declared in the capacity record', collect)
    .option('--llama-threads <n>', `CPU threads per llama.cpp engine (default ${defaultNodeOptions.llamaThreads})`)
    .option('--upstream <url>', 'base URL of the OpenAI-compatible server for --backend openai, e.g. http://127.0.0.1:11434/v1')
    .option('--upstream-timeout <seconds>', `how long the upstream may take to start answering, and between chunks (default ${defaultNodeOptions.upstreamTimeout})`)
    .option('--upstream-parameters <list>', `parameters beyond the sampling ones that the upstream honours, comma separated: ${OPTIONAL_PARAMETERS.join(', ')}, or none (default: what its GET /models lists, else none)`, collect)
    .option('--upstream-inputs <list>', 'what the upstream\'s models take in: text, or text,image for a vision model (default: what its GET /models lists, else text)', collect)
    .option('--fault <strategy>', 'TESTS AND DEVNETS ONLY: make this provider cheat (garbage, cheat:Q, honest-to:ID,…, honest-to-new, long-prompts:N, turns-bad:S, unsupported:MODEL, slow:TPS, overclaim:TPS)')
    .option('--slots <n>', `concurrent tasks this provider runs (default ${defaultNodeOptions.slots})`)
    .option('--credit-limit <credits>', `credit a requester may run up before its tasks are refused (default ${defaultNodeOptions.creditLimit})`)
    .option('--max-inbound-per-ip <n>', `inbound libp2p connections accepted from one non-loopback IPv4 address or IPv6 /64 (default ${defaultNodeOptions.maxInboundPerIp})`)
    .option('--audits-per-epoch <n>', `validator role: audits sent per epoch at most, ${auditorDefaults.auditsPerProvider} per known provider below that (default ${defaultNodeOptions.auditsPerEpoch})`)
    .option('--verify-models <list>', 'validator role: real models this validator holds, ID@PATH.gguf (checked on the built-in engine) or, with --verify-upstream, ID@REVISION[#QUANT]', collect)
    .option('--verify-upstream <url>', 'validator role: your own vLLM or SGLang server that re-scores answers (never a provider\'s)')
    .option('--verify-dialect <api>', `re-scoring API of --verify-upstream: vllm or sglang (default ${defaultNodeOptions.verifyDialect})`)
    .option('--log-level <level>', `trace|debug|info|warn|error (default ${defaultNodeOptions.logLevel})`)
    .option('--log-format <format>', `auto (readable lines and a banner on a terminal, JSON otherwise), json or pretty (default ${defaultNodeOptions.logFormat})`)
    .option('--config <file>', 'JSON config file (default <data>/config.json when present)')
    .action(async (opts: Record<string, unknown>) => {
      const cwd = process.cwd()
      const { options } = resolveConfig(startFlags(opts), process.env, cwd)
      // V8's heap sizing and malloc's arenas for this kind of node (node/memoryExec.ts); may not return.
      execForMemory(options)
      const format = parseLogFormat(options.logFormat)
      const logger = createLogger(options.logLevel, undefined, format)
      installProcessGuards(logger)
      // V8's spare heap back to the system once started (before the node says it is up) and
      // whenever idle (node/memoryExec.ts); not beside llama.cpp, whose per-token sampling in
      // JavaScript a collection would pause.
      let stopHeapReducer: (() => void) | undefined
      const beforeReady = runsLlama(options) || process.env.INFERMESH_IDLE_GC === '0' ? undefined : () => { stopHeapReducer = reduceHeapWhenIdle() }
      const node = await startNode(options, { cwd, logger, beforeReady })
      if (prettyLogs(format)) process.stdout.write(startBanner(bannerInfo(node, options.apiToken != null)))
      let stopping = false
      const shutdown = (signal: string): void => {
        if (stopping) {
          logger.warn('second signal: exiting now')
          process.exit(EXIT_RUNTIME)
        }
        stopping = true
        logger.info({ signal }, 'shutting down')
        stopHeapReducer?.()
        node.stop().then(() => {
          logger.info('stopped')
          process.exit(0)
        }, (err: unknown) => {
          logger.error({ err }, 'error during shutdown')
          process.exit(EXIT_RUNTIME)
        })
      }
      process.on('SIGINT', () => shutdown('SIGINT'))
      process.on('SIGTERM', () => shutdown('SIGTERM'))
      // Started by `infermesh devnet` over an IPC channel: when that parent dies, even by SIGKILL
      // (a closed terminal, the OOM killer), the channel closes and this node stops with it,
      // instead of living on and holding its ports.
      if (process.channel != null && process.env.INFERMESH_EXIT_WITH_PARENT === '1') {
        process.once('disconnect', () => { if (!stopping) shutdown('parent exited') })
        process.channel.unref()
      }
    })

  program.command('devnet')
    .description('run a whole network on this machine: a gateway, validators and providers (some faulty), with client traffic')
    .option('--nodes <n>', 'node processes in all', '6')
    .option('--validators <n>', 'validators among them (anchors of the fresh network)', '2')
    .option('--faulty <n>', 'providers that cheat on purpose, so reputation visibly moves', '1')
    .option('--epoch <seconds>', 'epoch length', '10')
    .option('--data <dir>', 'devnet data directory (recreated on each run)', '.infermesh-devnet')
    .option('--api-port <port>', 'the gateway\'s API port', '8484')
    .option('--traffic <ms>', 'mean gap between client tasks (0 = none)', '1000')
    .action(async (opts: Record<string, string>) => {
      const int = (name: string, min: number): number => {
        const n = Number(opts[name])
        if (!Number.isInteger(n) || n < min) throw new CodedError(ErrorCode.CONFIG_INVALID, `--${name.replace(/[A-Z]/g, c => '-' + c.toLowerCase())} must be an integer ≥ ${min}`)
        return n
      }
      // Imported here: a started node never loads the devnet or the doctor (issue 16, memory).
      const { runDevnet } = await import('./devnet.ts')
      await runDevnet({
        nodes: int('nodes', 3), validators: int('validators', 1), faulty: int('faulty', 0), epochSeconds: int('epoch', 1),
        dataDir: opts.data!, apiPort: int('apiPort', 0), trafficMs: int('traffic', 0), out: line => process.stdout.write(line + '\n')
      })
      process.exit(0)
    })

  program.command('status')
    .description('summarize a running node: identity, network, peers, models on offer, consensus')
    .option('--api <url>', 'node API URL', `http://${defaultNodeOptions.api}`)
    .option('--json', 'print JSON')
    .action(async (opts: { api: string, json?: boolean }) => {
      const token = process.env.INFERMESH_API_TOKEN
      const node = await apiGet(opts.api, '/v1/node', token) as { peerId: string, network: { name: string, id: string }, roles: string[], models: string[], peers: number, version: string, uptimeSeconds: number, addresses: string[] }
      const models = await apiGet(opts.api, '/v1/models', token) as { data: Array<{ id: string, providers: number }> }
      const rep = await apiGet(opts.api, '/v1/reputation', token) as { epoch: number, stateRoot: string | null, providers: Array<{ zeroed: boolean }>, validators: unknown[] }
      const summary = {
        peerId: node.peerId,
        network: node.network,
        roles: node.roles,
        version: node.version,
        uptimeSeconds: node.uptimeSeconds,
        peers: node.peers,
        addresses: node.addresses,
        servedModels: node.models,
        networkModels: models.data.map(m => ({ id: m.id, providers: m.providers })),
        consensus: { epoch: rep.epoch, stateRoot: rep.stateRoot, providersScored: rep.providers.length, providersZeroed: rep.providers.filter(p => p.zeroed).length, validators: rep.validators.length }
      }
      if (opts.json === true) {
        process.stdout.write(JSON.stringify(summary, null, 2) + '\n')
        return
      }
      const lines = [
        `node      ${summary.peerId} (${summary.roles.join(', ')}), infermesh ${summary.version}, up ${summary.uptimeSeconds} s`,
        `network   ${summary.network.name} ${summary.network.id.slice(0, 16)}…, ${summary.peers} peers`,
        `serves    ${summary.servedModels.length > 0 ? summary.servedModels.join(', ') : '(not a provider)'}`,
        `offered   ${summary.networkModels.length > 0 ? summary.networkModels.map(m => `${m.id} (${m.providers})`).join(', ') : 'no models seen yet'}`,
        `consensus epoch ${summary.consensus.epoch}, ${summary.consensus.validators} validators, ${summary.consensus.providersScored} providers scored, ${summary.consensus.providersZeroed} zeroed, root ${summary.consensus.stateRoot?.slice(0, 16) ?? 'none yet'}`
      ]
      process.stdout.write(lines.join('\n') + '\n')
    })

  program.command('doctor')
    .description('check a node and its setup, and say what to do about each problem')
    .option('--api <url>', 'the node\'s API URL (default: the configured --api)')
    .option('--data <dir>', 'data directory')
    .option('--network <name|file>', 'network')
    .option('--config <file>', 'config file')
    .option('--json', 'print JSON')
    .action(async (opts: { api?: string, data?: string, network?: string, config?: string, json?: boolean }) => {
      const flags: Partial<Record<ConfigKey, string>> = {}
      if (opts.data != null) flags.dataDir = opts.data
      if (opts.network != null) flags.network = opts.network
      if (opts.config != null) flags.config = opts.config
      const { formatChecks, runDoctor } = await import('./doctor.ts')
      const checks = await runDoctor({ flags, env: process.env, cwd: process.cwd(), api: opts.api })
      process.stdout.write(opts.json === true ? `${JSON.stringify({ ok: !checks.some(c => c.status === 'fail'), checks }, null, 2)}\n` : formatChecks(checks))
      // A failed check is an exit status scripts can test; warnings are not.
      if (checks.some(c => c.status === 'fail')) process.exitCode = 1
    })

  program.command('config')
    .description('print the effective configuration of "infermesh start" and where each value came from')
    .option('--data <dir>', 'data directory')
    .option('--network <name|file>', 'network')
    .option('--config <file>', 'config file')
    .option('--json', 'print JSON')
    .action((opts: { data?: string, network?: string, config?: string, json?: boolean }) => {
      const flags: Partial<Record<ConfigKey, string>> = {}
      if (opts.data != null) flags.dataDir = opts.data
      if (opts.network != null) flags.network = opts.network
      if (opts.config != null) flags.config = opts.config
      const { options, sources, configFile } = resolveConfig(flags, process.env, process.cwd())
      const shown = Object.fromEntries(Object.entries(options).map(([k, v]) => [k, { value: k === 'apiToken' && v != null ? '(set)' : v ?? null, source: sources[k as ConfigKey] }]))
      if (opts.json === true) {
        process.stdout.write(JSON.stringify({ configFile: configFile ?? null, settings: shown }, null, 2) + '\n')
        return
      }
      process.stdout.write(formatTable(['SETTING', 'VALUE', 'FROM'], Object.entries(shown).map(([k, v]) => [k, Array.isArray(v.value) ? v.value.join(',') : String(v.value ?? '-'), v.source === 'env' ? `env ${ENV_NAMES[k as ConfigKey]}` : v.source === 'file' ? `file ${configFile ?? ''}` : v.source])))
    })

  program.command('identity')
    .description('print this node\'s PeerId, creating the key if there is none yet')
    .option('--data <dir>', `data directory (default ${defaultNodeOptions.dataDir})`)
    .option('--json', 'print JSON')
    .action((opts: { data?: string, json?: boolean }) => {
      const { options } = resolveConfig(opts.data != null ? { dataDir: opts.data } : {}, process.env, process.cwd())
      const { identity, path, created } = loadOrCreateIdentity(resolve(process.cwd(), options.dataDir))
      if (opts.json === true) process.stdout.write(JSON.stringify({ peerId: identity.peerId, keyFile: path, created }) + '\n')
      else process.stdout.write(`${identity.peerId}\n`)
    })

  program.command('providers')
    .description('list the providers of a model, with hardware and prices, from a running node')
    .requiredOption('--model <id>', 'model id, e.g. ref-tiny')
    .option('--api <url>', 'node API URL', `http://${defaultNodeOptions.api}`)
    .option('--json', 'print JSON')
    .action(async (opts: { model: string, api: string, json?: boolean }) => {
      const body = await apiGet(opts.api, `/v1/providers?model=${encodeURIComponent(opts.model)}`, process.env.INFERMESH_API_TOKEN) as { providers: Array<Record<string, any>> }
      if (opts.json === true) {
        process.stdout.write(JSON.stringify(body, null, 2) + '\n')
        return
      }
      if (body.providers.length === 0) {
        process.stdout.write(`no providers of ${opts.model} found; check the model id and that providers are online (infermesh status)\n`)
        return
      }
      const rows = body.providers.map(p => {
        const m = (p.models as Array<Record<string, any>>).find(x => x.id === opts.model)!
        const hw = p.hardware.cpuOnly === true
          ? `CPU-only: ${p.hardware.cpu.cores}× ${p.hardware.cpu.model}`
          : (p.hardware.accelerators as Array<Record<string, any>>).map(a => `${a.count}× ${a.model} ${Math.round(a.memoryMiB / 1024)} GiB`).join(', ')
        return [p.peerId, hw, `${m.pricing.prompt}/${m.pricing.completion}`, String(p.freeSlots), p.expiresAt]
      })
      process.stdout.write(formatTable(['PEER', 'HARDWARE', 'PRICE IN/OUT PER 1M', 'FREE SLOTS', 'EXPIRES'], rows))
    })

  program.command('reputation')
    .description('show each provider\'s reputation, fraud proofs and audits, and the validators\' trust, as this node computes them')
    .option('--api <url>', 'node API URL', `http://${defaultNodeOptions.api}`)
    .option('--json', 'print JSON')
    .action(async (opts: { api: string, json?: boolean }) => {
      const body = await apiGet(opts.api, '/v1/reputation', process.env.INFERMESH_API_TOKEN) as {
        epoch: number, stateRoot: string | null,
        providers: Array<{ peerId: string, reputation: number | null, score: number | null, zeroed: boolean, fraudProofs: number, audits: { passed: number, failed: number } | null }>,
        validators: Array<{ peerId: string, trust: number | null, power: number | null }>
      }
      if (opts.json === true) {
        process.stdout.write(JSON.stringify(body, null, 2) + '\n')
        return
      }
      process.stdout.write(`epoch ${body.epoch}, state root ${body.stateRoot ?? 'none yet'}\n\n`)
      if (body.providers.length === 0) process.stdout.write('no provider has been scored yet; validators publish weights once per epoch\n')
      else {
        process.stdout.write(formatTable(['PROVIDER', 'REPUTATION', 'ROUTING', 'FRAUD PROOFS', 'AUDITS OK/FAILED'], body.providers.map(p => [
          p.peerId, p.reputation == null ? '-' : p.reputation.toFixed(4), p.zeroed ? 'ZEROED' : p.score == null ? '-' : p.score.toFixed(2), String(p.fraudProofs), p.audits == null ? '-' : `${p.audits.passed}/${p.audits.failed}`
        ])))
      }
      if (body.validators.length > 0) {
        process.stdout.write('\n' + formatTable(['VALIDATOR', 'POWER', 'TRUST'], body.validators.map(v => [v.peerId, v.power == null ? '-' : String(v.power), v.trust == null ? '-' : v.trust.toFixed(4)])))
      }
    })

  program.command('verify-evidence')
    .description('re-check a piece of evidence against a real model\'s provider on the node\'s own copy of the weights (a node without them says so)')
    .argument('<id>', 'the evidence entry id (GET /v1/ledger/evidence lists them)')
    .option('--api <url>', 'node API URL', `http://${defaultNodeOptions.api}`)
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { api: string, json?: boolean }) => {
      if (!/^[0-9a-f]{64}$/.test(id)) throw new CodedError(ErrorCode.CONFIG_INVALID, `"${id}" is not an evidence id (64 hex characters); list them with GET /v1/ledger/evidence`)
      process.stderr.write('re-checking (one prefill of the audited answer on this node\'s copy of the weights)…\n')
      const body = await apiGet(opts.api, `/v1/ledger/evidence/${id}/verify`, process.env.INFERMESH_API_TOKEN, 'POST', 120_000) as {
        provider: string | null, author: string, tier: string, steps: number, misses: number, confirmations: Array<{ author: string }>, zeroesProvider: boolean,
        recheck: { status: string, reason: string, weights: string | null }
      }
      if (opts.json === true) {
        process.stdout.write(JSON.stringify(body, null, 2) + '\n')
      } else {
        process.stdout.write([
          `evidence  ${id}`,
          `provider  ${body.provider ?? '?'}  (weights ${body.recheck.weights ?? '?'}, ${body.tier} tier)`,
          `author    ${body.author}: ${body.misses} of ${body.steps} tokens beyond tolerance`,
          `confirmed by ${body.confirmations.length} other validator(s)${body.zeroesProvider ? '; it zeroes the provider now' : ''}`,
          `re-check  ${body.recheck.status.toUpperCase()}: ${body.recheck.reason}`
        ].join('\n') + '\n')
      }
      // 0 when this node reproduces the conviction, 1 when it does not or cannot.
      process.exitCode = body.recheck.status === 'confirmed' ? 0 : 1
    })

  program.command('submit')
    .description('submit a chat task to a node and print the answer, the provider and the receipt id')
    .argument('<prompt>', 'the user message')
    .requiredOption('--model <id>', 'model id, e.g. ref-tiny')
    .option('--stream', 'print the answer as it streams')
    .option('--max-price <credits>', 'most to pay per million tokens, in and out')
    .option('--max-tokens <n>', 'most tokens to generate')
    .option('--seed <n>', 'sampling seed (the gateway picks one if absent)')
    .option('--api <url>', 'node API URL', `http://${defaultNodeOptions.api}`)
    .option('--json', 'print the whole response as JSON')
    .action(async (prompt: string, opts: { model: string, stream?: boolean, maxPrice?: string, maxTokens?: string, seed?: string, api: string, json?: boolean }) => {
      const num = (v: string | undefined, name: string): number | undefined => {
        if (v == null) return undefined
        const n = Number(v)
        if (!Number.isFinite(n) || n < 0) throw new CodedError(ErrorCode.CONFIG_INVALID, `--${name} must be a non-negative number`)
        return n
      }
      const maxPrice = num(opts.maxPrice, 'max-price')
      const body = {
        model: opts.model,
        messages: [{ role: 'user', content: prompt }],
        max_tokens: num(opts.maxTokens, 'max-tokens'),
        seed: num(opts.seed, 'seed'),
        stream: opts.stream === true && opts.json !== true,
        ...(maxPrice != null ? { provider: { max_price: { prompt: maxPrice, completion: maxPrice } } } : {})
      }
      const token = process.env.INFERMESH_API_TOKEN
      let res: Response
      try {
        res = await fetch(new URL('/v1/chat/completions', opts.api), {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(token != null ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(cliDefaults.submitTimeoutMs)
        })
      } catch (err) {
        throw new CodedError(ErrorCode.CONFIG_INVALID, `cannot reach the node API at ${opts.api} (${(err as Error).message}); start a node with "infermesh start" or pass --api URL`)
      }
      if (!res.ok) {
        const e = await res.json().catch(() => undefined) as { error?: { message?: string } } | undefined
        throw new CodedError(res.status >= 500 ? ErrorCode.INTERNAL : ErrorCode.INVALID_REQUEST, `the node answered ${res.status}: ${e?.error?.message ?? res.statusText}`)
      }
      let info: { provider: string, taskId: string, receipt: { id: string } } | undefined
      if (body.stream) {
        const decoder = new TextDecoder()
        let buf = ''
        for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) {
          buf += decoder.decode(part, { stream: true })
          let i: number
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const line = buf.slice(0, i).replace(/^data: /, '')
            buf = buf.slice(i + 2)
            if (line === '[DONE]') continue
            const ev = JSON.parse(line) as { error?: { message: string }, choices?: Array<{ delta?: { content?: string } }>, infermesh?: typeof info }
            if (ev.error != null) throw new CodedError(ErrorCode.INTERNAL, `the stream failed: ${ev.error.message}`)
            process.stdout.write(ev.choices?.[0]?.delta?.content ?? '')
            info ??= ev.infermesh
          }
        }
        process.stdout.write('\n')
      } else {
        const json = await res.json() as { choices: Array<{ message: { content: string } }>, infermesh: typeof info }
        if (opts.json === true) {
          process.stdout.write(JSON.stringify(json, null, 2) + '\n')
          return
        }
        process.stdout.write(json.choices[0]!.message.content + '\n')
        info = json.infermesh
      }
      process.stdout.write(`provider: ${info?.provider ?? 'unknown'}\nreceipt:  ${info?.receipt.id ?? 'none'} (task ${info?.taskId ?? '?'}; GET /v1/tasks/${info?.taskId ?? ''})\n`)
    })

  return program
}

/** Socket errors from peers must never take the node down (ARCHITECTURE.md §14). */
function installProcessGuards (logger: ReturnType<typeof createLogger>): void {
  const benign = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED', 'ERR_STREAM_PREMATURE_CLOSE'])
  process.on('uncaughtException', (err: NodeJS.ErrnoException) => {
    if (err.code != null && benign.has(err.code)) {
      logger.warn({ code: err.code, err: err.message }, 'network error outside a handler; continuing')
      return
    }
    logger.fatal({ err }, 'uncaught exception; exiting')
    process.exit(EXIT_RUNTIME)
  })
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason }, 'unhandled promise rejection')
  })
}

export async function main (argv: string[]): Promise<void> {
  const program = buildProgram()
  try {
    await program.parseAsync(argv)
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; usage mistakes are exit 2.
      process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE)
    }
    fail(err)
  }
}
