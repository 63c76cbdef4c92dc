/**
 * The network's model catalog. Providers also gossip their signed capacity
 * records on /infermesh/<net>/capacity/1, so every node knows which models the
 * network serves (GET /v1/models) without walking the DHT. Provider lookups
 * answer "who serves X" from the records held here (every one verified before
 * it is added: signature, network, expiry) at once, and the DHT walk completes
 * the list in the background (providerLookup.ts); a node that holds none yet
 * (just started: providers gossip each record as they sign it, every half
 * TTL) waits for the walk, and gets the providers gossip vouched for added to it.
 */
import { TopicValidatorResult, type Message } from '@libp2p/gossipsub'
import { offerInputs, offerParameters, offerTier, sameModel, SUPPORTED_PARAMETERS, verifyCapacityRecord, type CapacityRecord, type ModelIdentity, type VerificationTier } from '../../protocol/capacity.ts'
import { isReferenceModelId } from '../../protocol/reference/index.ts'
import { isCodedError } from '../../protocol/errors.ts'
import { protocolIds, type Network } from '../../protocol/network.ts'
import type { VerifyFn } from '../../protocol/signing.ts'
import type { Host } from '../libp2p.ts'
import type { Logger } from '../logger.ts'
import { catalogDefaults } from '../options.ts'
import { compareCodeUnits } from '../../protocol/ascii.ts'

export interface CatalogModel {
  id: string
  providers: number
  priceInMicros: { min: number, max: number }
  priceOutMicros: { min: number, max: number }
  contextLength: number
  /**
   * The distinct model identities providers declare for this id (weights,
   * quantization, engine, tier), with how many providers declare each: two
   * providers of one id are the same model only when these agree.
   */
  variants: Array<{ identity: ModelIdentity | null, verification: VerificationTier, providers: number }>
  /** Parameters at least one provider honours (OpenRouter's supported_parameters), in SUPPORTED_PARAMETERS order. */
  supportedParameters: string[]
  /** Per provider: the parameters it honours for this model, so a filter can ask for all of several at one provider. */
  parametersByProvider: string[][]
  /** What some provider of it takes in (OpenRouter's input_modalities). */
  inputModalities: string[]
}

export class Catalog {
  private readonly host: Host
  private readonly network: Network
  private readonly verify: VerifyFn
  private readonly now: () => number
  private readonly log: Logger
  private readonly byPeer = new Map<string, CapacityRecord>()
  /** The signed bytes of records that came with them (gossip, our own): evidence against a provider carries its record. */
  private readonly bytesByPeer = new Map<string, Uint8Array>()
  readonly topic: string
  private readonly onMessage = (evt: CustomEvent<Message>): void => {
    if (evt.detail.topic !== this.topic) return
    try {
      this.add(verifyCapacityRecord(evt.detail.data, { network: this.network, now: this.now(), verify: this.verify }), evt.detail.data)
    } catch {}
  }

  constructor (components: { host: Host, network: Network, verify: VerifyFn, now: () => number, logger: Logger }) {
    this.host = components.host
    this.network = components.network
    this.verify = components.verify
    this.now = components.now
    this.log = components.logger
    this.topic = protocolIds(this.network).capacityTopic
  }

  start (): void {
    const pubsub = this.host.services.pubsub
    // ACCEPT only a verified, unexpired record of this network; anything else is
    // REJECT, which lowers the sender's gossipsub score.
    pubsub.topicValidators.set(this.topic, (_peer, message) => {
      try {
        verifyCapacityRecord(message.data, { network: this.network, now: this.now(), verify: this.verify })
        return TopicValidatorResult.Accept
      } catch (err) {
        this.log.debug({ code: isCodedError(err) ? err.code : 'UNKNOWN' }, 'capacity gossip rejected')
        return isCodedError(err, 'RECORD_EXPIRED') ? TopicValidatorResult.Ignore : TopicValidatorResult.Reject
      }
    })
    pubsub.addEventListener('message', this.onMessage)
    pubsub.subscribe(this.topic)
  }

  stop (): void {
    const pubsub = this.host.services.pubsub
    pubsub.removeEventListener('message', this.onMessage)
    pubsub.topicValidators.delete(this.topic)
  }

  /** `bytes`: the signed record the fields came from, when the caller has it. */
  add (record: CapacityRecord, bytes?: Uint8Array): void {
    const prev = this.byPeer.get(record.peer)
    if (prev != null && prev.seq >= record.seq) return
    if (prev == null && this.byPeer.size >= catalogDefaults.maxRecords) this.prune()
    if (prev == null && this.byPeer.size >= catalogDefaults.maxRecords) return
    this.byPeer.set(record.peer, record)
    if (bytes != null) this.bytesByPeer.set(record.peer, bytes)
    else this.bytesByPeer.delete(record.peer)
  }

  /** The signed bytes of the peer's current record, when they came with it. */
  bytesOf (peer: string): Uint8Array | undefined {
    return this.recordOf(peer) == null ? undefined : this.bytesByPeer.get(peer)
  }

  /** Gossip our own record (the advertiser calls this after each DHT publish). */
  async publish (bytes: Uint8Array, record: CapacityRecord): Promise<void> {
    this.add(record, bytes)
    await this.host.services.pubsub.publish(this.topic, bytes).catch((err: Error) => {
      this.log.debug({ err: err.message }, 'capacity gossip not sent')
    })
  }

  private prune (): void {
    const now = this.now()
    for (const [peer, r] of this.byPeer) {
      if (r.expiresAt > now) continue
      this.byPeer.delete(peer)
      this.bytesByPeer.delete(peer)
    }
  }

  /** Providers whose unexpired record lists `model`. */
  providersOf (model: string): string[] {
    const now = this.now()
    const out: string[] = []
    for (const r of this.byPeer.values()) if (r.expiresAt > now && r.models.some(m => m.id === model)) out.push(r.peer)
    return out
  }

  /** The peer's verified record as gossip (or a lookup) delivered it, if it has not expired. */
  recordOf (peer: string): CapacityRecord | undefined {
    const r = this.byPeer.get(peer)
    return r != null && r.expiresAt > this.now() ? r : undefined
  }

  /** Unexpired capacity records, by PeerId. */
  records (): CapacityRecord[] {
    this.prune()
    return [...this.byPeer.values()].sort((a, b) => compareCodeUnits(a.peer, b.peer))
  }

  /** Every model with at least one unexpired provider record. */
  models (): CatalogModel[] {
    this.prune()
    const byModel = new Map<string, CatalogModel>()
    for (const r of this.byPeer.values()) {
      for (const m of r.models) {
        const c = byModel.get(m.id)
        const variant = { identity: m.identity ?? null, verification: offerTier(m, isReferenceModelId), providers: 1 }
        if (c == null) {
          byModel.set(m.id, { id: m.id, providers: 1, priceInMicros: { min: m.priceInMicros, max: m.priceInMicros }, priceOutMicros: { min: m.priceOutMicros, max: m.priceOutMicros }, contextLength: m.contextLength, variants: [variant], supportedParameters: [], parametersByProvider: [[...offerParameters(m)]], inputModalities: [...offerInputs(m)] })
        } else {
          c.parametersByProvider.push([...offerParameters(m)])
          for (const i of offerInputs(m)) if (!c.inputModalities.includes(i)) c.inputModalities.push(i)
          const same = c.variants.find(v => sameModel({ id: m.id, identity: v.identity ?? undefined }, m))
          if (same != null) same.providers++
          else c.variants.push(variant)
          c.providers++
          c.priceInMicros = { min: Math.min(c.priceInMicros.min, m.priceInMicros), max: Math.max(c.priceInMicros.max, m.priceInMicros) }
          c.priceOutMicros = { min: Math.min(c.priceOutMicros.min, m.priceOutMicros), max: Math.max(c.priceOutMicros.max, m.priceOutMicros) }
          c.contextLength = Math.max(c.contextLength, m.contextLength)
        }
      }
    }
    for (const c of byModel.values()) {
      const any = new Set(c.parametersByProvider.flat())
      c.supportedParameters = [...SUPPORTED_PARAMETERS.filter(p => any.has(p)), ...[...any].filter(p => !SUPPORTED_PARAMETERS.includes(p)).sort()]
    }
    return [...byModel.values()].sort((a, b) => compareCodeUnits(a.id, b.id))
  }

  /** Largest context length any provider of `model` advertises, if known. */
  contextLength (model: string): number | undefined {
    // Asked on every chat request: a scan of the records, not the whole model list built and sorted.
    this.prune()
    let longest: number | undefined
    for (const r of this.byPeer.values()) {
      for (const m of r.models) if (m.id === model) longest = Math.max(longest ?? 0, m.contextLength)
    }
    return longest
  }
}
