/**
 * Consensus benchmark (ARCHITECTURE.md §12: "256 validators × 4,096 providers in
 * ≤ 100 ms").
 *
 * Runs protocol/consensus runEpoch on random epochs chained through their
 * state, for two weight patterns:
 *   sparse  each validator weights a fixed set of ~500 providers (its audits),
 *           with per-epoch noise;
 *   dense   each validator weights every provider (quality × noise).
 * Beside each, in the same run and on the same inputs, the same consensus in
 * plain float64 (no fixed point, no exact division, no state root) is timed
 * as the ratio reference, and the state root alone is timed to show its share.
 * Node's sha256 is plugged in as a node plugs it in (useNodeAccelerators);
 * --portable-sha256 keeps protocol/'s portable one, for comparison.
 *
 *   node scripts/bench/consensus.ts [--quick] [--epochs 20] [--validators 256] [--providers 4096] [--portable-sha256] [--json]
 *
 * stdout: one markdown table (and with --json one JSON line per row), then
 * the BENCH_SUMMARY line (lib/report.ts): dense p50 and p95, sparse p95, each
 * beside the float64 reference's same percentile.
 * stderr: CPU count and load average (other processes skew the timing), and
 * how closely the float reference agrees. Exit 0; a missed budget is
 * reported in the table, not an error.
 *
 * Note on the sparse case: when each validator weights a random ~500 of 4,096
 * providers, no provider is weighted by validators holding κ = ½ of the
 * stake, so every C_j is 0. That is Yuma working as specified; it times the
 * same passes, and it is why validators must score (nearly) every provider.
 */
import { cpus } from 'node:os'
import { performance } from 'node:perf_hooks'
import { useNodeAccelerators } from '../../node/crypto/runtimeAccelerators.ts'
import { Xoshiro128ss } from '../../protocol/reference/prng.ts'
import { runEpoch, resultRoot, fixParams, SCALE, type ConsensusParams, type ConsensusState, type EpochInput, type EpochResult } from '../../protocol/consensus/index.ts'
import { emitSummary, loadText, parseBenchArgs, positiveInt, row, type SummaryRow } from './lib/report.ts'
import { fmt, markdownTable, percentile } from './lib/stats.ts'

const BUDGET_MS = 100

const args = parseBenchArgs({
  epochs: { type: 'string' },
  validators: { type: 'string', default: '256' },
  providers: { type: 'string', default: '4096' },
  'portable-sha256': { type: 'boolean', default: false }
}, `usage: node scripts/bench/consensus.ts [options]
  --epochs N             epochs timed per case, after 3 warm-up epochs (default 20; --quick: 10)
  --validators N         validators (default 256)
  --providers N          providers (default 4096)
  --portable-sha256      hash the state root with protocol/'s portable sha256 (@noble/hashes), not Node's
`)

// As startNode does: the state root's sha256 through Node's OpenSSL.
if (args['portable-sha256'] !== true) useNodeAccelerators()

const EPOCHS = positiveInt('epochs', args.epochs ?? (args.quick ? '10' : '20'))
const N_V = positiveInt('validators', args.validators)
const N_P = positiveInt('providers', args.providers)
const WARMUP = 3
const PARAMS: ConsensusParams = { kappa: 0.5, bondAlpha: 0.1, trustAlpha: 0.1 }

const pad = (n: number, width: number): string => String(n).padStart(width, '0')

/** Weight matrices for a few epochs (cycled), so generation stays out of the timing. */
function makeEpochs (kind: 'sparse' | 'dense', count: number): EpochInput[] {
  const rng = Xoshiro128ss.fromLabel(`bench/consensus/${kind}`)
  const validators = Array.from({ length: N_V }, (_, i) => `val-${pad(i, 5)}`)
  const providers = Array.from({ length: N_P }, (_, j) => `prov-${pad(j, 6)}`)
  const power = validators.map(() => 1 + (rng.nextU32() % 1000))
  const quality = Float64Array.from(providers, () => 0.3 + 0.7 * rng.nextFloat())
  // sparse: validator i's audit set, fixed across epochs
  const perValidator = Math.min(N_P, 500)
  const sets: Uint32Array[] = validators.map(() => {
    const pick = new Uint32Array(perValidator)
    for (let k = 0; k < perValidator; k++) pick[k] = rng.nextU32() % N_P
    return pick
  })
  const out: EpochInput[] = []
  for (let e = 0; e < count; e++) {
    const weights = new Uint16Array(N_V * N_P)
    for (let i = 0; i < N_V; i++) {
      const base = i * N_P
      if (kind === 'dense') {
        for (let j = 0; j < N_P; j++) weights[base + j] = Math.floor(65535 * quality[j]! * (0.9 + 0.1 * rng.nextFloat()))
      } else {
        for (const j of sets[i]!) weights[base + j] = Math.floor(65535 * quality[j]! * (0.9 + 0.1 * rng.nextFloat()))
      }
    }
    const zeroed = new Uint8Array(N_P)
    for (let j = 0; j < N_P; j += 97) zeroed[j] = 1
    out.push({ epoch: e, validators, power, providers, weights, zeroed })
  }
  return out
}

// ---- float64 reference: the same steps in plain doubles ---------------------

interface FloatState { bonds: Float64Array, reputation: Float64Array, trust: Float64Array }

function floatMajority (values: Float64Array, masses: Float64Array, n: number, need: number, hist: Float64Array): number {
  for (;;) {
    if (n === 0) return 0
    let lo = values[0]!
    let hi = lo
    for (let k = 1; k < n; k++) {
      const v = values[k]!
      if (v < lo) lo = v
      else if (v > hi) hi = v
    }
    if (hi === lo) {
      let mass = 0
      for (let k = 0; k < n; k++) mass += masses[k]!
      return mass >= need ? hi : 0
    }
    const f = 255.999 / (hi - lo)
    hist.fill(0)
    for (let k = 0; k < n; k++) hist[Math.floor((values[k]! - lo) * f)]! += masses[k]!
    let above = 0
    let b = 255
    for (; b >= 0; b--) {
      if (above + hist[b]! >= need) break
      above += hist[b]!
    }
    if (b < 0) return 0
    let w = 0
    for (let k = 0; k < n; k++) {
      if (Math.floor((values[k]! - lo) * f) === b) {
        values[w] = values[k]!
        masses[w] = masses[k]!
        w++
      }
    }
    if (w === n) return values[0]! // no progress: equal within rounding
    n = w
    need -= above
  }
}

function floatEpoch (input: EpochInput, prev: FloatState | undefined, kappa: number, alpha: number, trustAlpha: number): FloatState & { rank: Float64Array, consensus: Float64Array } {
  const { weights, zeroed, power } = input
  const nV = input.validators.length
  const nP = input.providers.length
  const trustPrev = prev?.trust ?? new Float64Array(nV).fill(1)
  const w = new Float64Array(nV * nP)
  const rowSum = new Float64Array(nV)
  for (let i = 0; i < nV; i++) {
    let s = 0
    for (let j = 0; j < nP; j++) if (zeroed[j] === 0) s += weights[i * nP + j]!
    rowSum[i] = s
  }
  const stake = new Float64Array(nV)
  let total = 0
  for (let i = 0; i < nV; i++) {
    if (rowSum[i]! > 0) stake[i] = power[i]! * trustPrev[i]!
    total += stake[i]!
  }
  for (let i = 0; i < nV; i++) stake[i] = total > 0 ? stake[i]! / total : 0
  for (let i = 0; i < nV; i++) {
    const s = rowSum[i]!
    if (s === 0) continue
    for (let j = 0; j < nP; j++) if (zeroed[j] === 0) w[i * nP + j] = weights[i * nP + j]! / s
  }
  const consensus = new Float64Array(nP)
  const values = new Float64Array(nV)
  const masses = new Float64Array(nV)
  const hist = new Float64Array(256)
  let stakeSum = 0
  for (let i = 0; i < nV; i++) stakeSum += stake[i]!
  for (let j = 0; j < nP; j++) {
    let n = 0
    for (let i = 0; i < nV; i++) {
      const v = w[i * nP + j]!
      if (v > 0 && stake[i]! > 0) {
        values[n] = v
        masses[n] = stake[i]!
        n++
      }
    }
    consensus[j] = floatMajority(values, masses, n, kappa * stakeSum, hist)
  }
  const tv = new Float64Array(nV)
  const raw = new Float64Array(nP)
  for (let i = 0; i < nV; i++) {
    for (let j = 0; j < nP; j++) {
      const k = i * nP + j
      const v = Math.min(w[k]!, consensus[j]!)
      w[k] = v
      tv[i] = tv[i]! + v
      raw[j] = raw[j]! + stake[i]! * v
    }
  }
  let rt = 0
  for (let j = 0; j < nP; j++) rt += raw[j]!
  const rank = raw.map((r) => rt > 0 ? r / rt : 0)
  const bonds = new Float64Array(nV * nP)
  const prevBonds = prev?.bonds
  for (let i = 0; i < nV; i++) {
    for (let j = 0; j < nP; j++) {
      const k = i * nP + j
      const d = raw[j]! > 0 ? stake[i]! * w[k]! / raw[j]! : 0
      bonds[k] = (1 - alpha) * (prevBonds?.[k] ?? 0) + alpha * d
    }
  }
  const reputation = new Float64Array(nP)
  for (let j = 0; j < nP; j++) reputation[j] = zeroed[j] ? 0 : (1 - alpha) * (prev?.reputation[j] ?? 0) + alpha * rank[j]!
  const trust = new Float64Array(nV)
  for (let i = 0; i < nV; i++) trust[i] = (1 - trustAlpha) * trustPrev[i]! + trustAlpha * tv[i]!
  return { bonds, reputation, trust, rank, consensus }
}

// ---- timing ------------------------------------------------------------------

interface Row { name: string, times: number[] }

function timeCase (kind: 'sparse' | 'dense'): Row[] {
  const inputs = makeEpochs(kind, 4)
  const total = WARMUP + EPOCHS
  const fixed: number[] = []
  const float: number[] = []
  const root: number[] = []
  let prev: ConsensusState | undefined
  let fprev: (FloatState & { rank: Float64Array }) | undefined
  const fpParams = fixParams(PARAMS)
  let last: EpochResult | undefined
  for (let e = 0; e < total; e++) {
    const input = { ...inputs[e % inputs.length]!, epoch: e }
    let t = performance.now()
    const result = runEpoch(input, prev, PARAMS)
    const tFixed = performance.now() - t
    prev = result.state
    last = result
    t = performance.now()
    resultRoot({ params: fpParams, state: result.state, stake: result.stake, consensus: result.consensus, rank: result.rank, validatorTrust: result.validatorTrust, dividends: result.dividends })
    const tRoot = performance.now() - t
    t = performance.now()
    fprev = floatEpoch(input, fprev, PARAMS.kappa, PARAMS.bondAlpha, PARAMS.trustAlpha ?? 0.1)
    const tFloat = performance.now() - t
    if (e >= WARMUP) {
      fixed.push(tFixed)
      float.push(tFloat)
      root.push(tRoot)
    }
  }
  // Agreement check, so the reference is known to compute the same thing: the
  // last epoch's ranks, relative to the fair share 1/providers.
  let maxDiff = 0
  let nonzero = 0
  if (last !== undefined && fprev !== undefined) {
    for (let j = 0; j < N_P; j++) {
      maxDiff = Math.max(maxDiff, Math.abs(last.rank[j]! / SCALE - fprev.rank[j]!) * N_P)
      if (last.consensus[j]! > 0) nonzero++
    }
  }
  process.stderr.write(`${kind}: providers with C_j > 0: ${nonzero} of ${N_P}; max |rank fixed − float| = ${maxDiff.toExponential(2)} of a fair share\n`)
  return [
    { name: `${kind}: runEpoch (fixed point, incl. state root)`, times: fixed },
    { name: `${kind}: state root alone`, times: root },
    { name: `${kind}: float64 reference (no root)`, times: float }
  ]
}

const loadStart = loadText()
process.stderr.write(`${cpus().length} CPUs, load average ${loadStart} at start; ${EPOCHS} epochs per case; state root sha256: ${args['portable-sha256'] === true ? 'portable (@noble/hashes)' : 'Node (OpenSSL)'}\n`)
const rows: Row[] = [...timeCase('sparse'), ...timeCase('dense')]
const loadEnd = loadText()
process.stderr.write(`load average ${loadEnd} at end\n`)
const table: string[][] = []
const jsonLines: string[] = []
for (let r = 0; r < rows.length; r++) {
  const row = rows[r]!
  const p50 = percentile(row.times, 50)
  const p95 = percentile(row.times, 95)
  const isFixed = row.name.includes('runEpoch')
  const ref = isFixed ? rows[r + 2] : undefined
  const isRoot = row.name.includes('state root alone')
  const ratio = ref !== undefined
    ? `${fmt(p50 / percentile(ref.times, 50), 2)}× float`
    : isRoot ? `${fmt(100 * p50 / percentile(rows[r - 1]!.times, 50), 0)} % of runEpoch` : '-'
  const ok = isFixed ? (p95 <= BUDGET_MS ? 'yes' : 'NO') : '-'
  table.push([row.name, `${N_V} × ${N_P}`, fmt(p50, 1), fmt(p95, 1), isFixed ? `≤ ${BUDGET_MS} ms` : '-', ok, ratio])
  jsonLines.push(JSON.stringify({ case: row.name, validators: N_V, providers: N_P, p50Ms: p50, p95Ms: p95, epochs: row.times.length }))
}
process.stdout.write(markdownTable(['case', 'validators × providers', 'p50 ms', 'p95 ms', 'budget', 'ok', 'ratio (p50)'], table) + '\n')
if (args.json) process.stdout.write(jsonLines.join('\n') + '\n')

// Summary: the budget is on runEpoch (fixed point, state root included); the
// comparison is the plain float64 consensus on the same inputs in the same
// run, i.e. what exact, deterministic arithmetic costs.
const summary: SummaryRow[] = []
const size = `${N_V}×${N_P}`
for (const kind of ['dense', 'sparse'] as const) {
  const fixed = rows.find(r => r.name.startsWith(`${kind}: runEpoch`))!
  const float = rows.find(r => r.name.startsWith(`${kind}: float64`))!
  const ps = kind === 'dense' ? [50, 95] : [95]
  for (const p of ps) {
    const v = percentile(fixed.times, p)
    summary.push(row({
      figure: `runEpoch ${size} ${kind} p${p}`,
      value: v,
      unit: 'ms',
      comparison: `float64 consensus, no root, same inputs, p${p}`,
      comparisonValue: percentile(float.times, p),
      budget: p === 95 ? `<= ${BUDGET_MS} ms` : '-',
      met: p === 95 ? v <= BUDGET_MS : null
    }))
  }
}
emitSummary('consensus', summary)
