/**
 * "Who serves model X, on what hardware, at what price": a provider-record
 * walk in the DHT on the model's CID, then each provider's capacity record,
 * verified before use (ARCHITECTURE.md §6).
 *
 * Costs, measured by scripts/bench/discovery.ts: a cold walk touches ~20
 * peers, and a full DHT GET per record walks the neighbourhood again, so
 * - the provider list is cached per model and refreshed in the background;
 * - each record is asked of its provider first (status protocol), then from
 *   the DHT, stopping at the first copy that verifies;
 * - verified records are cached until shortly before they expire;
 * - a lookup that already holds verified, unexpired records of providers of
 *   the model (heard by capacity gossip, or kept from an earlier lookup)
 *   answers from them at once, and the DHT walk runs in the background to
 *   complete the list for the next caller. Only a lookup that knows nothing
 *   (a gateway just started, before any gossip) or asks for a fresh walk
 *   waits for the walk. That wait is what a cold lookup cost (1.8 s at p95 at
 *   50 nodes, BENCHMARKS.md): kad-dht's findProviders runs until it has asked
 *   the closest peers, long after the last provider was seen (at 50 nodes,
 *   all seen by p50 74 ms, the walk ended at p50 578 ms and p95 2.4 s), and a
 *   record fetch per provider (a new connection each; a DHT GET where the
 *   provider does not answer the status protocol).
 */
import { answerableRecords, capacityKey, modelCid, recordUsable, verifyCapacityRecord, type CapacityRecord } from '../../protocol/capacity.ts'
import { isCodedError } from '../../protocol/errors.ts'
import type { Identity } from '../../protocol/identity.ts'
import type { Network } from '../../protocol/network.ts'
import type { VerifyFn } from '../../protocol/signing.ts'
import type { Host } from '../libp2p.ts'
import type { Logger } from '../logger.ts'
import type { Metrics } from '../metrics.ts'
import { lookupDefaults } from '../options.ts'
import { untilAborted, withTimeout } from '../util/abort.ts'
import type { Advertiser } from './advertiser.ts'
import { fetchStatus } from './statusProtocol.ts'
import { compareCodeUnits } from '../../protocol/ascii.ts'

export interface ProviderLookupComponents {
  host: Host
  network: Network
  identity: Identity
  verify: VerifyFn
  now: () => number
  logger: Logger
  advertiser?: Advertiser
  metrics?: Metrics
  /** Every record this lookup verified (the catalog keeps them too, so /v1/models does not hang on gossip alone). */
  onRecord?: (record: CapacityRecord) => void
  /**
   * A record already verified elsewhere (the catalog, fed by capacity gossip),
   * tried before asking the provider: a cold lookup then needs no connection
   * per provider, which is what set its end at 50 nodes (BENCHMARKS.md).
   */
  known?: (peer: string) => CapacityRecord | undefined
  /**
   * Providers of a model whose signed records arrived by capacity gossip
   * (the catalog). Added to what the DHT walk finds: on a network still
   * forming, or a loaded machine, the walk can come back empty for a while
   * after gossip has already told this node who serves the model.
   */
  gossiped?: (model: string) => string[]
}

export interface LookupOptions {
  signal?: AbortSignal
  timeoutMs?: number
  maxProviders?: number
  /** Skip the provider-list cache (a fresh walk). */
  fresh?: boolean
}

export interface LookupStats {
  providersFound: number
  recordsVerified: number
  recordsRejected: number
  /** Whether the provider list came from the cache (or from records already held: no walk was waited on). */
  cachedList: boolean
  /**
   * The answer came from verified records already held (capacity gossip, an
   * earlier lookup) without waiting on the DHT walk; the walk, if one was
   * due, runs in the background and completes the list for later lookups.
   */
  answeredFromKnown?: boolean
}

interface ListEntry { peers: string[], at: number, refreshing?: Promise<string[]> }

export class ProviderLookup {
  private readonly c: ProviderLookupComponents
  private readonly cache = new Map<string, CapacityRecord>()
  private readonly lists = new Map<string, ListEntry>()
  /** Provider → when its record may be asked for again after a fetch that found none. */
  private readonly misses = new Map<string, number>()
  /** Record fetches in flight, shared by concurrent callers. */
  private readonly fetching = new Map<string, Promise<CapacityRecord | undefined>>()
  /** Model → when a background walk (after an answer from known records) last started; bounded by maxCachedModels. */
  private readonly completing = new Map<string, number>()
  /** Background work in flight (at most one walk per model, with the record fetches it started). */
  private readonly pending = new Set<Promise<void>>()

  constructor (components: ProviderLookupComponents) {
    this.c = components
  }

  /**
   * Verified capacity records of the providers of `model`, sorted by PeerId.
   * Answered at once from records already held when there are any (see the
   * header); otherwise, or with `fresh`, after the DHT walk.
   */
  async find (model: string, opts: LookupOptions = {}): Promise<{ records: CapacityRecord[], stats: LookupStats }> {
    const started = performance.now()
    const max = opts.maxProviders ?? lookupDefaults.maxProviders
    if (opts.fresh !== true) {
      const { known, missing } = this.knownRecords(model, max)
      if (known.length > 0) {
        this.complete(model, max, missing)
        this.c.metrics?.lookupDuration.observe({ cached: 'true' }, (performance.now() - started) / 1000)
        return { records: known, stats: { providersFound: known.length, recordsVerified: known.length, recordsRejected: 0, cachedList: true, answeredFromKnown: true } }
      }
    }
    const signal = withTimeout(opts.signal, opts.timeoutMs ?? lookupDefaults.timeoutMs)
    // Each record fetch starts as soon as the walk yields its provider, so a
    // slow walk (a loaded machine, a dead peer in the path) still leaves the
    // fetches the time they need instead of the deadline's remainder.
    const fetches = new Map<string, Promise<CapacityRecord | undefined>>()
    const fetchRecord = (peer: string): Promise<CapacityRecord | undefined> => {
      let f = fetches.get(peer)
      if (f == null) {
        // Never a rejection left waiting for the walk to end: a failed fetch is a missing record.
        f = this.record(peer, signal).catch(() => undefined)
        fetches.set(peer, f)
      }
      return f
    }
    // Providers gossip already named are fetched from the start too, not after the walk: a walk
    // that runs to the deadline (a network still forming) would leave them no time at all.
    const gossiped = (this.c.gossiped?.(model) ?? []).slice(0, max)
    for (const p of gossiped) void fetchRecord(p)
    const walked = await this.providerList(model, signal, opts, fetchRecord)
    const cached = walked.cached
    const peers = [...walked.peers]
    for (const p of gossiped) if (peers.length < max && !peers.includes(p)) peers.push(p)
    const found = await Promise.all(peers.map(fetchRecord))
    const stats: LookupStats = { providersFound: peers.length, recordsVerified: 0, recordsRejected: 0, cachedList: cached }
    const records: CapacityRecord[] = []
    for (const r of found) {
      if (r == null) {
        stats.recordsRejected++
        continue
      }
      stats.recordsVerified++
      // A provider record says "serves X"; the signed capacity record must agree.
      if (r.models.some(m => m.id === model)) records.push(r)
    }
    records.sort((a, b) => compareCodeUnits(a.peer, b.peer))
    this.c.metrics?.lookupDuration.observe({ cached: String(cached) }, (performance.now() - started) / 1000)
    return { records, stats }
  }

  /**
   * Records already held, verified and good for cacheMarginMs more, of the
   * providers of `model` this node knows of: those capacity gossip vouched for
   * and those of the cached provider list; `missing`, those of them whose
   * record is not held (or about to expire). No I/O.
   */
  private knownRecords (model: string, max: number): { known: CapacityRecord[], missing: string[] } {
    const peers = new Set((this.c.gossiped?.(model) ?? []).slice(0, max))
    for (const p of this.lists.get(model)?.peers ?? []) peers.add(p)
    const held: CapacityRecord[] = []
    const missing: string[] = []
    for (const p of peers) {
      const r = this.held(p)
      if (r != null) held.push(r)
      else missing.push(p)
    }
    return { known: answerableRecords(held, model, { now: this.c.now(), marginMs: lookupDefaults.cacheMarginMs, max }), missing }
  }

  /** A verified record of `peer` this lookup holds or gossip delivered, still good for cacheMarginMs; no fetch. */
  private held (peer: string): CapacityRecord | undefined {
    const cached = this.cache.get(peer)
    if (cached != null && recordUsable(cached, this.c.now(), lookupDefaults.cacheMarginMs)) return cached
    return this.fromGossip(peer)
  }

  /**
   * After an answer from known records: complete the list in the background.
   * The records of known providers that were missing are fetched; unless the
   * provider list is still fresh, one walk per model (not again within
   * providerListTtlMs, even if it came back empty) fetches the record of each
   * provider it finds. Bounded: at most one fetch per provider in flight (of
   * maxProviders gossiped plus the cached list), one walk per model,
   * maxCachedModels models, lookupDefaults' timeouts; record() holds back
   * recent misses.
   */
  private complete (model: string, max: number, missing: string[]): void {
    // One tracked fetch per provider: record() shares a fetch in flight, so callers that come meanwhile add none.
    for (const p of missing) if (!this.fetching.has(p)) this.track(this.record(p).then(() => {}, () => {}))
    const entry = this.lists.get(model)
    const now = Date.now()
    if (entry != null && now - entry.at < lookupDefaults.providerListTtlMs) return
    const last = this.completing.get(model)
    if (entry?.refreshing != null || (last != null && now - last < lookupDefaults.providerListTtlMs)) return
    this.completing.delete(model)
    if (this.completing.size >= lookupDefaults.maxCachedModels) this.completing.delete(this.completing.keys().next().value!)
    this.completing.set(model, now)
    const fetches: Array<Promise<unknown>> = []
    this.track((async () => {
      await this.walk(model, AbortSignal.timeout(lookupDefaults.timeoutMs), max, peer => { fetches.push(this.record(peer).catch(() => undefined)) })
      await Promise.all(fetches)
    })().catch(err => {
      this.c.logger.debug({ err: (err as Error).message, model }, 'background provider walk failed')
    }))
  }

  private track (work: Promise<void>): void {
    this.pending.add(work)
    void work.finally(() => this.pending.delete(work))
  }

  /** Resolves once the background work started so far (walks completing a list, their record fetches) has ended. */
  async settled (): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending])
  }

  private async providerList (model: string, signal: AbortSignal, opts: LookupOptions, onPeer: (peer: string) => unknown): Promise<{ peers: string[], cached: boolean }> {
    const entry = this.lists.get(model)
    const age = entry == null ? Infinity : Date.now() - entry.at
    if (entry != null && opts.fresh !== true) {
      if (age < lookupDefaults.providerListTtlMs) return { peers: entry.peers, cached: true }
      if (age < lookupDefaults.providerListMaxStaleMs) {
        // Serve the old list now; refresh it for the next caller.
        entry.refreshing ??= this.walk(model, AbortSignal.timeout(lookupDefaults.timeoutMs), opts.maxProviders)
          .finally(() => { entry.refreshing = undefined })
        return { peers: entry.peers, cached: true }
      }
    }
    return { peers: await this.walk(model, signal, opts.maxProviders, onPeer), cached: false }
  }

  private async walk (model: string, signal: AbortSignal, maxProviders = lookupDefaults.maxProviders, onPeer?: (peer: string) => unknown): Promise<string[]> {
    const peers = new Set<string>()
    try {
      for await (const provider of this.c.host.contentRouting.findProviders(modelCid(this.c.network, model), { signal })) {
        const id = provider.id.toString()
        if (!peers.has(id)) onPeer?.(id)
        peers.add(id)
        if (peers.size >= maxProviders) break
      }
    } catch (err) {
      // A timeout still returns whatever was found; anything else is logged.
      if (!signal.aborted) this.c.logger.warn({ err: (err as Error).message, model }, 'provider lookup failed part-way')
    }
    const list = [...peers]
    // An empty answer is not cached: the network may still be forming.
    if (list.length > 0) {
      if (!this.lists.has(model) && this.lists.size >= lookupDefaults.maxCachedModels) this.lists.delete(this.lists.keys().next().value!)
      this.lists.set(model, { peers: list, at: Date.now() })
    }
    return list
  }

  /**
   * One provider's capacity record, verified; undefined when missing, invalid
   * or expired. Concurrent asks for one provider share one fetch, and a
   * provider whose record could not be had is not asked again for
   * lookupDefaults.missRetryMs: a gateway under client load otherwise ran a
   * full DHT GET per task for every provider in its cached list whose record
   * had lapsed (a zeroed or departed one), thousands a minute (seen in the
   * validation network: 12,860 stale-copy rejections in 3 minutes).
   */
  async record (peerId: string, signal?: AbortSignal): Promise<CapacityRecord | undefined> {
    const cached = this.cache.get(peerId)
    if (cached != null && recordUsable(cached, this.c.now(), lookupDefaults.cacheMarginMs)) return cached
    this.cache.delete(peerId)
    // Our own, or one gossip already verified: nothing to fetch, wait for or share.
    if (peerId === this.c.identity.peerId) {
      const own = this.check(peerId, this.c.advertiser?.current()?.bytes)
      return own == null ? undefined : this.remember(own)
    }
    const gossiped = this.fromGossip(peerId)
    if (gossiped != null) return this.remember(gossiped)
    if ((this.misses.get(peerId) ?? 0) > this.c.now()) return undefined
    this.misses.delete(peerId)
    let fetch = this.fetching.get(peerId)
    if (fetch == null) {
      fetch = this.fetchRecord(peerId).finally(() => this.fetching.delete(peerId))
      this.fetching.set(peerId, fetch)
    }
    return untilAborted(fetch, signal)
  }

  /** Fetch and verify one record, bounded by its own timeouts (it may be shared by several callers). */
  private async fetchRecord (peerId: string): Promise<CapacityRecord | undefined> {
    const key = capacityKey(peerId)
    const check = (bytes: Uint8Array | undefined): CapacityRecord | undefined => this.check(peerId, bytes)
    const record = check(await fetchStatus(this.c.host, this.c.network, peerId)) ?? await this.fromDht(key, check)
    if (record == null) {
      if (!this.misses.has(peerId) && this.misses.size >= lookupDefaults.maxCachedRecords) this.misses.delete(this.misses.keys().next().value!)
      this.misses.set(peerId, this.c.now() + lookupDefaults.missRetryMs)
      return undefined
    }
    return this.remember(record)
  }

  /** A record gossip verified (the catalog), while it is good for a while yet. */
  private fromGossip (peerId: string): CapacityRecord | undefined {
    const known = this.c.known?.(peerId)
    return known != null && known.peer === peerId && recordUsable(known, this.c.now(), lookupDefaults.cacheMarginMs) ? known : undefined
  }

  /** `bytes` as `peerId`'s verified capacity record, or undefined (logged) if it is not one. */
  private check (peerId: string, bytes: Uint8Array | undefined): CapacityRecord | undefined {
    if (bytes == null) return undefined
    try {
      return verifyCapacityRecord(bytes, { network: this.c.network, now: this.c.now(), verify: this.c.verify, key: capacityKey(peerId) })
    } catch (err) {
      this.c.logger.info({ peer: peerId, code: isCodedError(err) ? err.code : 'UNKNOWN', err: (err as Error).message }, 'capacity record rejected')
      return undefined
    }
  }

  private remember (record: CapacityRecord): CapacityRecord {
    this.c.onRecord?.(record)
    if (this.cache.size >= lookupDefaults.maxCachedRecords) this.cache.delete(this.cache.keys().next().value!)
    this.cache.set(record.peer, record)
    return record
  }

  /** The first copy in the DHT that verifies; the walk stops there. */
  private async fromDht (key: Uint8Array, check: (b: Uint8Array) => CapacityRecord | undefined): Promise<CapacityRecord | undefined> {
    try {
      for await (const event of this.c.host.services.dht.get(key, { signal: AbortSignal.timeout(lookupDefaults.recordTimeoutMs) })) {
        const value = event.name === 'PEER_RESPONSE' || event.name === 'VALUE' ? (event as { record?: { value: Uint8Array }, value?: Uint8Array }).record?.value ?? (event as { value?: Uint8Array }).value : undefined
        if (value == null) continue
        const r = check(value)
        if (r != null) return r
      }
    } catch (err) {
      this.c.logger.debug({ err: (err as Error).message }, 'no capacity record found in the DHT')
    }
    return undefined
  }
}
