/**
 * `infermesh doctor`: checks a node and its setup, and says what to do about
 * each problem. Reads the same configuration `infermesh start` would (flags,
 * environment, config file) and asks the running node's API; every check
 * stands alone, so one that cannot run says why and the others still do.
 */
import { constants } from 'node:fs'
import { createServer } from 'node:net'
import { access, statfs } from 'node:fs/promises'
import { resolve } from 'node:path'
import { isLoopbackHost, parseApiAddress, parseBackend, parseLogFormat, parseRoles, resolveConfig, type ConfigKey } from './config.ts'
import { explainVerdict, resolveMode, type Verdict } from './discovery/reachability.ts'
import { doctorDefaults } from './options.ts'
import { sodiumLoadError } from './crypto/libsodium.ts'

export type CheckStatus = 'ok' | 'warn' | 'fail'

export interface Check {
  name: string
  status: CheckStatus
  detail: string
  /** What to do, when it is not ok. */
  fix?: string
}

export interface DoctorOptions {
  flags: Partial<Record<ConfigKey, string>>
  env: NodeJS.ProcessEnv
  cwd: string
  /** The node's API; default the configured address. */
  api?: string
  now?: () => number
}

type Fetch = (path: string) => Promise<unknown>

export async function runDoctor (o: DoctorOptions): Promise<Check[]> {
  const checks: Check[] = []
  const add = (name: string, status: CheckStatus, detail: string, fix?: string): void => { checks.push({ name, status, detail, ...(fix != null && status !== 'ok' ? { fix } : {}) }) }
  let options
  try {
    options = resolveConfig(o.flags, o.env, o.cwd).options
    // The settings start checks before it touches anything, checked the same way here.
    parseLogFormat(options.logFormat)
    parseRoles(options.roles)
    parseBackend(options)
    resolveMode(options.relayReserve, 'relayReserve', false)
    resolveMode(options.upnp, 'upnp', false)
    add('configuration', 'ok', 'flags, environment and config file read')
  } catch (err) {
    add('configuration', 'fail', (err as Error).message, 'fix the setting named; "infermesh config" prints what each one resolves to')
    return checks
  }

  // Signatures: libsodium's addon, or OpenSSL at about half the speed where it does not load.
  if (sodiumLoadError == null) add('signatures', 'ok', 'Ed25519 through libsodium (sodium-native)')
  else add('signatures', 'warn', `libsodium did not load (${sodiumLoadError}); the node signs and verifies through OpenSSL, at about half the speed`, 'run on a glibc system (Debian, Ubuntu, Fedora), for which sodium-native ships its addon, and reinstall with "npm ci"')

  // The data directory: there, writable, with room for the ledger and receipts.
  const dataDir = resolve(o.cwd, options.dataDir)
  try {
    await access(dataDir, constants.W_OK)
    const fs = await statfs(dataDir)
    const free = fs.bavail * fs.bsize
    const mib = Math.floor(free / 2 ** 20)
    if (free < doctorDefaults.diskFailBytes) add('disk', 'fail', `${mib} MiB free in ${dataDir}`, 'free disk space: a node that cannot write refuses every task (507) until it can')
    else if (free < doctorDefaults.diskWarnBytes) add('disk', 'warn', `${mib} MiB free in ${dataDir}`, 'free disk space soon: the ledger and receipts grow with traffic')
    else add('disk', 'ok', `${dataDir} is writable, ${mib} MiB free`)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') add('disk', 'warn', `${dataDir} does not exist yet`, 'start the node once ("infermesh start"), or pass --data for the directory it uses')
    else add('disk', 'fail', `${dataDir}: ${code ?? (err as Error).message}`, `make ${dataDir} writable by this user (chown or chmod), or pass --data`)
  }

  // The API: a non-loopback bind needs a token; the node must answer.
  let base = o.api
  try {
    const { host } = parseApiAddress(options.api)
    if (!isLoopbackHost(host) && options.apiToken == null) add('api token', 'fail', `--api ${options.api} is not loopback and no token is set`, 'set INFERMESH_API_TOKEN (16+ characters): the node refuses to serve such a bind without one')
    else add('api token', 'ok', isLoopbackHost(host) ? `API on loopback (${options.api})` : 'API bound beyond loopback, with a bearer token')
    base ??= `http://${host.includes(':') ? `[${host}]` : host}:${parseApiAddress(options.api).port}`
  } catch (err) {
    add('api token', 'fail', (err as Error).message, 'give --api as HOST:PORT')
  }
  const token = options.apiToken ?? o.env.INFERMESH_API_TOKEN
  const get: Fetch = async path => {
    const res = await fetch(new URL(path, base), { headers: token != null ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(doctorDefaults.requestTimeoutMs) })
    if (!res.ok) throw new Error(`${path} answered ${res.status}`)
    return path === '/metrics' ? await res.text() : await res.json()
  }
  let node: { peerId: string, roles: string[], peers: number, addresses: string[], reachability?: Verdict, connections?: { direct: number, relayed: number } } | undefined
  try {
    node = await get('/v1/node') as typeof node
    add('node', 'ok', `${node!.peerId} answers at ${base} (${node!.roles.join(', ')})`)
  } catch (err) {
    add('node', 'fail', `no node answers at ${base}: ${(err as Error).message}`, 'start it ("infermesh start"), or point doctor at it with --api URL')
  }
  await portsCheck(options, node != null, add)

  if (node != null) {
    if (node.peers === 0) add('peers', 'warn', 'connected to no peer', 'check the network file\'s bootstrap list or --bootstrap, and that those peers are up and reachable from here')
    else add('peers', 'ok', `connected to ${node.peers} peers`)
    reachabilityCheck(node, add)
    await clockCheck(get, o.now ?? Date.now, add)
    if (node.roles.includes('validator')) await validatorCheck(get, node.peerId, add)
  }
  if (options.backend === 'openai') await upstreamCheck(options.upstream, options.models, o.env.INFERMESH_UPSTREAM_KEY, add)
  return checks
}

type Add = (name: string, status: CheckStatus, detail: string, fix?: string) => void

/**
 * The ports `infermesh start` would bind. With the node running they are its own; with
 * none answering, each one another process holds would stop it from starting.
 */
async function portsCheck (options: { api: string, listen: string[] }, running: boolean, add: Add): Promise<void> {
  const wanted: Array<{ what: string, host: string, port: number, flag: string }> = []
  try {
    const { host, port } = parseApiAddress(options.api)
    if (port !== 0) wanted.push({ what: 'API', host, port, flag: '--api' })
  } catch {}
  for (const l of options.listen) {
    const m = /^\/ip([46])\/([^/]+)\/tcp\/(\d+)/.exec(l)
    if (m != null && Number(m[3]) !== 0) wanted.push({ what: 'libp2p', host: m[2]!, port: Number(m[3]), flag: '--listen' })
  }
  if (wanted.length === 0) {
    add('ports', 'ok', 'ephemeral ports only (port 0): nothing to collide with')
    return
  }
  const list = wanted.map(w => `${w.what} ${w.host}:${w.port}`).join(', ')
  if (running) {
    add('ports', 'ok', `in use by this node: ${list}`)
    return
  }
  const taken: string[] = []
  for (const w of wanted) {
    const err = await tryBind(w.host, w.port)
    if (err != null) taken.push(`${w.what} ${w.host}:${w.port} (${err}; ${w.flag})`)
  }
  if (taken.length > 0) add('ports', 'fail', `cannot bind ${taken.join(', ')}`, 'another process holds the port (find it with "ss -ltnp"): stop it, or give this node another port with the flag named; below 1024 needs root or CAP_NET_BIND_SERVICE')
  else add('ports', 'ok', `free to bind: ${list}`)
}

/** undefined when host:port can be bound now, else the error code. */
async function tryBind (host: string, port: number): Promise<string | undefined> {
  return await new Promise(resolve => {
    const server = createServer()
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message))
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)))
  })
}

/** Public, relayed (behind NAT, through a circuit relay), or reachable only nearby; from the node's own verdict. */
function reachabilityCheck (node: { addresses: string[], reachability?: Verdict, connections?: { direct: number, relayed: number } }, add: Add): void {
  const verdict = node.reachability
  const addrs = node.addresses.join(', ') || 'no addresses'
  if (verdict == null) {
    add('reachability', 'warn', `this node does not report reachability (${addrs})`, 'upgrade the node: doctor reads its verdict from GET /v1/node')
    return
  }
  const relays = [...new Set(node.addresses.filter(a => a.includes('/p2p-circuit')).map(a => /\/p2p\/([^/]+)\/p2p-circuit/.exec(a)?.[1]).filter(r => r != null))]
  const conns = node.connections != null ? `; connections: ${node.connections.direct} direct, ${node.connections.relayed} relayed` : ''
  switch (verdict) {
    case 'public':
      add('reachability', 'ok', `public: ${explainVerdict(verdict)} (${addrs})${conns}`)
      return
    case 'relayed':
      add('reachability', 'ok', `relayed: ${explainVerdict(verdict)}; reserved on ${relays.length} relay${relays.length === 1 ? '' : 's'} (${relays.join(', ')})${conns}`)
      return
    case 'checking':
      add('reachability', 'warn', `checking: ${explainVerdict(verdict)} (${addrs})`, 'run doctor again in a minute; if it then says private, no relay took a reservation: start one (--role relay) on a public host, or forward the port and set --announce')
      return
    case 'local':
      add('reachability', 'warn', `local: loopback only (${addrs})`, 'to take peers from other machines listen on a public interface (--listen /ip4/0.0.0.0/tcp/4001); behind NAT, forward the port and set --announce, or let the node reserve a relay')
      return
    case 'private':
      add('reachability', 'warn', `private: only peers on this LAN can dial this node (${addrs})`, 'behind NAT: forward the port on the router and set --announce /ip4/PUBLIC_IP/tcp/PORT, turn on UPnP on the router (--upnp on), or reserve a relay (--relay-reserve always; a seed or a --role relay node must be among the peers)')
  }
}

/** Peers' clocks, from the capacity records they signed: a record issued "in the future" means a clock runs ahead. */
async function clockCheck (get: Fetch, now: () => number, add: Add): Promise<void> {
  try {
    const models = (await get('/v1/models') as { data: Array<{ id: string }> }).data
    let ahead = 0
    let seen = 0
    for (const m of models.slice(0, 8)) {
      const providers = (await get(`/v1/providers?model=${encodeURIComponent(m.id)}`) as { providers: Array<{ issuedAt: string }> }).providers
      for (const p of providers) {
        seen++
        ahead = Math.max(ahead, Date.parse(p.issuedAt) - now())
      }
    }
    if (seen === 0) add('clock', 'ok', 'no peer record to compare with yet')
    else if (ahead > doctorDefaults.clockSkewWarnMs) add('clock', 'warn', `a peer's record was signed ${(ahead / 1000).toFixed(1)} s ahead of this clock`, 'run NTP (timedatectl set-ntp true): epochs, commits and record expiry all follow the wall clock, and records more than 30 s from it are refused')
    else add('clock', 'ok', `${seen} peer records signed within ${doctorDefaults.clockSkewWarnMs / 1000} s of this clock`)
  } catch (err) {
    add('clock', 'warn', `could not compare: ${(err as Error).message}`)
  }
}

/** A validator's voting power, and whether gateways take its audits. */
async function validatorCheck (get: Fetch, peerId: string, add: Add): Promise<void> {
  try {
    const rep = await get('/v1/reputation') as { validators: Array<{ peerId: string, power: number | null }> }
    const me = rep.validators.find(v => v.peerId === peerId)
    if (me == null || me.power == null || me.power === 0) add('voting power', 'warn', 'this validator has no voting power in consensus yet', 'power comes from the network\'s anchors and their endorsements: ask an anchor\'s operator to endorse this PeerId')
    else add('voting power', 'ok', `power ${me.power}`)
    const metrics = await get('/metrics') as string
    const count = (re: RegExp): number => [...metrics.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0)
    const answered = count(/^infermesh_audits_total\{outcome="(?:passed|failed|fraud)"\} (\d+)/gm)
    const idle = [...metrics.matchAll(/^infermesh_validator_epochs_without_audits_total\{reason="([^"]+)"\} (\d+)/gm)].sort((a, b) => Number(b[2]) - Number(a[2]))
    if (answered > 0) add('audits', 'ok', `${answered} audits answered since start`)
    else add('audits', 'warn', `no audit answered since start${idle.length > 0 ? `; epochs without audits, mostly: ${idle[0]![1]}` : ''}`, idle[0]?.[1] === 'no_client_traffic' ? 'gateways take audits only beside client traffic: send tasks through a gateway' : 'see the validator\'s "no audit placed" warnings for what to do')
  } catch (err) {
    add('audits', 'warn', `could not read: ${(err as Error).message}`)
  }
}

/** An openai backend's upstream: it answers, and serves the models this node offers. */
async function upstreamCheck (upstream: string | undefined, models: string[], key: string | undefined, add: Add): Promise<void> {
  if (upstream == null) {
    add('upstream', 'fail', '--backend openai without --upstream', 'give the upstream\'s base URL, e.g. --upstream http://127.0.0.1:11434/v1')
    return
  }
  try {
    const res = await fetch(new URL('models', upstream.endsWith('/') ? upstream : `${upstream}/`), { headers: key != null ? { authorization: `Bearer ${key}` } : {}, signal: AbortSignal.timeout(doctorDefaults.requestTimeoutMs) })
    if (!res.ok) {
      add('upstream', 'fail', `${upstream} answered GET /models with ${res.status}`, res.status === 401 || res.status === 403 ? 'set INFERMESH_UPSTREAM_KEY to the upstream\'s API key' : 'check the URL: it is the base, ending in /v1 for most servers')
      return
    }
    const ids = ((await res.json()) as { data?: Array<{ id?: unknown }> }).data?.map(m => String(m.id)) ?? []
    const wanted = models.map(m => m.split('=')[0]!.split('@')[0]!)
    const missing = wanted.filter(m => !ids.includes(m))
    if (missing.length > 0) add('upstream', 'warn', `${upstream} does not list ${missing.join(', ')} (it lists ${ids.slice(0, 8).join(', ') || 'nothing'})`, 'use the ids the upstream serves in --models, or load those models there (Ollama: ollama pull)')
    else add('upstream', 'ok', `${upstream} serves ${wanted.join(', ')}`)
  } catch (err) {
    add('upstream', 'fail', `${upstream} does not answer: ${(err as Error).message}`, 'start the upstream server, or fix --upstream')
  }
}

export function formatChecks (checks: readonly Check[]): string {
  const mark: Record<CheckStatus, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' }
  const lines = checks.flatMap(c => [`${mark[c.status]}  ${c.name.padEnd(13)} ${c.detail}`, ...(c.fix != null ? [`      ${''.padEnd(13)} → ${c.fix}`] : [])])
  const fails = checks.filter(c => c.status === 'fail').length
  const warns = checks.filter(c => c.status === 'warn').length
  return `${lines.join('\n')}\n\n${fails} failed, ${warns} warnings, ${checks.length - fails - warns} ok\n`
}
