import { describe, expect, it } from 'vitest'
import { explainVerdict, isLanAddr, looksBehindNat, reachabilityOf, resolveMode, VERDICTS } from '../../../node/discovery/reachability.ts'
import { multiaddr } from '@multiformats/multiaddr'

const PEER = '12D3KooWMYHQPvFYxyPPDzixLhJaq6GC72LixWCzq57LazbQNvYU'
const RELAY = '12D3KooWF9bH8bEJxN1JHX4n4Jttm3JZiCWf7yMxnk8nmRN9EXwB'

describe('reachability verdict', () => {
  const at = (addrs: string[], reserving = false, uptimeMs = 120_000): string => reachabilityOf({ addrs, reserving, uptimeMs })

  it('public when a vouched address is a public IP or a DNS name', () => {
    expect(at([`/ip4/192.168.1.2/tcp/4001/p2p/${PEER}`, `/ip4/11.77.0.1/tcp/4001/p2p/${PEER}`])).toBe('public')
    expect(at([`/dns4/node.example.org/tcp/4001/p2p/${PEER}`])).toBe('public')
    expect(at([`/ip6/2001:4860::1/tcp/4001/p2p/${PEER}`])).toBe('public')
  })

  it('relayed when only a /p2p-circuit address leads here from outside', () => {
    expect(at([`/ip4/192.168.1.2/tcp/4001/p2p/${PEER}`, `/ip4/11.77.0.1/tcp/4102/p2p/${RELAY}/p2p-circuit/p2p/${PEER}`])).toBe('relayed')
  })

  it('a relayed address through a public relay is not a public address of ours', () => {
    expect(at([`/ip4/11.77.0.1/tcp/4102/p2p/${RELAY}/p2p-circuit/p2p/${PEER}`])).toBe('relayed')
  })

  it('local on loopback only; private on LAN addresses, after a minute of looking for a relay', () => {
    expect(at([`/ip4/127.0.0.1/tcp/4001/p2p/${PEER}`, `/ip6/::1/tcp/4001/p2p/${PEER}`])).toBe('local')
    expect(at([`/ip4/10.1.2.3/tcp/4001/p2p/${PEER}`])).toBe('private')
    expect(at([`/ip4/10.1.2.3/tcp/4001/p2p/${PEER}`], true, 5_000)).toBe('checking')
    expect(at([`/ip4/10.1.2.3/tcp/4001/p2p/${PEER}`], true, 61_000)).toBe('private')
    // The documentation and shared ranges are not public either (libp2p treats them as private).
    expect(at([`/ip4/100.64.0.9/tcp/4001/p2p/${PEER}`, `/ip4/198.51.100.7/tcp/4001/p2p/${PEER}`])).toBe('private')
  })

  it('no address at all is not local', () => {
    expect(at([])).toBe('private')
  })

  it('explains every verdict', () => {
    for (const v of VERDICTS) expect(explainVerdict(v).length).toBeGreaterThan(20)
  })
})

describe('looksBehindNat (--relay-reserve auto, --upnp auto)', () => {
  it('a LAN listen address, or a wildcard over LAN interfaces, is the home-router case', () => {
    expect(looksBehindNat(['/ip4/192.168.1.2/tcp/4001'], [], [])).toBe(true)
    expect(looksBehindNat(['/ip4/0.0.0.0/tcp/4001'], [], ['127.0.0.1', '192.168.1.2', '::1'])).toBe(true)
  })

  it('loopback only, a public interface, or an announced address need no relay', () => {
    expect(looksBehindNat(['/ip4/127.0.0.1/tcp/0'], [], ['127.0.0.1', '192.168.1.2'])).toBe(false)
    expect(looksBehindNat(['/ip4/0.0.0.0/tcp/4001'], [], ['127.0.0.1', '192.168.1.2', '11.77.0.1'])).toBe(false)
    expect(looksBehindNat(['/ip4/0.0.0.0/tcp/4001'], ['/ip4/11.77.0.1/tcp/4001'], ['192.168.1.2'])).toBe(false)
    expect(looksBehindNat(['/ip4/0.0.0.0/tcp/4001'], [], ['127.0.0.1'])).toBe(false)
  })

  it('an IPv6 wildcard looks at the IPv6 interfaces only', () => {
    expect(looksBehindNat(['/ip6/::/tcp/4001'], [], ['192.168.1.2', 'fd00::2'])).toBe(true)
    expect(looksBehindNat(['/ip6/::/tcp/4001'], [], ['192.168.1.2', '2001:4860::2'])).toBe(false)
  })

  it('ignores what it cannot parse', () => {
    expect(looksBehindNat(['not a multiaddr', '/dns4/x.example/tcp/1'], [], ['192.168.1.2'])).toBe(false)
  })
})

describe('modes', () => {
  it('auto follows the rule; always/on and never/off override it; anything else is a config error naming the field', () => {
    expect(resolveMode('auto', 'relayReserve', true)).toBe(true)
    expect(resolveMode('auto', 'relayReserve', false)).toBe(false)
    expect(resolveMode('always', 'relayReserve', false)).toBe(true)
    expect(resolveMode('never', 'relayReserve', true)).toBe(false)
    expect(resolveMode('on', 'upnp', false)).toBe(true)
    expect(resolveMode('off', 'upnp', true)).toBe(false)
    expect(() => resolveMode('sometimes', 'upnp', true)).toThrow(/upnp must be auto, on or off/)
    expect(() => resolveMode('yes', 'relayReserve', true)).toThrow(/relayReserve must be auto, always or never/)
  })
})

describe('LAN addresses', () => {
  it('private non-loopback IPs, not relayed addresses', () => {
    expect(isLanAddr(multiaddr('/ip4/192.168.1.2/tcp/1'))).toBe(true)
    expect(isLanAddr(multiaddr('/ip4/127.0.0.1/tcp/1'))).toBe(false)
    expect(isLanAddr(multiaddr('/ip4/11.77.0.1/tcp/1'))).toBe(false)
    expect(isLanAddr(multiaddr(`/ip4/192.168.1.9/tcp/1/p2p/${RELAY}/p2p-circuit/p2p/${PEER}`))).toBe(false)
  })
})
