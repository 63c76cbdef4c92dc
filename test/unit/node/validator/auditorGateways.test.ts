/**
 * Which gateways an audit may go through (ARCHITECTURE.md §9 "Audits"): connected
 * ordinary gateways first, in random order; then a few known from the peer
 * store but not connected now; never the target, ourselves, a validator or
 * a zeroed provider. Only the host is replaced, by one that reports fixed
 * connections and peer-store entries.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import { describe, expect, it } from 'vitest'
import { identityFromSeed } from '../../../../protocol/identity.ts'
import { parseNetworkDefinition, protocolIds } from '../../../../protocol/network.ts'
import { nobleVerify } from '../../../../protocol/signing.ts'
import { createLogger } from '../../../../node/logger.ts'
import { auditorDefaults } from '../../../../node/options.ts'
import { Auditor, type AuditorComponents } from '../../../../node/validator/auditor.ts'

const ids = (from: number, n: number): string[] => Array.from({ length: n }, (_, i) => identityFromSeed(new Uint8Array(32).fill(from + i)).peerId)
const [self, anchor, target, zeroed, noSubmit] = ids(10, 5) as [string, string, string, string, string]
const connectedGateways = ids(20, 2)
const knownGateways = ids(30, 5)
const NET = parseNetworkDefinition({ name: 'gatewaynet', anchors: [{ peerId: anchor, power: 1 }] })
const SUBMIT = protocolIds(NET).submit

function auditorWith (connected: string[], known: string[]): Auditor {
  const protocols = (id: string): string[] => id === noSubmit ? ['/ipfs/id/1.0.0'] : [SUBMIT]
  const host = {
    getPeers: () => connected.map(id => peerIdFromString(id)),
    peerStore: {
      get: async (p: PeerId) => ({ id: p, protocols: protocols(p.toString()) }),
      all: async () => [...connected, ...known].map(id => ({ id: peerIdFromString(id), protocols: protocols(id) }))
    }
  }
  return new Auditor({
    host, network: NET, identity: { peerId: self }, verify: nobleVerify, logger: createLogger('silent'), now: Date.now,
    ledger: { entries: () => [] }, isZeroed: (p: string) => p === zeroed
  } as unknown as AuditorComponents)
}

describe('auditor gateways', () => {
  it('connected gateways first, then a few known ones; never the target, ourselves, a validator, a zeroed provider or a peer without the submit protocol', async () => {
    const excluded = [self, anchor, target, zeroed, noSubmit]
    const a = auditorWith([...connectedGateways, anchor, target, zeroed, noSubmit], [...knownGateways, self])
    const picked = (await a.pickGateways(target)).map(p => p.toString())
    expect(picked.slice(0, connectedGateways.length).sort()).toEqual([...connectedGateways].sort())
    const rest = picked.slice(connectedGateways.length)
    expect(rest).toHaveLength(auditorDefaults.unconnectedGatewaysPerAudit)
    for (const p of rest) expect(knownGateways).toContain(p)
    for (const p of picked) expect(excluded).not.toContain(p)
  })

  it('with no gateway connected (only a seed and providers), still finds one it knows', async () => {
    const a = auditorWith([noSubmit, target], [knownGateways[0]!])
    expect((await a.pickGateways(target)).map(p => p.toString())).toEqual([knownGateways[0]])
  })
})
