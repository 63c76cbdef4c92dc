/**
 * Hand-computed cases: every expected number below is derived in the
 * comments from the formulas in protocol/consensus/yuma.ts, with
 * SCALE = 2^20 = 1048576, κ = 0.5 → 524288, α = 0.1 → round(104857.6) = 104858,
 * and every division a floor.
 */
import { describe, expect, it } from 'vitest'
import { runEpoch, SCALE, type ConsensusParams, type EpochInput } from '../../../../protocol/consensus/index.ts'

const PARAMS: ConsensusParams = { kappa: 0.5, bondAlpha: 0.1, trustAlpha: 0.1 }
const ALPHA = 104858
const KEEP = SCALE - ALPHA // 943718

const arr = (v: ArrayLike<number>): number[] => Array.from(v)

describe('runEpoch: two validators, two providers', () => {
  // Validators va (power 3) and vb (power 1); providers pa, pb; nothing zeroed.
  //   va weights [1, 1] → row sum 2 → W_va = [2^20/2, 2^20/2] = [524288, 524288]
  //   vb weights [1, 3] → row sum 4 → W_vb = [2^20/4, 3·2^20/4] = [262144, 786432]
  const input: EpochInput = {
    epoch: 1,
    validators: ['va', 'vb'],
    power: [3, 1],
    providers: ['pa', 'pb'],
    weights: Uint16Array.from([1, 1, 1, 3]),
    zeroed: new Uint8Array(2)
  }
  const r = runEpoch(input, undefined, PARAMS)

  it('stake is power × initial trust (full), normalized', () => {
    // x = [3·2^20, 1·2^20], Σx = 4·2^20 → S = [3/4, 1/4]·2^20 = [786432, 262144]
    expect(arr(r.stake)).toEqual([786432, 262144])
  })

  it('consensus is the stake-weighted median of each column', () => {
    // threshold = ceil(524288·(786432 + 262144) / 2^20) = 524288
    // pa: values {va: 524288 (S 786432), vb: 262144 (S 262144)}
    //     w = 524288: mass(≥ w) = 786432 ≥ 524288 → C_pa = 524288
    // pb: values {va: 524288 (S 786432), vb: 786432 (S 262144)}
    //     w = 786432: mass = 262144 < 524288; w = 524288: mass = 1048576 ≥ 524288 → C_pb = 524288
    expect(arr(r.consensus)).toEqual([524288, 524288])
  })

  it('validator trust is the clipped row sum', () => {
    // W̄_va = [524288, 524288] (nothing above C) → Tv_va = 1048576
    // W̄_vb = [262144, min(786432, 524288) = 524288] → Tv_vb = 786432
    expect(arr(r.validatorTrust)).toEqual([1048576, 786432])
  })

  it('rank is Σ S·W̄, normalized', () => {
    // R_pa = 786432·524288 + 262144·262144 = 6·2^36 + 1·2^36 = 7·2^36
    // R_pb = 786432·524288 + 262144·524288 = 6·2^36 + 2·2^36 = 8·2^36
    // rank_pa = floor(7·2^20 / 15) = floor(7340032 / 15) = 489335 (15·489335 = 7340025)
    // rank_pb = floor(8·2^20 / 15) = floor(8388608 / 15) = 559240 (15·559240 = 8388600)
    expect(arr(r.rank)).toEqual([489335, 559240])
    expect(r.rank[0]! + r.rank[1]!).toBe(1048575) // ≤ SCALE: floors lose at most one unit each
  })

  it('bonds are α·ΔB with ΔB = S·W̄ / R per column (no previous bonds)', () => {
    // ΔB_va,pa = floor(6/7·2^20) = floor(6291456/7) = 898779;  ΔB_vb,pa = floor(2^20/7) = 149796
    // ΔB_va,pb = 6/8·2^20 = 786432;                            ΔB_vb,pb = 2/8·2^20 = 262144
    // B = floor(104858·ΔB / 2^20):
    //   va,pa: 104858·898779 = 94244168382 → 89878      vb,pa: 104858·149796 = 15707308968 → 14979
    //   va,pb: 104858·786432 = 82463686656 → 78643      vb,pb: 104858·262144 = 27487895552 → 26214
    // Provider-major layout: [pa: va, vb, pb: va, vb]
    expect(arr(r.state.bonds)).toEqual([89878, 14979, 78643, 26214])
  })

  it('dividends are Σ_j B·rank, normalized', () => {
    // D_va = 89878·489335 + 78643·559240 = 87960762450
    // D_vb = 14979·489335 + 26214·559240 = 21989666325;  ΣD = 109950428775
    // D_va·2^20/ΣD → 838864;  D_vb·2^20/ΣD → 209711
    expect(arr(r.dividends)).toEqual([838864, 209711])
  })

  it('trust and reputation are EMAs from full trust and zero reputation', () => {
    // trust_va = floor((943718·2^20 + 104858·2^20) / 2^20) = 1048576
    // trust_vb = floor((943718·2^20 + 104858·786432) / 2^20) = 943718 + floor(104858·3/4 = 78643.5) = 1022361
    expect(arr(r.state.trust)).toEqual([1048576, 1022361])
    // rep = floor(104858·rank / 2^20): 104858·489335 = 51310689430 → 48933; 104858·559240 = 58640787920 → 55924
    expect(arr(r.reputation)).toEqual([48933, 55924])
    expect(r.reputation).toBe(r.state.reputation)
  })
})

describe('runEpoch: self-weight, a zeroed provider, an inactive validator, and a second epoch', () => {
  // Validators a (power 2), b (power 1), c (power 1); providers a, p, q; q is zeroed.
  // Validator a is also provider a, so its weight there is masked.
  //   a: [60000, 100, 500] → masked [0 (self), 100, 0 (zeroed)] → W_a = [0, 1048576, 0]
  //   b: [300, 100, 7]     → masked [300, 100, 0], sum 400       → W_b = [786432, 262144, 0]
  //   c: [0, 0, 9]         → masked all zero → inactive: no stake, Tv = 0
  const input: EpochInput = {
    epoch: 7,
    validators: ['a', 'b', 'c'],
    power: [2, 1, 1],
    providers: ['a', 'p', 'q'],
    weights: Uint16Array.from([60000, 100, 500, 300, 100, 7, 0, 0, 9]),
    zeroed: Uint8Array.from([0, 0, 1])
  }
  const r1 = runEpoch(input, undefined, PARAMS)

  it('epoch 1', () => {
    // x = [2·2^20, 1·2^20, 0] → S_a = floor(2^21·2^20 / 3·2^20) = 699050, S_b = 349525, S_c = 0
    expect(arr(r1.stake)).toEqual([699050, 349525, 0])
    // threshold = ceil(524288·1048575 / 2^20) = ceil(524287.5) = 524288
    // col a: only b (786432, S 349525) → mass 349525 < 524288 → C = 0
    // col p: a = 2^20 (S 699050) → mass 699050 ≥ 524288 → C = 2^20
    // col q: zeroed → 0
    expect(arr(r1.consensus)).toEqual([0, 1048576, 0])
    // W̄_a = [0, 2^20, 0] → Tv 1048576;  W̄_b = [0, 262144, 0] → Tv 262144;  Tv_c = 0
    expect(arr(r1.validatorTrust)).toEqual([1048576, 262144, 0])
    // All rank on p: R_p = 699050·2^20 + 349525·262144 = 733007052800 + 91625881600 = 824632934400
    expect(arr(r1.rank)).toEqual([0, 1048576, 0])
    // ΔB_a,p = floor(733007052800·2^20 / 824632934400) = 932067;  ΔB_b,p = 116508
    // B = floor(104858·ΔB / 2^20): 97734681486 → 93207;  12216795864 → 11650. Columns a and q: 0.
    expect(arr(r1.state.bonds)).toEqual([0, 0, 0, 93207, 11650, 0, 0, 0, 0])
    // D = B·2^20 each; normalized: floor(93207·2^20 / 104857) = 932075, floor(11650·2^20 / 104857) = 116500
    expect(arr(r1.dividends)).toEqual([932075, 116500, 0])
    // trust: a = 2^20; b = 943718 + floor(104858·262144/2^20 = 26214.5) = 969932; c = floor(943718·2^20/2^20) = 943718
    expect(arr(r1.state.trust)).toEqual([1048576, 969932, 943718])
    // reputation: p = floor(104858·2^20 / 2^20) = 104858; q zeroed → 0
    expect(arr(r1.reputation)).toEqual([0, 104858, 0])
  })

  it('epoch 2: lower trust lowers stake, bonds and reputation move by one EMA step', () => {
    const r2 = runEpoch({ ...input, epoch: 8 }, r1.state, PARAMS)
    // x = [2·1048576, 1·969932, 0] = [2097152, 969932, 0], Σx = 3067084
    // S_a = floor(2097152·2^20 / 3067084) = 716975;  S_b = floor(969932·2^20 / 3067084) = 331600
    expect(arr(r2.stake)).toEqual([716975, 331600, 0])
    expect(arr(r2.consensus)).toEqual([0, 1048576, 0])
    // R_p = 716975·2^20 + 331600·262144 = 838729728000
    // ΔB_a,p = floor(716975·2^40 / 838729728000) = 939900;  ΔB_b,p = floor(331600·262144·2^20 / R_p) = 108675
    // B_a,p = floor((943718·93207 + 104858·939900) / 2^20) = floor(186517157826 / 2^20) = 177876
    // B_b,p = floor((943718·11650 + 104858·108675) / 2^20) = floor(22389757850 / 2^20) = 21352
    expect(arr(r2.state.bonds)).toEqual([0, 0, 0, 177876, 21352, 0, 0, 0, 0])
    // floor(177876·2^20 / 199228) = 936196;  floor(21352·2^20 / 199228) = 112379
    expect(arr(r2.dividends)).toEqual([936196, 112379, 0])
    // trust_b = floor((943718·969932 + 104858·262144) / 2^20) = 899152;  trust_c = floor(943718·943718 / 2^20) = 849345
    expect(arr(r2.state.trust)).toEqual([1048576, 899152, 849345])
    // rep_p = floor((943718·104858 + 104858·2^20) / 2^20) = 199230
    expect(arr(r2.reputation)).toEqual([0, 199230, 0])
    expect(r2.state.epoch).toBe(8)
  })
})

describe('runEpoch: degenerate inputs', () => {
  it('no validator with power: nothing gets consensus or rank, trust still follows Tv', () => {
    const r = runEpoch({ epoch: 0, validators: ['v'], power: [0], providers: ['p'], weights: Uint16Array.from([5]), zeroed: new Uint8Array(1) }, undefined, PARAMS)
    expect(arr(r.stake)).toEqual([0])
    expect(arr(r.consensus)).toEqual([0])
    expect(arr(r.rank)).toEqual([0])
    expect(arr(r.dividends)).toEqual([0])
    // W = [2^20], C = 0 → W̄ = 0 → Tv = 0 → trust = 943718
    expect(arr(r.state.trust)).toEqual([KEEP])
  })

  it('empty sets run and give empty vectors', () => {
    const r = runEpoch({ epoch: 0, validators: [], power: [], providers: [], weights: new Uint16Array(0), zeroed: new Uint8Array(0) }, undefined, PARAMS)
    expect(r.rank.length).toBe(0)
    expect(r.state.bonds.length).toBe(0)
    expect(r.stateRoot.length).toBe(32)
  })

  it('κ = 1 needs unanimity: C is the smallest staked weight', () => {
    // Two equal validators: W = [[2^19, 2^19], [262144, 786432]] as above but equal power.
    const r = runEpoch({ epoch: 0, validators: ['va', 'vb'], power: [1, 1], providers: ['pa', 'pb'], weights: Uint16Array.from([1, 1, 1, 3]), zeroed: new Uint8Array(2) }, undefined, { ...PARAMS, kappa: 1 })
    expect(arr(r.consensus)).toEqual([262144, 524288])
  })
})

describe('runEpoch: input checks', () => {
  const ok: EpochInput = { epoch: 1, validators: ['a', 'b'], power: [1, 1], providers: ['p'], weights: Uint16Array.from([1, 1]), zeroed: new Uint8Array(1) }

  it('rejects unsorted or duplicate ids instead of sorting them', () => {
    expect(() => runEpoch({ ...ok, validators: ['b', 'a'] }, undefined, PARAMS)).toThrow(/strictly ascending/)
    expect(() => runEpoch({ ...ok, validators: ['a', 'a'] }, undefined, PARAMS)).toThrow(/strictly ascending/)
    expect(() => runEpoch({ ...ok, providers: ['q', 'p'], weights: new Uint16Array(4), zeroed: new Uint8Array(2) }, undefined, PARAMS)).toThrow(/strictly ascending/)
  })

  it('rejects mis-shaped arrays and bad power', () => {
    expect(() => runEpoch({ ...ok, weights: new Uint16Array(3) }, undefined, PARAMS)).toThrow(RangeError)
    expect(() => runEpoch({ ...ok, weights: [1, 1] as unknown as Uint16Array }, undefined, PARAMS)).toThrow(TypeError)
    expect(() => runEpoch({ ...ok, zeroed: new Uint8Array(2) }, undefined, PARAMS)).toThrow(RangeError)
    expect(() => runEpoch({ ...ok, zeroed: Uint8Array.from([2]) }, undefined, PARAMS)).toThrow(RangeError)
    expect(() => runEpoch({ ...ok, power: [1] }, undefined, PARAMS)).toThrow(RangeError)
    expect(() => runEpoch({ ...ok, power: [1, -1] }, undefined, PARAMS)).toThrow(RangeError)
    expect(() => runEpoch({ ...ok, power: [1, 0.5] }, undefined, PARAMS)).toThrow(RangeError)
    expect(() => runEpoch({ ...ok, power: [1, 2 ** 53] }, undefined, PARAMS)).toThrow(RangeError)
    expect(() => runEpoch({ ...ok, epoch: -1 }, undefined, PARAMS)).toThrow(RangeError)
  })

  it('rejects bad params', () => {
    expect(() => runEpoch(ok, undefined, { ...PARAMS, kappa: 0 })).toThrow(RangeError)
    expect(() => runEpoch(ok, undefined, { ...PARAMS, kappa: 1.5 })).toThrow(RangeError)
    expect(() => runEpoch(ok, undefined, { ...PARAMS, bondAlpha: -0.1 })).toThrow(RangeError)
    expect(() => runEpoch(ok, undefined, { ...PARAMS, trustAlpha: Number.NaN })).toThrow(RangeError)
  })

  it('rejects a previous state that is not older, or is mis-shaped', () => {
    const r = runEpoch(ok, undefined, PARAMS)
    expect(() => runEpoch(ok, r.state, PARAMS)).toThrow(/not before epoch/)
    expect(() => runEpoch({ ...ok, epoch: 2 }, { ...r.state, trust: new Int32Array(1) }, PARAMS)).toThrow(RangeError)
    expect(() => runEpoch({ ...ok, epoch: 2 }, { ...r.state, bonds: Int32Array.from([SCALE + 1, 0]) }, PARAMS)).toThrow(/outside/)
    expect(() => runEpoch({ ...ok, epoch: 2 }, { ...r.state, reputation: Int32Array.from([-1]) }, PARAMS)).toThrow(/outside/)
  })
})
