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
 */
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
