/**
 * The process settings a long-running node needs from its first instruction
 * (memoryDefaults): V8 sizes its heap when it starts (v8.setFlagsFromString
 * later changes nothing, measured) and glibc reads MALLOC_ARENA_MAX once. So
 * `infermesh start`, once its options are known, replaces itself at most once
 * (process.execve: the same PID, stdio and arguments) with a process that has
 * the settings its node needs.
 *
 * A node that runs llama.cpp (a llama provider, or a validator holding GGUF
 * files) keeps V8's own sizing: its sampler replay allocates vocabulary-sized
 * arrays for every token, which fill a small young generation every few tokens
 * (test/integration/realModels.test.ts with 1 MB semi-spaces: 26 audits passed
 * in 22 epochs against 48 without the flags). Its RSS is the model's
 * anyway, far above the 100 MB an idle node of the other kinds is held to.
 *
 * Not under an IPC channel (the devnet's nodes: the channel would not survive
 * the exec); INFERMESH_MEMORY_EXEC=0 turns it off.
 *
 * The other half is at run time (reduceHeapWhenIdle, below): what V8 keeps
 * committed while the node idles goes back to the system, once the node has
 * started and whenever it idles again (`infermesh start`, not beside llama.cpp;
 * INFERMESH_IDLE_GC=0 turns it off).
 */
import { performance } from 'node:perf_hooks'
import { getHeapStatistics, setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { memoryDefaults, type NodeOptions } from './options.ts'

/** Whether this node runs llama.cpp in process. */
export function runsLlama (options: Pick<NodeOptions, 'backend' | 'roles' | 'verifyModels' | 'verifyUpstream'>): boolean {
  const roles = options.roles.flatMap(r => r.split(',')).map(r => r.trim())
  return (roles.includes('provider') && options.backend === 'llama') ||
    (roles.includes('validator') && options.verifyModels.length > 0 && options.verifyUpstream == null)
}

/** The node arguments and environment this node should run with, or undefined when it already does. */
export function memoryExecPlan (options: Pick<NodeOptions, 'backend' | 'roles' | 'verifyModels' | 'verifyUpstream'>, execArgv: readonly string[], env: NodeJS.ProcessEnv): { execArgv: string[], env: NodeJS.ProcessEnv } | undefined {
  const names = memoryDefaults.v8Flags.map(f => f.split('=')[0]!)
  const ours = (a: string): boolean => names.some(n => a.startsWith(`${n}=`))
  if (runsLlama(options)) {
    // npm start passes the flags on its command line: this node runs without them.
    if (!execArgv.some(ours)) return undefined
    return { execArgv: execArgv.filter(a => !ours(a)), env: { ...env, INFERMESH_MEMORY_EXEC: '0' } }
  }
  const missing = memoryDefaults.v8Flags.filter(f => !execArgv.some(a => a.startsWith(`${f.split('=')[0]!}=`)))
  if (env.MALLOC_ARENA_MAX != null && missing.length === 0) return undefined
  return { execArgv: [...missing, ...execArgv], env: { ...env, MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX ?? String(memoryDefaults.mallocArenaMax), INFERMESH_MEMORY_EXEC: '0' } }
}

/** Replace this process with one that has the settings `options` need (Linux only); returns when nothing is to change. */
export function execForMemory (options: Pick<NodeOptions, 'backend' | 'roles' | 'verifyModels' | 'verifyUpstream'>): void {
  if (process.platform !== 'linux' || process.channel != null || process.env.INFERMESH_MEMORY_EXEC === '0' || typeof process.execve !== 'function') return
  const plan = memoryExecPlan(options, process.execArgv, process.env)
  if (plan == null) return
  process.execve(process.execPath, [process.execPath, ...plan.execArgv, ...process.argv.slice(1)], plan.env)
}

type Gc = (options: { type: 'major', execution: 'sync', flavor: 'last-resort' }) => void
let gcFn: Gc | undefined

/**
 * A memory-reducing full collection: the "last-resort" one V8 runs before an
 * out-of-memory error, which compacts the old generation and shrinks the young
 * one's two semi-spaces to their minimum (a plain gc() leaves them committed).
 * There is no API for it without --expose-gc: the flag is set for the one call
 * that takes gc from a fresh context (so no global `gc` appears in the node's
 * own), then unset. Returns the pause, ms.
 */
export function reduceHeap (): number {
  if (gcFn == null) {
    setFlagsFromString('--expose-gc')
    gcFn = runInNewContext('gc') as Gc
    setFlagsFromString('--no-expose-gc')
  }
  const t0 = performance.now()
  gcFn({ type: 'major', execution: 'sync', flavor: 'last-resort' })
  return performance.now() - t0
}

/**
 * Gives V8's spare heap back whenever the node idles (issue 16, idle RSS): once
 * at once (what starting left behind), then after any `windowMs` in which the
 * node was idle, while the heap held `minSlackBytes` more than it uses, at most
 * every `minIntervalMs`. Idle: event loop utilisation below `maxIdleElu` and
 * less than `maxAllocBytes` allocated (the heap's use grew by less, and no
 * collection made it shrink). Both, because a provider whose backend streams
 * slowly (ref-tiny's paced tokens, an upstream server) waits on timers and
 * sockets at a low utilisation while it serves: in a soak on a machine at load
 * 10 a loaded provider's heap shrank from 53 to 42 MB with the utilisation
 * test alone; a node serving tasks allocates megabytes a second. Why: V8 grows the young
 * generation to its cap (16 MB, all resident, with --max-semi-space-size=8)
 * from the background work of an idle node alone (gossipsub heartbeats, DHT
 * refresh, metrics: a gateway reached the cap 20 s after start with no task),
 * and its own memory reducer only runs after an old-generation collection,
 * which an idle node rarely needs. A loaded node never idles a window, so the
 * steady state and its throughput are V8's own. Measured on the soak's nodes
 * (scripts/bench/soak.ts's start, 2 cores, side by side, mean of 2 runs): just
 * after start gateway/provider/validator/relay 112/113/104/105 MB without it,
 * 96/95/92/88 with it (and node:http without its facade); 25 s later, still
 * idle, 117/115/113/109 without, 95/95/91/96 with. The collection itself took
 * 120-400 ms on that busy machine (a 20 MB heap; "last-resort" marks twice or
 * more).
 * Returns a stop function; the timer does not hold the process open.
 */
export function reduceHeapWhenIdle (opts: { windowMs: number, maxIdleElu: number, maxAllocBytes: number, minSlackBytes: number, minIntervalMs: number } = memoryDefaults.idleHeapReduce): () => void {
  reduceHeap()
  let last = performance.now()
  let prev = performance.eventLoopUtilization()
  let prevUsed = getHeapStatistics().used_heap_size
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization()
    const elu = performance.eventLoopUtilization(now, prev).utilization
    prev = now
    const heap = getHeapStatistics()
    const allocated = heap.used_heap_size - prevUsed // < 0: a collection ran, so the node allocated
    prevUsed = heap.used_heap_size
    if (elu >= opts.maxIdleElu || allocated < 0 || allocated >= opts.maxAllocBytes) return
    if (performance.now() - last < opts.minIntervalMs || heap.total_heap_size - heap.used_heap_size < opts.minSlackBytes) return
    reduceHeap()
    last = performance.now()
    // The collection's own pause and what it freed are not the next window's load.
    prev = performance.eventLoopUtilization()
    prevUsed = getHeapStatistics().used_heap_size
  }, opts.windowMs)
  timer.unref()
  return () => clearInterval(timer)
}
