/**
 * Gossipsub's peer score punishes a peer that floods invalid entries (issue 4:
 * "the mesh itself shuns proven cheaters"; ARCHITECTURE.md §13), on real in-process
 * nodes (TCP, Noise, yamux, gossipsub, LevelDB). A peer publishes ledger
 * entries that every node's topic validator REJECTs: forged signatures and
 * entries signed for another network. The receiving
 * node counts each REJECT by code, stores none of them, and the sender's
 * gossipsub score falls below zero (P4, invalid message deliveries, weight
 * libp2pDefaults.invalidMessageDeliveriesWeight), while an honest peer's
 * score stays at zero or above.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { libp2pDefaults } from '../../node/options.ts'
import type { InfermeshNode } from '../../node/node.ts'
import { generateIdentity } from '../../protocol/identity.ts'
import { epochOf, LEDGER_ENTRY_VERSION, signEntry } from '../../protocol/ledger/entries.ts'
import { parseNetworkDefinition } from '../../protocol/network.ts'
import { inProcessNetwork } from '../helpers/inProcessNetwork.ts'
import { eventually } from '../helpers/nodeProcess.ts'

describe('gossipsub peer score: a peer that floods invalid entries', () => {
  const net = inProcessNetwork({}, { name: 'gossip-score', epochSeconds: 5 })
  let receiver: InfermeshNode
  let flooder: InfermeshNode
  let honest: InfermeshNode

  beforeAll(async () => {
    receiver = await net.start('receiver', { roles: ['gateway'] })
    flooder = await net.start('flooder', { roles: ['gateway'] })
    honest = await net.start('honest', { roles: ['gateway'] })
  }, 60_000)

  afterAll(async () => {
    await net.stop()
  })

  it('rejects every one, stores none, and the flooder\'s score falls below zero while an honest peer\'s does not', async () => {
    const topic = receiver.ledger.topic
    const pubsub = receiver.host.services.pubsub
    // getScore is on the GossipSub class, not on the interface the service is typed with.
    const scoreOf = (peer: string): number => (pubsub as unknown as { getScore: (p: string) => number }).getScore(peer)
    // Both peers are in the receiver's view of the ledger topic before anything is sent.
    await eventually(async () => pubsub.getSubscribers(topic).map(p => p.toString()),
      subs => subs.includes(flooder.identity.peerId) && subs.includes(honest.identity.peerId), { timeoutMs: 20_000, what: 'both peers subscribed to the ledger topic' })
    expect(scoreOf(flooder.identity.peerId)).toBeGreaterThanOrEqual(0)

    const before = receiver.ledger.entries().length
    const rejected = (): number => (receiver.ledger.verdicts.get('ENTRY_BAD_SIGNATURE') ?? 0) + (receiver.ledger.verdicts.get('ENTRY_WRONG_NETWORK') ?? 0)
    const elsewhere = parseNetworkDefinition({ name: 'some-other-network', epochSeconds: 5 })
    const stranger = generateIdentity()
    const now = Date.now()
    const junk: Uint8Array[] = []
    for (let i = 0; i < 10; i++) {
      // A real entry signed for another network: this network's validators must refuse it.
      junk.push(signEntry(stranger, elsewhere, {
        v: LEDGER_ENTRY_VERSION, network: elsewhere.id, kind: 'endorse', author: stranger.peerId, epoch: epochOf(now, elsewhere), issuedAt: now + i,
        payload: { validator: generateIdentity().peerId, share: 1 + i }
      }).bytes)
      // One of this network's, its signature broken.
      const good = signEntry(stranger, net.network, {
        v: LEDGER_ENTRY_VERSION, network: net.network.id, kind: 'endorse', author: stranger.peerId, epoch: epochOf(now, net.network), issuedAt: now + i,
        payload: { validator: generateIdentity().peerId, share: 1 + i }
      }).bytes
      const forged = good.slice()
      forged[10] = forged[10]! ^ 0xff // inside the signature
      junk.push(forged)
    }
    // Published straight through the flooder's gossipsub: a node's own ledger would not publish these.
    for (const bytes of junk) await flooder.host.services.pubsub.publish(topic, bytes)

    await eventually(async () => rejected(), n => n >= junk.length, { timeoutMs: 20_000, what: 'every junk entry rejected by the receiver' })
    expect(receiver.ledger.verdicts.get('ENTRY_WRONG_NETWORK')).toBe(10)
    expect(receiver.ledger.verdicts.get('ENTRY_BAD_SIGNATURE')).toBe(10)
    expect(receiver.ledger.entries().length).toBe(before)
    // P4 is squared: 20 invalid deliveries × weight −10 would be −4000 before decay.
    const score = await eventually(async () => scoreOf(flooder.identity.peerId), s => s < 0, { timeoutMs: 10_000, what: 'the flooder\'s score below zero' })
    expect(score).toBeLessThan(libp2pDefaults.invalidMessageDeliveriesWeight * 10)
    expect(scoreOf(honest.identity.peerId)).toBeGreaterThanOrEqual(0)
  })
})
