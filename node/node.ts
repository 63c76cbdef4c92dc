/**
 * Composes the node's services from resolved options, in dependency order, and
 * stops them in reverse: each service owns its loops and its AbortController,
 * and its stop() aborts them and waits for them to end.
 *
 * What only some roles or backends use (a backend, the provider's throughput
 * probe and status protocol, the validator, the model verifiers) is imported
 * where it is started, so a node loads only its own: in the bundle `npm start`
 * runs each is a chunk of its own (scripts/build.ts; issue 16, memory).
 */
import { resolve } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { isCodedError, CodedError, ErrorCode } from '../protocol/errors.ts'
import type { Network } from '../protocol/network.ts'
import { adminRoutes } from './api/adminRoutes.ts'
import { nodeRoutes } from './api/nodeRoutes.ts'
import { openaiRoutes } from './api/openaiRoutes.ts'
import { createFaultyBackend, overclaimedHardware, parseFault } from './backends/faulty.ts'
import { BASE_PARAMETERS } from '../protocol/capacity.ts'
import type { Backend } from './backends/backend.ts'
import type { LlamaEngine } from './backends/llama/engine.ts'
import type { Auditor } from './validator/auditor.ts'
import { scoringRoutes } from './api/scoringRoutes.ts'
import { Catalog } from './discovery/catalog.ts'
import { Accounts } from './market/accounts.ts'
import { Gateway } from './market/gateway.ts'
import { SubmitService } from './market/submitService.ts'
import { LedgerService } from './ledger/ledgerService.ts'
import { LedgerStore } from './ledger/ledgerStore.ts'
import { ReputationService } from './ledger/reputation.ts'
import { useNodeAccelerators } from './crypto/runtimeAccelerators.ts'
import type { ModelVerifier } from './verify/verifier.ts'
import { ledgerRoutes } from './api/ledgerRoutes.ts'
import { metricsRoute } from './api/metricsRoute.ts'
import { dashboardRoutes } from './api/dashboardRoutes.ts'
import { createMetrics } from './metrics.ts'
import { ProviderService } from './market/provider.ts'
import { startApiServer, type ApiServer } from './api/server.ts'
import { loadNetwork, parseApiAddress, parseBackend, parseLlamaModelSpecs, parseModelSpecs, parsePositiveInt, parseRoles, parseUpstreamInputs, parseUpstreamParameters, parseVerifier } from './config.ts'
import { sodiumLoadError } from './crypto/libsodium.ts'
import { nativeSign } from './crypto/nativeSign.ts'
import { nativeVerify } from './crypto/nativeVerify.ts'
import { Advertiser } from './discovery/advertiser.ts'
import { detectHardware, parseDeclaredAccelerator } from './discovery/hardware.ts'
import { ProviderLookup } from './discovery/providerLookup.ts'
import { keepBootstrapped } from './discovery/bootstrapRedial.ts'
import { createHost, type Host } from './libp2p.ts'
import type { Logger } from './logger.ts'
import type { NodeContext } from './nodeContext.ts'
import { gatewayDefaults, providerDefaults, VERSION, type NodeOptions } from './options.ts'
import { openDb, type Db } from './store/db.ts'
import { identityFileTooOpen, loadOrCreateIdentity } from './store/identityFile.ts'
import { BlocklistRepository, MetaRepository } from './store/repositories.ts'
import { Blocklist } from './gating/blocklist.ts'
import { looksBehindNat, ReachabilityMonitor, resolveMode } from './discovery/reachability.ts'
import { RelayAnnouncer, RelayFinder } from './discovery/relayFinder.ts'
import { interfaceIps } from './util/interfaces.ts'

export interface InfermeshNode extends NodeContext {
  api: ApiServer
  db: Db
  gateway: Gateway
  accounts: Accounts
  catalog: Catalog
  provider?: ProviderService
  ledger: LedgerService
  reputation: ReputationService
  blocklist: Blocklist
  auditor?: Auditor
  stop: () => Promise<void>
}

function validateBootstrap (addrs: string[]): string[] {
  for (const a of addrs) {
    try {
      const ma = multiaddr(a)
      if (ma.getComponents().find(c => c.name === 'p2p') == null) throw new CodedError(ErrorCode.CONFIG_INVALID, 'no /p2p/<PeerId>')
    } catch (err) {
      throw new CodedError(ErrorCode.CONFIG_INVALID, `bootstrap address "${a}" is not a multiaddr with /p2p/<PeerId> (${(err as Error).message}); copy a node's full address from its GET /v1/node`, { field: 'bootstrap' })
    }
  }
  return addrs
}

/**
 * ctx.beforeReady: called once everything has started, just before the "API
 * listening" line that tells operators, tests and benches the node is up
 * (`infermesh start` gives V8's spare heap back there: node/memoryExec.ts).
 */
export async function startNode (options: NodeOptions, ctx: { cwd: string, logger: Logger, network?: Network, beforeReady?: () => void }): Promise<InfermeshNode> {
  const log = ctx.logger
  useNodeAccelerators()
  // Check everything the operator gave before touching the data directory.
  const network = ctx.network ?? loadNetwork(options.network, ctx.cwd).network
  const apiAddress = parseApiAddress(options.api)
  const roles = parseRoles(options.roles)
  const backendKind = parseBackend(options)
  const llamaSpecs = roles.includes('provider') && backendKind.kind === 'llama' ? parseLlamaModelSpecs(options.models, ctx.cwd) : []
  const models = roles.includes('provider') && backendKind.kind !== 'llama' ? parseModelSpecs(options.models, backendKind.kind) : []
  const llamaThreads = parsePositiveInt(options.llamaThreads, 'llamaThreads', 1024)
  const verifier = roles.includes('validator') ? parseVerifier(options, ctx.cwd) : undefined
  const slots = parsePositiveInt(options.slots, 'slots', 4096)
  const maxInboundPerIp = parsePositiveInt(options.maxInboundPerIp, 'maxInboundPerIp', 100_000)
  const auditsPerEpoch = parsePositiveInt(options.auditsPerEpoch, 'auditsPerEpoch', 10_000)
  const fault = options.fault == null ? undefined : parseFault(options.fault)
  const behindNat = looksBehindNat(options.listen, options.announce, interfaceIps())
  const reserveRelay = resolveMode(options.relayReserve, 'relayReserve', behindNat)
  const upnp = resolveMode(options.upnp, 'upnp', behindNat)
  const relayLimits = roles.includes('relay')
    ? {
        maxReservations: parsePositiveInt(options.relayMaxReservations, 'relayMaxReservations', 100_000),
        dataLimitBytes: parsePositiveInt(options.relayDataLimitKib, 'relayDataLimitKib', 16 * 1024 * 1024) * 1024,
        durationLimitMs: parsePositiveInt(options.relayDurationLimit, 'relayDurationLimit', 86_400) * 1000
      }
    : undefined
  const creditLimitMicros = parsePositiveInt(options.creditLimit, 'creditLimit', Number.MAX_SAFE_INTEGER / 1e6) * 1e6
  const bootstrap = validateBootstrap([...new Set([...network.definition.bootstrap, ...options.bootstrap])])
  const dataDir = resolve(ctx.cwd, options.dataDir)

  const loaded = loadOrCreateIdentity(dataDir)
  const { path: keyPath, created } = loaded
  const identity = { ...loaded.identity, sign: nativeSign }
  if (created) log.info({ peerId: identity.peerId, keyPath }, 'created a new node identity')
  if (sodiumLoadError != null) log.warn({ err: sodiumLoadError }, 'libsodium (sodium-native) did not load on this platform; signing and verifying through OpenSSL instead, at about half the speed')
  if (identityFileTooOpen(keyPath)) log.warn({ keyPath }, 'identity key is readable by other users; run chmod 600 on it')

  const stack: Array<() => Promise<void>> = []
  const stopAll = async (): Promise<void> => {
    for (const fn of stack.reverse()) {
      try {
        await fn()
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'error while stopping')
      }
    }
    stack.length = 0
  }

  try {
    const db = await openDb(dataDir, { onFailure: err => log.error({ code: err.code, err: err.message }, 'database write failed; refusing work that cannot be recorded until restart') })
    stack.push(async () => db.close())
    const meta = new MetaRepository(db)
    const blocklist = new Blocklist(new BlocklistRepository(db))
    const blockedPeers = await blocklist.load()
    if (blockedPeers > 0) log.info({ blocked: blockedPeers }, 'operator blocklist loaded')
    const gaterLog = log.child({ component: 'gater' })

    const hardware = await detectHardware({ declared: options.accelerators.map(parseDeclaredAccelerator) })
    log.info({ hardware }, hardware.cpuOnly ? 'no accelerator detected; advertising CPU-only' : 'accelerators detected or declared')

    const now = (): number => Date.now()
    const metrics = createMetrics()
    const dhtLog = log.child({ component: 'dht' })
    // Filled in once the reputation service exists (the host must start first).
    let appScore: (peer: string) => number = () => 0
    let host: Host
    try {
      host = await createHost({
        appScore: peer => appScore(peer),
        isBlocked: peer => blocklist.has(peer),
        maxInboundPerIp,
        onConnectionDenied: (reason, detail) => {
          metrics.connectionsRefused.inc({ reason })
          gaterLog.debug({ reason, detail }, 'connection refused')
        },
        onDialBackoff: (peer, ms) => {
          metrics.dialBackoffs.inc()
          gaterLog.info({ peer, seconds: Math.round(ms / 1000) }, 'peer hangs up on every connection (it may have blocked this node): not dialling it for a while')
        },
        metricsRegistry: metrics.registry,
        identity,
        network,
        listen: options.listen,
        announce: options.announce,
        upnp,
        dhtClient: reserveRelay,
        relay: relayLimits,
        bootstrap,
        verify: nativeVerify,
        now,
        onRecordRejected: (err, key) => {
          const code = isCodedError(err) ? err.code : 'UNKNOWN'
          metrics.dhtRejected.inc({ code })
          // A lapsed copy is routine (peers keep serving a record its provider stopped refreshing):
          // counted, logged at debug. Anything else (a bad signature, a wrong key) is worth a warning.
          const level = code === ErrorCode.RECORD_EXPIRED ? 'debug' : 'warn'
          dhtLog[level]({ code, key: new TextDecoder().decode(key).slice(0, 80), err: (err as Error).message }, 'dht record rejected')
        }
      })
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      if (e.code === 'EADDRINUSE' || /EADDRINUSE/.test(e.message)) {
        throw new CodedError(ErrorCode.PORT_IN_USE, `a libp2p listen address is already in use (${options.listen.join(', ')}); stop the other process or pass --listen with a free port`)
      }
      throw err
    }
    stack.push(async () => host.stop())
    if (bootstrap.length > 0) {
      const redial = new AbortController()
      const loop = keepBootstrapped(host, bootstrap, log.child({ component: 'bootstrap' }), redial.signal)
      stack.push(async () => { redial.abort(); await loop })
    }
    log.info({ peerId: identity.peerId, network: network.definition.name, networkId: network.idHex, addresses: host.getMultiaddrs().map(String), bootstrap: bootstrap.length, reserveRelay, upnp, relay: relayLimits }, 'libp2p host started')
    const reachability = new ReachabilityMonitor({ host, logger: log.child({ component: 'reachability' }), metrics, reserving: reserveRelay })
    reachability.start()
    stack.push(async () => reachability.stop())
    if (relayLimits != null) {
      const announcer = new RelayAnnouncer({ host, network, logger: log.child({ component: 'relay' }) })
      announcer.start()
      stack.push(async () => announcer.stop())
    }
    if (reserveRelay) {
      const relays = new RelayFinder({ host, network, logger: log.child({ component: 'relay' }) })
      await relays.start()
      stack.push(async () => relays.stop())
    }

    const accounts = new Accounts(db, identity.peerId)
    await accounts.load()
    const catalog = new Catalog({ host, network, verify: nativeVerify, now, logger: log.child({ component: 'catalog' }) })
    catalog.start()
    stack.push(async () => catalog.stop())

    let provider: ProviderService | undefined
    let advertiser: Advertiser | undefined
    let advertisedModels = models
    /** The llama engines this node runs, by model id: they also answer vLLM-style re-scoring on the API. */
    let scoringEngines: ReadonlyMap<string, LlamaEngine> | undefined
    if (models.length > 0 || llamaSpecs.length > 0) {
      let honest: Backend
      if (backendKind.kind === 'llama') {
        const { createLlamaBackend } = await import('./backends/llama/backend.ts')
        const llama = await createLlamaBackend(llamaSpecs, { sequences: slots, threads: llamaThreads, logger: log.child({ component: 'llama' }) })
        stack.push(async () => llama.close?.())
        scoringEngines = llama.engines
        honest = llama
      } else {
        if (backendKind.kind === 'openai') {
          // Advertise the context the upstream really has, where it says (vLLM, infermesh, llama.cpp server).
          const { createOpenAIBackend, upstreamModels } = await import('./backends/openai.ts')
          const reported = await upstreamModels(backendKind.upstream, process.env.INFERMESH_UPSTREAM_KEY)
          const declared = parseUpstreamParameters(options.upstreamParameters)
          const declaredInputs = options.upstreamInputs.length > 0 ? parseUpstreamInputs(options.upstreamInputs) : undefined
          const offers = models.map(m => {
            const r = reported.get(m.id)
            const structured = declared === 'none' ? [] : declared.length > 0 ? declared : r?.parameters ?? []
            const inputs = declaredInputs ?? r?.inputs ?? ['text']
            return { ...m, contextLength: r?.contextLength ?? m.contextLength, ...(structured.length > 0 ? { parameters: [...BASE_PARAMETERS, ...structured] } : {}), ...(inputs.includes('image') ? { inputs } : {}) }
          })
          log.info({ upstream: backendKind.upstream.origin, contextLengths: Object.fromEntries(offers.map(m => [m.id, m.contextLength])), parameters: Object.fromEntries(offers.map(m => [m.id, m.parameters ?? BASE_PARAMETERS])), reported: reported.size }, 'upstream models')
          const upstream = createOpenAIBackend({ upstream: backendKind.upstream, models: offers, apiKey: process.env.INFERMESH_UPSTREAM_KEY, timeoutMs: parsePositiveInt(options.upstreamTimeout, 'upstreamTimeout', 3600) * 1000 })
          stack.push(async () => upstream.close?.())
          honest = upstream
        } else {
          const { createReferenceBackend } = await import('./backends/reference.ts')
          honest = createReferenceBackend(models, { nondeterministic: backendKind.kind === 'reference-nondeterministic' })
        }
      }
      const backend = fault == null ? honest : createFaultyBackend(honest, fault)
      if (fault != null) log.warn({ fault: options.fault }, 'FAULT INJECTION ON: this provider cheats on purpose (tests and devnets only)')
      // The throughput the record claims is measured here, through the backend that serves
      // (an overclaiming fault measures the unthrottled one and claims hardware it lacks).
      const overclaims = fault?.kind === 'overclaim'
      const measuredOn = overclaims ? honest : backend
      const { withMeasuredThroughput } = await import('./backends/throughput.ts')
      advertisedModels = await withMeasuredThroughput(honest.models, measuredOn, network, identity)
      if (fault?.kind === 'impersonate') advertisedModels = await (await import('./backends/llama/backend.ts')).impersonated(advertisedModels, fault.path, ctx.cwd)
      const advertisedHardware = overclaims ? overclaimedHardware(hardware) : hardware
      log.info({ throughput: Object.fromEntries(advertisedModels.map(m => [m.id, m.tokensPerSecondMilli / 1000])) }, 'decode throughput measured (tokens/s, advertised)')
      provider = new ProviderService({ host, network, identity, verify: nativeVerify, backend, accounts, logger: log.child({ component: 'provider' }), now, metrics }, {
        slots, maxQueue: providerDefaults.maxQueue, creditLimitMicros
      })
      await provider.start()
      stack.push(async () => provider!.stop())
      const admission = provider.admission
      advertiser = new Advertiser({ host, network, identity, meta, logger: log.child({ component: 'advertiser' }), now }, {
        hardware: advertisedHardware, models: advertisedModels, roles, version: VERSION, freeSlots: () => admission.freeSlots, expectPeers: bootstrap.length > 0,
        onPublished: async signed => catalog.publish(signed.bytes, signed.record)
      })
      advertiser.start()
      stack.push(async () => advertiser!.stop())
      await (await import('./discovery/statusProtocol.ts')).serveStatus(host, network, advertiser)
    }
    const lookup = new ProviderLookup({ host, network, identity, verify: nativeVerify, now, logger: log.child({ component: 'lookup' }), advertiser, metrics, onRecord: record => catalog.add(record), known: peer => catalog.recordOf(peer), gossiped: model => catalog.providersOf(model) })

    // The ledger and reputation run on every node (ARCHITECTURE.md §2).
    const ledgerStore = new LedgerStore(db)
    const loadedEntries = await ledgerStore.load()
    const ledger = new LedgerService({ host, network, identity, verify: nativeVerify, store: ledgerStore, logger: log.child({ component: 'ledger' }), now, metrics })
    await ledger.start()
    stack.push(async () => ledger.stop())
    const reputation = new ReputationService({ network, ledger, logger: log.child({ component: 'reputation' }), now, metrics })
    reputation.start()
    stack.push(async () => reputation.stop())
    if (loadedEntries > 0) log.info({ entries: loadedEntries }, 'ledger loaded')
    // Proven cheaters score far below gossipsub's graylist threshold; reputation adds a little.
    appScore = peer => reputation.zeroedNow.has(peer) ? -1000 : (reputation.reputationOf(peer) ?? 0) * 10
    // ...and the connection gater refuses them outright (issue 6): new connections at the
    // gate, and the ones already open are closed as soon as a proof zeroes the peer.
    blocklist.fraudBanned = () => reputation.zeroedNow
    const cutOff = new Set<string>()
    reputation.onUpdate = () => {
      for (const peer of cutOff) if (!reputation.zeroedNow.has(peer)) cutOff.delete(peer)
      for (const peer of reputation.zeroedNow) {
        if (cutOff.has(peer) || peer === identity.peerId) continue
        cutOff.add(peer)
        const open = host.getConnections().filter(c => c.remotePeer.toString() === peer)
        if (open.length === 0) continue
        gaterLog.info({ peer, connections: open.length }, 'closing connections to a peer a fraud proof zeroes')
        void Promise.all(open.map(async c => c.close().catch(() => c.abort(new Error('fraud-banned'))))).catch(() => {})
      }
    }

    const gateway = new Gateway({
      host, network, identity, verify: nativeVerify, lookup, accounts, logger: log.child({ component: 'gateway' }), now, localProvider: provider, metrics,
      reputation: peer => reputation.reputationOf(peer) ?? gatewayDefaults.newProviderReputation,
      zeroed: peer => reputation.zeroedNow.has(peer)
    })
    stack.push(async () => gateway.close())
    const submit = new SubmitService({ host, network, gateway, logger: log.child({ component: 'submit' }) })
    await submit.start()
    stack.push(async () => submit.stop())

    let auditor: Auditor | undefined
    let modelVerifier: ModelVerifier | undefined
    if (verifier?.kind === 'llama') {
      const { LlamaVerifier } = await import('./verify/llamaVerifier.ts')
      modelVerifier = await LlamaVerifier.load(verifier.models, { threads: llamaThreads, logger: log.child({ component: 'verifier' }) })
    } else if (verifier?.kind === 'upstream') {
      const { createUpstreamVerifier } = await import('./verify/upstreamVerifier.ts')
      modelVerifier = createUpstreamVerifier({ url: verifier.url, dialect: verifier.dialect, models: verifier.models, apiKey: process.env.INFERMESH_VERIFY_UPSTREAM_KEY })
    }
    if (modelVerifier != null) stack.push(async () => modelVerifier!.close())
    if (roles.includes('validator')) {
      const { Auditor } = await import('./validator/auditor.ts')
      auditor = new Auditor({ host, network, identity, verify: nativeVerify, ledger, catalog, lookup, auditsPerEpoch, verifier: modelVerifier, recordBytesOf: peer => catalog.bytesOf(peer), isZeroed: peer => reputation.zeroedNow.has(peer), logger: log.child({ component: 'validator' }), now, metrics })
      auditor.start()
      stack.push(async () => auditor!.stop())
    }

    const context: NodeContext = { identity, network, host, roles, models: advertisedModels, lookup, version: VERSION, startedAt: Date.now(), reachability: () => reachability.current(), connectionKinds: () => reachability.countConnections() }
    const api = await startApiServer(apiAddress, [...nodeRoutes(context, gateway.book), ...openaiRoutes({ node: context, gateway, catalog, accounts, scoringEngines }), ...scoringRoutes(scoringEngines ?? new Map()), ...ledgerRoutes({ node: context, ledger, reputation, auditor, verifier: modelVerifier }), metricsRoute({ metrics, host, provider, ledgerStore, connectionKinds: context.connectionKinds }), ...adminRoutes({ node: context, blocklist, now, logger: log.child({ component: 'admin' }) }), ...dashboardRoutes()], { token: options.apiToken, logger: log.child({ component: 'api' }) })
    stack.push(async () => api.close())
    ctx.beforeReady?.()
    log.info({ api: `http://${api.address.host.includes(':') ? `[${api.address.host}]` : api.address.host}:${api.address.port}` }, 'API listening')

    return { ...context, api, db, gateway, accounts, catalog, provider, ledger, reputation, auditor, blocklist, stop: stopAll }
  } catch (err) {
    await stopAll()
    throw err
  }
}
