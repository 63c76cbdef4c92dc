/**
 * Property tests. The core one runs runEpoch against an oracle written
 * straight from the formulas in BigInt — row-major, sort-based median, no
 * fusion, no reciprocals, no fast paths — and requires bit-identical output
 * on random small chains whose validator and provider sets change.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { runEpoch, SCALE, type ConsensusParams, type ConsensusState, type EpochInput, type EpochResult } from '../../../../protocol/consensus/index.ts'

const S = BigInt(SCALE)
const big = (x: number): bigint => BigInt(x)
const fixed = (x: number): bigint => BigInt(Math.round(x * SCALE))

interface OracleOut {
  stake: bigint[]
  consensus: bigint[]
  rank: bigint[]
  validatorTrust: bigint[]
  dividends: bigint[]
  trust: bigint[]
  reputation: bigint[]
  /** bonds[i][j], validator-major here; compared against the provider-major state. */
  bonds: bigint[][]
}

function oracle (input: EpochInput, prev: ConsensusState | undefined, params: ConsensusParams): OracleOut {
  const kappa = fixed(params.kappa)
  const alpha = fixed(params.bondAlpha)
  const trustAlpha = fixed(params.trustAlpha ?? 0.1)
  const repAlpha = params.reputationAlpha === undefined ? alpha : fixed(params.reputationAlpha)
  const initialTrust = fixed(params.initialTrust ?? 1)
  const V = input.validators
  const P = input.providers
  const nV = V.length
  const nP = P.length
  const pv = prev === undefined ? -1 : 0
  const prevV = new Map(prev?.validators.map((id, i) => [id, i]) ?? [])
  const prevP = new Map(prev?.providers.map((id, j) => [id, j]) ?? [])
  const trustPrev = V.map((id) => prevV.has(id) ? big(prev!.trust[prevV.get(id)!]!) : initialTrust)
  const repPrev = P.map((id) => prevP.has(id) ? big(prev!.reputation[prevP.get(id)!]!) : 0n)
  const bondPrev = V.map((vid) => P.map((pid) => {
    if (pv < 0 || !prevV.has(vid) || !prevP.has(pid)) return 0n
    return big(prev!.bonds[prevP.get(pid)! * prev!.validators.length + prevV.get(vid)!]!)
  }))
  // masks, row sums, active
  const w = V.map((vid, i) => P.map((pid, j) => input.zeroed[j] === 1 || vid === pid ? 0n : big(input.weights[i * nP + j]!)))
  const rowSum = w.map((row) => row.reduce((a, b) => a + b, 0n))
  // stake
  const x = V.map((_, i) => rowSum[i]! > 0n ? big(input.power[i]!) * trustPrev[i]! : 0n)
  const X = x.reduce((a, b) => a + b, 0n)
  const stake = x.map((xi) => X > 0n ? xi * S / X : 0n)
  const totalStake = stake.reduce((a, b) => a + b, 0n)
  // normalized weights
  const W = w.map((row, i) => row.map((v) => rowSum[i]! > 0n ? v * S / rowSum[i]! : 0n))
  // consensus: sort candidate values descending, take the first whose mass passes κ·ΣS
  const consensus = P.map((_, j) => {
    if (totalStake === 0n) return 0n
    const candidates = [...new Set(V.map((_, i) => W[i]![j]!))].filter((v) => v > 0n).sort((a, b) => (a > b ? -1 : a < b ? 1 : 0))
    for (const c of candidates) {
      let mass = 0n
      for (let i = 0; i < nV; i++) if (W[i]![j]! >= c) mass += stake[i]!
      if (mass * S >= kappa * totalStake) return c
    }
    return 0n
  })
  const clipped = W.map((row) => row.map((v, j) => (v < consensus[j]! ? v : consensus[j]!)))
  const validatorTrust = clipped.map((row) => row.reduce((a, b) => a + b, 0n))
  const R = P.map((_, j) => V.reduce((acc, _v, i) => acc + stake[i]! * clipped[i]![j]!, 0n))
  const RT = R.reduce((a, b) => a + b, 0n)
  const rank = R.map((r) => RT > 0n ? r * S / RT : 0n)
  const bonds = V.map((_, i) => P.map((_p, j) => {
    const delta = R[j]! > 0n ? stake[i]! * clipped[i]![j]! * S / R[j]! : 0n
    return ((S - alpha) * bondPrev[i]![j]! + alpha * delta) / S
  }))
  const D = bonds.map((row) => row.reduce((acc, b, j) => acc + b * rank[j]!, 0n))
  const DT = D.reduce((a, b) => a + b, 0n)
  const dividends = D.map((d) => DT > 0n ? d * S / DT : 0n)
  const trust = trustPrev.map((t, i) => ((S - trustAlpha) * t + trustAlpha * validatorTrust[i]!) / S)
  const reputation = repPrev.map((r, j) => input.zeroed[j] === 1 ? 0n : ((S - repAlpha) * r + repAlpha * rank[j]!) / S)
  return { stake, consensus, rank, validatorTrust, dividends, trust, reputation, bonds }
}

const asNumbers = (v: bigint[]): number[] => v.map(Number)

// ---- generators ---------------------------------------------------------------

/** Ids from a small pool, so validators and providers overlap (self-weights) and sets change between epochs. */
const POOL = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']

const idSet = fc.subarray(POOL, { minLength: 0, maxLength: 6 }).map((ids) => [...ids].sort())

const weight = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0) },
  { weight: 2, arbitrary: fc.constant(65535) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 8 }) }, // small: many ties after normalization
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 65535 }) }
)

const power = fc.oneof(
  { weight: 2, arbitrary: fc.constant(0) },
  { weight: 5, arbitrary: fc.integer({ min: 1, max: 1000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }) } // BigInt stake path
)

const epochInput = (epoch: number): fc.Arbitrary<EpochInput> => fc.tuple(idSet, idSet).chain(([validators, providers]) => fc.record({
  epoch: fc.constant(epoch),
  validators: fc.constant(validators),
  providers: fc.constant(providers),
  power: fc.array(power, { minLength: validators.length, maxLength: validators.length }),
  weights: fc.array(weight, { minLength: validators.length * providers.length, maxLength: validators.length * providers.length }).map((w) => Uint16Array.from(w)),
  zeroed: fc.array(fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(1) }), { minLength: providers.length, maxLength: providers.length }).map((z) => Uint8Array.from(z))
}))

const unit = fc.double({ min: 0, max: 1, noNaN: true })
const params: fc.Arbitrary<ConsensusParams> = fc.record({
  kappa: fc.oneof(fc.constant(0.5), fc.double({ min: 1e-6, max: 1, noNaN: true })),
  bondAlpha: fc.oneof(fc.constant(0.1), unit),
  trustAlpha: fc.oneof(fc.constant(0.1), unit),
  reputationAlpha: fc.option(unit, { nil: undefined }),
  initialTrust: fc.option(unit, { nil: undefined })
})

const chainArb = fc.tuple(epochInput(0), epochInput(1), epochInput(2), params)

function runChain (inputs: EpochInput[], p: ConsensusParams): Array<{ input: EpochInput, prev: ConsensusState | undefined, result: EpochResult }> {
  let prev: ConsensusState | undefined
  return inputs.map((input) => {
    const result = runEpoch(input, prev, p)
    const step = { input, prev, result }
    prev = result.state
    return step
  })
}

const sum = (v: Int32Array): number => v.reduce((a, b) => a + b, 0)

describe('runEpoch properties', () => {
  it('is bit-identical to the BigInt oracle on random chains with changing sets', () => {
    fc.assert(fc.property(chainArb, ([e0, e1, e2, p]) => {
      for (const { input, prev, result } of runChain([e0, e1, e2], p)) {
        const o = oracle(input, prev, p)
        expect(Array.from(result.stake)).toEqual(asNumbers(o.stake))
        expect(Array.from(result.consensus)).toEqual(asNumbers(o.consensus))
        expect(Array.from(result.validatorTrust)).toEqual(asNumbers(o.validatorTrust))
        expect(Array.from(result.rank)).toEqual(asNumbers(o.rank))
        expect(Array.from(result.dividends)).toEqual(asNumbers(o.dividends))
        expect(Array.from(result.state.trust)).toEqual(asNumbers(o.trust))
        expect(Array.from(result.reputation)).toEqual(asNumbers(o.reputation))
        const nV = input.validators.length
        const bonds = input.providers.flatMap((_, j) => input.validators.map((_v, i) => Number(o.bonds[i]![j]!)))
        expect(Array.from(result.state.bonds)).toEqual(bonds)
        expect(result.state.bonds.length).toBe(nV * input.providers.length)
      }
    }), { numRuns: 400 })
  })

  it('keeps every output an integer in range: Σrank, Σstake, Σdividends ≤ SCALE; no NaN', () => {
    fc.assert(fc.property(chainArb, ([e0, e1, e2, p]) => {
      for (const { input, result } of runChain([e0, e1, e2], p)) {
        const nV = input.validators.length
        for (const v of [result.stake, result.consensus, result.rank, result.validatorTrust, result.dividends, result.reputation, result.state.trust, result.state.bonds]) {
          for (const x of v) {
            expect(Number.isInteger(x)).toBe(true)
            expect(x).toBeGreaterThanOrEqual(0)
            expect(x).toBeLessThanOrEqual(SCALE)
          }
        }
        expect(sum(result.rank)).toBeLessThanOrEqual(SCALE)
        expect(sum(result.stake)).toBeLessThanOrEqual(SCALE)
        expect(sum(result.dividends)).toBeLessThanOrEqual(SCALE)
        for (let j = 0; j < input.providers.length; j++) {
          expect(sum(result.state.bonds.subarray(j * nV, (j + 1) * nV))).toBeLessThanOrEqual(SCALE)
          if (input.zeroed[j] === 1) {
            expect(result.rank[j]).toBe(0)
            expect(result.reputation[j]).toBe(0)
          }
        }
        expect(result.stateRoot.length).toBe(32)
      }
    }), { numRuns: 300 })
  })

  it('a validator with power 0 has no influence, whatever its weights', () => {
    fc.assert(fc.property(epochInput(0), fc.array(weight, { minLength: 8, maxLength: 8 }), fc.nat(), params, (input, otherWeights, pick, p) => {
      const nV = input.validators.length
      const nP = input.providers.length
      if (nV === 0) return
      const i = pick % nV
      const power = [...input.power]
      power[i] = 0
      const a = runEpoch({ ...input, power }, undefined, p)
      const weights = input.weights.slice()
      for (let j = 0; j < nP; j++) weights[i * nP + j] = otherWeights[j]!
      const b = runEpoch({ ...input, power, weights }, undefined, p)
      expect(Array.from(b.consensus)).toEqual(Array.from(a.consensus))
      expect(Array.from(b.rank)).toEqual(Array.from(a.rank))
      expect(Array.from(b.reputation)).toEqual(Array.from(a.reputation))
      // Only validator i's own Tv (and so its trust) may differ.
      for (let k = 0; k < nV; k++) {
        if (k === i) continue
        expect(b.stake[k]).toBe(a.stake[k])
        expect(b.state.trust[k]).toBe(a.state.trust[k])
        expect(b.dividends[k]).toBe(a.dividends[k])
      }
    }), { numRuns: 300 })
  })

  it('scaling every power by the same factor changes nothing', () => {
    fc.assert(fc.property(epochInput(0), fc.integer({ min: 2, max: 1000 }), params, (input, k, p) => {
      if (input.power.some((x) => x * k > Number.MAX_SAFE_INTEGER)) return
      const a = runEpoch(input, undefined, p)
      const b = runEpoch({ ...input, power: input.power.map((x) => x * k) }, undefined, p)
      expect(Buffer.from(b.stateRoot).equals(Buffer.from(a.stateRoot))).toBe(true)
    }), { numRuns: 200 })
  })

  it('permuting the rows and columns of the raw entries and sorting again gives the same root', () => {
    fc.assert(fc.property(epochInput(0), fc.integer(), params, (input, seed, p) => {
      const nV = input.validators.length
      const nP = input.providers.length
      // Shuffle, then re-sort as a caller does: the result must equal the original.
      const rowOrder = [...Array(nV).keys()].sort((x, y) => ((x * 7919 + seed) % 101) - ((y * 7919 + seed) % 101))
      const colOrder = [...Array(nP).keys()].sort((x, y) => ((x * 104729 + seed) % 97) - ((y * 104729 + seed) % 97))
      const shuffled = rowOrder.map((i) => ({ id: input.validators[i]!, power: input.power[i]!, row: colOrder.map((j) => [input.providers[j]!, input.weights[i * nP + j]!] as const) }))
      const resorted = [...shuffled].sort((x, y) => (x.id < y.id ? -1 : 1))
      const providers = [...colOrder.map((j) => input.providers[j]!)].sort()
      const weights = new Uint16Array(nV * nP)
      resorted.forEach((v, i) => {
        for (const [pid, wv] of v.row) weights[i * nP + providers.indexOf(pid)] = wv
      })
      const zeroed = Uint8Array.from(providers, (pid) => input.zeroed[input.providers.indexOf(pid)]!)
      const a = runEpoch(input, undefined, p)
      const b = runEpoch({ epoch: input.epoch, validators: resorted.map((v) => v.id), power: resorted.map((v) => v.power), providers, weights, zeroed }, undefined, p)
      expect(Buffer.from(b.stateRoot).equals(Buffer.from(a.stateRoot))).toBe(true)
    }), { numRuns: 200 })
  })
})
