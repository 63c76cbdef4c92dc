/**
 * CPU profiles of one benchmark phase through the inspector (no restart with
 * --cpu-prof needed), written as .cpuprofile files that Chrome DevTools opens,
 * plus a self-time summary by package for stderr.
 */
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'

interface CallFrame { functionName: string, url: string, lineNumber: number }
interface ProfileNode { id: number, callFrame: CallFrame }
export interface CpuProfile { nodes: ProfileNode[], samples: number[], timeDeltas: number[] }

export interface Profiler {
  stop: (file: string) => Promise<CpuProfile>
}

export async function startProfiler (): Promise<Profiler> {
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 200 })
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

function packageOf (url: string): string {
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
    if (cf == null) return
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
