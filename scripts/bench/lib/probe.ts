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
  /** Error messages of failed requests, with counts. */
  readonly errorKinds = new Map<string, number>()
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
      case 'QUERY_ERROR': {
        this.errors++
        const e = (d as { error?: Error }).error
        const kind = `${e?.name ?? 'Error'}: ${(e?.message ?? '').slice(0, 80)}`
        this.errorKinds.set(kind, (this.errorKinds.get(kind) ?? 0) + 1)
        break
      }
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

export interface Probe {
  /** Pass this host to the code under test. */
  host: Host
  /** The trace since the last start(). */
  readonly trace: LookupTrace
  /** Begin a new trace (and its clock). */
  start: () => void
}

type OnProgress = (evt: { type: string, detail?: unknown }) => void

function chain (a: OnProgress | undefined, b: OnProgress): OnProgress {
  return a == null ? b : evt => { a(evt); b(evt) }
}

/**
 * A view of `host` for the code under test: everything is the real host except
 * contentRouting.findProviders/get and services.dht.findProviders/get, which
 * add the probe's onProgress and timing (whichever of the two the lookup uses).
 */
export function probeHost (host: Host, expected: number): Probe {
  const self = host.peerId.toString()
  const fresh = (): LookupTrace => ({ walk: new WalkTrace(self), gets: new WalkTrace(self), getMs: [], localProviders: 0 })
  let trace = fresh()
  let t0 = performance.now()
  const since = (): number => performance.now() - t0
  let seen = new Set<string>()

  const walkProgress: OnProgress = evt => {
    const d = (evt.detail ?? {}) as QueryEventDetail
    if (d.name === 'PROVIDER') {
      if (d.from?.toString() === self) trace.localProviders += d.providers?.length ?? 0
      for (const p of d.providers ?? []) {
        const id = p.id.toString()
        if (seen.has(id)) continue
        seen.add(id)
        trace.firstProviderMs ??= since()
        if (seen.size === expected) trace.allProvidersMs = since()
      }
    }
    trace.walk.onEvent(host, evt)
  }

  /** Times an async iterable walk until it ends or its consumer stops. */
  async function * timedWalk<T> (source: AsyncIterable<T>, t: LookupTrace): AsyncGenerator<T> {
    try {
      yield * source
    } finally {
      t.walkEndMs = since()
    }
  }

  /** Times one record fetch and routes its events to the gets trace. */
  const getOptions = (options: RoutingOptions, t: LookupTrace): RoutingOptions => ({ ...options, onProgress: chain(options.onProgress, evt => t.gets.onEvent(host, evt)) })

  const real = host.contentRouting
  const contentRouting: ContentRouting = {
    provide: async (cid, options) => real.provide(cid, options),
    cancelReprovide: async (cid, options) => real.cancelReprovide(cid, options),
    put: async (key, value, options) => real.put(key, value, options),
    findProviders: (cid: CID, options: RoutingOptions = {}): AsyncIterable<Provider> =>
      timedWalk(real.findProviders(cid, { ...options, onProgress: chain(options.onProgress, walkProgress) }), trace),
    async get (key: Uint8Array, options: RoutingOptions = {}): Promise<Uint8Array> {
      const t = trace
      const started = performance.now()
      try {
        return await real.get(key, getOptions(options, t))
      } finally {
        t.getMs.push(performance.now() - started)
      }
    }
  }

  const realDht = host.services.dht
  const dht = new Proxy(realDht, {
    get (target, prop) {
      if (prop === 'findProviders') {
        return (cid: CID, options: RoutingOptions = {}) => timedWalk(target.findProviders(cid, { ...options, onProgress: chain(options.onProgress, walkProgress) }), trace)
      }
      if (prop === 'get') {
        return (key: Uint8Array, options: RoutingOptions = {}) => {
          const t = trace
          const started = performance.now()
          return (async function * () {
            try {
              yield * target.get(key, getOptions(options, t))
            } finally {
              t.getMs.push(performance.now() - started)
            }
          })()
        }
      }
      const v: unknown = Reflect.get(target, prop, target)
      return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v
    }
  })
  const services = { ...host.services, dht }

  const view = new Proxy(host, {
    get (target, prop) {
      if (prop === 'contentRouting') return contentRouting
      if (prop === 'services') return services
      const v: unknown = Reflect.get(target, prop, target)
      return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v
    }
  })
  return {
    host: view,
    get trace () { return trace },
    start: () => {
      trace = fresh()
      seen = new Set()
      t0 = performance.now()
    }
  }
}
