// The re-scored check (protocol/verify/rescored.ts and its statistics in
// pit.ts): sound by construction (the PIT interval holds the provider's exact
// PIT, honest draws never fail hard), calibrated on synthetic models (honest
// claims scored with engine noise pass; cheats are caught at a measured rate),
// and every random choice seeded so the printed rates are reproducible.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { workloadRandom } from '../../../../protocol/workload.ts'
import {
  auditEvidence, binomialUpperTail, evidenceDensity, ksIntervalDistance, ksPValueBound, pitInterval, type PitInterval
} from '../../../../protocol/verify/pit.ts'
import {
  DEFAULT_FALSE_FAIL_RATE, analyzeStep, judgeRescored, rescoreCostRatio, type RescoreResult, type ScoredStep
} from '../../../../protocol/verify/rescored.ts'

type Rng = () => number

// ---------------------------------------------------------------------------
// A synthetic model. Each step has V logits: s·N(0, 1) with s uniform in
// [1, 8] (flat to peaked), and in 40 % of steps one token boosted by 3 to 13
// (a confident next token), so steps range from near-uniform over the
// vocabulary to p1 > 0.999. The validator sees its own copy of the logits plus
// N(0, σ) noise, the provider samples from another noisy copy: two engines
// with fp16-like kernel differences. Normals come from a fixed table read
// with a random offset and stride, which keeps 2,000 audits fast.
// ---------------------------------------------------------------------------
const V = 128
const K = 20
const MASK = (1 << 16) - 1
const NORMALS = ((): Float64Array => {
  const r = workloadRandom(7)
  const t = new Float64Array(MASK + 1)
  for (let i = 0; i < t.length; i++) t[i] = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r())
  return t
})()

function noisy (base: Float64Array | null, scale: number, r: Rng, out: Float64Array = new Float64Array(V)): Float64Array {
  const off = (r() * 65536) | 0
  const stride = (((r() * 32768) | 0) << 1) | 1
  for (let i = 0; i < V; i++) out[i] = (base == null ? 0 : base[i]!) + scale * NORMALS[(off + i * stride) & MASK]!
  return out
}

function modelStep (r: Rng, out?: Float64Array): Float64Array {
  const l = noisy(null, 1 + 7 * r(), r, out)
  if (r() < 0.4) l[(r() * V) | 0]! += 3 + 10 * r()
  return l
}

function logSoftmaxInPlace (l: Float64Array): Float64Array {
  let m = -Infinity
  for (let i = 0; i < V; i++) m = Math.max(m, l[i]!)
  let s = 0
  for (let i = 0; i < V; i++) s += Math.exp(l[i]! - m)
  const z = m + Math.log(s)
  for (let i = 0; i < V; i++) l[i] = l[i]! - z
  return l
}

/** Indices of the k largest, descending. */
function topK (l: Float64Array, k: number): number[] {
  const idx: number[] = []
  for (let i = 0; i < l.length; i++) {
    if (idx.length === k && l[i]! <= l[idx[k - 1]!]!) continue
    if (idx.length < k) idx.push(i)
    let j = idx.length - 1
    while (j > 0 && l[idx[j - 1]!]! < l[i]!) {
      idx[j] = idx[j - 1]!
      j--
    }
    idx[j] = i
  }
  return idx
}

const W = new Float64Array(V)
const SORTED = new Float64Array(V)

/** Samples like vLLM: greedy at T = 0, else softmax(l/T) restricted to the smallest prefix with mass ≥ top_p. */
function sample (l: Float64Array, T: number, topP: number, r: Rng): number {
  let best = 0
  for (let i = 1; i < V; i++) if (l[i]! > l[best]!) best = i
  if (T === 0) return best
  let total = 0
  for (let i = 0; i < V; i++) total += (W[i] = Math.exp((l[i]! - l[best]!) / T))
  let tau = 0
  let mass = total
  if (topP < 1) {
    SORTED.set(W)
    SORTED.sort()
    mass = 0
    for (let j = V - 1; j >= 0; j--) {
      mass += SORTED[j]!
      tau = SORTED[j]!
      if (mass >= topP * total) break
    }
  }
  let u = r() * mass
  for (let i = 0; i < V; i++) {
    if (W[i]! < tau) continue
    u -= W[i]!
    if (u <= 0) return i
  }
  return best
}

type Claim = 'honest' | 'other model' | 'quantized σ=0.1' | 'quantized σ=0.3' | 'second best' | 'garbage' | 'greedy when asked to sample'
const CHEATS: Claim[] = ['other model', 'quantized σ=0.1', 'quantized σ=0.3', 'second best', 'garbage', 'greedy when asked to sample']

/** One audit: n claimed tokens, each re-scored by the validator (top-20 at T = 1, plus the claim's own logprob). */
const BASE = new Float64Array(V)
const VAL = new Float64Array(V)
const PROV = new Float64Array(V)

function audit (claim: Claim, n: number, T: number, topP: number, sigma: number, r: Rng): ScoredStep[] {
  const steps: ScoredStep[] = []
  for (let t = 0; t < n; t++) {
    const l = modelStep(r, BASE)
    const val = logSoftmaxInPlace(noisy(l, sigma, r, VAL))
    const top = topK(val, K)
    let x: number
    switch (claim) {
      case 'honest': x = sample(noisy(l, sigma, r, PROV), T, topP, r); break
      case 'other model': x = sample(modelStep(r, PROV), T, topP, r); break
      case 'quantized σ=0.1': x = sample(noisy(l, 0.1, r, PROV), T, topP, r); break
      case 'quantized σ=0.3': x = sample(noisy(l, 0.3, r, PROV), T, topP, r); break
      case 'second best': x = topK(noisy(l, sigma, r, PROV), 2)[1]!; break
      case 'greedy when asked to sample': x = topK(noisy(l, sigma, r, PROV), 1)[0]!; break
      case 'garbage': do x = (r() * V) | 0; while (top.includes(x)); break
    }
    steps.push({ text: `t${x}`, id: x, logprob: val[x]!, top: top.map(i => ({ text: `t${i}`, id: i, logprob: val[i]! })) })
  }
  return steps
}

interface Tally { audits: number, failed: number, hard: number, llr: number, finite: number, maxLlr: number, minKsP: number, tokens: number }

function run (claim: Claim, T: number, topP: number, sigma: number, audits: number, seed: number): Tally {
  const r = workloadRandom(seed)
  const t: Tally = { audits, failed: 0, hard: 0, llr: 0, finite: 0, maxLlr: -Infinity, minKsP: 1, tokens: 0 }
  for (let a = 0; a < audits; a++) {
    const n = 32 + Math.floor(r() * 97)
    const res: RescoreResult = judgeRescored(audit(claim, n, T, topP, sigma, r), { temperature: T, topP }, { vocabSize: V, seed: seed * 10007 + a })
    t.tokens += n
    if (!res.ok) t.failed++
    if (res.hardFailures > 0) t.hard++
    if (Number.isFinite(res.logLikelihoodRatio)) {
      t.llr += res.logLikelihoodRatio
      t.finite++
    }
    t.maxLlr = Math.max(t.maxLlr, res.logLikelihoodRatio)
    t.minKsP = Math.min(t.minKsP, res.ksPValue)
  }
  return t
}

const pct = (x: number, n: number): string => `${(100 * x / n).toFixed(1)}%`

// ---------------------------------------------------------------------------

describe('pit statistics', () => {
  it('the randomised PIT of exact masses is uniform (a 5-category distribution, 4,000 draws)', () => {
    const r = workloadRandom(1)
    const p = [0.5, 0.2, 0.15, 0.1, 0.05]
    const masses = p.map(x => ({ lo: x, hi: x }))
    const pits: PitInterval[] = []
    for (let i = 0; i < 4000; i++) {
      let u = r()
      let x = 0
      while (x < p.length - 1 && (u -= p[x]!) > 0) x++
      const iv = pitInterval(masses, x, r())
      expect(iv[0]).toBeCloseTo(iv[1], 12)
      pits.push(iv)
    }
    expect(ksPValueBound(ksIntervalDistance(pits), pits.length)).toBeGreaterThan(0.01)
  })

  it('the interval KS distance is the classical one for points, and no choice inside the intervals beats it', () => {
    const pts = [0.1, 0.4, 0.45, 0.9].map(x => [x, x] as const)
    // Classical: max over i of i/n − u_(i) and u_(i) − (i−1)/n: 3/4 − 0.45 = 0.3.
    expect(ksIntervalDistance(pts)).toBeCloseTo(0.3, 6)
    fc.assert(fc.property(fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 0.3, noNaN: true })), { minLength: 1, maxLength: 12 }), fc.integer(), (raw, seed) => {
      const ivs: PitInterval[] = raw.map(([a, w]) => [a, Math.min(1, a + w)])
      const d = ksIntervalDistance(ivs)
      const r = workloadRandom(seed)
      for (let trial = 0; trial < 50; trial++) {
        const pts = ivs.map(([lo, hi]) => lo + (hi - lo) * r()).sort((a, b) => a - b)
        let dd = 0
        for (let i = 0; i < pts.length; i++) dd = Math.max(dd, (i + 1) / pts.length - pts[i]!, pts[i]! - i / pts.length)
        if (dd < d - 1e-6) return false
      }
      return true
    }), { numRuns: 200, seed: 42 })
  })

  it('the DKW bound holds for uniform samples of 8 to 64 points', () => {
    const r = workloadRandom(2)
    for (const n of [8, 16, 64]) {
      const d = Math.sqrt(Math.log(8) / (2 * n)) // the bound is 2·exp(−ln 8) = 0.25 at every n
      const bound = ksPValueBound(d, n)
      expect(bound).toBeCloseTo(0.25, 12)
      let hits = 0
      for (let i = 0; i < 3000; i++) {
        const u = Array.from({ length: n }, () => r()).map(x => [x, x] as const)
        if (ksIntervalDistance(u) >= d) hits++
      }
      expect(hits / 3000).toBeLessThanOrEqual(bound)
    }
    expect(ksPValueBound(0, 10)).toBe(1)
    expect(ksPValueBound(0.5, 100)).toBeCloseTo(2 * Math.exp(-50), 30)
  })

  it('binomialUpperTail matches the direct sum', () => {
    const choose = (n: number, k: number): number => { let c = 1; for (let i = 1; i <= k; i++) c = c * (n - k + i) / i; return c }
    for (const [n, p] of [[10, 0.3], [40, 0.01], [128, 1e-3]] as const) {
      for (let k = 0; k <= Math.min(n, 6); k++) {
        let s = 0
        for (let i = k; i <= n; i++) s += choose(n, i) * p ** i * (1 - p) ** (n - i)
        expect(binomialUpperTail(n, k, p)).toBeCloseTo(s, 12)
      }
    }
    expect(binomialUpperTail(5, 6, 0.5)).toBe(0)
  })

  it('the audit evidence is an e-value: its mean under honest PITs and bets is ≤ 1', () => {
    expect(evidenceDensity(0.5)).toBeLessThan(1)
    const r = workloadRandom(3)
    let sum = 0
    const audits = 20000
    for (let a = 0; a < audits; a++) {
      const pits: PitInterval[] = []
      const bets = []
      for (let t = 0; t < 8; t++) {
        const q = r()
        const u = r()
        pits.push([u, u])
        bets.push({ hit: u < q, qLo: q, qHi: q }) // the PIT is below the top-1 mass exactly when the claim is the top-1 token
      }
      sum += Math.exp(auditEvidence(pits, bets))
    }
    expect(sum / audits).toBeLessThan(1.05)
  })
})

describe('judgeRescored', () => {
  const tok = (id: number, logprob: number): { text: string, id: number, logprob: number } => ({ text: `t${id}`, id, logprob })
  const step = (id: number, logprob: number, top: Array<[number, number]>): ScoredStep => ({ ...tok(id, logprob), top: top.map(([i, l]) => tok(i, l)) })
  const peaked = (claimId: number): ScoredStep => {
    const top: Array<[number, number]> = [[1, Math.log(0.6)], [2, Math.log(0.3)], [3, Math.log(0.05)], [4, Math.log(0.03)]]
    return step(claimId, top.find(([i]) => i === claimId)?.[1] ?? Math.log(0.001), top)
  }

  it('rejects malformed arguments with RangeError', () => {
    const ok = [peaked(1)]
    expect(() => judgeRescored(ok, { temperature: -1, topP: 1 })).toThrow(RangeError)
    expect(() => judgeRescored(ok, { temperature: 2.5, topP: 1 })).toThrow(RangeError)
    expect(() => judgeRescored(ok, { temperature: 1, topP: 0 })).toThrow(RangeError)
    expect(() => judgeRescored(ok, { temperature: 1, topP: 1 }, { logprobNoise: -1 })).toThrow(RangeError)
    expect(() => judgeRescored(ok, { temperature: 1, topP: 1 }, { falseFailRate: 0 })).toThrow(RangeError)
    expect(() => judgeRescored(ok, { temperature: 1, topP: 1 }, { greedyCheatRate: 1e-4 })).toThrow(RangeError)
    expect(() => judgeRescored(ok, { temperature: 1, topP: 1 }, { vocabSize: 1.5 })).toThrow(RangeError)
    expect(() => judgeRescored([{ ...peaked(1), logprob: Number.NaN }], { temperature: 1, topP: 1 })).toThrow(RangeError)
    expect(() => judgeRescored([{ ...peaked(1), logprob: 0.5 }], { temperature: 1, topP: 1 })).toThrow(RangeError)
    expect(() => judgeRescored([{ ...peaked(1), top: [{ text: 'x', logprob: Infinity }] }], { temperature: 1, topP: 1 })).toThrow(RangeError)
    expect(() => judgeRescored(ok, { temperature: 1, topP: 1 }, { random: () => 1 })).toThrow(RangeError)
  })

  it('nothing to judge passes', () => {
    const r = judgeRescored([], { temperature: 0.7, topP: 0.9 })
    expect(r).toMatchObject({ ok: true, steps: 0, hardFailures: 0, pit: [] })
  })

  it('greedy: the argmax passes, a near tie is not a miss, clear misses are counted and enough of them fail', () => {
    const tie = step(2, Math.log(0.48), [[1, Math.log(0.5)], [2, Math.log(0.48)]])
    const miss = peaked(2) // 0.6 vs 0.3: ln 2 ≈ 0.69 nats below the argmax
    const ok = judgeRescored([peaked(1), tie, peaked(1)], { temperature: 0, topP: 1 })
    expect(ok).toMatchObject({ ok: true, mode: 'greedy', argmaxMisses: 0 })
    const one = judgeRescored([...Array(40).fill(peaked(1)), miss], { temperature: 0, topP: 1 })
    expect(one).toMatchObject({ ok: true, argmaxMisses: 1 })
    const many = judgeRescored([...Array(40).fill(peaked(1)), miss, miss, miss, miss, miss], { temperature: 0, topP: 1 })
    expect(many).toMatchObject({ ok: false, argmaxMisses: 5 })
    expect(many.reason).toMatch(/5 of 45 tokens/)
    expect(many.logLikelihoodRatio).toBeGreaterThan(one.logLikelihoodRatio)
    const zero = judgeRescored([peaked(1), { ...peaked(1), id: 9, text: 't9', logprob: -9999 }], { temperature: 0, topP: 1 })
    expect(zero).toMatchObject({ ok: false, hardFailures: 1, firstHardFailure: { index: 1 } })
    expect(zero.logLikelihoodRatio).toBe(Infinity)
  })

  it('sampled: a token outside the nucleus by a margin, or of zero probability, is a hard failure', () => {
    // top_p 0.5: token 1 (0.6) alone is the nucleus, token 3 has 0.9 of the mass before it.
    const out = judgeRescored([peaked(1), peaked(3)], { temperature: 1, topP: 0.5 })
    expect(out).toMatchObject({ ok: false, hardFailures: 1, firstHardFailure: { index: 1 } })
    expect(out.firstHardFailure!.reason).toMatch(/nucleus/)
    // Token 2 at top_p 0.6: 0.6 is before it, not beyond top_p + margin (0.65): not a hard failure.
    expect(judgeRescored([peaked(2)], { temperature: 1, topP: 0.6 }).hardFailures).toBe(0)
    const zero = judgeRescored([{ ...peaked(1), id: 7, text: 't7', logprob: -Infinity }], { temperature: 1, topP: 1 })
    expect(zero.firstHardFailure!.reason).toMatch(/zero probability/)
  })

  it('a claim outside the top-k is the OTHER category: its PIT lies above the top-k mass', () => {
    const s = peaked(9) // 0.001, not in the top (whose mass is 0.98)
    const a = analyzeStep(s, { temperature: 1, topP: 1 }, { logprobNoise: 0 })
    expect(a.hard).toBeUndefined()
    expect(a.pit![0]).toBeGreaterThanOrEqual(0.98 - 1e-12)
    expect(a.pit![1]).toBeLessThanOrEqual(1)
  })

  it('is reproducible: the same seed gives the same PITs, another seed others', () => {
    const steps = audit('honest', 40, 1, 1, 0.01, workloadRandom(5))
    const a = judgeRescored(steps, { temperature: 1, topP: 1 }, { seed: 11 })
    const b = judgeRescored(steps, { temperature: 1, topP: 1 }, { seed: 11 })
    const c = judgeRescored(steps, { temperature: 1, topP: 1 }, { seed: 12 })
    expect(b).toEqual(a)
    expect(c.pit).not.toEqual(a.pit)
    let calls = 0
    judgeRescored(steps, { temperature: 1, topP: 1 }, { random: () => { calls++; return 0.5 } })
    expect(calls).toBe(40)
  })

  it('is sound: the PIT interval holds the provider\'s exact PIT, and honest draws never fail hard (any T, top_p, top-k size, noise ≤ δ)', () => {
    const vocab = 48
    fc.assert(fc.property(
      fc.integer(), fc.constantFrom(0.2, 0.7, 1, 1.3, 2), fc.constantFrom(1, 0.95, 0.9, 0.5, 0.1), fc.constantFrom(0, 1, 3, 20), fc.constantFrom(0, 0.05, 0.3),
      (seed, T, topP, k, delta) => {
        const r = workloadRandom(seed)
        const s = 0.3 + 8 * r()
        const base = Array.from({ length: vocab }, () => s * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()))
        const lsm = (l: number[]): number[] => { const m = Math.max(...l); const z = m + Math.log(l.reduce((a, x) => a + Math.exp(x - m), 0)); return l.map(x => x - z) }
        const val = lsm(base.map(x => x + (r() - 0.5) * delta / 2)) // |val − prov| ≤ δ after normalising
        const prov = lsm(base.map(x => x + (r() - 0.5) * delta / 2))
        // The provider's sampler: its own order, its own nucleus.
        const q = prov.map(x => Math.exp(x / T))
        const order = Array.from(q.keys()).sort((a, b) => q[b]! - q[a]!)
        const Z = q.reduce((a, b) => a + b, 0)
        const inNucleus = new Array<boolean>(vocab).fill(false)
        let mass = 0
        for (const i of order) {
          if (topP < 1 && mass / Z >= topP) break
          inNucleus[i] = true
          mass += q[i]!
        }
        const p = q.map((x, i) => (inNucleus[i] ? x / mass : 0))
        let x = order[0]!
        let u = r()
        for (let i = 0; i < vocab; i++) if (p[i]! > 0 && (u -= p[i]!) <= 0) { x = i; break }
        const top = Array.from(val.keys()).sort((a, b) => val[b]! - val[a]!).slice(0, k)
        const draw = r()
        const res = analyzeStep({ text: `t${x}`, id: x, logprob: val[x]!, top: top.map(i => ({ text: `t${i}`, id: i, logprob: val[i]! })) },
          { temperature: T, topP }, { vocabSize: vocab, logprobNoise: delta, random: () => draw })
        if (res.hard != null) return false
        // The exact PIT over [top..., OTHER] in the validator's order, with the provider's truncated masses.
        const cats = [...top.map(i => p[i]!), p.reduce((a, v, i) => (top.includes(i) ? a : a + v), 0)]
        const j = top.includes(x) ? top.indexOf(x) : k
        const exact = cats.slice(0, j).reduce((a, b) => a + b, 0) + draw * cats[j]!
        const [lo, hi] = res.pit!
        if (exact < lo - 1e-9 || exact > hi + 1e-9) return false
        if (res.bet != null) {
          const q0 = p[top[0]!]!
          if (q0 < res.bet.qLo - 1e-9 || q0 > res.bet.qHi + 1e-9 || res.bet.hit !== (x === top[0])) return false
        }
        return true
      }), { numRuns: 3000, seed: 7 })
  })

  it('states the re-scoring cost against the provider\'s', () => {
    expect(rescoreCostRatio(100, 100, 20)).toBeCloseTo(200 / 2100, 12)
    expect(rescoreCostRatio(2000, 16, 20)).toBeGreaterThan(0.25) // long prompt, short answer: over budget
    expect(() => rescoreCostRatio(-1, 1)).toThrow(RangeError)
  })
})

describe('calibration on synthetic models (V = 128, top-20, 32–128 tokens per audit)', () => {
  const GRID: Array<[number, number]> = [[0, 1], [0.3, 1], [0.7, 0.9], [0.7, 1], [1, 1], [1, 0.9], [1, 0.5], [1.3, 1], [1.5, 0.95]]

  it('honest claims pass: 0 failures in 2,016 audits (engine noise σ = 1e-3 and 1e-2)', () => {
    let failed = 0
    let audits = 0
    let tokens = 0
    let maxLlr = -Infinity
    let minKsP = 1
    let llr = 0
    const rows: string[] = []
    for (const [g, [T, topP]] of GRID.entries()) {
      for (const sigma of [1e-3, 1e-2]) {
        const t = run('honest', T, topP, sigma, 112, 100 + g * 2 + (sigma === 1e-3 ? 0 : 1))
        failed += t.failed
        audits += t.audits
        tokens += t.tokens
        llr += t.llr
        maxLlr = Math.max(maxLlr, t.maxLlr)
        minKsP = Math.min(minKsP, t.minKsP)
        rows.push(`T=${T} top_p=${topP} σ=${sigma}: ${t.failed}/${t.audits} failed, max llr ${t.maxLlr.toFixed(1)}, min KS p ${t.minKsP.toExponential(1)}`)
      }
    }
    console.log(`honest: ${failed}/${audits} failed (${tokens} tokens); mean llr per audit ${(llr / audits).toFixed(2)}, max ${maxLlr.toFixed(2)} (threshold ${Math.log(1 / (0.45 * DEFAULT_FALSE_FAIL_RATE)).toFixed(1)}); min KS p ${minKsP.toExponential(2)}\n  ${rows.join('\n  ')}`)
    expect(audits).toBe(2016)
    expect(failed).toBe(0)
    expect(llr / audits).toBeLessThan(0) // the sequential test drifts away from conviction
  })

  it('cheats are caught at a measured rate', () => {
    const AUDITS = 40
    const table: string[] = []
    const power = new Map<string, number>()
    for (const claim of CHEATS) {
      const cells: string[] = []
      for (const [g, [T, topP]] of GRID.entries()) {
        const t = run(claim, T, topP, 1e-2, AUDITS, 900 + g)
        power.set(`${claim}@${T}/${topP}`, t.failed / t.audits)
        const llr = t.finite > 0 ? (t.llr / t.finite).toFixed(1) : '∞'
        cells.push(`T=${T}/${topP} ${pct(t.failed, t.audits)} (${t.hard > 0 ? `hard ${pct(t.hard, t.audits)}, ` : ''}llr ${llr})`)
      }
      table.push(`${claim.padEnd(28)} ${cells.join(' | ')}`)
    }
    console.log(`detection per audit (${AUDITS} audits per cell; in brackets the audits with a hard failure, and the mean llr of the others):\n${table.join('\n')}`)
    const at = (claim: Claim, T: number, topP: number): number => power.get(`${claim}@${T}/${topP}`)!
    for (const [T, topP] of GRID) {
      expect(at('other model', T, topP)).toBeGreaterThanOrEqual(0.95)
      expect(at('garbage', T, topP)).toBeGreaterThanOrEqual(0.95)
    }
    for (const [T, topP] of GRID.filter(([T]) => T <= 1)) expect(at('second best', T, topP)).toBeGreaterThanOrEqual(0.8)
    expect(at('second best', 1.3, 1)).toBeGreaterThanOrEqual(0.5)
    expect(at('greedy when asked to sample', 1, 1)).toBeGreaterThanOrEqual(0.5)
    expect(at('greedy when asked to sample', 1.3, 1)).toBeGreaterThanOrEqual(0.8)
    expect(at('quantized σ=0.3', 0, 1)).toBeGreaterThanOrEqual(0.3)
  })
})
