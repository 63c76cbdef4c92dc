/** Capacity records for unit tests: a CPU-only provider of ref-tiny, signed by `id`. */
import { signCapacityRecord, type CapacityRecord } from '../../protocol/capacity.ts'
import type { Identity } from '../../protocol/identity.ts'
import type { Network } from '../../protocol/network.ts'

/** The record's body, valid for 60 s from now; `over` replaces any field. */
export function capacityRecordBody (id: Identity, network: Network, over: Partial<CapacityRecord> = {}): CapacityRecord {
  const now = Date.now()
  return {
    v: 1, network: network.id, peer: id.peerId, seq: 1, issuedAt: now, expiresAt: now + 60_000, addrs: [],
    hardware: { accelerators: [], cpuOnly: true, cpu: { model: 'test', cores: 2 }, ramMiB: 1024 },
    models: [{ id: 'ref-tiny', backend: 'reference', contextLength: 256, priceInMicros: 0, priceOutMicros: 0, tokensPerSecondMilli: 0, deterministic: true }],
    roles: ['provider'], freeSlots: 1, version: 'test', ...over
  }
}

/** The signed record's bytes, as a provider publishes them. */
export function signedCapacityRecord (id: Identity, network: Network, over: Partial<CapacityRecord> = {}): Uint8Array {
  return signCapacityRecord(id, network, capacityRecordBody(id, network, over)).bytes
}
