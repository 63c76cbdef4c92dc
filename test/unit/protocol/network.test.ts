import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { fromHex, toHex } from '../../../protocol/bytes.ts'
import { encodeCanonical } from '../../../protocol/codec.ts'
import { ErrorCode } from '../../../protocol/errors.ts'
import { identityFromSeed } from '../../../protocol/identity.ts'
import { networkDefinitionSchema, networkFromDefinition, networkIdOf, parseNetworkDefinition, protocolIds } from '../../../protocol/network.ts'
import { MINIMAL_NETWORK_INPUT, SEED_A, SEED_B, goldenNetworkInput } from '../../fixtures/golden-inputs.ts'
import { catchCoded, expectCode, golden } from './helpers.ts'

const A = identityFromSeed(SEED_A)
const B = identityFromSeed(SEED_B)
/** A fresh deep copy of the golden definition input, safe to mutate. */
const input = (): Record<string, any> => structuredClone(goldenNetworkInput(A.peerId, B.peerId))
const agreedHex = (def: object): string => {
  const { bootstrap: _bootstrap, ...agreed } = def as Record<string, unknown>
  return toHex(encodeCanonical(agreed))
}

describe('network: golden vectors', () => {
  it.each(['golden', 'minimal'] as const)('the %s definition has the pinned canonical bytes, id and prefix', name => {
    const net = parseNetworkDefinition(name === 'golden' ? input() : MINIMAL_NETWORK_INPUT)
    const g = golden.network[name]
    expect(agreedHex(net.definition)).toBe(g.agreedHex)
    expect(net.idHex).toBe(g.idHex)
    expect(toHex(net.id)).toBe(g.idHex)
    expect(net.protocolPrefix).toBe(g.protocolPrefix)
  })

  it('the network id is sha256 of the pinned canonical bytes', () => {
    for (const g of Object.values(golden.network)) {
      expect(createHash('sha256').update(fromHex(g.agreedHex)).digest('hex')).toBe(g.idHex)
    }
  })

  it('networkFromDefinition and networkIdOf agree with parseNetworkDefinition', () => {
    const net = parseNetworkDefinition(input())
    expect(toHex(networkIdOf(net.definition))).toBe(net.idHex)
    expect(networkFromDefinition(net.definition).idHex).toBe(net.idHex)
    expect(net.id.length).toBe(32)
  })
})

describe('network: defaults', () => {
  it('a definition with only a name parses with the documented defaults', () => {
    const net = parseNetworkDefinition({ name: 'local' })
    expect(net.definition).toEqual({
      name: 'local',
      bootstrap: [],
      anchors: [],
      epochSeconds: 60,
      recordTtlSeconds: 120,
      commitRevealEpochs: 1,
      finalityEpochs: 2,
      consensus: { kappa: 0.5, bondAlpha: 0.1, fraudPenaltyEpochs: 10, windowEpochs: 32, endorsementDepth: 3 },
      limits: { maxRecordBytes: 8192, maxMessageBytes: 1024 * 1024, maxClockSkewSeconds: 30 }
    })
    expect(net.protocolPrefix).toBe('/infermesh/local')
  })

  it('fills defaults inside partly given nested objects', () => {
    const net = parseNetworkDefinition({ name: 'x', consensus: { kappa: 0.6 }, limits: { maxRecordBytes: 1024 } })
    expect(net.definition.consensus).toEqual({ kappa: 0.6, bondAlpha: 0.1, fraudPenaltyEpochs: 10, windowEpochs: 32, endorsementDepth: 3 })
    expect(net.definition.limits).toEqual({ maxRecordBytes: 1024, maxMessageBytes: 1024 * 1024, maxClockSkewSeconds: 30 })
  })

  it('spelling out the defaults gives the same network id as omitting them', () => {
    const implicit = parseNetworkDefinition({ name: 'local' })
    const explicit = parseNetworkDefinition({ ...implicit.definition })
    expect(explicit.idHex).toBe(implicit.idHex)
    expect(explicit.idHex).toBe(golden.network.minimal.idHex)
  })

  it('parsing twice gives independent objects (defaults are not shared)', () => {
    const a = parseNetworkDefinition({ name: 'a' })
    const b = parseNetworkDefinition({ name: 'b' })
    expect(a.definition.limits).not.toBe(b.definition.limits)
    expect(a.definition.anchors).not.toBe(b.definition.anchors)
  })
})

describe('network: id', () => {
  const base = parseNetworkDefinition(input())

  it('ignores bootstrap addresses', () => {
    for (const bootstrap of [[], [`/ip4/10.0.0.1/tcp/1/p2p/${B.peerId}`], [`/dns4/seed.example/tcp/4001/p2p/${A.peerId}`, `/ip6/::1/tcp/2/p2p/${B.peerId}`]]) {
      expect(parseNetworkDefinition({ ...input(), bootstrap }).idHex).toBe(base.idHex)
    }
    const { bootstrap: _bootstrap, ...noBootstrap } = input()
    expect(parseNetworkDefinition(noBootstrap).idHex).toBe(base.idHex)
  })

  it('does not depend on key order in the input', () => {
    const reversed = Object.fromEntries(Object.entries(input()).reverse())
    expect(parseNetworkDefinition(reversed).idHex).toBe(base.idHex)
  })

  // One change per agreed field; the list must cover every field but bootstrap.
  const changes: Array<[string, (d: Record<string, any>) => void]> = [
    ['name', d => { d.name = 'golden2' }],
    ['anchors', d => { d.anchors[0].power = 4 }],
    ['anchors', d => { d.anchors.reverse() }],
    ['anchors', d => { d.anchors.pop() }],
    ['anchors', d => { d.anchors = [] }],
    ['epochSeconds', d => { d.epochSeconds = 31 }],
    ['recordTtlSeconds', d => { d.recordTtlSeconds = 91 }],
    ['commitRevealEpochs', d => { d.commitRevealEpochs = 3 }],
    ['finalityEpochs', d => { d.finalityEpochs = 4 }],
    ['consensus', d => { d.consensus.kappa = 0.51 }],
    ['consensus', d => { d.consensus.bondAlpha = 0.2 }],
    ['limits', d => { d.limits.maxRecordBytes = 4097 }],
    ['limits', d => { d.limits.maxMessageBytes = 65537 }],
    ['limits', d => { d.limits.maxClockSkewSeconds = 11 }]
  ]

  it('the change list covers every field of the schema except bootstrap', () => {
    const covered = new Set(changes.map(([f]) => f))
    const fields = Object.keys(networkDefinitionSchema.shape).filter(f => f !== 'bootstrap')
    expect([...covered].sort()).toEqual(fields.sort())
  })

  it.each(changes)('changes when %s changes', (_field, change) => {
    const d = input()
    change(d)
    const changed = parseNetworkDefinition(d)
    expect(changed.idHex).not.toBe(base.idHex)
    expect(agreedHex(changed.definition)).not.toBe(agreedHex(base.definition))
  })

  it('all changed definitions have distinct ids, distinct from the base', () => {
    const ids = changes.map(([, change]) => {
      const d = input()
      change(d)
      return parseNetworkDefinition(d).idHex
    })
    expect(new Set([base.idHex, ...ids]).size).toBe(ids.length + 1)
  })
})

describe('network: malformed definitions throw NETWORK_INVALID naming the field', () => {
  const pid = A.peerId
  const cases: Array<[string, (d: Record<string, any>) => unknown, string]> = [
    ['upper-case name', d => { d.name = 'Golden' }, 'name'],
    ['empty name', d => { d.name = '' }, 'name'],
    ['name with a slash', d => { d.name = 'a/b' }, 'name'],
    ['name starting with -', d => { d.name = '-x' }, 'name'],
    ['name of 33 chars', d => { d.name = 'a'.repeat(33) }, 'name'],
    ['name with a trailing newline', d => { d.name = 'golden\n' }, 'name'],
    ['name not a string', d => { d.name = 7 }, 'name'],
    ['missing name', d => { delete d.name }, 'name'],
    ['unknown top-level key', d => { d.extra = 1 }, 'extra'],
    ['bootstrap not an array', d => { d.bootstrap = `/ip4/1.2.3.4/tcp/1/p2p/${pid}` }, 'bootstrap'],
    ['bootstrap entry without /p2p', d => { d.bootstrap = ['/ip4/1.2.3.4/tcp/1'] }, 'bootstrap.0'],
    ['second bootstrap entry bad', d => { d.bootstrap.push('not a multiaddr') }, 'bootstrap.1'],
    ['bad anchor peerId', d => { d.anchors[0].peerId = 'abc' }, 'anchors.0.peerId'],
    ['RSA-style anchor peerId', d => { d.anchors[1].peerId = 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N' }, 'anchors.1.peerId'],
    ['anchor power 0', d => { d.anchors[0].power = 0 }, 'anchors.0.power'],
    ['anchor power fractional', d => { d.anchors[0].power = 1.5 }, 'anchors.0.power'],
    ['anchor power above 65535', d => { d.anchors[0].power = 65536 }, 'anchors.0.power'],
    ['anchor missing power', d => { delete d.anchors[0].power }, 'anchors.0.power'],
    ['unknown anchor key', d => { d.anchors[0].weight = 1 }, 'anchors.0.weight'],
    ['too many anchors', d => { d.anchors = Array.from({ length: 257 }, () => ({ peerId: pid, power: 1 })) }, 'anchors'],
    ['negative epochSeconds', d => { d.epochSeconds = -1 }, 'epochSeconds'],
    ['zero epochSeconds', d => { d.epochSeconds = 0 }, 'epochSeconds'],
    ['fractional epochSeconds', d => { d.epochSeconds = 1.5 }, 'epochSeconds'],
    ['epochSeconds as a string', d => { d.epochSeconds = '60' }, 'epochSeconds'],
    ['epochSeconds NaN', d => { d.epochSeconds = Number.NaN }, 'epochSeconds'],
    ['recordTtlSeconds 1', d => { d.recordTtlSeconds = 1 }, 'recordTtlSeconds'],
    ['commitRevealEpochs 0', d => { d.commitRevealEpochs = 0 }, 'commitRevealEpochs'],
    ['finalityEpochs 65', d => { d.finalityEpochs = 65 }, 'finalityEpochs'],
    ['kappa 1', d => { d.consensus.kappa = 1 }, 'consensus.kappa'],
    ['kappa 0', d => { d.consensus.kappa = 0 }, 'consensus.kappa'],
    ['bondAlpha 0', d => { d.consensus.bondAlpha = 0 }, 'consensus.bondAlpha'],
    ['unknown consensus key', d => { d.consensus.gamma = 1 }, 'consensus.gamma'],
    ['maxRecordBytes 511', d => { d.limits.maxRecordBytes = 511 }, 'limits.maxRecordBytes'],
    ['maxMessageBytes 16 MiB + 1', d => { d.limits.maxMessageBytes = 16 * 1024 * 1024 + 1 }, 'limits.maxMessageBytes'],
    ['maxClockSkewSeconds -1', d => { d.limits.maxClockSkewSeconds = -1 }, 'limits.maxClockSkewSeconds'],
    ['unknown limits key', d => { d.limits.maxFoo = 1 }, 'limits.maxFoo'],
    ['limits not an object', d => { d.limits = 8192 }, 'limits']
  ]

  it.each(cases)('%s → meta.field "%s"', (_name, change, field) => {
    const d = input()
    change(d)
    const err = expectCode(() => parseNetworkDefinition(d, 'seeds/golden.json'), ErrorCode.NETWORK_INVALID, { field })
    expect(err.message).toContain('seeds/golden.json')
    expect(err.message).toContain(`"${field}"`)
  })

  it.each([null, undefined, 'golden', 42, [], [{ name: 'x' }]])('a non-object definition (%j) → meta.field "(root)"', value => {
    expectCode(() => parseNetworkDefinition(value), ErrorCode.NETWORK_INVALID, { field: '(root)' })
  })

  it('with two unknown keys, meta.field names an actual unknown key', () => {
    const err = catchCoded(() => parseNetworkDefinition({ ...input(), foo: 1, bar: 2 }))
    expect(err.code).toBe(ErrorCode.NETWORK_INVALID)
    // "foo.bar" would name a nested field that does not exist.
    expect(['foo', 'bar', 'foo,bar']).toContain(err.meta.field)
  })
})

describe('protocolIds', () => {
  it('gives every stream and topic of the network its own id under its prefix, and the ids peers of a release speak', () => {
    const network = networkFromDefinition(networkDefinitionSchema.parse({ ...MINIMAL_NETWORK_INPUT, name: 'golden-net' }))
    const ids = protocolIds(network)
    // Pinned: changing one breaks every peer of an older release.
    expect(ids).toEqual({
      kad: '/infermesh/golden-net/kad/1.0.0',
      capacityTopic: '/infermesh/golden-net/capacity/1',
      ledgerTopic: '/infermesh/golden-net/ledger/1',
      status: '/infermesh/golden-net/status/1.0.0',
      task: '/infermesh/golden-net/task/2.0.0',
      submit: '/infermesh/golden-net/submit/1.0.0',
      ledgerSync: '/infermesh/golden-net/ledger-sync/1.0.0'
    })
    const other = protocolIds(networkFromDefinition(networkDefinitionSchema.parse({ ...MINIMAL_NETWORK_INPUT, name: 'other' })))
    for (const key of Object.keys(ids) as Array<keyof typeof ids>) expect(other[key]).not.toBe(ids[key])
  })
})
