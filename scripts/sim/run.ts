/**
 * Audit and consensus simulation (ARCHITECTURE.md §9, §13). See README.md.
 *
 *   node scripts/sim/run.ts [--quick] [--epochs N] [--audits N] [--json]
 *
 * Three experiments on the model in model.ts, each printed as a markdown table:
 *   1. detection of cheating strategies, with and without fraud proofs;
 *   2. false positives for honest providers, by backend;
 *   3. a validator coalition inflating a poor provider, by coalition power.
 */
import { parseArgs } from 'node:util'
import { performance } from 'node:perf_hooks'
import type { ConsensusParams } from '../../protocol/consensus/index.ts'
import { fmt, markdownTable, median } from '../bench/lib/stats.ts'
import { simulate, type ProviderKind, type SimOptions, type SimResult } from './model.ts'

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    epochs: { type: 'string' },
    'coalition-epochs': { type: 'string' },
    audits: { type: 'string' },
    validators: { type: 'string' },
    providers: { type: 'string' },
    'group-size': { type: 'string' },
    'penalty-epochs': { type: 'string', default: '4' },
    'fraud-epochs': { type: 'string', default: '8' },
    noise: { type: 'string', default: '0.05' },
    seed: { type: 'string', default: 'default' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false }
  },
  strict: true
})

if (args.help) {
  process.stdout.write(`usage: node scripts/sim/run.ts [options]
  --quick              64 validators × 512 providers, fewer epochs (a few seconds)
  --validators N       validators (default 256; quick 64)
  --providers N        providers (default 4096; quick 512)
  --epochs N           epochs of the detection run (default 100; quick 20)
  --coalition-epochs N epochs of each coalition run (default 20; quick 8)
  --audits N           audits per validator per epoch (default 8)
  --group-size N       providers per cheating strategy (default 64; quick 16)
  --penalty-epochs N   epochs a catching validator weights a provider 0 (default 4)
  --fraud-epochs N     epochs a fraud proof zeroes a provider (default 8)
  --noise X            relative noise of validators' quality scores (default 0.05)
  --seed S             PRNG seed label (default "default")
  --json               also print the raw numbers as one JSON line
`)
  process.exit(0)
}

function int (name: string, text: string | undefined, fallback: number, min = 1): number {
  if (text === undefined) return fallback
  const n = Number(text)
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`--${name} must be an integer ≥ ${min}, got "${text}"\n`)
    process.exit(2)
  }
  return n
}

const quick = args.quick
const V = int('validators', args.validators, quick ? 64 : 256)
const P = int('providers', args.providers, quick ? 512 : 4096)
const EPOCHS = int('epochs', args.epochs, quick ? 20 : 100)
const COALITION_EPOCHS = int('coalition-epochs', args['coalition-epochs'], quick ? 8 : 20)
const AUDITS = Math.min(int('audits', args.audits, 8), P)
const GROUP = int('group-size', args['group-size'], quick ? 16 : 64)
const NOISE = Number(args.noise)
const PARAMS: ConsensusParams = { kappa: 0.5, bondAlpha: 0.1, trustAlpha: 0.1 }

const base: Omit<SimOptions, 'fraudProofs' | 'coalition' | 'coalitionTargetKind' | 'epochs'> = {
  validators: V,
  auditsPerValidator: AUDITS,
  penaltyEpochs: int('penalty-epochs', args['penalty-epochs'], 4),
  fraudProofEpochs: int('fraud-epochs', args['fraud-epochs'], 8),
  noise: NOISE,
  seed: args.seed,
  params: PARAMS
}

const started = performance.now()
const log = (msg: string): void => { process.stderr.write(`[sim ${((performance.now() - started) / 1000).toFixed(1)} s] ${msg}\n`) }

// ---- 1 and 2: detection and false positives ---------------------------------

const cheaters: ProviderKind[] = [
  { name: 'garbage (cheats on every task)', count: GROUP, catchPerAudit: 1, falsePositivePerAudit: 0, cheater: true },
  { name: 'cheats on q = 0.5 of tasks', count: GROUP, catchPerAudit: 0.5, falsePositivePerAudit: 0, cheater: true },
  { name: 'cheats on q = 0.2', count: GROUP, catchPerAudit: 0.2, falsePositivePerAudit: 0, cheater: true },
  { name: 'cheats on q = 0.05', count: GROUP, catchPerAudit: 0.05, falsePositivePerAudit: 0, cheater: true },
  { name: 'cheats on q = 0.01', count: GROUP, catchPerAudit: 0.01, falsePositivePerAudit: 0, cheater: true },
  { name: 'honest to validators only, p_distinguish = 1', count: GROUP, catchPerAudit: 0, falsePositivePerAudit: 0, cheater: true },
  { name: 'honest to validators only, p_distinguish = 0.9', count: GROUP, catchPerAudit: 0.1, falsePositivePerAudit: 0, cheater: true },
  { name: 'honest to validators only, p_distinguish = 0.5', count: GROUP, catchPerAudit: 0.5, falsePositivePerAudit: 0, cheater: true },
  { name: 'honest to validators only, p_distinguish = 0', count: GROUP, catchPerAudit: 1, falsePositivePerAudit: 0, cheater: true }
]
const nHonest = P - cheaters.length * GROUP
if (nHonest < 4) {
  process.stderr.write(`--providers ${P} leaves no room for honest providers beside ${cheaters.length} groups of ${GROUP}\n`)
  process.exit(2)
}
const honestBackends: Array<[string, number]> = [
  ['exact check (deterministic model)', 0],
  ['tolerance check, FP 0.001 / audit', 0.001],
  ['tolerance check, FP 0.01 / audit', 0.01],
  ['tolerance check, FP 0.05 / audit', 0.05]
]
const honest: ProviderKind[] = honestBackends.map(([name, fp], k) => ({
  name,
  count: Math.floor(nHonest / 4) + (k < nHonest % 4 ? 1 : 0),
  catchPerAudit: 0,
  falsePositivePerAudit: fp,
  cheater: false
}))
const kinds = [...cheaters, ...honest]

log(`detection run with fraud proofs: ${V} validators × ${P} providers, ${EPOCHS} epochs`)
const withProofs = simulate({ ...base, epochs: EPOCHS, fraudProofs: true, coalition: 0, coalitionTargetKind: -1 }, kinds)
log(`detection run, weights only (no fraud proofs); consensus ${fmt(withProofs.millisPerEpoch, 1)} ms/epoch`)
const weightsOnly = simulate({ ...base, epochs: EPOCHS, fraudProofs: false, coalition: 0, coalitionTargetKind: -1 }, kinds)

function byKind (r: SimResult, k: number): Array<SimResult['providers'][number]> {
  return r.providers.filter((p) => p.kind === k)
}

/**
 * Mean rank per unit of measured quality, summed over the epochs: rank is
 * about proportional to quality, so dividing by it compares strategies
 * rather than the luck of their quality draws.
 */
function rankPerQuality (ps: ReadonlyArray<SimResult['providers'][number]>): number {
  return ps.reduce((s, p) => s + p.rankSum / p.quality, 0) / ps.length
}

/** The yardstick for "rank vs honest": honest providers on the exact-check backend. */
function honestRank (r: SimResult): number {
  return rankPerQuality(byKind(r, kinds.indexOf(honest[0]!)))
}

const pct = (x: number): string => `${fmt(100 * x, 1)} %`

const detectionRows: string[][] = []
const detectionJson: unknown[] = []
cheaters.forEach((kind, k) => {
  const c = kind.catchPerAudit
  // Each validator audits AUDITS distinct providers of P: an epoch misses a
  // cheater with probability (1 − c·A/P)^V.
  const perEpoch = 1 - (1 - c * AUDITS / P) ** V
  const theoryWithin = 1 - (1 - perEpoch) ** EPOCHS
  const theoryMean = perEpoch > 0 ? 1 / perEpoch : Number.POSITIVE_INFINITY
  const ps = byKind(withProofs, k)
  const caught = ps.filter((p) => p.firstCatch >= 0)
  const epochsTo = caught.map((p) => p.firstCatch + 1)
  const zeroedShare = ps.reduce((s, p) => s + p.epochsZeroed, 0) / (ps.length * EPOCHS)
  const rankProofs = rankPerQuality(ps) / honestRank(withProofs)
  const wo = byKind(weightsOnly, k)
  const noConsensusWo = wo.reduce((s, p) => s + p.epochsNoConsensus, 0) / (wo.length * EPOCHS)
  const rankWo = rankPerQuality(wo) / honestRank(weightsOnly)
  detectionRows.push([
    kind.name,
    fmt(c, 2),
    pct(theoryWithin),
    pct(caught.length / ps.length),
    caught.length > 0 ? fmt(median(epochsTo), 0) : '-',
    Number.isFinite(theoryMean) ? fmt(theoryMean, 1) : '∞',
    pct(zeroedShare),
    fmt(rankProofs, 2),
    pct(noConsensusWo),
    fmt(rankWo, 2)
  ])
  detectionJson.push({ kind: kind.name, catchPerAudit: c, theoryWithin, detected: caught.length / ps.length, medianEpochs: median(epochsTo), theoryMean, zeroedShare, rankProofs, noConsensusWo, rankWo })
})

const fpRows: string[][] = []
const fpJson: unknown[] = []
honest.forEach((kind, h) => {
  const k = cheaters.length + h
  const ps = byKind(withProofs, k)
  const flagged = ps.filter((p) => p.catches > 0).length / ps.length
  const catches = ps.reduce((s, p) => s + p.catches, 0) / ps.length
  const audits = ps.reduce((s, p) => s + p.audits, 0) / ps.length
  const noConsensus = ps.reduce((s, p) => s + p.epochsNoConsensus, 0) / (ps.length * EPOCHS)
  const zeroed = ps.reduce((s, p) => s + p.epochsZeroed, 0) / (ps.length * EPOCHS)
  const rank = rankPerQuality(ps) / honestRank(withProofs)
  fpRows.push([kind.name, String(ps.length), fmt(audits, 1), pct(flagged), fmt(catches, 2), pct(zeroed), pct(noConsensus), fmt(rank, 4)])
  fpJson.push({ backend: kind.name, providers: ps.length, audits, flagged, catches, zeroed, noConsensus, rank })
})

// ---- 3: coalitions -----------------------------------------------------------

const COALITIONS = [0, 0.1, 0.2, 0.3, 0.4, 0.45, 0.5]
const coalitionKinds: ProviderKind[] = [
  { name: 'coalition target (quality 0.05, not a cheater)', count: 1, catchPerAudit: 0, falsePositivePerAudit: 0, quality: 0.05, cheater: false },
  { name: 'honest', count: P - 1, catchPerAudit: 0, falsePositivePerAudit: 0, cheater: false }
]
const coalitionRows: string[][] = []
const coalitionJson: unknown[] = []
let baselineRank = Number.NaN
for (const f of COALITIONS) {
  log(`coalition ${Math.round(100 * f)} % of power, ${COALITION_EPOCHS} epochs`)
  const r = simulateCoalition(f)
  const last = r.trace.at(-1)!
  const first = r.trace[0]!
  if (f === 0) baselineRank = last.targetRank
  const members = Math.round(f * V)
  coalitionRows.push([
    `${fmt(100 * members / V, 1)} % (${members} of ${V})`,
    fmt(last.targetConsensus * P, 3),
    fmt(last.targetRank * P, 3),
    fmt(last.targetRank / last.medianHonestRank, 3),
    f === 0 ? '1.000' : fmt(last.targetRank / baselineRank, 3),
    f === 0 ? '-' : `${fmt(first.coalitionTrust, 5)} → ${fmt(last.coalitionTrust, 5)}`,
    fmt(last.honestTrust, 5),
    f === 0 ? '-' : `${pct(first.coalitionStake)} → ${pct(last.coalitionStake)}`,
    f === 0 ? '-' : pct(last.coalitionDividends)
  ])
  coalitionJson.push({ coalition: f, trace: r.trace })
}

function simulateCoalition (f: number): SimResult {
  return simulate({ ...base, epochs: COALITION_EPOCHS, fraudProofs: true, coalition: f, coalitionTargetKind: 0 }, coalitionKinds)
}

// ---- output ------------------------------------------------------------------

const out: string[] = []
out.push(`## Detection vs cheat strategy (${V} validators × ${P} providers, ${AUDITS} audits per validator per epoch ≈ ${fmt(V * AUDITS / P, 2)} audits per provider per epoch, ${EPOCHS} epochs, ${GROUP} providers per strategy)`)
out.push('')
out.push(markdownTable(
  ['strategy', 'catch / audit', `P(caught ≤ ${EPOCHS}) theory`, `caught ≤ ${EPOCHS}`, 'median epochs to 1st catch', 'mean epochs theory', 'epochs zeroed (fraud proofs)', 'rank/quality vs honest (fraud proofs)', 'epochs with C = 0 (weights only)', 'rank/quality vs honest (weights only)'],
  detectionRows
))
out.push('')
out.push(`## Honest providers: false positives by backend (fraud proofs on; a tolerance-check flag is not provable, so only the flagging validator's weight drops for ${base.penaltyEpochs} epochs)`)
out.push('')
out.push(markdownTable(['honest backend', 'providers', `audits each (${EPOCHS} epochs)`, 'flagged ≥ once', 'flags each', 'epochs zeroed', 'epochs with C = 0', 'rank/quality vs exact-check honest'], fpRows))
out.push('')
out.push(`## Coalition inflating a poor provider (quality 0.05; colluders give it the full u16 weight; ${COALITION_EPOCHS} epochs; values at the last epoch; fair share = 1/${P})`)
out.push('')
out.push(markdownTable(['coalition power', 'target C_j × P', 'target rank × P', 'target rank / median honest rank', 'target rank vs no coalition', 'coalition trust (epoch 1 → last)', 'honest trust', 'coalition stake share (epoch 1 → last)', 'coalition dividends share'], coalitionRows))
out.push('')
process.stdout.write(out.join('\n'))
log(`done in ${fmt((performance.now() - started) / 1000, 1)} s`)
if (args.json) process.stdout.write(JSON.stringify({ V, P, EPOCHS, AUDITS, detection: detectionJson, falsePositives: fpJson, coalitions: coalitionJson }) + '\n')
