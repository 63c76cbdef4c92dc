/**
 * Linux network namespaces for reachability tests: a "public" network and home
 * networks behind NAT routers (veth pairs, nftables masquerade).
 *
 * Nothing here touches the machine's own network: every address belongs to an
 * interface inside a namespace created here, no namespace is linked to the
 * root one, and teardown deletes them all. The "public" addresses are in
 * 11.77.0.0/16, outside libp2p's private ranges (which include 10/8, 100.64/10
 * and every documentation range): AutoNAT and DCUtR ignore private addresses,
 * so a test in private ranges could not exercise them. They exist only inside
 * these namespaces, which have no route out of the machine.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

export interface Home {
  /** The router's LAN address, the home host's default gateway. */
  gatewayIp: string
  /** The router's and the home host's namespaces. */
  router: string
  host: string
  /** The router's public (WAN) address, the address the home's traffic leaves from. */
  wanIp: string
  /** The home host's LAN address. */
  lanIp: string
  /** cone: port-preserving masquerade; symmetric: masquerade random (a new port per connection). */
  nat: 'cone' | 'symmetric'
}

export interface Topology {
  /** The "public" namespace: every public node listens on publicIp. */
  pub: string
  publicIp: string
  homes: Home[]
  destroy: () => void
}

function run (cmd: string, args: string[], input?: string): void {
  execFileSync(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'], input })
}

/** Why namespaces cannot be used here, or undefined when they can. */
export function netnsUnavailable (): string | undefined {
  if (process.platform !== 'linux') return 'not Linux'
  if (process.getuid?.() !== 0) return 'not root (network namespaces need CAP_NET_ADMIN)'
  for (const tool of ['ip', 'nft']) {
    if (spawnSync('which', [tool]).status !== 0) return `${tool} is not installed (apt-get install ${tool === 'ip' ? 'iproute2' : 'nftables'})`
  }
  const probe = `improbe${process.pid}`
  const made = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' })
  if (made.status !== 0) return `cannot create a network namespace: ${made.stderr.trim()}`
  spawnSync('ip', ['netns', 'del', probe])
  return undefined
}

/**
 * pub (11.77.0.1 on its loopback, forwarding between its router links) and one
 * router + host pair per home: host 192.168.N.2 → router 192.168.N.1 | router
 * WAN 11.77.N.2 → pub 11.77.N.1. The routers masquerade what leaves their WAN
 * and let in from it only replies, and what a port mapping forwards (an empty
 * prerouting chain for NAT-PMP's DNAT rules: test/helpers/natPmpServer.ts).
 */
export function createTopology (nats: Array<Home['nat']>): Topology {
  const id = (process.pid % 10000).toString(36)
  const pub = `im${id}pub`
  const homes: Home[] = nats.map((nat, i) => ({ router: `im${id}r${i + 1}`, host: `im${id}h${i + 1}`, wanIp: `11.77.${i + 1}.2`, lanIp: `192.168.${i + 1}.2`, gatewayIp: `192.168.${i + 1}.1`, nat }))
  const made: string[] = []
  const destroy = (): void => {
    for (const ns of made.reverse()) spawnSync('ip', ['netns', 'del', ns])
    made.length = 0
  }
  try {
    const ns = (name: string): void => {
      run('ip', ['netns', 'add', name])
      made.push(name)
      run('ip', ['-n', name, 'link', 'set', 'lo', 'up'])
    }
    ns(pub)
    run('ip', ['-n', pub, 'addr', 'add', '11.77.0.1/32', 'dev', 'lo'])
    run('ip', ['netns', 'exec', pub, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'])
    homes.forEach((home, i) => {
      const n = i + 1
      ns(home.router)
      ns(home.host)
      // pub <-> router (the WAN link)
      run('ip', ['-n', pub, 'link', 'add', `r${n}`, 'type', 'veth', 'peer', 'name', 'wan', 'netns', home.router])
      run('ip', ['-n', pub, 'addr', 'add', `11.77.${n}.1/24`, 'dev', `r${n}`])
      run('ip', ['-n', pub, 'link', 'set', `r${n}`, 'up'])
      run('ip', ['-n', home.router, 'addr', 'add', `${home.wanIp}/24`, 'dev', 'wan'])
      run('ip', ['-n', home.router, 'link', 'set', 'wan', 'up'])
      run('ip', ['-n', home.router, 'route', 'add', 'default', 'via', `11.77.${n}.1`])
      // router <-> host (the LAN)
      run('ip', ['-n', home.router, 'link', 'add', 'lan', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', home.host])
      run('ip', ['-n', home.router, 'addr', 'add', `192.168.${n}.1/24`, 'dev', 'lan'])
      run('ip', ['-n', home.router, 'link', 'set', 'lan', 'up'])
      run('ip', ['-n', home.host, 'addr', 'add', `${home.lanIp}/24`, 'dev', 'eth0'])
      run('ip', ['-n', home.host, 'link', 'set', 'eth0', 'up'])
      run('ip', ['-n', home.host, 'route', 'add', 'default', 'via', `192.168.${n}.1`])
      run('ip', ['netns', 'exec', home.router, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'])
      // The home router: masquerade out of the WAN; from the WAN only replies get in.
      run('ip', ['netns', 'exec', home.router, 'nft', '-f', '-'], `
table ip nat {
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    oifname "wan" masquerade${home.nat === 'symmetric' ? ' random' : ''}
  }
}
table inet filter {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "lan" oifname "wan" accept
    ct status dnat accept
  }
}
`)
    })
    return { pub, publicIp: '11.77.0.1', homes, destroy }
  } catch (err) {
    destroy()
    throw err
  }
}

/** The command prefix that runs a program inside `ns`. */
export function inNamespace (ns: string): string[] {
  return ['ip', 'netns', 'exec', ns]
}

/** A helper process inside a namespace that fetches and runs openai-client calls for the test. */
export class NamespaceAgent {
  private readonly proc: ReturnType<typeof spawn>
  private next = 1
  private readonly pending = new Map<number, (v: Record<string, unknown>) => void>()

  constructor (ns: string) {
    this.proc = spawn(inNamespace(ns)[0]!, [...inNamespace(ns).slice(1), process.execPath, join(import.meta.dirname, 'netnsAgent.ts')], { stdio: ['pipe', 'pipe', 'inherit'] })
    createInterface({ input: this.proc.stdout! }).on('line', line => {
      const msg = JSON.parse(line) as { id: number }
      this.pending.get(msg.id)?.(msg)
      this.pending.delete(msg.id)
    })
  }

  private async send (req: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.next++
    return new Promise(resolve => {
      this.pending.set(id, resolve)
      this.proc.stdin!.write(JSON.stringify({ id, ...req }) + '\n')
    })
  }

  async fetch (url: string, init: { method?: string, headers?: Record<string, string>, body?: string } = {}): Promise<{ status: number, text: string }> {
    const r = await this.send({ op: 'fetch', url, ...init })
    if (r.error != null) throw new Error(String(r.error))
    return { status: r.status as number, text: r.text as string }
  }

  async json<T = any> (url: string): Promise<T> {
    return JSON.parse((await this.fetch(url)).text) as T
  }

  /** A chat completion through the official openai client; the error message (and status) when it fails. */
  async chat (baseURL: string, request: Record<string, unknown>): Promise<{ result?: any, error?: string, status?: number }> {
    return await this.send({ op: 'chat', baseURL, request }) as { result?: any, error?: string, status?: number }
  }

  stop (): void {
    this.proc.kill('SIGKILL')
  }
}
