/**
 * A provider measures, at start, the decode throughput it advertises for each
 * model (capacity record `tokensPerSecondMilli`): a short greedy generation
 * through the very backend that serves tasks, best of a few runs. Validators
 * hold the provider to this figure (protocol/verify/claims.ts), so it is a
 * measurement, never a setting.
 */
import { randomBytes } from 'node:crypto'
import type { ModelOffer } from '../../protocol/capacity.ts'
import type { Identity } from '../../protocol/identity.ts'
import type { Network } from '../../protocol/network.ts'
import type { TaskRequest } from '../../protocol/task.ts'
import { toTokensPerSecondMilli } from '../../protocol/verify/claims.ts'
import { providerDefaults } from '../options.ts'
import { referenceKindOf } from '../../protocol/reference/registry.ts'
import type { Backend } from './backend.ts'

export interface ThroughputOptions {
  tokens?: number
  runs?: number
  signal?: AbortSignal
}

/** Milli-tokens per second of `backend` on one chat model; 0 when it cannot be measured (an upstream, an error). */
export async function measureThroughput (backend: Backend, offer: ModelOffer, network: Network, identity: Identity, opts: ThroughputOptions = {}): Promise<number> {
  // An upstream's speed depends on a service this node does not control; it advertises no claim.
  if ((offer.backend !== 'reference' && offer.backend !== 'llama') || referenceKindOf(offer.id) === 'embedding') return 0
  const tokens = opts.tokens ?? providerDefaults.throughputTokens
  const runs = opts.runs ?? providerDefaults.throughputRuns
  const signal = opts.signal ?? AbortSignal.timeout(providerDefaults.throughputTimeoutMs)
  let best = 0
  for (let i = 0; i < runs && !signal.aborted; i++) {
    const now = Date.now()
    const request: TaskRequest = {
      v: 1,
      network: network.id,
      id: randomBytes(16).toString('hex'),
      requester: identity.peerId,
      provider: identity.peerId,
      model: offer.id,
      kind: 'chat',
      input: { messages: [{ role: 'user', content: 'Measure the decode throughput of this provider.' }] },
      // A stop list that never matches and top-p 1: the run decodes all `tokens`, as a long answer would.
      params: { maxTokens: tokens, temperature: 0, topP: 1, seed: i, stop: [], logprobs: false, topLogprobs: 0 },
      maxPrice: { inMicros: 0, outMicros: 0 },
      issuedAt: now,
      deadline: now + providerDefaults.throughputTimeoutMs
    }
    try {
      const started = performance.now()
      const result = await backend.run(request, signal, async () => {})
      const ms = performance.now() - started
      best = Math.max(best, toTokensPerSecondMilli(result.usage.completionTokens, ms))
      // Best-of-N only smooths out timer noise on runs of a few ms; a slow backend's one run is enough.
      if (ms > 1000) break
    } catch {
      return best
    }
  }
  return best
}

/** The offers as advertised: each with the throughput measured on `backend`. */
export async function withMeasuredThroughput (offers: ModelOffer[], backend: Backend, network: Network, identity: Identity, opts: ThroughputOptions = {}): Promise<ModelOffer[]> {
  const out: ModelOffer[] = []
  // One model at a time: measuring them side by side would measure the contention.
  for (const offer of offers) out.push({ ...offer, tokensPerSecondMilli: await measureThroughput(backend, offer, network, identity, opts) })
  return out
}
