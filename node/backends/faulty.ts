/**
 * A fault-injecting backend for tests and devnets, never a default
 * (ARCHITECTURE.md §13). It wraps an honest backend and, when its strategy says so,
 * serves the output of a different seed while signing a receipt for it, which
 * is exactly what recomputation catches.
 *
 *   garbage             every task
 *   cheat:Q             a fraction Q of tasks (0 < Q ≤ 1)
 *   honest-to:ID,ID     honest toward these requesters (e.g. validators' keys), cheating to all others
 *   honest-to-new       honest to a requester's first task, cheating to requesters it has seen
 *   long-prompts:N      cheating when the prompt is longer than N characters
 *   turns-bad:S         honest for S seconds after start, then garbage (a provider that earns
 *                       reputation and then cheats: on a devnet its reputation visibly falls)
 *   unsupported:MODEL   advertises MODEL in its record but refuses every task for it
 *                       (a record that claims more than the provider serves)
 *   slow:TPS            serves at most TPS tokens per second, and says so: its record
 *                       carries the throughput measured through the slow backend
 *   overclaim:TPS       serves at most TPS tokens per second, but its record claims 8
 *                       NVIDIA H200s and the throughput of the unthrottled backend
 *                       (hardware it does not have, speed it does not serve)
 *   impersonate:PATH    (llama backend) serves its own GGUF files honestly, but its record
 *                       declares the weights, quantization and tier of the GGUF file at PATH:
 *                       another model's weights, or a Q4_0 file claiming to be the F16 one
 */
import { CodedError, ErrorCode } from '../../protocol/errors.ts'
import { TaskError, TaskErrorCode, type TaskRequest } from '../../protocol/task.ts'
import type { Hardware } from '../../protocol/capacity.ts'
import { sleep } from '../util/abort.ts'
import type { Backend } from './backend.ts'

export type FaultStrategy =
  | { kind: 'garbage' }
  | { kind: 'cheat', fraction: number }
  | { kind: 'honest-to', peers: Set<string> }
  | { kind: 'honest-to-new' }
  | { kind: 'long-prompts', minChars: number }
  | { kind: 'turns-bad', afterSeconds: number }
  | { kind: 'unsupported', model: string }
  | { kind: 'slow', tokensPerSecond: number }
  | { kind: 'overclaim', tokensPerSecond: number }
  | { kind: 'impersonate', path: string }

export function parseFault (spec: string): FaultStrategy {
  const [kind = '', arg = ''] = spec.split(/:(.*)/s)
  if (kind === 'garbage') return { kind }
  if (kind === 'honest-to-new') return { kind }
  if (kind === 'cheat') {
    const q = Number(arg)
    if (Number.isFinite(q) && q > 0 && q <= 1) return { kind, fraction: q }
  }
  if (kind === 'honest-to' && arg.length > 0) return { kind, peers: new Set(arg.split(',')) }
  if (kind === 'long-prompts' && Number.isInteger(Number(arg))) return { kind, minChars: Number(arg) }
  if (kind === 'turns-bad' && arg !== '' && Number.isFinite(Number(arg)) && Number(arg) >= 0) return { kind, afterSeconds: Number(arg) }
  if (kind === 'unsupported' && arg !== '') return { kind, model: arg }
  if (kind === 'impersonate' && arg !== '') return { kind, path: arg }
  if ((kind === 'slow' || kind === 'overclaim') && arg !== '' && Number.isFinite(Number(arg)) && Number(arg) > 0) return { kind, tokensPerSecond: Number(arg) }
  throw new CodedError(ErrorCode.CONFIG_INVALID, `--fault "${spec}" is not one of garbage, cheat:Q, honest-to:ID[,ID], honest-to-new, long-prompts:N, turns-bad:SECONDS, unsupported:MODEL, slow:TPS, overclaim:TPS, impersonate:PATH`, { field: 'fault' })
}

function promptLength (r: TaskRequest): number {
  const i = r.input
  return 'messages' in i ? i.messages.reduce((n, m) => n + m.content.length, 0) : 'prompt' in i ? i.prompt.length : i.texts.join('').length
}

export function createFaultyBackend (honest: Backend, strategy: FaultStrategy, random: () => number = Math.random, now: () => number = Date.now): Backend {
  const seen = new Set<string>()
  const startedAt = now()
  const cheats = (r: TaskRequest): boolean => {
    switch (strategy.kind) {
      case 'garbage': return true
      case 'cheat': return random() < strategy.fraction
      case 'honest-to': return !strategy.peers.has(r.requester)
      case 'honest-to-new': {
        const known = seen.has(r.requester)
        if (seen.size < 100_000) seen.add(r.requester)
        return known
      }
      case 'long-prompts': return promptLength(r) > strategy.minChars
      case 'turns-bad': return now() - startedAt >= strategy.afterSeconds * 1000
      case 'unsupported':
      case 'impersonate':
      case 'slow':
      case 'overclaim': return false
    }
  }
  const throttle = strategy.kind === 'slow' || strategy.kind === 'overclaim' ? strategy.tokensPerSecond : undefined
  return {
    kind: honest.kind,
    models: honest.models,
    async run (request, signal, emit) {
      if (strategy.kind === 'unsupported' && request.model === strategy.model) {
        throw new TaskError(TaskErrorCode.UNSUPPORTED_MODEL, `this provider does not serve "${request.model}"`)
      }
      if (throttle != null && request.kind !== 'embedding') return throttled(honest, throttle, request, signal, emit)
      if (request.kind === 'embedding' || !cheats(request)) return honest.run(request, signal, emit)
      // Serve another seed's output: cheap to make, plausible to look at, wrong.
      const forged: TaskRequest = { ...request, params: { ...request.params, seed: (request.params.seed ^ 0x5bd1e995) >>> 0, temperature: Math.max(request.params.temperature, 1) } }
      return honest.run(forged, signal, emit)
    }
  }
}

/**
 * Runs the honest backend, then hands its chunks out no faster than
 * `tokensPerSecond` (one chunk per token): the answer is right, only slow,
 * as on hardware weaker than the record says.
 */
async function throttled (honest: Backend, tokensPerSecond: number, request: TaskRequest, signal: AbortSignal, emit: Parameters<Backend['run']>[2]): Promise<Awaited<ReturnType<Backend['run']>>> {
  const started = Date.now()
  const chunks: Array<Parameters<typeof emit>[0]> = []
  const result = await honest.run(request, signal, async chunk => { chunks.push(chunk) })
  const msPerToken = 1000 / tokensPerSecond
  for (let i = 0; i < chunks.length; i++) {
    await sleep(started + (i + 1) * msPerToken - Date.now(), signal)
    signal.throwIfAborted()
    await emit(chunks[i]!)
  }
  await sleep(started + result.usage.completionTokens * msPerToken - Date.now(), signal)
  signal.throwIfAborted()
  return result
}

/** What an overclaiming provider advertises: eight H200s it does not have. */
export function overclaimedHardware (real: Hardware): Hardware {
  return { ...real, cpuOnly: false, accelerators: [{ kind: 'gpu', vendor: 'NVIDIA', model: 'NVIDIA H200', memoryMiB: 143_771, count: 8 }] }
}
