/**
 * Watches the DHT traffic of one provider lookup without changing the code
 * under test: a view of a host whose contentRouting passes kad-dht's progress
 * events (SEND_QUERY, PEER_RESPONSE, DIAL_PEER) to a probe, and times the
 * provider walk and every record fetch.
 */
import { performance } from 'node:perf_hooks'
import type { ContentRouting, PeerId, PeerInfo, Provider, RoutingOptions } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import type { Host } from '../../../node/libp2p.ts'

interface QueryEventDetail {
  name?: string
  to?: PeerId
  from?: PeerId
  peer?: PeerId
  closer?: PeerInfo[]
  providers?: PeerInfo[]
}

/** Distinct peers a query talked to, and how deep its walk went. */
export class WalkTrace {
  /** Peers sent a request (SEND_QUERY), in order. */
  readonly queried = new Set<string>()
  readonly responded = new Set<string>()
  /** Requests sent, counting repeats. */
  messages = 0
  /** Requests that needed a new connection first. */
  dials = 0
  errors = 0
  /** Hop depth at which each peer was reached: starting peers are hop 1. */
  private readonly depth = new Map<string, number>()
  private readonly learnedAt = new Map<string, number>()
  private readonly self: string

  constructor (self: string) {
    this.self = self
  }

  /** Deepest hop a request went out on. */
  get maxDepth (): number {
    let m = 0
    for (const d of this.depth.values()) m = Math.max(m, d)
    return m
  }

  onEvent (host: Host, evt: { type: string, detail?: unknown }): void {
    const d = (evt.detail ?? {}) as QueryEventDetail
    switch (d.name) {
      case 'DIAL_PEER':
        if (d.peer != null && host.getConnections(d.peer).length === 0) this.dials++
        break
      case 'SEND_QUERY': {
        if (d.to == null) break
        const id = d.to.toString()
        this.messages++
        this.queried.add(id)
        if (!this.depth.has(id)) this.depth.set(id, this.learnedAt.get(id) ?? 1)
        break
      }
      case 'PEER_RESPONSE': {
        if (d.from == null) break
        const id = d.from.toString()
        // The local provider store answers as "self"; that is no hop.
        if (id === this.self) break
        this.responded.add(id)
        const next = (this.depth.get(id) ?? 1) + 1
        for (const p of d.closer ?? []) {
          const c = p.id.toString()
          if (!this.learnedAt.has(c)) this.learnedAt.set(c, next)
        }
        break
      }
      case 'QUERY_ERROR':
        this.errors++
        break
      default:
        break
    }
  }
}

export interface LookupTrace {
  /** The findProviders walk. */
  walk: WalkTrace
  /** All capacity-record fetches together. */
  gets: WalkTrace
  /** ms from the probe's start to the first provider yielded. */
  firstProviderMs?: number
  /** ms until `expected` distinct providers had been yielded. */
  allProvidersMs?: number
  /** ms until the findProviders walk ended. */
  walkEndMs?: number
  /** Durations of each record fetch (contentRouting.get), ms. */
  getMs: number[]
  /** Providers the local provider store already knew. */
  localProviders: number
}

/**
 * A host for one lookup: everything is the real host except contentRouting,
 * which adds the probe's onProgress and timing around findProviders and get.
 */
export function probeHost (host: Host, expected: number): { host: Host, trace: LookupTrace, start: () => void } {
  const self = host.peerId.toString()
  const trace: LookupTrace = { walk: new WalkTrace(self), gets: new WalkTrace(self), getMs: [], localProviders: 0 }
  let t0 = performance.now()
  const since = (): number => performance.now() - t0
  const real = host.contentRouting
  const seen = new Set<string>()

  const walkProgress = (evt: { type: string, detail?: unknown }): void => {
    const d = (evt.detail ?? {}) as QueryEventDetail
    if (d.name === 'PROVIDER' && d.from?.toString() === self) trace.localProviders += d.providers?.length ?? 0
    trace.walk.onEvent(host, evt)
  }

  const contentRouting: ContentRouting = {
    provide: async (cid, options) => real.provide(cid, options),
    cancelReprovide: async (cid, options) => real.cancelReprovide(cid, options),
    put: async (key, value, options) => real.put(key, value, options),
    findProviders (cid: CID, options: RoutingOptions = {}): AsyncIterable<Provider> {
      const source = real.findProviders(cid, { ...options, onProgress: walkProgress })
      return (async function * () {
        try {
          for await (const p of source) {
            const id = p.id.toString()
            if (!seen.has(id)) {
              seen.add(id)
              trace.firstProviderMs ??= since()
              if (seen.size === expected) trace.allProvidersMs = since()
            }
            yield p
          }
        } finally {
          trace.walkEndMs = since()
        }
      })()
    },
    async get (key: Uint8Array, options: RoutingOptions = {}): Promise<Uint8Array> {
      const started = performance.now()
      try {
        return await real.get(key, { ...options, onProgress: evt => trace.gets.onEvent(host, evt) })
      } finally {
        trace.getMs.push(performance.now() - started)
      }
    }
  }

  const view = new Proxy(host, {
    get (target, prop) {
      if (prop === 'contentRouting') return contentRouting
      const v: unknown = Reflect.get(target, prop, target)
      return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v
    }
  })
  return { host: view, trace, start: () => { t0 = performance.now() } }
}
