/**
 * Network definition (ARCHITECTURE.md §5): everything that must agree across one
 * network. The network id is sha256 of the canonical CBOR of the definition,
 * less `bootstrap`: bootstrap addresses say where to find the network, not what
 * it agrees on, so adding a seed must not split it.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { z } from 'zod'
import { toHex } from './bytes.ts'
import { encodeCanonical } from './codec.ts'
import { CodedError, ErrorCode } from './errors.ts'
import { isPeerId } from './identity.ts'

const peerIdString = z.string().refine(isPeerId, { message: 'must be an Ed25519 PeerId (12D3Koo...)' })
const multiaddrWithPeer = z.string().max(512).refine(s => /^\/.+\/p2p\/[1-9A-HJ-NP-Za-km-z]+$/.test(s) && isPeerId(s.slice(s.lastIndexOf('/') + 1)), { message: 'must be a multiaddr ending in /p2p/<Ed25519 PeerId>' })

export const networkDefinitionSchema = z.strictObject({
  /** Short name; the protocol prefix is /infermesh/<name>. */
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, { message: 'must be 1-32 chars of a-z, 0-9 and -' }),
  /** Multiaddrs of seed nodes, each with /p2p/<PeerId>. */
  bootstrap: z.array(multiaddrWithPeer).max(64).default([]),
  /** Anchor validators: where voting power starts (ARCHITECTURE.md §9). */
  anchors: z.array(z.strictObject({
    peerId: peerIdString,
    power: z.number().int().min(1).max(65535)
  })).max(256).default([])
    .refine(a => new Set(a.map(x => x.peerId)).size === a.length, { message: 'lists the same PeerId twice (its power would count double)' }),
  /** Epoch length for validation and consensus. */
  epochSeconds: z.number().int().min(1).max(86400).default(60),
  /** How long a capacity record lives before it must be republished (Petals: 120 s). */
  recordTtlSeconds: z.number().int().min(2).max(86400).default(120),
  /** Epochs between a weight commit and its reveal. */
  commitRevealEpochs: z.number().int().min(1).max(16).default(1),
  /** Epochs after the reveal window until an epoch is final. */
  finalityEpochs: z.number().int().min(1).max(64).default(2),
  consensus: z.strictObject({
    /** Yuma κ: the power share a weight must reach to survive clipping. */
    kappa: z.number().gt(0).lt(1).default(0.5),
    /** Bond EMA α. */
    bondAlpha: z.number().gt(0).lte(1).default(0.1),
    /** Epochs a fraud proof zeroes its provider for. */
    fraudPenaltyEpochs: z.number().int().min(1).max(10_000).default(10),
    /** Epochs folded into reputation, ending at the latest closed epoch; every node uses the same window. */
    windowEpochs: z.number().int().min(1).max(1024).default(32),
    /** Hops voting power may flow through endorsements from an anchor. */
    endorsementDepth: z.number().int().min(0).max(8).default(3)
  }).default({ kappa: 0.5, bondAlpha: 0.1, fraudPenaltyEpochs: 10, windowEpochs: 32, endorsementDepth: 3 }),
  limits: z.strictObject({
    /** Largest signed capacity record accepted. */
    maxRecordBytes: z.number().int().min(512).max(65536).default(8192),
    /** Largest wire message of any protocol. */
    maxMessageBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(1024 * 1024),
    /** Clock skew tolerated between nodes. */
    maxClockSkewSeconds: z.number().int().min(0).max(600).default(30)
  }).default({ maxRecordBytes: 8192, maxMessageBytes: 1024 * 1024, maxClockSkewSeconds: 30 })
})

export type NetworkDefinition = z.infer<typeof networkDefinitionSchema>

export interface Network {
  readonly definition: NetworkDefinition
  /** sha256 of the canonical definition (without bootstrap). */
  readonly id: Uint8Array
  readonly idHex: string
  /** /infermesh/<name> */
  readonly protocolPrefix: string
}

/**
 * Parse and validate a network definition. Errors name the offending field so
 * an operator can fix the file: `NETWORK_INVALID` with meta.field.
 */
export function parseNetworkDefinition (input: unknown, source = 'network definition'): Network {
  const result = networkDefinitionSchema.safeParse(input)
  if (!result.success) {
    const issue = result.error.issues[0]!
    // For unknown keys, name the first one; the operator fixes them one at a time.
    const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path
    const fieldName = path.length > 0 ? path.join('.') : '(root)'
    throw new CodedError(ErrorCode.NETWORK_INVALID,
      `${source}: field "${fieldName}" ${issue.code === 'unrecognized_keys' ? 'is not a known field' : issue.message}`,
      { field: fieldName })
  }
  return networkFromDefinition(result.data)
}

export function networkFromDefinition (definition: NetworkDefinition): Network {
  const id = networkIdOf(definition)
  return { definition, id, idHex: toHex(id), protocolPrefix: `/infermesh/${definition.name}` }
}

/**
 * Every stream protocol id and gossip topic of a network, in one place
 * (ARCHITECTURE.md §5): a rename here renames both ends, and gossip scoring
 * follows the topics it is given.
 */
export interface ProtocolIds {
  /** kad-dht: capacity records and provider records. */
  readonly kad: string
  /** gossipsub: signed capacity records. */
  readonly capacityTopic: string
  /** gossipsub: ledger entries. */
  readonly ledgerTopic: string
  /** stream: a provider's signed live load. */
  readonly status: string
  /** stream: one task, request to receipt. */
  readonly task: string
  /** stream: a peer hands a task to a gateway to route. */
  readonly submit: string
  /** stream: ledger anti-entropy. */
  readonly ledgerSync: string
}

export function protocolIds (network: Network): ProtocolIds {
  const p = network.protocolPrefix
  return {
    kad: `${p}/kad/1.0.0`,
    capacityTopic: `${p}/capacity/1`,
    ledgerTopic: `${p}/ledger/1`,
    status: `${p}/status/1.0.0`,
    task: `${p}/task/2.0.0`,
    submit: `${p}/submit/1.0.0`,
    ledgerSync: `${p}/ledger-sync/1.0.0`
  }
}

export function networkIdOf (definition: NetworkDefinition): Uint8Array {
  const { bootstrap: _bootstrap, ...agreed } = definition
  return sha256(encodeCanonical(agreed))
}
