/**
 * A zero-cost OpenAI-compatible backend for overhead benchmarks: a node:http
 * server whose POST /v1/chat/completions answers at once with the word "ok",
 * as SSE for `stream: true` (one content chunk, a finish chunk, a usage chunk,
 * then [DONE]) and as a chat.completion object otherwise. Responses are built
 * once; connections are kept alive.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'

export interface ZeroBackend {
  /** Base URL with /v1, for --upstream. */
  url: string
  port: number
  /** Requests served, by kind, and TCP connections accepted (keep-alive reuse shows as few). */
  counts: { stream: number, json: number, other: number, connections: number, streamConnections: number, jsonConnections: number }
  close: () => Promise<void>
}

const MODEL = 'zero-model'

function sseBody (): Buffer {
  const base = { id: 'chatcmpl-zero', object: 'chat.completion.chunk', created: 0, model: MODEL }
  const events = [
    { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: 'ok' }, logprobs: null, finish_reason: null }] },
    { ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }] },
    { ...base, choices: [], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }
  ]
  return Buffer.from(events.map(e => `data: ${JSON.stringify(e)}\n\n`).join('') + 'data: [DONE]\n\n')
}

function jsonBody (): Buffer {
  return Buffer.from(JSON.stringify({
    id: 'chatcmpl-zero',
    object: 'chat.completion',
    created: 0,
    model: MODEL,
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok', refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }
  }))
}

const SSE = sseBody()
const JSON_BODY = jsonBody()
const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'content-length': SSE.length }
const JSON_HEADERS = { 'content-type': 'application/json', 'content-length': JSON_BODY.length }

export async function startZeroBackend (): Promise<ZeroBackend> {
  const counts = { stream: 0, json: 0, other: 0, connections: 0, streamConnections: 0, jsonConnections: 0 }
  const seen = new WeakSet<object>()
  const handle = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      counts.other++
      res.writeHead(404, { 'content-type': 'application/json' })
      res.end('{"error":{"message":"not found","type":"invalid_request_error"}}')
      return
    }
    let stream = false
    try {
      stream = (JSON.parse(body) as { stream?: unknown }).stream === true
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' })
      res.end('{"error":{"message":"body is not JSON","type":"invalid_request_error"}}')
      return
    }
    if (!seen.has(req.socket)) {
      seen.add(req.socket)
      if (stream) counts.streamConnections++
      else counts.jsonConnections++
    }
    if (stream) {
      counts.stream++
      res.writeHead(200, SSE_HEADERS)
      res.end(SSE)
    } else {
      counts.json++
      res.writeHead(200, JSON_HEADERS)
      res.end(JSON_BODY)
    }
  }
  const server = createServer({ keepAliveTimeout: 120_000, headersTimeout: 130_000 }, (req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (d: string) => { body += d })
    req.on('end', () => handle(req, res, body))
  })
  server.on('connection', () => { counts.connections++ })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as { port: number }).port
  return {
    url: `http://127.0.0.1:${port}/v1`,
    port,
    counts,
    close: async () => new Promise<void>(resolve => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  }
}
