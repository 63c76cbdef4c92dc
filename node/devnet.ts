/**
 * `infermesh devnet`: a whole network on this machine in one command. It
 * writes a fresh network definition with new anchor keys into its data
 * directory, spawns real node processes (a gateway, validators, providers,
 * some of them faulty on purpose), drives a little client traffic, prints
 * where to look, and stops every child on Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chatRequestBody, drawClientTask, drawGapMs, workloadRandom } from '../protocol/workload.ts'
import { CodedError, ErrorCode } from '../protocol/errors.ts'
import { loadOrCreateIdentity } from './store/identityFile.ts'
import { cliDefaults } from './options.ts'

const BIN = join(dirname(fileURLToPath(import.meta.url)), 'bin.ts')
const MARKER = '.infermesh-devnet'

export interface DevnetOptions {
  nodes: number
  validators: number
  faulty: number
  epochSeconds: number
  dataDir: string
  apiPort: number
  /** Mean gap between client tasks, ms; 0 = no traffic. */
  trafficMs: number
  out: (line: string) => void
}

interface Child { name: string, role: string, proc: ChildProcess, api?: string, peerId?: string, addr?: string, fault?: string }

/** Epochs a devnet's first faulty provider stays honest: long enough to earn a reputation that then visibly falls. */
export const DEVNET_TURNS_BAD_EPOCHS = 10

export function planDevnet (o: Pick<DevnetOptions, 'nodes' | 'validators' | 'faulty' | 'epochSeconds'>): Array<{ name: string, role: 'gateway' | 'validator' | 'provider', fault?: string }> {
  const providers = o.nodes - 1 - o.validators
  if (!Number.isInteger(o.nodes) || o.nodes < 3) throw new CodedError(ErrorCode.CONFIG_INVALID, '--nodes must be at least 3 (a gateway, a validator and a provider)')
  if (o.validators < 1 || providers < 1) throw new CodedError(ErrorCode.CONFIG_INVALID, `--nodes ${o.nodes} leaves no room for ${o.validators} validator(s), a gateway and at least one provider; raise --nodes or lower --validators`)
  if (o.faulty < 0 || o.faulty > providers) throw new CodedError(ErrorCode.CONFIG_INVALID, `--faulty must be between 0 and the number of providers (${providers})`)
  // The first one earns a reputation and then cheats, so the dashboard shows it fall;
  // the others cheat from the start in the ways validators must catch.
  const faults = [`turns-bad:${DEVNET_TURNS_BAD_EPOCHS * o.epochSeconds}`, 'garbage', 'honest-to-new', 'cheat:0.2']
  return [
    { name: 'gateway', role: 'gateway' },
    ...Array.from({ length: o.validators }, (_, i) => ({ name: `validator${i + 1}`, role: 'validator' as const })),
    ...Array.from({ length: providers }, (_, i) => i < o.faulty
      ? { name: `faulty${i + 1}`, role: 'provider' as const, fault: faults[i % faults.length]! }
      : { name: `provider${i + 1 - o.faulty}`, role: 'provider' as const })
  ]
}

function waitForApi (child: Child, timeoutMs: number): Promise<void> {
  return new Promise((resolveWait, reject) => {
    let buf = ''
    const timer = setTimeout(() => reject(new Error(`${child.name} did not start within ${timeoutMs / 1000} s`)), timeoutMs)
    const onData = (d: Buffer): void => {
      buf += d.toString()
      let i: number
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i)
        buf = buf.slice(i + 1)
        try {
          const l = JSON.parse(line) as { msg?: string, api?: string, peerId?: string, addresses?: string[] }
          if (l.msg === 'libp2p host started') {
            child.peerId = l.peerId
            child.addr = l.addresses?.[0]
          }
          if (l.msg === 'API listening' && l.api != null) {
            child.api = l.api
            clearTimeout(timer)
            child.proc.stdout?.off('data', onData)
            child.proc.stdout?.resume()
            resolveWait()
          }
        } catch {}
      }
    }
    child.proc.stdout?.on('data', onData)
    child.proc.once('exit', code => {
      clearTimeout(timer)
      reject(new Error(`${child.name} exited with ${code} while starting`))
    })
  })
}

export async function runDevnet (o: DevnetOptions): Promise<void> {
  const root = resolve(o.dataDir)
  // A fresh network each time; only ever wipe a directory a devnet made.
  if (existsSync(root)) {
    if (!existsSync(join(root, MARKER))) throw new CodedError(ErrorCode.DATA_DIR_UNUSABLE, `${root} exists and is not a devnet directory; choose another with --data`)
    rmSync(root, { recursive: true, force: true })
  }
  mkdirSync(root, { recursive: true })
  writeFileSync(join(root, MARKER), 'created by infermesh devnet; deleted and recreated on each run\n')

  const plan = planDevnet(o)
  const anchors = plan.filter(p => p.role === 'validator').map(p => ({ peerId: loadOrCreateIdentity(join(root, p.name)).identity.peerId, power: 1 }))
  const networkFile = join(root, 'network.json')
  writeFileSync(networkFile, JSON.stringify({ name: 'devnet', bootstrap: [], anchors, epochSeconds: o.epochSeconds, recordTtlSeconds: Math.max(30, 3 * o.epochSeconds) }, null, 2) + '\n')
  o.out(`devnet: ${plan.length} nodes (${anchors.length} validators, ${plan.filter(p => p.role === 'provider').length} providers of which ${o.faulty} faulty), ${o.epochSeconds} s epochs, data in ${root}`)

  const children: Child[] = []
  let stopping = false
  const stopAll = async (): Promise<void> => {
    if (stopping) return
    stopping = true
    o.out('devnet: stopping all nodes…')
    await Promise.all(children.map(async c => {
      if (c.proc.exitCode != null || c.proc.signalCode != null) return
      const exited = new Promise<void>(r => c.proc.once('exit', () => r()))
      c.proc.kill('SIGTERM')
      const t = setTimeout(() => c.proc.kill('SIGKILL'), 8000)
      await exited
      clearTimeout(t)
    }))
    o.out('devnet: stopped')
  }

  const spawnNode = (p: typeof plan[number], bootstrap?: string): Child => {
    const api = p.role === 'gateway' ? `127.0.0.1:${o.apiPort}` : '127.0.0.1:0'
    const args = [BIN, 'start', '--data', join(root, p.name), '--network', networkFile, '--api', api, '--listen', '/ip4/127.0.0.1/tcp/0',
      '--role', p.role, ...(p.role === 'provider' ? ['--models', 'ref-tiny,ref-small,ref-embed'] : []), ...(p.fault != null ? ['--fault', p.fault] : []),
      ...(bootstrap != null ? ['--bootstrap', bootstrap] : [])]
    // The IPC channel is the child's lifeline: it closes when this process dies, however it dies.
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: { ...process.env, INFERMESH_LOG_LEVEL: 'info', INFERMESH_EXIT_WITH_PARENT: '1' } })
    proc.channel?.unref()
    // Each node's structured log stays in its data directory for the operator to read.
    mkdirSync(join(root, p.name), { recursive: true })
    proc.stdout?.pipe(createWriteStream(join(root, p.name, 'node.log')))
    const child: Child = { name: p.name, role: p.role, proc, fault: p.fault }
    children.push(child)
    proc.stderr?.on('data', d => { if (!stopping) o.out(`${p.name}: ${String(d).trim()}`) })
    proc.on('exit', (code, signal) => { if (!stopping) o.out(`devnet: ${p.name} exited (${signal ?? code}); Ctrl-C to stop the rest`) })
    return child
  }

  try {
    const gateway = spawnNode(plan[0]!)
    await waitForApi(gateway, 30_000)
    o.out(`devnet: [1/${plan.length}] gateway up at ${gateway.api}`)
    let up = 1
    await Promise.all(plan.slice(1).map(async p => {
      const c = spawnNode(p, gateway.addr)
      await waitForApi(c, 60_000)
      o.out(`devnet: [${++up}/${plan.length}] ${p.name}${p.fault != null ? ` (faulty: ${p.fault})` : ''} up at ${c.api}`)
    }))
  } catch (err) {
    await stopAll()
    throw err
  }

  const gw = children[0]!.api!
  // Ready means the gateway can route: every provider is discoverable.
  const providers = plan.filter(p => p.role === 'provider').length
  const deadline = Date.now() + 60_000
  let seen = 0
  while (Date.now() < deadline && !stopping) {
    try {
      const body = await (await fetch(`${gw}/v1/providers?model=ref-tiny`, { signal: AbortSignal.timeout(cliDefaults.devnetPollTimeoutMs) })).json() as { providers?: unknown[] }
      seen = body.providers?.length ?? 0
    } catch {}
    if (seen >= providers) break
    await new Promise(r => setTimeout(r, 500))
  }
  o.out(`devnet: ${seen}/${providers} providers discoverable through the gateway`)
  o.out('')
  o.out('devnet ready')
  o.out(`  gateway API : ${gw}/v1`)
  o.out(`  dashboard   : ${gw}/`)
  o.out(`  try it      : curl -s ${gw}/v1/chat/completions -H 'content-type: application/json' -d '{"model":"ref-tiny","messages":[{"role":"user","content":"hello"}]}'`)
  o.out(`  OpenAI SDK  : new OpenAI({ baseURL: '${gw}/v1', apiKey: 'unused' })`)
  o.out(`  reputation  : npx infermesh reputation --api ${gw}`)
  o.out(`  node logs   : ${join(root, '<node>', 'node.log')}`)
  o.out('  Ctrl-C stops every node.')

  // A little client traffic: natural requests from the corpus part audits never use.
  const random = workloadRandom(Date.now() >>> 0)
  let trafficTimer: NodeJS.Timeout | undefined
  const tick = (): void => {
    if (stopping) return
    const t = drawClientTask(random)
    void fetch(`${gw}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chatRequestBody(t, 'ref-tiny')),
      signal: AbortSignal.timeout(cliDefaults.devnetTrafficTimeoutMs)
    }).then(r => r.arrayBuffer(), () => {})
    trafficTimer = setTimeout(tick, drawGapMs(random, o.trafficMs))
  }
  if (o.trafficMs > 0) tick()

  await new Promise<void>(resolveRun => {
    const onSignal = (): void => {
      clearTimeout(trafficTimer)
      void stopAll().then(resolveRun)
    }
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
  })
}
