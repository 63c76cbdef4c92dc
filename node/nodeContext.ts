/** What the API routes and services see of a running node. */
import type { ModelOffer, Role } from '../protocol/capacity.ts'
import type { Identity } from '../protocol/identity.ts'
import type { Network } from '../protocol/network.ts'
import type { ProviderLookup } from './discovery/providerLookup.ts'
import type { Verdict } from './discovery/reachability.ts'
import type { Host } from './libp2p.ts'

export interface NodeContext {
  identity: Identity
  network: Network
  host: Host
  roles: Role[]
  models: ModelOffer[]
  lookup: ProviderLookup
  version: string
  startedAt: number
  /** Whether others can reach this node (node/discovery/reachability.ts). */
  reachability: () => Verdict
  /** Open connections, direct and through a relay. */
  connectionKinds: () => { direct: number, relayed: number }
}
