/**
 * /infermesh/<net>/submit/1.0.0: a peer hands this node a task to route, as a
 * client would through the HTTP API. Validators use it to send audits through
 * ordinary gateways, so providers see the gateway's key and signature on an
 * audit exactly as on client traffic (design.md §9). Bounded per peer.
 */
import type { PeerId } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { z } from 'zod'
import { decodeCanonical, encodeCanonical } from '../../protocol/codec.ts'
import { CodedError, ErrorCode } from '../../protocol/errors.ts'
import { isPeerId } from '../../protocol/identity.ts'
import type { Network } from '../../protocol/network.ts'
import { taskInputSchema, taskParamsSchema, TASK_KINDS, TASK_LIMITS, type TaskOutput } from '../../protocol/task.ts'
import { modelIdSchema } from '../../protocol/capacity.ts'
import type { Host } from '../libp2p.ts'
import type { Logger } from '../logger.ts'
import { submitDefaults } from '../options.ts'
import { GatewayError, type Gateway } from './gateway.ts'

export function submitProtocol (network: Network): string {
  return `${network.protocolPrefix}/submit/1.0.0`
}

const bytes = z.custom<Uint8Array>(v => v instanceof Uint8Array)

export const submitRequestSchema = z.strictObject({
  model: modelIdSchema,
  kind: z.enum(TASK_KINDS),
  input: taskInputSchema,
  params: taskParamsSchema,
  only: z.array(z.string().refine(isPeerId)).max(16).optional()
})
export type SubmitRequest = z.infer<typeof submitRequestSchema>

export const submitResponseSchema = z.union([
  z.strictObject({
    ok: z.literal(true),
    provider: z.string(),
    output: z.union([z.strictObject({ text: z.string(), tokens: z.array(z.number().int().min(0)).max(TASK_LIMITS.maxTokens + 1).optional() }), z.strictObject({ embeddings: z.array(z.array(z.number())) })]),
    request: z.strictObject({ body: bytes, sig: bytes }),
    receipt: z.strictObject({ body: bytes, sig: bytes }),
    ttftMs: z.number().min(0),
    totalMs: z.number().min(0),
    /**
     * Time from the first output chunk to the last, as this gateway saw the
     * provider's stream: decoding, without the lookup, queue or prefill before
     * it. What validators hold a provider's throughput claim to. Optional for
     * gateways that predate it.
     */
    decodeMs: z.number().min(0).optional()
  }),
  z.strictObject({ ok: z.literal(false), status: z.number().int(), code: z.string().max(64), message: z.string().max(1024) })
])
export type SubmitResponse = z.infer<typeof submitResponseSchema>

function decodeWith<T> (schema: z.ZodType<T>, raw: Uint8Array, maxBytes: number, what: string): T {
  let value: unknown
  try {
    value = decodeCanonical(raw, maxBytes)
  } catch (err) {
    throw new CodedError(ErrorCode.INVALID_REQUEST, `bad submit ${what}: ${(err as Error).message}`)
  }
  const r = schema.safeParse(value)
  if (!r.success) throw new CodedError(ErrorCode.INVALID_REQUEST, `bad submit ${what}: ${r.error.issues[0]?.message ?? 'shape'}`)
  return r.data
}

/** Decode a submit request; anything malformed is INVALID_REQUEST, never another error. */
export const decodeSubmitRequest = (raw: Uint8Array, maxBytes: number): SubmitRequest => decodeWith(submitRequestSchema, raw, maxBytes, 'request')
/** Decode a gateway's answer; anything malformed is INVALID_REQUEST (a ZodError here once escaped untyped). */
export const decodeSubmitResponse = (raw: Uint8Array, maxBytes: number): SubmitResponse => decodeWith(submitResponseSchema, raw, maxBytes, 'response')

export class SubmitService {
  private readonly host: Host
  private readonly network: Network
  private readonly gateway: Gateway
  private readonly log: Logger
  private readonly active = new Map<string, number>()
  /** When each submitted task of the last minute was taken. */
  private readonly submitted: number[] = []

  constructor (c: { host: Host, network: Network, gateway: Gateway, logger: Logger }) {
    this.host = c.host
    this.network = c.network
    this.gateway = c.gateway
    this.log = c.logger
  }

  async start (): Promise<void> {
    const max = this.network.definition.limits.maxMessageBytes
    await this.host.handle(submitProtocol(this.network), async (stream, connection) => {
      const peer = connection.remotePeer.toString()
      const lp = lpStream(stream, { maxDataLength: max })
      const reply = async (r: SubmitResponse): Promise<void> => {
        await lp.write(encodeCanonical(r), { signal: AbortSignal.timeout(submitDefaults.writeTimeoutMs) })
        await stream.close({ signal: AbortSignal.timeout(submitDefaults.writeTimeoutMs) }).catch(() => stream.abort(new Error('close failed')))
      }
      const n = this.active.get(peer) ?? 0
      try {
        if (n >= submitDefaults.maxActivePerPeer) {
          await reply({ ok: false, status: 429, code: 'peer_rate_limited', message: `at most ${submitDefaults.maxActivePerPeer} tasks at once per peer` })
          return
        }
        this.active.set(peer, n + 1)
        const raw = await lp.read({ signal: AbortSignal.timeout(submitDefaults.readTimeoutMs) })
        let r: SubmitRequest
        try {
          r = decodeSubmitRequest(raw.subarray(), max)
        } catch (err) {
          await reply({ ok: false, status: 400, code: 'invalid_request', message: (err as Error).message.slice(0, 1000) })
          return
        }
        // Only a gateway that carries client traffic of its own routes submitted
        // tasks (audits), and they never outnumber its clients': a provider must
        // not see a requester that only audits use (design.md §9).
        const now = Date.now()
        while (this.submitted.length > 0 && this.submitted[0]! < now - submitDefaults.clientWindowMs) this.submitted.shift()
        const clients = this.gateway.recentTasks.filter(t => t >= now - submitDefaults.clientWindowMs).length - this.submitted.length
        if (clients < 1 || this.submitted.length >= clients) {
          await reply({ ok: false, status: 429, code: 'no_client_traffic', message: 'this gateway routes submitted tasks only beside client traffic of its own' })
          return
        }
        this.submitted.push(now)
        const started = Date.now()
        let ttft: number | undefined
        let firstChunkAt: number | undefined
        let lastChunkAt: number | undefined
        const result = await this.gateway.submit({ model: r.model, kind: r.kind, input: r.input, params: r.params, prefs: { allowFallbacks: r.only == null, only: r.only } },
          {
            streaming: false,
            onChunk: () => {
              const now = Date.now()
              ttft ??= now - started
              firstChunkAt ??= now
              lastChunkAt = now
            }
          })
        await reply({
          ok: true,
          provider: result.provider,
          output: result.output as TaskOutput,
          request: { body: result.request.body, sig: result.request.sig },
          receipt: { body: result.receipt.body, sig: result.receipt.sig },
          ttftMs: ttft ?? Date.now() - started,
          totalMs: Date.now() - started,
          decodeMs: firstChunkAt == null || lastChunkAt == null ? 0 : lastChunkAt - firstChunkAt
        })
      } catch (err) {
        const status = err instanceof GatewayError ? err.status : 500
        const code = err instanceof GatewayError ? err.code : 'internal'
        if (status >= 500 && !(err instanceof GatewayError)) this.log.warn({ err, peer }, 'submitted task failed')
        await reply({ ok: false, status, code, message: (err as Error).message.slice(0, 1000) }).catch(() => stream.abort(err as Error))
      } finally {
        const left = (this.active.get(peer) ?? 1) - 1
        if (left <= 0) this.active.delete(peer)
        else this.active.set(peer, left)
      }
    }, { maxInboundStreams: submitDefaults.maxActivePerPeer * 2 })
  }

  async stop (): Promise<void> {
    await this.host.unhandle(submitProtocol(this.network))
  }
}

/** Hand a task to a peer's gateway and wait for its answer. */
export async function submitVia (host: Host, network: Network, peer: PeerId, request: SubmitRequest, signal: AbortSignal): Promise<SubmitResponse> {
  const max = network.definition.limits.maxMessageBytes
  const stream = await host.dialProtocol(peer, submitProtocol(network), { signal })
  const lp = lpStream(stream, { maxDataLength: max })
  try {
    await lp.write(encodeCanonical(request), { signal })
    const res = decodeSubmitResponse((await lp.read({ signal })).subarray(), max)
    await stream.close({ signal }).catch(() => {})
    return res
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}
