/**
 * Start-up throughput measurement: a real run of the reference backend, so
 * the figure a record claims is what the backend does; a throttled backend
 * measures (and so claims) its throttled speed.
 */
import { describe, expect, it } from 'vitest'
import { createFaultyBackend, parseFault } from '../../../../node/backends/faulty.ts'
import { createReferenceBackend } from '../../../../node/backends/reference.ts'
import { measureThroughput, withMeasuredThroughput } from '../../../../node/backends/throughput.ts'
import { parseModelSpecs } from '../../../../node/config.ts'
import { generateIdentity } from '../../../../protocol/identity.ts'
import { parseNetworkDefinition } from '../../../../protocol/network.ts'

const network = parseNetworkDefinition({ name: 'throughput-test' })
const identity = generateIdentity()

describe('measureThroughput', () => {
  const offers = parseModelSpecs(['ref-tiny', 'ref-small', 'ref-embed'], 'reference')
  const backend = createReferenceBackend(offers)

  it('measures every chat model of the reference backend, faster for the smaller model; none for embeddings', async () => {
    const measured = await withMeasuredThroughput(offers, backend, network, identity)
    const rate = Object.fromEntries(measured.map(m => [m.id, m.tokensPerSecondMilli]))
    expect(rate['ref-tiny']).toBeGreaterThan(0)
    expect(rate['ref-small']).toBeGreaterThan(0)
    expect(rate['ref-embed']).toBe(0)
    // ref-small does ~25× ref-tiny's work per token (registry.ts); allow noise, not an inversion.
    expect(rate['ref-tiny']!).toBeGreaterThan(rate['ref-small']!)
    // Everything else in the offer is unchanged.
    expect(measured.map(m => ({ ...m, tokensPerSecondMilli: 0 }))).toEqual(offers)
  })

  it('a backend throttled to 20 tokens/s measures about that, never more', async () => {
    const slow = createFaultyBackend(backend, parseFault('slow:20'))
    const milli = await measureThroughput(slow, offers.find(o => o.id === 'ref-tiny')!, network, identity, { tokens: 8, runs: 1 })
    expect(milli).toBeGreaterThan(5_000)
    expect(milli).toBeLessThanOrEqual(20_500)
  })

  it('claims nothing for an upstream (openai) model', async () => {
    const [offer] = parseModelSpecs(['gpt-x'], 'openai')
    expect(await measureThroughput(backend, offer!, network, identity)).toBe(0)
  })
})
