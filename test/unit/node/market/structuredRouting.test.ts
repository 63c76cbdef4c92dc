/**
 * Routing a request with structured parameters (tools, response_format), as
 * OpenRouter does: providers that honour them all are the only candidates
 * when any exists, require_parameters leaves none otherwise, and among
 * tool-calling providers the one whose tool calls break less ranks first.
 * The lookup is a fixed list of signed, verified records; ranking is the real one.
 */
import { describe, expect, it } from 'vitest'
import { nativeVerify } from '../../../../node/crypto/nativeVerify.ts'
import { createLogger } from '../../../../node/logger.ts'
import { Gateway, type GatewayComponents } from '../../../../node/market/gateway.ts'
import { rankCandidates, type Candidate } from '../../../../node/market/ranking.ts'
import { BASE_PARAMETERS, SUPPORTED_PARAMETERS, verifyCapacityRecord, type CapacityRecord, type ModelOffer } from '../../../../protocol/capacity.ts'
import { identityFromSeed, type Identity } from '../../../../protocol/identity.ts'
import { parseNetworkDefinition } from '../../../../protocol/network.ts'
import { signedCapacityRecord } from '../../../helpers/capacityRecords.ts'

const network = parseNetworkDefinition({ name: 'structured-routing-unit' })
const [tools, plain, legacy] = [81, 82, 83].map(b => identityFromSeed(new Uint8Array(32).fill(b))) as [Identity, Identity, Identity]
const offer = (parameters?: string[]): ModelOffer => ({ id: 'tiny', backend: 'openai', contextLength: 2048, priceInMicros: 1, priceOutMicros: 1, tokensPerSecondMilli: 0, deterministic: false, ...(parameters === undefined ? {} : { parameters }) })
const recordOf = (id: Identity, o: ModelOffer): CapacityRecord => verifyCapacityRecord(signedCapacityRecord(id, network, { freeSlots: 4, models: [o] }), { network, now: Date.now(), verify: nativeVerify })
const gatewayOver = (records: CapacityRecord[]): Gateway => new Gateway({
  network,
  logger: createLogger('silent'),
  now: Date.now,
  lookup: { find: async () => ({ records, stats: { providersFound: records.length, recordsVerified: records.length, recordsRejected: 0, cachedList: false } }) }
} as unknown as GatewayComponents)

describe('routing structured parameters', () => {
  const all = gatewayOver([recordOf(tools, offer([...SUPPORTED_PARAMETERS])), recordOf(plain, offer([...BASE_PARAMETERS])), recordOf(legacy, offer())])
  const peers = async (g: Gateway, prefs: Parameters<Gateway['candidates']>[1]): Promise<string[]> => (await g.candidates('tiny', prefs)).ranked.map(c => c.record.peer)

  it('sends tools only to a provider that honours them when one exists, with or without require_parameters', async () => {
    expect(await peers(all, { allowFallbacks: true, parameters: ['tools'] })).toEqual([tools.peerId])
    expect(await peers(all, { allowFallbacks: true, parameters: ['tools'], requireParameters: true, order: [plain.peerId] })).toEqual([tools.peerId])
    expect((await peers(all, { allowFallbacks: true })).sort()).toEqual([tools.peerId, plain.peerId, legacy.peerId].sort())
  })

  it('falls back to providers that would drop the fields only without require_parameters (a record without a list honours the sampling parameters)', async () => {
    const none = gatewayOver([recordOf(plain, offer([...BASE_PARAMETERS])), recordOf(legacy, offer())])
    expect((await peers(none, { allowFallbacks: true, parameters: ['tools'] })).sort()).toEqual([plain.peerId, legacy.peerId].sort())
    expect(await peers(none, { allowFallbacks: true, parameters: ['tools'], requireParameters: true })).toEqual([])
    await expect(none.submit({ model: 'tiny', kind: 'chat', input: { messages: [{ role: 'user', content: 'x' }] }, params: { maxTokens: 1, temperature: 0, topP: 1, stop: [], logprobs: false, topLogprobs: 0 }, prefs: { allowFallbacks: true, parameters: ['tools'], requireParameters: true } }))
      .rejects.toThrow(/no endpoints found that support the parameters sent to "tiny" \(tools\)/)
  })

  it('ranks tool-calling requests by each provider\'s tool-call error rate, and other requests not', () => {
    const candidate = (id: Identity, toolErrorRate: number): Candidate => ({ record: recordOf(id, offer([...SUPPORTED_PARAMETERS])), priceInMicros: 1, priceOutMicros: 1, reputation: 1, score: 0, stats: { reliability: 1, samples: 10, toolAnswers: 10, toolErrorRate } })
    const list = (): Candidate[] => [candidate(tools, 0.6), candidate(plain, 0)]
    expect(rankCandidates(list(), { allowFallbacks: true, parameters: ['tools'] }, () => 1).map(c => c.record.peer)).toEqual([plain.peerId, tools.peerId])
    const scores = rankCandidates(list(), { allowFallbacks: true }, () => 1).map(c => c.score)
    expect(scores[0]).toBe(scores[1])
  })
})
