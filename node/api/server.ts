/**
 * The peer API's HTTP server (ARCHITECTURE.md §10): node:http, a small route table,
 * bearer-token auth, body and header limits, OpenAI-style errors.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { CodedError, ErrorCode } from '../../protocol/errors.ts'
import { isLoopbackHost, type ApiAddress } from '../config.ts'
import type { Logger } from '../logger.ts'
import { apiDefaults } from '../options.ts'
import { GatewayError } from '../market/gateway.ts'
import { errorBody, httpStatusOf, invalidRequest } from './httpErrors.ts'
import { stage } from '../util/taskStages.ts'

export interface RequestContext {
  req: IncomingMessage
  res: ServerResponse
  url: URL
  params: Record<string, string>
}

export type Handler = (ctx: RequestContext) => Promise<unknown>

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  /** Path with :name segments. */
  path: string
  /** Query parameters this route accepts; any other is a 400. */
  query?: string[]
  /** Served without the bearer token: only static assets that carry no node data (the dashboard's page, script and style). */
  public?: boolean
  handler: Handler
}

export interface ApiServer {
  server: Server
  address: ApiAddress
  close: () => Promise<void>
}

function digest (s: string): Buffer {
  return createHash('sha256').update(s).digest()
}

/**
 * Whether an Authorization header carries the token whose sha256 is
 * `tokenDigest`. Constant-time: the presented token is hashed to 32 bytes
 * first, so timingSafeEqual always compares equal lengths and neither the
 * token's length nor a matching prefix shows in the timing. The scheme is
 * case-insensitive (RFC 7235 §2.1).
 */
export function bearerTokenMatches (authorization: string | undefined, tokenDigest: Buffer): boolean {
  const header = authorization ?? ''
  const presented = /^bearer /i.test(header) ? header.slice(7) : ''
  return timingSafeEqual(digest(presented), tokenDigest)
}

/**
 * A route's `pattern` against a path, both split at '/' (the routes' once, at start; the
 * path's once per request, not once per route tried): the ':name' segments' values, or
 * undefined when the path is not the route's.
 */
export function matchPath (pattern: readonly string[], path: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== path.length) return undefined
  let params: Record<string, string> | undefined
  for (let i = 0; i < pattern.length; i++) {
    const seg = pattern[i]!
    if (seg.startsWith(':')) {
      let value: string
      try {
        value = decodeURIComponent(path[i]!)
      } catch {
        return undefined
      }
      if (value.length === 0) return undefined
      params ??= {}
      params[seg.slice(1)] = value
    } else if (seg !== path[i]) {
      return undefined
    }
  }
  return params ?? {}
}

/**
 * Read a JSON body of at most `maxBytes`; 413 beyond it, 400 if it is not JSON.
 * Through the stream's events, not `for await`: the async iterator costs a
 * promise per chunk and a stream-finished watcher per request, ~30 µs of CPU
 * per request on this path (BENCHMARKS.md).
 */
export async function readJsonBody (req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > maxBytes) {
    req.resume()
    throw new CodedError(ErrorCode.PAYLOAD_TOO_LARGE, `request body is ${declared} bytes; the limit is ${maxBytes}`)
  }
  const text = await new Promise<string>((resolve, reject) => {
    // Buffers from node:http; plain Uint8Arrays from other streams (the fuzz harness): read both as bytes.
    const chunks: Uint8Array[] = []
    let size = 0
    const settle = (err?: Error): void => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', settle)
      req.off('close', onClose)
      if (err != null) reject(err)
      else resolve(chunks.length === 1 ? Buffer.from(chunks[0]!.buffer, chunks[0]!.byteOffset, chunks[0]!.byteLength).toString('utf8') : Buffer.concat(chunks).toString('utf8'))
    }
    const onData = (chunk: Uint8Array): void => {
      size += chunk.length
      if (size > maxBytes) {
        settle(new CodedError(ErrorCode.PAYLOAD_TOO_LARGE, `request body is over the ${maxBytes}-byte limit`))
        req.resume()
        return
      }
      chunks.push(chunk)
    }
    const onEnd = (): void => { settle() }
    // A client gone before the body's end: no 'end' will come.
    const onClose = (): void => { settle(new CodedError(ErrorCode.INVALID_REQUEST, 'the client closed the connection before the request body ended')) }
    if (req.readableEnded || req.destroyed) {
      onClose()
      return
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', settle)
    req.on('close', onClose)
  })
  if (text.trim() === '') throw invalidRequest('the request body is empty; send a JSON object')
  try {
    return JSON.parse(text)
  } catch (err) {
    throw invalidRequest(`the request body is not valid JSON: ${(err as Error).message}`)
  }
}

export function sendJson (res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' })
  stage('api:response')
  res.end(text)
}

export async function startApiServer (address: ApiAddress, routes: Route[], opts: { token?: string, logger: Logger }): Promise<ApiServer> {
  if (!isLoopbackHost(address.host) && (opts.token == null || opts.token.length < 16)) {
    throw new CodedError(ErrorCode.CONFIG_INVALID, `refusing to serve the API on non-loopback address ${address.host} without a bearer token: set INFERMESH_API_TOKEN (16+ chars) or bind to 127.0.0.1`, { field: 'apiToken' })
  }
  const tokenDigest = opts.token != null ? digest(opts.token) : undefined
  const log = opts.logger
  const compiled = routes.map(route => ({ route, pattern: route.path.split('/') }))

  const server = createServer({
    headersTimeout: apiDefaults.headersTimeoutMs,
    requestTimeout: apiDefaults.requestTimeoutMs,
    keepAliveTimeout: apiDefaults.keepAliveTimeoutMs,
    connectionsCheckingInterval: apiDefaults.connectionsCheckingIntervalMs,
    maxHeaderSize: apiDefaults.maxHeaderBytes
  }, (req, res) => {
    stage('api:request')
    void handle(req, res)
  })

  async function handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost')
      const path = url.pathname.split('/')
      // Only with a token does it matter whether the route is public: no second route scan otherwise.
      if (tokenDigest != null && !compiled.some(({ route: r, pattern }) => r.public === true && r.method === req.method && matchPath(pattern, path) != null)) {
        if (!bearerTokenMatches(req.headers.authorization, tokenDigest)) {
          throw new CodedError(ErrorCode.UNAUTHORIZED, 'missing or wrong bearer token; send Authorization: Bearer <token>')
        }
      }
      let allowed: string[] = []
      for (const { route, pattern } of compiled) {
        const params = matchPath(pattern, path)
        if (params == null) continue
        allowed.push(route.method)
        if (route.method !== req.method) continue
        for (const name of url.searchParams.keys()) {
          if (!(route.query ?? []).includes(name)) {
            throw invalidRequest(`unknown query parameter "${name}"${(route.query ?? []).length > 0 ? `; accepted: ${route.query!.join(', ')}` : '; this endpoint takes none'}`, name)
          }
        }
        const body = await route.handler({ req, res, url, params })
        if (!res.headersSent) sendJson(res, 200, body)
        return
      }
      allowed = [...new Set(allowed)]
      if (allowed.length > 0) {
        res.setHeader('allow', allowed.join(', '))
        sendJson(res, 405, { error: { message: `${req.method ?? ''} is not allowed on ${url.pathname}; use ${allowed.join(' or ')}`, type: 'invalid_request_error', param: null, code: 'METHOD_NOT_ALLOWED' } })
        return
      }
      throw new CodedError(ErrorCode.NOT_FOUND, `no endpoint ${req.method ?? ''} ${url.pathname}; see GET /v1/node and the README's endpoint list`)
    } catch (err) {
      const status = httpStatusOf(err)
      if (status >= 500 && !(err instanceof GatewayError)) log.error({ err, url: req.url }, 'request failed')
      if (!res.headersSent) {
        // A 413 answers before the body is read: close so the client stops sending.
        if (status === 413) res.setHeader('connection', 'close')
        sendJson(res, status, errorBody(err))
      } else {
        res.destroy()
      }
    }
  }

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      if (err.code === 'EADDRINUSE') {
        reject(new CodedError(ErrorCode.PORT_IN_USE, `API address ${address.host}:${address.port} is already in use; stop the other process or pass --api ${address.host}:<free port>`))
      } else if (err.code === 'EADDRNOTAVAIL' || err.code === 'EACCES') {
        reject(new CodedError(ErrorCode.CONFIG_INVALID, `cannot bind the API to ${address.host}:${address.port} (${err.code}); pick an address of this machine and a port above 1023`, { field: 'api' }))
      } else {
        reject(err)
      }
    }
    server.once('error', onError)
    server.listen(address.port, address.host, () => {
      server.off('error', onError)
      resolve()
    })
  })
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // A slow-loris header or body timeout is a 408; malformed HTTP or an over-size header block a 400/431. Then drop it.
    const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request'
    // Destroy once written: a hostile client must not keep the socket half-open.
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`, () => socket.destroy())
    else socket.destroy()
  })
  const bound = server.address()
  const port = typeof bound === 'object' && bound != null ? bound.port : address.port
  return {
    server,
    address: { host: address.host, port },
    close: async () => new Promise<void>(resolve => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  }
}
