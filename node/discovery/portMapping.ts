/**
 * The port-mapping client behind --upnp: UPnP IGD gateways found by SSDP, as
 * @libp2p/upnp-nat does by itself, and NAT-PMP (RFC 6886) on the default
 * gateway, which @libp2p/upnp-nat 4.0.28 declares and never uses. Many home
 * routers speak only one of the two (Apple's and many ISP boxes: NAT-PMP/PCP;
 * most others: UPnP IGD). Each gateway found is given to @libp2p/upnp-nat,
 * which maps the listen port and lets AutoNAT confirm the mapped address.
 */
import { readFileSync } from 'node:fs'
import { pmpNat, upnpNat, type FindGatewaysOptions, type Gateway, type UPnPNAT } from '@achingbrain/nat-port-mapper'
import { isPrivateIp } from '@libp2p/utils'

/** The IPv4 default gateway from the kernel's routing table (Linux), or undefined. */
export function defaultGatewayIPv4 (routeTable = readRouteTable()): string | undefined {
  for (const line of routeTable.split('\n').slice(1)) {
    const [, destination, gateway, flags] = line.trim().split(/\s+/)
    if (destination !== '00000000' || gateway == null || flags == null) continue
    // RTF_UP | RTF_GATEWAY
    if ((parseInt(flags, 16) & 0x3) !== 0x3) continue
    const n = parseInt(gateway, 16)
    if (!Number.isFinite(n) || n === 0) continue
    // /proc/net/route writes the address in host (little-endian) byte order.
    return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff].join('.')
  }
  return undefined
}

function readRouteTable (): string {
  try {
    return readFileSync('/proc/net/route', 'utf8')
  } catch {
    return ''
  }
}

/**
 * UPnP IGD and, when the default gateway is a private address (a home
 * router; a public one is no NAT of ours), NAT-PMP on it.
 */
export function portMappingClient (gatewayIp = defaultGatewayIPv4()): UPnPNAT {
  const upnp = upnpNat()
  let pmp: Gateway | undefined
  return {
    async * findGateways (options?: FindGatewaysOptions): AsyncGenerator<Gateway, void, unknown> {
      if (gatewayIp != null && isPrivateIp(gatewayIp) === true) {
        pmp ??= pmpNat(gatewayIp)
        yield pmp
      }
      yield * upnp.findGateways(options)
    },
    getGateway: async (descriptor, options) => upnp.getGateway(descriptor, options)
  }
}
