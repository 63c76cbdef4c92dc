/**
 * Where a validator's main thread spends an audit (scripts/bench/verification.ts):
 * the categories of a CPU profile of LlamaVerifier.judge calls, each sample
 * given to the specific category nearest its leaf (as lib/profile.ts
 * summarizeInclusive does), as numbers for a table.
 */
import type { CallFrame, Category, CpuProfile } from './profile.ts'

const inFile = (f: CallFrame, file: string): boolean => f.url.includes(file)

export const VALIDATOR_CATEGORIES: readonly Category[] = [
  { name: 'engine (native work off the main thread: idle)', match: f => f.functionName === '(idle)' },
  { name: 'logits Map (node-llama-cpp reviveTokenValuePair)', match: f => f.functionName === 'reviveTokenValuePair' },
  { name: 'dense(): Map → Float64Array (engine.ts)', match: f => f.functionName === 'dense' && inFile(f, 'engine.ts') },
  { name: 'sha256 draws (canonicalDraw)', match: f => f.functionName === 'canonicalDraw' || inFile(f, '@noble/hashes') },
  { name: 'canonical sampler: detExp over the vocabulary, nucleus sort, CDF (canonical.ts, detmath.ts)', match: f => inFile(f, 'sampling/canonical.ts') || inFile(f, 'reference/detmath.ts') },
  { name: 'tokenText/detokenize (k + 1 native calls per re-scored step)', match: f => f.functionName === 'tokenText' || f.functionName === 'detokenize' },
  { name: 're-scoring lists (engine.ts scoreStep, topIds)', match: f => f.functionName === 'scoreStep' || f.functionName === 'topIds' },
  { name: 'judgeRescored (rescored.ts, pit.ts)', match: f => inFile(f, 'verify/rescored.ts') || inFile(f, 'verify/pit.ts') },
  { name: 'judgeSeeded/auditLlr other', match: f => inFile(f, 'verify/seeded.ts') || inFile(f, 'verify/sequential.ts') },
  { name: 'GC', match: f => f.functionName === '(garbage collector)', generic: true },
  { name: 'node-llama-cpp per position (native AddonSampler, applyConfig, queue, locks)', match: f => inFile(f, 'node-llama-cpp') || f.functionName === 'AddonSampler', generic: true }
]

/** Time by category (µs), every sample to the specific category nearest its leaf, else the nearest generic one, else "other". */
export function categorize (profile: CpuProfile, categories: readonly Category[]): { total: number, byCategory: Map<string, number> } {
  const byId = new Map(profile.nodes.map(n => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const out = new Map<string, number>()
  let total = 0
  profile.samples.forEach((leaf, i) => {
    const dt = profile.timeDeltas[i] ?? 0
    let specific: string | undefined
    let generic: string | undefined
    let profiler = false
    for (let id: number | undefined = leaf; id != null; id = parent.get(id)) {
      const cf = byId.get(id)?.callFrame
      if (cf == null) break
      if (cf.url === 'node:inspector' || cf.url.endsWith('scripts/bench/lib/profile.ts')) profiler = true
      for (const c of categories) {
        if (!c.match(cf)) continue
        if (c.generic === true) generic ??= c.name
        else specific ??= c.name
      }
    }
    if (profiler) return
    total += dt
    const k = specific ?? generic ?? 'other (program, JS elsewhere)'
    out.set(k, (out.get(k) ?? 0) + dt)
  })
  return { total, byCategory: out }
}
