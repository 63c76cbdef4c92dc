/**
 * Ledger replication (ARCHITECTURE.md §9): gossip on /infermesh/<net>/ledger/1 with a
 * validator that answers ACCEPT, IGNORE or REJECT, plus anti-entropy over
 * /infermesh/<net>/ledger-sync/1.0.0. An entry is stored (atomically, on disk)
 * before gossipsub is told to accept and forward it.
 */
import { CodedError, ErrorCode } from '../../protocol/errors.ts'
import { nativeEntryId } from '../crypto/nativeHash.ts'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { IdentifyResult, PeerId } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { toHex } from '../../protocol/bytes.ts'
import type { Identity } from '../../protocol/identity.ts'
import { decodeEntry, epochOf, epochWindowProblem, type LedgerEntry } from '../../protocol/ledger/entries.ts'
import { validateGossipEntry, validateSyncedEntry } from '../../protocol/ledger/validate.ts'
import { protocolIds, type Network } from '../../protocol/network.ts'
import { computeReference } from '../../protocol/referenceTask.ts'
import type { VerifyFn } from '../../protocol/signing.ts'
import type { TaskRequest } from '../../protocol/task.ts'
import type { Host } from '../libp2p.ts'
import type { Logger } from '../logger.ts'
import type { Metrics } from '../metrics.ts'
import { ledgerDefaults } from '../options.ts'
import { sleep } from '../util/abort.ts'
import { closeOrReset } from '../util/stream.ts'
import type { LedgerStore } from './ledgerStore.ts'
import { decodeSyncRequest, decodeSyncResponse, encodeSync, SYNC_LIMITS, type SyncRequest, type SyncResponse } from '../../protocol/ledger/sync.ts'
import { compareCodeUnits } from '../../protocol/ascii.ts'

export interface LedgerServiceComponents {
  host: Host
  network: Network
  identity: Identity
  verify: VerifyFn
  store: LedgerStore
  logger: Logger
  metrics?: Metrics
  now: () => number
}

export type Verdict = ReturnType<typeof validateGossipEntry>

export class LedgerService {
  private readonly c: LedgerServiceComponents
  readonly topic: string
  readonly syncProtocol: string
  private readonly decoded = new Map<string, LedgerEntry>()
  private readonly commits = new Map<string, LedgerEntry[]>()
  private readonly listeners = new Set<(entries: LedgerEntry[]) => void>()
  private readonly controller = new AbortController()
  private loop?: Promise<void>
  /** Peers that connected and await a connect-time sync (peerId → PeerId), in arrival order. */
  private readonly connectQueue = new Map<string, PeerId>()
  private connectSyncs = 0
  /** Peers a sync is running with, so the loop and a connect sync never double up on one peer. */
  private readonly syncing = new Set<string>()
  /** Fast rounds left (ledgerDefaults.syncFollowUpMs apart) since entries were last added. */
  private followUps = 0
  /** Ends the loop's current pause early. */
  private wake?: () => void
  private readonly onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    if (this.controller.signal.aborted || !evt.detail.protocols.includes(this.syncProtocol)) return
    if (this.connectQueue.size >= ledgerDefaults.maxConnectSyncQueue) return
    this.connectQueue.set(evt.detail.peerId.toString(), evt.detail.peerId)
    this.drainConnectQueue()
  }
  /** Counts by verdict code, for metrics and tests. */
  readonly verdicts = new Map<string, number>()

  constructor (components: LedgerServiceComponents) {
    this.c = components
    this.topic = protocolIds(components.network).ledgerTopic
    this.syncProtocol = protocolIds(components.network).ledgerSync
  }

  /** Called with entries newly stored, from gossip, sync or this node. */
  onEntries (fn: (entries: LedgerEntry[]) => void): void {
    this.listeners.add(fn)
  }

  entries (): LedgerEntry[] {
    return [...this.decoded.values()]
  }

  async start (): Promise<void> {
    // Re-index what is on disk; each entry was validated when it was stored.
    for (const epoch of this.c.store.epochs()) {
      for (const e of this.c.store.entries(epoch)) {
        try {
          this.remember(decodeEntry(e.bytes, this.c.network, this.c.verify, nativeEntryId(e.bytes)))
        } catch (err) {
          this.c.logger.warn({ id: e.id, err: (err as Error).message }, 'stored ledger entry no longer decodes; ignoring it')
        }
      }
    }
    const pubsub = this.c.host.services.pubsub
    pubsub.topicValidators.set(this.topic, async (_peer, message) => this.onGossip(message.data))
    pubsub.subscribe(this.topic)
    await this.c.host.handle(this.syncProtocol, async stream => {
      const lp = lpStream(stream, { maxDataLength: this.c.network.definition.limits.maxMessageBytes })
      try {
        const req = decodeSyncRequest((await lp.read({ signal: AbortSignal.timeout(ledgerDefaults.syncTimeoutMs) })).subarray(), this.c.network.definition.limits.maxMessageBytes)
        await lp.write(encodeSync(this.answer(req)), { signal: AbortSignal.timeout(ledgerDefaults.syncTimeoutMs) })
        // Reset if the asker never ends its side: a sync stream must not stay half-open.
        await closeOrReset(stream, ledgerDefaults.syncTimeoutMs)
      } catch (err) {
        try {
          await lp.write(encodeSync({ t: 'error', message: (err as Error).message.slice(0, 500) }), { signal: AbortSignal.timeout(ledgerDefaults.syncTimeoutMs) })
          await closeOrReset(stream, ledgerDefaults.syncTimeoutMs)
        } catch {
          stream.abort(err as Error)
        }
      }
    }, { maxInboundStreams: ledgerDefaults.maxInboundSyncStreams })
    this.c.host.addEventListener('peer:identify', this.onIdentify)
    this.loop = this.syncLoop(this.controller.signal)
  }

  async stop (): Promise<void> {
    this.controller.abort()
    this.c.host.removeEventListener('peer:identify', this.onIdentify)
    this.connectQueue.clear()
    await this.loop
    this.c.host.services.pubsub.topicValidators.delete(this.topic)
    await this.c.host.unhandle(this.syncProtocol)
  }

  private context (): Parameters<typeof validateGossipEntry>[1] {
    return {
      network: this.c.network,
      verify: this.c.verify,
      now: this.c.now(),
      has: (id: string) => this.c.store.has(id),
      commitOf: (author: string, epoch: number) => this.commits.get(`${author}/${epoch}`),
      recompute: (request: TaskRequest) => computeReference(request).output,
      entryById: (id: string) => this.decoded.get(id),
      entryId: nativeEntryId
    }
  }

  private count (code: string): void {
    this.verdicts.set(code, (this.verdicts.get(code) ?? 0) + 1)
    this.c.metrics?.ledgerVerdicts.inc({ code })
  }

  private async onGossip (bytes: Uint8Array): Promise<TopicValidatorResult> {
    let verdict: Verdict
    try {
      verdict = validateGossipEntry(bytes, this.context())
    } catch (err) {
      this.c.logger.warn({ err: (err as Error).message }, 'ledger validator failed')
      return TopicValidatorResult.Reject
    }
    this.count(verdict.code)
    if (verdict.action === 'ACCEPT' && verdict.entry != null) {
      try {
        await this.persist([verdict.entry])
      } catch (err) {
        // Our disk failed, not the sender: do not forward what we could not keep.
        this.c.logger.warn({ err: (err as Error).message }, 'ledger entry not stored')
        return TopicValidatorResult.Ignore
      }
      return TopicValidatorResult.Accept
    }
    // debug, not info: a peer flooding bad entries must not flood the log too (each REJECT is counted in infermesh_ledger_verdicts_total{code} and lowers the sender's gossipsub score).
    if (verdict.action === 'REJECT') this.c.logger.debug({ code: verdict.code }, 'ledger entry rejected')
    return verdict.action === 'REJECT' ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore
  }

  /** Store and gossip an entry this node made. Resolves once it is on disk. */
  async publish (entry: LedgerEntry): Promise<void> {
    // Our own entries skip validation, so at least refuse one that every peer would refuse
    // (it would sit in this node's roots alone and keep them from ever matching).
    const problem = epochWindowProblem(entry.body, this.c.network)
    if (problem != null) throw new CodedError(ErrorCode.ENTRY_OUT_OF_WINDOW, `refusing to publish ${entry.body.kind} ${entry.id}: ${problem}`)
    await this.persist([entry])
    await this.c.host.services.pubsub.publish(this.topic, entry.bytes).catch((err: Error) => {
      // No gossip peers yet: anti-entropy delivers it later.
      this.c.logger.debug({ err: err.message }, 'ledger gossip not sent')
    })
  }

  private remember (entry: LedgerEntry): void {
    if (this.decoded.has(entry.id)) return
    this.decoded.set(entry.id, entry)
    if (entry.body.kind === 'commit') {
      const k = `${entry.body.author}/${entry.body.epoch}`
      const list = this.commits.get(k) ?? []
      list.push(entry)
      list.sort((a, b) => a.body.issuedAt - b.body.issuedAt || compareCodeUnits(a.id, b.id))
      this.commits.set(k, list)
    }
  }

  private async persist (entries: LedgerEntry[]): Promise<void> {
    const fresh = await this.c.store.put(entries.map(e => ({ id: e.id, epoch: e.body.epoch, bytes: e.bytes })))
    if (fresh.length === 0) return
    const stored = entries.filter(e => fresh.some(f => f.id === e.id))
    for (const e of stored) this.remember(e)
    for (const fn of this.listeners) fn(stored)
  }

  /** Per-epoch roots of what this node holds. */
  roots (from: number, to: number): Array<{ epoch: number, root: Uint8Array, count: number }> {
    const out = []
    for (let e = from; e <= to && out.length < SYNC_LIMITS.maxEpochs; e++) {
      out.push({ epoch: e, root: this.c.store.root(e), count: this.c.store.countOf(e) })
    }
    return out
  }

  rootHex (epoch: number): string {
    return toHex(this.c.store.root(epoch))
  }

  private answer (req: SyncRequest): SyncResponse {
    if (req.t === 'roots') {
      if (req.to < req.from || req.to - req.from >= SYNC_LIMITS.maxEpochs) return { t: 'error', message: `ask for at most ${SYNC_LIMITS.maxEpochs} epochs` }
      return { t: 'roots', roots: this.roots(req.from, req.to) }
    }
    if (req.t === 'ids') return { t: 'ids', epoch: req.epoch, ids: this.c.store.ids(req.epoch).slice(0, SYNC_LIMITS.maxIds) }
    const entries: Uint8Array[] = []
    let size = 0
    for (const id of req.ids) {
      const e = this.c.store.get(id)
      if (e == null) continue
      // Stay well inside one message.
      if (size + e.bytes.length > this.c.network.definition.limits.maxMessageBytes / 2) break
      size += e.bytes.length
      entries.push(e.bytes)
    }
    return { t: 'entries', entries }
  }

  private async request (peer: PeerId, req: SyncRequest, signal: AbortSignal): Promise<SyncResponse> {
    const s = AbortSignal.any([signal, AbortSignal.timeout(ledgerDefaults.syncTimeoutMs)])
    const stream = await this.c.host.dialProtocol(peer, this.syncProtocol, { signal: s })
    const lp = lpStream(stream, { maxDataLength: this.c.network.definition.limits.maxMessageBytes })
    try {
      await lp.write(encodeSync(req), { signal: s })
      const res = decodeSyncResponse((await lp.read({ signal: s })).subarray(), this.c.network.definition.limits.maxMessageBytes)
      await stream.close({ signal: s }).catch(() => {})
      if (res.t === 'error') throw new CodedError(ErrorCode.INTERNAL, `peer refused sync: ${res.message}`)
      return res
    } catch (err) {
      stream.abort(err as Error)
      throw err
    }
  }

  /** A peer's per-epoch roots, for comparing with ours. */
  async peerRoots (peer: PeerId, from: number, to: number, signal: AbortSignal): Promise<Array<{ epoch: number, root: string, count: number }>> {
    const res = await this.request(peer, { t: 'roots', from, to }, signal)
    return res.t === 'roots' ? res.roots.map(r => ({ epoch: r.epoch, root: toHex(r.root), count: r.count })) : []
  }

  /**
   * This node's roots for epochs from..to beside those of up to
   * ledgerDefaults.agreementPeers connected peers (for GET /v1/ledger/agreement).
   */
  async agreement (from: number, to: number): Promise<{ epochs: Array<{ epoch: number, root: string, peers: Array<{ peer: string, root: string | null, agrees: boolean }> }>, peersAsked: number, peersAnswered: number }> {
    const peers = this.c.host.getPeers().slice(0, ledgerDefaults.agreementPeers)
    const theirs = await Promise.all(peers.map(async p => ({
      peer: p.toString(),
      roots: await this.peerRoots(p, from, to, AbortSignal.timeout(ledgerDefaults.agreementTimeoutMs)).catch(() => undefined)
    })))
    const answered = theirs.filter(t => t.roots != null && t.roots.length > 0)
    const epochs = []
    for (let e = from; e <= to; e++) {
      const mine = this.rootHex(e)
      epochs.push({
        epoch: e,
        root: mine,
        peers: answered.map(t => {
          const r = t.roots!.find(x => x.epoch === e)
          return { peer: t.peer, root: r?.root ?? null, agrees: r?.root === mine }
        })
      })
    }
    return { epochs, peersAsked: peers.length, peersAnswered: answered.length }
  }

  /** Compare roots with one peer and fetch every entry we lack. Returns how many were added. */
  async syncWith (peer: PeerId, signal: AbortSignal = this.controller.signal): Promise<number> {
    const current = epochOf(this.c.now(), this.c.network)
    const from = Math.max(0, current - ledgerDefaults.syncEpochs)
    const theirs = await this.request(peer, { t: 'roots', from, to: current + 1 }, signal)
    if (theirs.t !== 'roots') return 0
    let added = 0
    for (const r of theirs.roots) {
      if (r.count === 0 || toHex(r.root) === this.rootHex(r.epoch)) continue
      const ids = await this.request(peer, { t: 'ids', epoch: r.epoch }, signal)
      if (ids.t !== 'ids') continue
      const missing = ids.ids.filter(id => !this.c.store.has(id))
      for (let i = 0; i < missing.length; i += SYNC_LIMITS.maxGet) {
        const got = await this.request(peer, { t: 'get', ids: missing.slice(i, i + SYNC_LIMITS.maxGet) }, signal)
        if (got.t !== 'entries') continue
        // Endorsements, then commits, reveals, fraud proofs, evidence, confirmations: each kind
        // is stored before the next is judged, so a reveal finds its commit
        // without anything becoming visible here before it is on disk.
        const verdicts = got.entries.map(b => ({ b, v: this.safeSyncVerdict(b) }))
        const kinds = [...new Set(verdicts.map(x => rank(x.v.entry)))].sort((a, b) => a - b)
        for (const kind of kinds) {
          const accepted: LedgerEntry[] = []
          for (const { b, v } of verdicts) {
            if (rank(v.entry) !== kind) continue
            // Judged again once the batch's commits are stored: the one it opens may be among them.
            // So is a confirmation whose evidence may be among them.
            const verdict = v.code === 'REVEAL_WITHOUT_COMMIT' || v.code === 'REVEAL_MISMATCH' || v.code === 'CONFIRM_UNKNOWN_EVIDENCE' ? this.safeSyncVerdict(b) : v
            this.count(verdict.code)
            if (verdict.action === 'ACCEPT' && verdict.entry != null) accepted.push(verdict.entry)
          }
          await this.persist(accepted)
          added += accepted.length
        }
      }
    }
    return added
  }

  private safeSyncVerdict (bytes: Uint8Array): Verdict {
    try {
      return validateSyncedEntry(bytes, this.context())
    } catch (err) {
      return { action: 'REJECT', code: 'ENTRY_MALFORMED', id: '', message: (err as Error).message }
    }
  }

  /** Start connect-time syncs up to ledgerDefaults.maxConnectSyncs at once. */
  private drainConnectQueue (): void {
    while (this.connectSyncs < ledgerDefaults.maxConnectSyncs && this.connectQueue.size > 0 && !this.controller.signal.aborted) {
      const [k, peer] = this.connectQueue.entries().next().value as [string, PeerId]
      this.connectQueue.delete(k)
      this.connectSyncs++
      void this.syncLogged(peer, this.controller.signal).finally(() => {
        this.connectSyncs--
        this.drainConnectQueue()
      })
    }
  }

  /** One sync that never throws; entries added start (or extend) fast follow-up rounds. */
  private async syncLogged (peer: PeerId, signal: AbortSignal): Promise<number> {
    const key = peer.toString()
    if (this.syncing.has(key)) return 0
    this.syncing.add(key)
    try {
      const added = await this.syncWith(peer, signal)
      if (added > 0) {
        this.c.logger.info({ peer: key, added }, 'ledger entries synced')
        this.followUps = ledgerDefaults.maxSyncFollowUps
        this.wake?.()
      }
      return added
    } catch (err) {
      this.c.logger.debug({ peer: key, err: (err as Error).message }, 'ledger sync with peer failed')
      return 0
    } finally {
      this.syncing.delete(key)
    }
  }

  /** Sleep `ms`, or less when wake() is called (entries just arrived by sync). */
  private async pause (ms: number, signal: AbortSignal): Promise<void> {
    const cut = new AbortController()
    this.wake = () => cut.abort()
    try {
      await sleep(ms, AbortSignal.any([signal, cut.signal]))
    } finally {
      this.wake = undefined
    }
  }

  private async syncLoop (signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (this.followUps > 0) {
        this.followUps--
        await sleep(ledgerDefaults.syncFollowUpMs, signal)
      } else {
        await this.pause(ledgerDefaults.syncIntervalMs, signal)
      }
      const peers = this.c.host.getPeers()
      // A couple of random peers a round: enough to spread, cheap enough to repeat.
      for (const peer of pickRandom(peers, ledgerDefaults.syncPeersPerRound)) {
        if (signal.aborted) break
        await this.syncLogged(peer, signal)
      }
    }
  }
}

/** `n` distinct random items (partial Fisher-Yates). */
function pickRandom<T> (items: readonly T[], n: number): T[] {
  const copy = [...items]
  const k = Math.min(n, copy.length)
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(Math.random() * (copy.length - i))
    ;[copy[i], copy[j]] = [copy[j]!, copy[i]!]
  }
  return copy.slice(0, k)
}

function rank (e: LedgerEntry | undefined): number {
  const order: Record<string, number> = { endorse: 0, commit: 1, reveal: 2, fraud: 3, evidence: 4, confirm: 5 }
  return e == null ? 9 : order[e.body.kind] ?? 9
}
