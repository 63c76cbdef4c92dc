import { generateKeyPair } from '@libp2p/crypto/keys'
import type { MultiaddrConnection, PeerId } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { Blocklist } from '../../../../node/gating/blocklist.ts'
import { createConnectionGater, hostGroupOf, ipOf, isLoopbackIp, type GaterDenial } from '../../../../node/gating/connectionGater.ts'
import { openDb } from '../../../../node/store/db.ts'
import { BlocklistRepository } from '../../../../node/store/repositories.ts'
import { tempDir } from '../../../helpers/nodeProcess.ts'

const newPeer = async (): Promise<PeerId> => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))

/** The part of a MultiaddrConnection the gater reads: its remote address and its 'close' event. */
function socketFrom (addr: string): MultiaddrConnection & { close: () => void } {
  const events = new EventTarget()
  return Object.assign(events, {
    remoteAddr: multiaddr(addr),
    close: () => { events.dispatchEvent(new Event('close')) }
  }) as unknown as MultiaddrConnection & { close: () => void }
}

describe('connection gater', () => {
  it('refuses blocked peers on dial and on both handshakes, and lets others through', async () => {
    const bad = await newPeer()
    const good = await newPeer()
    const blocked = new Set([bad.toString()])
    const denied: GaterDenial[] = []
    const g = createConnectionGater({ isBlocked: p => blocked.has(p), maxInboundPerIp: 4, maxInboundPerLoopbackIp: 100, onDenied: r => denied.push(r) })
    const sock = socketFrom('/ip4/10.0.0.1/tcp/4001')
    expect(await g.denyDialPeer!(bad)).toBe(true)
    expect(await g.denyInboundEncryptedConnection!(bad, sock)).toBe(true)
    expect(await g.denyOutboundEncryptedConnection!(bad, sock)).toBe(true)
    expect(await g.denyDialPeer!(good)).toBe(false)
    expect(await g.denyInboundEncryptedConnection!(good, sock)).toBe(false)
    expect(denied).toEqual(['blocked-peer', 'blocked-peer', 'blocked-peer'])
    // The lookup is late-bound: unblocking takes effect on the next call.
    blocked.delete(bad.toString())
    expect(await g.denyDialPeer!(bad)).toBe(false)
  })

  it('refuses to dial a peer in hang-up backoff, and only to dial: its inbound handshakes pass', async () => {
    const peer = await newPeer()
    let backingOff = true
    const denied: GaterDenial[] = []
    const g = createConnectionGater({ isBlocked: () => false, isBackingOff: p => backingOff && p === peer.toString(), maxInboundPerIp: 4, maxInboundPerLoopbackIp: 100, onDenied: r => denied.push(r) })
    expect(await g.denyDialPeer!(peer)).toBe(true)
    expect(await g.denyInboundEncryptedConnection!(peer, socketFrom('/ip4/10.0.0.1/tcp/4001'))).toBe(false)
    expect(denied).toEqual(['dial-backoff'])
    backingOff = false
    expect(await g.denyDialPeer!(peer)).toBe(false)
  })

  it('caps inbound connections per IP, frees a slot when a socket closes, and gives loopback its own cap', async () => {
    const g = createConnectionGater({ isBlocked: () => false, maxInboundPerIp: 2, maxInboundPerLoopbackIp: 5 })
    const a1 = socketFrom('/ip4/203.0.113.7/tcp/1001')
    const a2 = socketFrom('/ip4/203.0.113.7/tcp/1002')
    expect(await g.denyInboundConnection!(a1)).toBe(false)
    expect(await g.denyInboundConnection!(a2)).toBe(false)
    expect(await g.denyInboundConnection!(socketFrom('/ip4/203.0.113.7/tcp/1003'))).toBe(true)
    // Another IP has its own count.
    expect(await g.denyInboundConnection!(socketFrom('/ip6/2001:db8::1/tcp/1'))).toBe(false)
    expect(g.inboundFrom('203.0.113.7')).toBe(2)
    a1.close()
    a1.close() // a second close event must not free a second slot
    expect(g.inboundFrom('203.0.113.7')).toBe(1)
    expect(await g.denyInboundConnection!(socketFrom('/ip4/203.0.113.7/tcp/1004'))).toBe(false)
    expect(await g.denyInboundConnection!(socketFrom('/ip4/203.0.113.7/tcp/1005'))).toBe(true)
    // Loopback: five, not two.
    for (let i = 0; i < 5; i++) expect(await g.denyInboundConnection!(socketFrom(`/ip4/127.0.0.1/tcp/${2000 + i}`))).toBe(false)
    expect(await g.denyInboundConnection!(socketFrom('/ip4/127.0.0.1/tcp/2999'))).toBe(true)
    // No IP (e.g. a unix socket): nothing to count.
    expect(await g.denyInboundConnection!(socketFrom('/unix/tmp%2Fsock'))).toBe(false)
  })

  it('recognizes loopback and reads IPs from multiaddrs', () => {
    expect(isLoopbackIp('127.0.0.1')).toBe(true)
    expect(isLoopbackIp('127.8.9.10')).toBe(true)
    expect(isLoopbackIp('::1')).toBe(true)
    expect(isLoopbackIp('10.0.0.1')).toBe(false)
    expect(isLoopbackIp('2001:db8::1')).toBe(false)
    expect(ipOf(multiaddr('/ip4/192.0.2.1/tcp/1'))).toBe('192.0.2.1')
    expect(ipOf(multiaddr('/ip6/::1/tcp/1'))).toBe('::1')
    expect(ipOf(multiaddr('/dns4/example.com/tcp/1'))).toBeUndefined()
  })
})

describe('blocklist', () => {
  it('persists operator blocks across reopen and adds fraud bans without storing them', async () => {
    const dir = tempDir()
    const a = (await newPeer()).toString()
    const b = (await newPeer()).toString()
    const c = (await newPeer()).toString()
    let db = await openDb(dir)
    let list = new Blocklist(new BlocklistRepository(db))
    expect(await list.load()).toBe(0)
    expect(await list.block(a, 1000)).toBe(true)
    expect(await list.block(a, 2000)).toBe(false)
    expect(await list.block(b, 3000)).toBe(true)
    expect(await list.unblock(b)).toBe(true)
    expect(await list.unblock(b)).toBe(false)
    list.fraudBanned = () => new Set([c])
    expect(list.has(a)).toBe(true)
    expect(list.has(b)).toBe(false)
    expect(list.has(c)).toBe(true)
    await db.close()
    db = await openDb(dir)
    list = new Blocklist(new BlocklistRepository(db))
    expect(await list.load()).toBe(1)
    expect(list.operatorBlocked()).toEqual([{ peerId: a, blockedAt: 1000 }])
    expect(list.has(c)).toBe(false)
    await db.close()
  })
})

describe('hostGroupOf: what one host controls', () => {
  it('is the address for IPv4 and IPv4-mapped IPv6, the /64 for IPv6', () => {
    expect(hostGroupOf('203.0.113.7')).toBe('203.0.113.7')
    expect(hostGroupOf('::ffff:203.0.113.7')).toBe('203.0.113.7')
    expect(hostGroupOf('::1')).toBe('::1')
    expect(hostGroupOf('2001:db8:1:2::7')).toBe('2001:db8:1:2::/64')
    expect(hostGroupOf('2001:0db8:0001:0002:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64')
    expect(hostGroupOf('2001:db8::1')).toBe('2001:db8:0:0::/64')
    expect(hostGroupOf('fe80::1:2:3:4')).toBe('fe80:0:0:0::/64')
  })

  it('every address of one /64 counts against one cap; another /64 has its own', async () => {
    const g = createConnectionGater({ isBlocked: () => false, maxInboundPerIp: 3, maxInboundPerLoopbackIp: 100 })
    for (let i = 1; i <= 3; i++) expect(await g.denyInboundConnection!(socketFrom(`/ip6/2001:db8:1:2::${i.toString(16)}/tcp/1`))).toBe(false)
    // A fourth address in the same /64 is the same host.
    expect(await g.denyInboundConnection!(socketFrom('/ip6/2001:db8:1:2:ffff:ffff:ffff:ffff/tcp/1'))).toBe(true)
    expect(g.inboundFrom('2001:db8:1:2::99')).toBe(3)
    expect(await g.denyInboundConnection!(socketFrom('/ip6/2001:db8:1:3::1/tcp/1'))).toBe(false)
  })
})
