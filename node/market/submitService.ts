/**
 * /infermesh/<net>/submit/1.0.0: a peer hands this node a task to route, as a
 * client would through the HTTP API. Validators use it to send audits through
 * ordinary gateways, so providers see the gateway's key and signature on an
 * audit exactly as on client traffic (ARCHITECTURE.md §9). Bounded per peer.
 * The wire format is protocol/submit.ts.
 */
import type { PeerId } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { openStream } from '../util/openStream.ts'
import { encodeCanonical } from '../../protocol/codec.ts'
import { CodedError, ErrorCode } from '../../protocol/errors.ts'
import { protocolIds, type Network } from '../../protocol/network.ts'
import { decodeSubmitRequest, decodeSubmitResponse, type SubmitRequest, type SubmitResponse } from '../../protocol/submit.ts'
import type { TaskOutput } from '../../protocol/task.ts'
import type { Host } from '../libp2p.ts'
import type { Logger } from '../logger.ts'
import { reachabilityDefaults, submitDefaults } from '../options.ts'
import { httpStatusOf } from '../api/httpErrors.ts'
import { GatewayError, type Gateway } from './gateway.ts'

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
    await this.host.handle(protocolIds(this.network).submit, async (stream, connection) => {
      const peer = connection.remotePeer.toString()
      const lp = lpStream(stream, { maxDataLength: max })
      const reply = async (r: SubmitResponse): Promise<void> => {
        await lp.write(encodeCanonical(r), { signal: AbortSignal.timeout(submitDefaults.writeTimeoutMs) })
        await stream.close({ signal: AbortSignal.timeout(submitDefaults.writeTimeoutMs) }).catch(() => stream.abort(new Error('close failed')))
      }
      const n = this.active.get(peer) ?? 0
      try {
        if (n >= submitDefaults.maxActivePerPeer) {
          await reply(failure(new CodedError(ErrorCode.PEER_RATE_LIMITED, `at most ${submitDefaults.maxActivePerPeer} tasks at once per peer`)))
          return
        }
        this.active.set(peer, n + 1)
        const raw = await lp.read({ signal: AbortSignal.timeout(submitDefaults.readTimeoutMs) })
        let r: SubmitRequest
        try {
          r = decodeSubmitRequest(raw.subarray(), max)
        } catch (err) {
          await reply(failure(err))
          return
        }
        // Only a gateway that carries client traffic of its own routes submitted
        // tasks (audits), and they never outnumber its clients': a provider must
        // not see a requester that only audits use (ARCHITECTURE.md §9).
        const now = Date.now()
        while (this.submitted.length > 0 && this.submitted[0]! < now - submitDefaults.clientWindowMs) this.submitted.shift()
        const clients = this.gateway.recentTasks.filter(t => t >= now - submitDefaults.clientWindowMs).length - this.submitted.length
        if (clients < 1 || this.submitted.length >= clients) {
          await reply(failure(new CodedError(ErrorCode.NO_CLIENT_TRAFFIC, 'this gateway routes submitted tasks only beside client traffic of its own')))
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
        if (!(err instanceof GatewayError) && httpStatusOf(err) >= 500) this.log.warn({ err, peer }, 'submitted task failed')
        await reply(failure(err)).catch(() => stream.abort(err as Error))
      } finally {
        const left = (this.active.get(peer) ?? 1) - 1
        if (left <= 0) this.active.delete(peer)
        else this.active.set(peer, left)
      }
    }, { maxInboundStreams: submitDefaults.maxActivePerPeer * 2, runOnLimitedConnection: reachabilityDefaults.limitedProtocols.includes('submit') })
  }

  async stop (): Promise<void> {
    await this.host.unhandle(protocolIds(this.network).submit)
  }
}

/** Hand a task to a peer's gateway and wait for its answer. */
export async function submitVia (host: Host, network: Network, peer: PeerId, request: SubmitRequest, signal: AbortSignal): Promise<SubmitResponse> {
  const max = network.definition.limits.maxMessageBytes
  const { stream } = await openStream(host, peer, protocolIds(network).submit, { signal })
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

/** A failed submit as the wire carries it: the code and its HTTP status (node/api/httpErrors.ts). */
function failure (err: unknown): SubmitResponse {
  const code = err instanceof CodedError ? err.code : ErrorCode.INTERNAL
  return { ok: false, status: httpStatusOf(err), code, message: (err instanceof Error ? err.message : String(err)).slice(0, 1000) }
}
