/**
 * The floor of the task path (issue 16, "Fast and lean"): the parts that the
 * budget's path cannot do without, composed with none of the node's logic, so
 * task-overhead can measure in the same run what no node built of these parts
 * can beat, beside what the node does.
 *
 * What it does per task, and nothing more:
 * - the API: node:http reads a chat request and parses its JSON;
 * - the gateway signs the request (libsodium, as the node) and sends it as one
 *   length-prefixed frame on a kept-alive libp2p stream (TCP, the node's Noise
 *   with coalesced writes, yamux with the node's window updates, the node's
 *   frame reader and writer);
 * - the provider verifies the signature, calls the same upstream through an
 *   undici Pool (`stream: true`, the body read to its end), hashes the request
 *   and the output (what a receipt binds), signs a receipt-sized record and
 *   sends it back; what it earned goes to its LevelDB (group commit) after
 *   the send, as the node does;
 * - the gateway verifies the receipt, writes it with the request and a balance
 *   to its LevelDB (group commit) and answers only once that write is done.
 *
 * Not in it: schemas and checks, canonical CBOR, provider lookup and ranking,
 * admission, credit, deadlines and cancellation, metrics, stages, SSE parsing
 * and chunk frames, failover, the receipt's view for the client. Those are
 * what the node adds on top of this floor.
 *
 * It marks the node's task stages (node/util/taskStages.ts) at the same
 * points, so `task-overhead --stages` sets the two side by side.
 */
import { yamux } from '@chainsafe/libp2p-yamux'
import type { Libp2p, Stream } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { ed25519 } from '@noble/curves/ed25519.js'
import { createLibp2p } from 'libp2p'
import { hash, randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { Pool } from 'undici'
import { nativeSign } from '../../../node/crypto/nativeSign.ts'
import { nativeVerify } from '../../../node/crypto/nativeVerify.ts'
import { openDb, type Db } from '../../../node/store/db.ts'
import { coalescedNoise } from '../../../node/util/coalescedNoise.ts'
import { FrameReader, writeFrames } from '../../../node/util/frames.ts'
import { GroupCommit } from '../../../node/util/groupCommit.ts'
import { stage } from '../../../node/util/taskStages.ts'
import { sendWindowUpdatesAtHalf } from '../../../node/util/yamuxWindowUpdates.ts'

const PROTOCOL = '/bench/task-floor/1.0.0'
const MAX_FRAME = 1 << 20
/** A real task request carries ids, keys, prices and times beside the messages: about this many bytes more. */
const REQUEST_FIELDS_BYTES = 300
/** A real receipt's size. */
const RECEIPT_BYTES = 400
const SIG = 64

export interface FloorPath {
  /** The floor's chat completions URL, for the bench client. */
  url: string
  /** Tasks answered, and tasks refused (a signature that did not verify, an upstream that failed). */
  counts: { ok: number, failed: number }
  stop: () => Promise<void>
}

interface Keys { seed: Uint8Array, pub: Uint8Array }

function keys (): Keys {
  const seed = new Uint8Array(randomBytes(32))
  return { seed, pub: ed25519.getPublicKey(seed) }
}

async function host (): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [coalescedNoise()],
    streamMuxers: [yamux()],
    connectionManager: { inboundConnectionThreshold: 1000 }
  })
}

/** `sig ‖ body`, the floor's one frame shape. */
function signed (k: Keys, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(SIG + body.length)
  out.set(nativeSign(k.seed, body), 0)
  out.set(body, SIG)
  return out
}

function opened (frame: Uint8Array, pub: Uint8Array): Uint8Array | undefined {
  const body = frame.subarray(SIG)
  return nativeVerify(pub, body, frame.subarray(0, SIG)) ? body : undefined
}

export async function startFloorPath (upstreamUrl: string, dataDir: string): Promise<FloorPath> {
  sendWindowUpdatesAtHalf()
  const counts = { ok: 0, failed: 0 }
  const gatewayKeys = keys()
  const providerKeys = keys()
  const upstream = new URL(upstreamUrl)
  const pool = new Pool(upstream.origin, { connections: 64, keepAliveTimeout: 60_000 })
  const upstreamPath = `${upstream.pathname.replace(/\/$/, '')}/chat/completions`
  const upstreamHeaders = { 'content-type': 'application/json', accept: 'text/event-stream, application/json' }
  const dbs: Db[] = []
  const openStore = async (name: string): Promise<GroupCommit> => {
    const dir = join(dataDir, name)
    mkdirSync(dir, { recursive: true })
    const db = await openDb(dir)
    dbs.push(db)
    return new GroupCommit(db)
  }
  const gatewayStore = await openStore('floor-gateway')
  const providerStore = await openStore('floor-provider')
  const hosts: Libp2p[] = []
  let server: Server | undefined
  const stop = async (): Promise<void> => {
    server?.closeAllConnections()
    await new Promise<void>(resolve => { if (server == null) resolve(); else server.close(() => resolve()) })
    await Promise.all(hosts.map(async h => { try { await h.stop() } catch {} }))
    await pool.close().catch(() => {})
    await Promise.all(dbs.map(async db => db.close().catch(() => {})))
  }
  try {
    const provider = await host()
    hosts.push(provider)
    const gateway = await host()
    hosts.push(gateway)

    // ---- provider ----
    const serve = async (stream: Stream): Promise<void> => {
      const reader = new FrameReader(stream, MAX_FRAME)
      for (;;) {
        let frame: Uint8Array
        try { frame = await reader.read() } catch { return }
        stage('provider:read')
        const body = opened(frame, gatewayKeys.pub)
        if (body == null) {
          counts.failed++
          stream.abort(new Error('the request signature did not verify'))
          return
        }
        stage('provider:verified')
        const request = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.length - REQUEST_FIELDS_BYTES).toString('utf8')) as Record<string, unknown>
        let output = ''
        try {
          const res = await pool.request({ path: upstreamPath, method: 'POST', headers: upstreamHeaders, body: JSON.stringify({ ...request, stream: true }) })
          stage('backend:headers')
          res.body.setEncoding('utf8')
          for await (const piece of res.body as AsyncIterable<string>) output += piece
          if (res.statusCode !== 200) throw new Error(`upstream answered ${res.statusCode}`)
        } catch (err) {
          counts.failed++
          stream.abort(err as Error)
          return
        }
        stage('backend:done')
        const receipt = new Uint8Array(RECEIPT_BYTES)
        receipt.set(hash('sha256', body, 'buffer'), 0)
        receipt.set(hash('sha256', output, 'buffer'), 32)
        const text = Buffer.from(output.includes('"content":"ok"') ? 'ok' : '')
        receipt[64] = text.length
        receipt.set(text, 65)
        const reply = signed(providerKeys, receipt)
        stage('provider:signed')
        const sending = writeFrames(stream, [reply])
        void sending.then(async () => providerStore.write([{ type: 'put', key: `r/${randomBytes(8).toString('hex')}/earned`, value: reply }])).catch(() => {})
        try { await sending } catch { return }
        stage('provider:sent')
      }
    }
    await provider.handle(PROTOCOL, stream => { void serve(stream) }, { maxInboundStreams: 1024, maxOutboundStreams: 1024 })

    // ---- gateway ----
    await gateway.dial(provider.getMultiaddrs()[0]!)
    const idle: Array<{ stream: Stream, reader: FrameReader }> = []
    const take = async (): Promise<{ stream: Stream, reader: FrameReader }> => {
      const kept = idle.pop()
      if (kept != null) return kept
      const stream = await gateway.dialProtocol(provider.peerId, PROTOCOL, { negotiateFully: false, maxOutboundStreams: 1024 })
      return { stream, reader: new FrameReader(stream, MAX_FRAME) }
    }
    const fields = new Uint8Array(REQUEST_FIELDS_BYTES).fill(0x20)
    const task = async (chat: unknown): Promise<{ text: string, receipt: Uint8Array }> => {
      const json = Buffer.from(JSON.stringify(chat))
      const body = new Uint8Array(json.length + REQUEST_FIELDS_BYTES)
      body.set(json, 0)
      body.set(fields, json.length)
      const request = signed(gatewayKeys, body)
      stage('gateway:signed')
      const held = await take()
      await writeFrames(held.stream, [request])
      stage('gateway:sent')
      const frame = await held.reader.read()
      stage('gateway:receipt')
      const receipt = opened(frame, providerKeys.pub)
      if (receipt == null) {
        held.stream.abort(new Error('the receipt signature did not verify'))
        throw new Error('the receipt signature did not verify')
      }
      stage('gateway:verified')
      idle.push(held)
      const id = randomBytes(16).toString('hex')
      await gatewayStore.write([
        { type: 'put', key: `r/${id}/spent`, value: Buffer.concat([frame, request]) },
        { type: 'put', key: `a/${providerKeys.pub[0]}`, value: Buffer.from(`{"owed":${counts.ok}}`) }
      ])
      stage('gateway:stored')
      return { text: Buffer.from(receipt.subarray(65, 65 + receipt[64]!)).toString('utf8'), receipt: frame }
    }

    // ---- API ----
    server = createServer({ keepAliveTimeout: 120_000, headersTimeout: 130_000 }, (req, res) => {
      stage('api:request')
      const chunks: Buffer[] = []
      req.on('data', (d: Buffer) => { chunks.push(d) })
      req.on('end', () => {
        let chat: unknown
        try { chat = JSON.parse(Buffer.concat(chunks).toString('utf8')) } catch {
          res.writeHead(400, { 'content-type': 'application/json' })
          res.end('{"error":{"message":"body is not JSON","type":"invalid_request_error"}}')
          return
        }
        stage('api:parsed')
        task(chat).then(({ text, receipt }) => {
          counts.ok++
          const out = JSON.stringify({ object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }], receipt: Buffer.from(receipt).toString('base64') })
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) })
          stage('api:response')
          res.end(out)
        }, (err: unknown) => {
          counts.failed++
          res.writeHead(502, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ error: { message: (err as Error).message, type: 'api_error' } }))
        })
      })
    })
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject)
      server!.listen(0, '127.0.0.1', () => { resolve() })
    })
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`, counts, stop }
  } catch (err) {
    await stop()
    throw err
  }
}
