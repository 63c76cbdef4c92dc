/**
 * The threats of ARCHITECTURE.md §13 that consensus itself must hold against:
 * a minority coalition inflating a provider, Sybil validators without power,
 * a validator weighting itself, and fraud-proven providers.
 */
import { describe, expect, it } from 'vitest'
import { runEpoch, SCALE, type ConsensusParams, type ConsensusState, type EpochInput, type EpochResult } from '../../../../protocol/consensus/index.ts'

const PARAMS: ConsensusParams = { kappa: 0.5, bondAlpha: 0.1, trustAlpha: 0.1 }
const pad = (n: number): string => String(n).padStart(3, '0')

/** Deterministic small PRNG for test data (mulberry32). */
function rng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function chain (inputs: (epoch: number) => EpochInput, epochs: number, params = PARAMS): EpochResult[] {
  const out: EpochResult[] = []
  let prev: ConsensusState | undefined
  for (let e = 0; e < epochs; e++) {
    const r = runEpoch(inputs(e), prev, params)
    out.push(r)
    prev = r.state
  }
  return out
}

describe('a minority coalition inflating a bad provider', () => {
  // 10 validators of equal power: 7 honest (70%), 3 colluding (30%).
  // 4 providers: h0..h2 honest, bad. Honest validators score the honest
  // providers with a little noise and give bad 0; colluders copy the honest
  // scores but give bad the full u16 weight.
  const validators = Array.from({ length: 10 }, (_, i) => `val-${pad(i)}`)
  const colluding = new Set([2, 5, 8]) // spread through the sorted order
  const providers = ['bad', 'h0', 'h1', 'h2']
  const BAD = 0
  function input (epoch: number): EpochInput {
    const rand = rng(1000 + epoch)
    const weights = new Uint16Array(validators.length * providers.length)
    for (let i = 0; i < validators.length; i++) {
      for (let j = 1; j < providers.length; j++) weights[i * providers.length + j] = 40000 + Math.floor(rand() * 2000)
      weights[i * providers.length + BAD] = colluding.has(i) ? 65535 : 0
    }
    return { epoch, validators, power: validators.map(() => 100), providers, weights, zeroed: new Uint8Array(providers.length) }
  }
  const results = chain(input, 12)

  it('the bad provider gets no consensus and no rank', () => {
    for (const r of results) {
      expect(r.consensus[BAD]).toBe(0)
      expect(r.rank[BAD]).toBe(0)
      for (let j = 1; j < providers.length; j++) expect(r.rank[j]!).toBeGreaterThan(SCALE / 4)
      expect(r.reputation[BAD]).toBe(0)
    }
  })

  it("the colluders' trust and stake fall epoch after epoch; the honest keep theirs", () => {
    const last = results.at(-1)!
    for (const i of colluding) {
      // Tv = 1 − (share of the row on bad) ≈ 1 − 65535 / (65535 + 3·41000) ≈ 0.65
      expect(results[0]!.validatorTrust[i]!).toBeLessThan(0.7 * SCALE)
      for (let e = 1; e < results.length; e++) {
        expect(results[e]!.state.trust[i]!).toBeLessThan(results[e - 1]!.state.trust[i]!)
      }
      expect(last.state.trust[i]!).toBeLessThan(0.85 * SCALE)
    }
    let colludingStake = 0
    for (const i of colluding) colludingStake += last.stake[i]!
    const firstColludingStake = [...colluding].reduce((s, i) => s + results[0]!.stake[i]!, 0)
    expect(firstColludingStake).toBeGreaterThan(0.29 * SCALE)
    expect(colludingStake).toBeLessThan(0.27 * SCALE) // power share shrinks as trust falls
    for (let i = 0; i < validators.length; i++) {
      if (colluding.has(i)) continue
      // honest rows are only clipped by the noise between honest scores
      expect(last.state.trust[i]!).toBeGreaterThan(0.97 * SCALE)
    }
  })

  it('the colluders hold no bonds on the bad provider', () => {
    const last = results.at(-1)!
    for (let i = 0; i < validators.length; i++) expect(last.state.bonds[BAD * validators.length + i]).toBe(0)
  })
})

describe('Sybil validators without power', () => {
  // 5 powered validators and 4 providers, over 6 epochs; then the same with 50
  // extra validators of power 0 whose ids interleave with the real ones and
  // who weight the worst provider fully and everything else at random.
  const real = ['v-10', 'v-30', 'v-50', 'v-70', 'v-90']
  const sybils = Array.from({ length: 50 }, (_, k) => `v-${pad(k * 2)}x`) // sorts between the real ids
  const providers = ['p0', 'p1', 'p2', 'p3']
  function weightsFor (ids: readonly string[], epoch: number): Uint16Array {
    const rand = rng(7 + epoch)
    const realW = real.map(() => providers.map(() => Math.floor(rand() * 65536)))
    const w = new Uint16Array(ids.length * providers.length)
    ids.forEach((id, i) => {
      const r = real.indexOf(id)
      for (let j = 0; j < providers.length; j++) {
        w[i * providers.length + j] = r >= 0 ? realW[r]![j]! : (j === 3 ? 65535 : Math.floor(rand() * 65536))
      }
    })
    return w
  }
  function input (ids: readonly string[], epoch: number): EpochInput {
    return { epoch, validators: ids, power: ids.map((id) => real.includes(id) ? 1000 + real.indexOf(id) : 0), providers, weights: weightsFor(ids, epoch), zeroed: new Uint8Array(providers.length) }
  }
  const all = [...real, ...sybils].sort()
  const without = chain((e) => input(real, e), 6)
  const withSybils = chain((e) => input(all, e), 6)

  it('leave every provider-side output bit-identical', () => {
    for (let e = 0; e < 6; e++) {
      const a = without[e]!
      const b = withSybils[e]!
      expect(Buffer.from(b.consensus.buffer).equals(Buffer.from(a.consensus.buffer))).toBe(true)
      expect(Buffer.from(b.rank.buffer).equals(Buffer.from(a.rank.buffer))).toBe(true)
      expect(Buffer.from(b.reputation.buffer).equals(Buffer.from(a.reputation.buffer))).toBe(true)
    }
  })

  it("leave the real validators' stake, trust, dividends and bonds bit-identical, and get nothing", () => {
    for (let e = 0; e < 6; e++) {
      const a = without[e]!
      const b = withSybils[e]!
      const nAll = all.length
      real.forEach((id, r) => {
        const i = all.indexOf(id)
        expect(b.stake[i]).toBe(a.stake[r])
        expect(b.validatorTrust[i]).toBe(a.validatorTrust[r])
        expect(b.state.trust[i]).toBe(a.state.trust[r])
        expect(b.dividends[i]).toBe(a.dividends[r])
        for (let j = 0; j < providers.length; j++) expect(b.state.bonds[j * nAll + i]).toBe(a.state.bonds[j * real.length + r])
      })
      for (const id of sybils) {
        const i = all.indexOf(id)
        expect(b.stake[i]).toBe(0)
        expect(b.dividends[i]).toBe(0)
        for (let j = 0; j < providers.length; j++) expect(b.state.bonds[j * nAll + i]).toBe(0)
      }
    }
  })
})

describe('self-weight', () => {
  // Validator 'node-b' is also a provider and gives itself the full u16 weight.
  const validators = ['node-a', 'node-b', 'node-c']
  const providers = ['node-b', 'p1', 'p2']
  const base = [
    20000, 30000, 30000, // node-a
    65535, 30000, 10000, // node-b: self, then its real opinions
    20000, 10000, 30000 // node-c
  ]
  const mk = (w: number[]): EpochInput => ({ epoch: 0, validators, power: [1, 1, 1], providers, weights: Uint16Array.from(w), zeroed: new Uint8Array(3) })

  it('is masked: the result is bit-identical to a zero self-weight', () => {
    const withSelf = runEpoch(mk(base), undefined, PARAMS)
    const noSelf = runEpoch(mk(base.map((w, k) => k === 3 ? 0 : w)), undefined, PARAMS)
    expect(Buffer.from(withSelf.stateRoot).equals(Buffer.from(noSelf.stateRoot))).toBe(true)
  })

  it('a validator weighting only itself is inactive', () => {
    const r = runEpoch(mk([20000, 30000, 30000, 65535, 0, 0, 20000, 10000, 30000]), undefined, PARAMS)
    expect(r.stake[1]).toBe(0)
    expect(r.validatorTrust[1]).toBe(0)
  })
})

describe('zeroed providers', () => {
  const validators = ['v1', 'v2', 'v3']
  const providers = ['p1', 'p2', 'p3']
  const weights = Uint16Array.from([100, 100, 100, 100, 200, 100, 300, 100, 100])
  const mk = (epoch: number, zeroed: number[]): EpochInput => ({ epoch, validators, power: [1, 2, 3], providers, weights, zeroed: Uint8Array.from(zeroed) })

  it('get 0 consensus, 0 rank and 0 reputation at once, even with a reputation built before', () => {
    let prev: ConsensusState | undefined
    for (let e = 0; e < 5; e++) prev = runEpoch(mk(e, [0, 0, 0]), prev, PARAMS).state
    expect(prev!.reputation[1]!).toBeGreaterThan(0)
    const r = runEpoch(mk(5, [0, 1, 0]), prev, PARAMS)
    expect(r.consensus[1]).toBe(0)
    expect(r.rank[1]).toBe(0)
    expect(r.reputation[1]).toBe(0)
    // The masked column's weight goes to the other providers (rows renormalized), so their ranks sum to ~SCALE.
    expect(r.rank[0]! + r.rank[2]!).toBeGreaterThan(SCALE - 4)
  })

  it('weights on a zeroed provider do not move anything else', () => {
    const a = runEpoch(mk(0, [0, 1, 0]), undefined, PARAMS)
    const b = runEpoch({ ...mk(0, [0, 1, 0]), weights: Uint16Array.from([100, 65535, 100, 100, 0, 100, 300, 7, 100]) }, undefined, PARAMS)
    expect(Buffer.from(a.stateRoot).equals(Buffer.from(b.stateRoot))).toBe(true)
  })
})
