/**
 * CPU profiles of one benchmark phase through the inspector (no restart with
 * --cpu-prof needed), written as .cpuprofile files that Chrome DevTools opens,
 * plus a self-time summary by package for stderr.
 */
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'

export interface CallFrame { functionName: string, url: string, lineNumber: number }
interface ProfileNode { id: number, callFrame: CallFrame, children?: number[] }
export interface CpuProfile { nodes: ProfileNode[], samples: number[], timeDeltas: number[] }

export interface Profiler {
  stop: (file: string) => Promise<CpuProfile>
}

/** Start sampling this process every `intervalUs` microseconds. */
export async function startProfiler (intervalUs = 200): Promise<Profiler> {
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: intervalUs })
  await session.post('Profiler.start')
  return {
    stop: async (file: string): Promise<CpuProfile> => {
      const { profile } = await session.post('Profiler.stop') as unknown as { profile: CpuProfile }
      session.disconnect()
      writeFileSync(file, JSON.stringify(profile))
      return profile
    }
  }
}

export function packageOf (url: string): string {
  if (url === '') return '(vm: gc, idle, native)'
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (m != null) return m[1]!
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`
  const local = /\/(node|protocol|scripts)\/(.*)$/.exec(url)
  return local != null ? `${local[1]}/${local[2]}` : url
}

/** Self time by package and by function, the top `n` of each, as text lines. */
export function summarizeProfile (profile: CpuProfile, n = 12): string[] {
  const byId = new Map(profile.nodes.map(node => [node.id, node]))
  const pkg = new Map<string, number>()
  const fn = new Map<string, number>()
  let total = 0
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0
    const cf = byId.get(id)?.callFrame
    if (cf == null || cf.url === 'node:inspector') return // the profiler's own work
    total += dt
    const p = packageOf(cf.url)
    pkg.set(p, (pkg.get(p) ?? 0) + dt)
    const f = `${cf.functionName === '' ? '(anonymous)' : cf.functionName} (${p}:${cf.lineNumber + 1})`
    fn.set(f, (fn.get(f) ?? 0) + dt)
  })
  const top = (m: Map<string, number>): string[] => [...m].sort((a, b) => b[1] - a[1]).slice(0, n)
    .map(([k, t]) => `  ${(t / 1000).toFixed(0).padStart(6)} ms ${((100 * t) / total).toFixed(1).padStart(5)}%  ${k}`)
  return [`profile: ${(total / 1000).toFixed(0)} ms sampled; self time by package:`, ...top(pkg), 'self time by function:', ...top(fn)]
}

/** A named part of the work, recognized by any of its stack frames. */
export interface Category {
  name: string
  match: (frame: CallFrame) => boolean
  /**
   * A catch-all (node internals, GC): a sample goes to it only when no
   * specific category is on its stack.
   */
  generic?: boolean
}

function frameKey (cf: CallFrame): string {
  return `${cf.functionName === '' ? '(anonymous)' : cf.functionName} (${packageOf(cf.url)}:${cf.lineNumber + 1})`
}

/** The profiler's own work (starting and stopping through the inspector) is not the benchmark's. */
function isProfilerFrame (cf: CallFrame): boolean {
  return cf.url === 'node:inspector' || cf.url.endsWith('scripts/bench/lib/profile.ts')
}

/**
 * Inclusive time (a function or category counts every sample with it anywhere
 * on the stack, once per sample) and a disjoint breakdown that gives each
 * sample to the specific category nearest its leaf (else the nearest generic
 * one, else "other"), so the breakdown sums to 100%. Only synchronous stacks
 * are seen: time after an await is charged to the resumed async function, not
 * to the caller that awaited it. With `per`, each line also shows µs per unit
 * (e.g. per task). Samples of the profiler itself are left out.
 */
export function summarizeInclusive (profile: CpuProfile, categories: readonly Category[], n = 25, per?: { count: number, unit: string }): string[] {
  const byId = new Map(profile.nodes.map(node => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const c of node.children ?? []) parent.set(c, node.id)
  const inclusive = new Map<string, number>()
  const catInclusive = new Map<string, number>()
  const catNearest = new Map<string, number>()
  let total = 0
  let skipped = 0
  profile.samples.forEach((leaf, i) => {
    const dt = profile.timeDeltas[i] ?? 0
    const stack: CallFrame[] = []
    for (let id: number | undefined = leaf; id != null; id = parent.get(id)) {
      const cf = byId.get(id)?.callFrame
      if (cf == null) break
      stack.push(cf)
    }
    if (stack.some(isProfilerFrame)) {
      skipped += dt
      return
    }
    total += dt
    const seen = new Set<string>()
    const cats = new Set<string>()
    let specific: string | undefined
    let generic: string | undefined
    for (const cf of stack) {
      if (cf.functionName !== '(root)') seen.add(frameKey(cf))
      for (const c of categories) {
        if (!c.match(cf)) continue
        cats.add(c.name)
        if (c.generic === true) generic ??= c.name
        else specific ??= c.name
      }
    }
    for (const k of seen) inclusive.set(k, (inclusive.get(k) ?? 0) + dt)
    for (const k of cats) catInclusive.set(k, (catInclusive.get(k) ?? 0) + dt)
    const owner = specific ?? generic ?? 'other'
    catNearest.set(owner, (catNearest.get(owner) ?? 0) + dt)
  })
  const line = (k: string, t: number): string => `  ${(t / 1000).toFixed(0).padStart(6)} ms ${((100 * t) / total).toFixed(1).padStart(5)}%` +
    `${per != null ? ` ${(t / per.count).toFixed(0).padStart(6)} µs/${per.unit}` : ''}  ${k}`
  const sorted = (m: Map<string, number>): Array<[string, number]> => [...m].sort((a, b) => b[1] - a[1])
  return [
    `profile: ${(total / 1000).toFixed(0)} ms sampled${per != null ? ` over ${per.count} ${per.unit}s (${(total / per.count).toFixed(0)} µs/${per.unit})` : ''}` +
      `${skipped > 0 ? `, ${(skipped / 1000).toFixed(0)} ms of the profiler's own left out` : ''}; by category, each sample to the specific category nearest its leaf (sums to 100%):`,
    ...sorted(catNearest).map(([k, t]) => line(k, t)),
    'by category, inclusive (a sample counts for every category on its stack):',
    ...sorted(catInclusive).map(([k, t]) => line(k, t)),
    'inclusive time by function:',
    ...sorted(inclusive).slice(0, n).map(([k, t]) => line(k, t))
  ]
}
