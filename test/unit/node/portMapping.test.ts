import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { defaultGatewayIPv4 } from '../../../node/discovery/portMapping.ts'

// /proc/net/route as Linux writes it: addresses in host (little-endian) byte order.
const TABLE = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
`

describe('defaultGatewayIPv4', () => {
  it('reads the default route\'s gateway from /proc/net/route', () => {
    expect(defaultGatewayIPv4(TABLE)).toBe('192.168.1.1')
  })

  it('ignores routes that are not up or have no gateway, and a table without a default', () => {
    expect(defaultGatewayIPv4(TABLE.replace('\t0003\t', '\t0001\t'))).toBeUndefined()
    expect(defaultGatewayIPv4(TABLE.split('\n').slice(0, 2).join('\n'))).toBeUndefined()
    expect(defaultGatewayIPv4('')).toBeUndefined()
  })

  it('never throws on any text, and gives a dotted quad or nothing', () => {
    const hex = (max: number): fc.Arbitrary<string> => fc.string({ unit: fc.constantFrom(...'0123456789ABCDEFabcdefx-'), maxLength: max })
    fc.assert(fc.property(fc.string({ maxLength: 400 }), fc.array(fc.tuple(fc.oneof(fc.constant('00000000'), hex(8)), hex(9), hex(4)), { maxLength: 5 }), (noise, rows) => {
      const table = ['Iface\tDestination\tGateway\tFlags', ...rows.map(([d, g, f]) => `x\t${d}\t${g}\t${f}`), noise].join('\n')
      const ip = defaultGatewayIPv4(table)
      expect(ip === undefined || /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ip)).toBe(true)
    }), { numRuns: 2000 })
  })
})
