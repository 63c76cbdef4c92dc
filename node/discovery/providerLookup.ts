/**
 * "Who serves model X, on what hardware, at what price": one provider-record
 * lookup on the model's CID, then each provider's capacity record from the DHT,
 * verified before use (design.md §6). Verified records are cached until shortly
 * before they expire.
 */
import { capacityKey, modelCid, verifyCapacityRecord, type CapacityRecord } from '../../protocol/capacity.ts'
import { isCodedError } from '../../protocol/errors.ts'
import type { Identity } from '../../protocol/identity.ts'
import type { Network } from '../../protocol/network.ts'
import type { VerifyFn } from '../../protocol/signing.ts'
import type { Host } from '../libp2p.ts'
import type { Logger } from '../logger.ts'
import { lookupDefaults } from '../options.ts'
import { withTimeout } from '../util/abort.ts'
import type { Advertiser } from './advertiser.ts'

export interface ProviderLookupComponents {
  host: Host
  network: Network
  identity: Identity
  verify: VerifyFn
  now: () => number
  logger: Logger
  advertiser?: Advertiser
}

export interface LookupOptions {
  signal?: AbortSignal
  timeoutMs?: number
  maxProviders?: number
}

export interface LookupStats {
  providersFound: number
  recordsVerified: number
  recordsRejected: number
}

export class ProviderLookup {
  private readonly c: ProviderLookupComponents
  private readonly cache = new Map<string, CapacityRecord>()

  constructor (components: ProviderLookupComponents) {
    this.c = components
  }

  /** Verified capacity records of the providers of `model`, freshest first by seq. */
  async find (model: string, opts: LookupOptions = {}): Promise<{ records: CapacityRecord[], stats: LookupStats }> {
    const signal = withTimeout(opts.signal, opts.timeoutMs ?? lookupDefaults.timeoutMs)
    const max = opts.maxProviders ?? lookupDefaults.maxProviders
    const peers = new Set<string>()
    const fetches: Array<Promise<CapacityRecord | undefined>> = []
    const stats: LookupStats = { providersFound: 0, recordsVerified: 0, recordsRejected: 0 }
    try {
      for await (const provider of this.c.host.contentRouting.findProviders(modelCid(this.c.network, model), { signal })) {
        const id = provider.id.toString()
        if (peers.has(id)) continue
        peers.add(id)
        // Fetch records while the provider walk continues.
        fetches.push(this.record(id, signal))
        if (peers.size >= max) break
      }
    } catch (err) {
      // A timeout still returns whatever was found; anything else is logged.
      if (!signal.aborted) this.c.logger.warn({ err: (err as Error).message, model }, 'provider lookup failed part-way')
    }
    stats.providersFound = peers.size
    const records: CapacityRecord[] = []
    for (const r of await Promise.all(fetches)) {
      if (r == null) {
        stats.recordsRejected++
        continue
      }
      stats.recordsVerified++
      // A provider record says "serves X"; the signed capacity record must agree.
      if (r.models.some(m => m.id === model)) records.push(r)
    }
    records.sort((a, b) => a.peer.localeCompare(b.peer))
    return { records, stats }
  }

  /** One provider's capacity record, verified; undefined when missing, invalid or expired. */
  async record (peerId: string, signal?: AbortSignal): Promise<CapacityRecord | undefined> {
    const now = this.c.now()
    const cached = this.cache.get(peerId)
    if (cached != null && cached.expiresAt - lookupDefaults.cacheMarginMs > now) return cached
    this.cache.delete(peerId)

    const key = capacityKey(peerId)
    let bytes: Uint8Array | undefined
    if (peerId === this.c.identity.peerId) {
      bytes = this.c.advertiser?.current()?.bytes
    } else {
      try {
        bytes = await this.c.host.contentRouting.get(key, { signal: withTimeout(signal, lookupDefaults.recordTimeoutMs) })
      } catch (err) {
        this.c.logger.debug({ peer: peerId, err: (err as Error).message }, 'no capacity record found')
        return undefined
      }
    }
    if (bytes == null) return undefined
    try {
      const record = verifyCapacityRecord(bytes, { network: this.c.network, now: this.c.now(), verify: this.c.verify, key })
      if (this.cache.size >= lookupDefaults.maxCachedRecords) this.cache.delete(this.cache.keys().next().value!)
      this.cache.set(peerId, record)
      return record
    } catch (err) {
      this.c.logger.info({ peer: peerId, code: isCodedError(err) ? err.code : 'UNKNOWN', err: (err as Error).message }, 'capacity record rejected')
      return undefined
    }
  }
}
