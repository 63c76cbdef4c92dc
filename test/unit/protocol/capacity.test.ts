import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
import { fromHex, toHex, utf8 } from '../../../protocol/bytes.ts'
import {
  CAPACITY_KEY_NAMESPACE, capacityKey, modelCid, peerFromCapacityKey, selectCapacityRecord,
  signCapacityRecord, verifyCapacityRecord, type CapacityRecord, type VerifyCapacityOptions
} from '../../../protocol/capacity.ts'
import { decodeCanonical, encodeCanonical } from '../../../protocol/codec.ts'
import { CodedError, ErrorCode } from '../../../protocol/errors.ts'
import { identityFromSeed, type Identity } from '../../../protocol/identity.ts'
import { parseNetworkDefinition, type Network } from '../../../protocol/network.ts'
import { SigningDomain, nobleVerify, signDomain, type VerifyFn } from '../../../protocol/signing.ts'
import { EXPIRES_AT, ISSUED_AT, SEED_A, SEED_B, goldenCapacityRecord, goldenNetworkInput } from '../../fixtures/golden-inputs.ts'
import { catchCoded, cborValue, expectCode, flipBit, golden, nativeVerify } from './helpers.ts'

const A = identityFromSeed(SEED_A)
const B = identityFromSeed(SEED_B)
/** Golden network: TTL 90 s, skew 10 s, records up to 4096 bytes. */
const NET = parseNetworkDefinition(goldenNetworkInput(A.peerId, B.peerId))
const OTHER_NET = parseNetworkDefinition({ ...goldenNetworkInput(A.peerId, B.peerId), name: 'other' })
const SKEW_MS = NET.definition.limits.maxClockSkewSeconds * 1000
const TTL_MS = NET.definition.recordTtlSeconds * 1000
const MAX_BYTES = NET.definition.limits.maxRecordBytes
const NOW = ISSUED_AT + 1000

function opts (extra: Partial<VerifyCapacityOptions> = {}): VerifyCapacityOptions {
  return { network: NET, now: NOW, verify: nobleVerify, ...extra }
}

function record (over: Partial<CapacityRecord> = {}, peer = A.peerId, network: Network = NET): CapacityRecord {
  return { ...goldenCapacityRecord(network.id, peer), ...over }
}

/** Builds an envelope by hand, so tests can sign what signCapacityRecord refuses to. */
function envelope (body: unknown, signer: Identity = A, network: Network = NET, bodyBytes?: Uint8Array): Uint8Array {
  const b = bodyBytes ?? encodeCanonical(body)
  return encodeCanonical({ body: b, sig: signDomain(signer.seed, SigningDomain.CAPACITY_RECORD, network.id, b) })
}

function split (bytes: Uint8Array): { body: Uint8Array, sig: Uint8Array } {
  return decodeCanonical(bytes, 1 << 20) as { body: Uint8Array, sig: Uint8Array }
}

const VALID = signCapacityRecord(A, NET, record())

describe('capacity: golden vectors', () => {
  it('signs the fixed record to the pinned envelope, body and signature', () => {
    const signed = signCapacityRecord(A, NET, record())
    expect(NET.idHex).toBe(golden.network.golden.idHex)
    expect(toHex(signed.bytes)).toBe(golden.capacity.recordHex)
    const { body, sig } = split(signed.bytes)
    expect(toHex(body)).toBe(golden.capacity.bodyHex)
    expect(toHex(sig)).toBe(golden.capacity.sigHex)
    expect(toHex(encodeCanonical(record()))).toBe(golden.capacity.bodyHex)
  })

  it('verifies the pinned bytes back to the fixed record, with noble and native', () => {
    for (const verify of [nobleVerify, nativeVerify]) {
      const r = verifyCapacityRecord(fromHex(golden.capacity.recordHex), opts({ verify, key: fromHex(golden.capacity.keyHex) }))
      expect(r).toEqual(record())
    }
  })

  it('pins the DHT key', () => {
    expect(toHex(capacityKey(A.peerId))).toBe(golden.capacity.keyHex)
    expect(Buffer.from(capacityKey(A.peerId)).toString('utf8')).toBe(`/${CAPACITY_KEY_NAMESPACE}/${A.peerId}`)
    expect(CAPACITY_KEY_NAMESPACE).toBe('imcap')
  })

  it('pins the model CIDs', () => {
    for (const [id, cid] of Object.entries(golden.capacity.modelCids)) expect(modelCid(NET, id).toString()).toBe(cid)
    expect(Object.keys(golden.capacity.modelCids)).toEqual(record().models.map(m => m.id))
  })
})

describe('capacity: sign and verify', () => {
  it('round-trips, returning the parsed record', () => {
    expect(VALID.record).toEqual(record())
    expect(verifyCapacityRecord(VALID.bytes, opts())).toEqual(record())
    expect(verifyCapacityRecord(VALID.bytes, opts({ verify: nativeVerify, key: capacityKey(A.peerId) }))).toEqual(record())
  })

  it('round-trips minimal and maximal-field records', () => {
    const minimal = record({ addrs: [], models: [], roles: [], version: '', hardware: { accelerators: [], cpuOnly: true, cpu: { model: '', cores: 1 }, ramMiB: 0 } })
    expect(verifyCapacityRecord(signCapacityRecord(A, NET, minimal).bytes, opts())).toEqual(minimal)
    const b = record({ seq: Number.MAX_SAFE_INTEGER, freeSlots: 65535, roles: ['gateway', 'provider', 'validator'] }, B.peerId)
    expect(verifyCapacityRecord(signCapacityRecord(B, NET, b).bytes, opts({ key: capacityKey(B.peerId) }))).toEqual(b)
  })

  it('uses the verifier it is given', () => {
    const refuse = vi.fn<VerifyFn>(() => false)
    expectCode(() => verifyCapacityRecord(VALID.bytes, opts({ verify: refuse })), ErrorCode.RECORD_BAD_SIGNATURE)
    expect(refuse).toHaveBeenCalledTimes(1)
    expect(toHex(refuse.mock.calls[0]![0])).toBe(toHex(A.publicKey))
  })

  it('signing refuses a record for another peer (RECORD_SIGNER_MISMATCH)', () => {
    expectCode(() => signCapacityRecord(A, NET, record({}, B.peerId)), ErrorCode.RECORD_SIGNER_MISMATCH)
  })

  it('signing refuses an invalid record (RECORD_MALFORMED, naming the field)', () => {
    expectCode(() => signCapacityRecord(A, NET, record({ freeSlots: -1 })), ErrorCode.RECORD_MALFORMED, { field: 'freeSlots' })
  })
})

describe('capacity: each rule has its rejection code', () => {
  it('RECORD_SIGNER_MISMATCH: A\'s record stored under B\'s key', () => {
    expectCode(() => verifyCapacityRecord(VALID.bytes, opts({ key: capacityKey(B.peerId) })), ErrorCode.RECORD_SIGNER_MISMATCH, { signer: A.peerId, key: B.peerId })
  })

  it('RECORD_BAD_SIGNATURE: body names B but A signed it', () => {
    const forged = envelope(record({}, B.peerId), A)
    expectCode(() => verifyCapacityRecord(forged, opts()), ErrorCode.RECORD_BAD_SIGNATURE)
    expectCode(() => verifyCapacityRecord(forged, opts({ key: capacityKey(B.peerId), verify: nativeVerify })), ErrorCode.RECORD_BAD_SIGNATURE)
  })

  it('RECORD_BAD_SIGNATURE: tampered, empty, short or zero signatures', () => {
    const { body, sig } = split(VALID.bytes)
    for (const bad of [flipBit(sig, 0), flipBit(sig, 511), new Uint8Array(0), sig.subarray(0, 63), new Uint8Array(64)]) {
      expectCode(() => verifyCapacityRecord(encodeCanonical({ body, sig: bad }), opts()), ErrorCode.RECORD_BAD_SIGNATURE)
    }
  })

  it('RECORD_BAD_SIGNATURE: a body changed after signing', () => {
    const { sig } = split(VALID.bytes)
    const body = encodeCanonical(record({ freeSlots: 5 }))
    expectCode(() => verifyCapacityRecord(encodeCanonical({ body, sig }), opts()), ErrorCode.RECORD_BAD_SIGNATURE)
  })

  it('RECORD_BAD_SIGNATURE: body claims this network but the signature is for another', () => {
    const replayed = envelope(record(), A, OTHER_NET)
    expectCode(() => verifyCapacityRecord(replayed, opts()), ErrorCode.RECORD_BAD_SIGNATURE)
  })

  it('RECORD_BAD_SIGNATURE: a signature under another domain', () => {
    const body = encodeCanonical(record())
    const sig = signDomain(A.seed, 'infermesh/task-receipt/v1' as SigningDomain, NET.id, body)
    expectCode(() => verifyCapacityRecord(encodeCanonical({ body, sig }), opts()), ErrorCode.RECORD_BAD_SIGNATURE)
  })

  it('RECORD_WRONG_NETWORK: a record signed for another network', () => {
    const other = signCapacityRecord(A, OTHER_NET, record({}, A.peerId, OTHER_NET))
    expect(verifyCapacityRecord(other.bytes, opts({ network: OTHER_NET }))).toEqual(record({}, A.peerId, OTHER_NET))
    expectCode(() => verifyCapacityRecord(other.bytes, opts()), ErrorCode.RECORD_WRONG_NETWORK)
  })

  it('RECORD_EXPIRED: at and after expiresAt, not a millisecond before', () => {
    expect(verifyCapacityRecord(VALID.bytes, opts({ now: EXPIRES_AT - 1 }))).toEqual(record())
    expectCode(() => verifyCapacityRecord(VALID.bytes, opts({ now: EXPIRES_AT })), ErrorCode.RECORD_EXPIRED, { expiresAt: EXPIRES_AT })
    expectCode(() => verifyCapacityRecord(VALID.bytes, opts({ now: EXPIRES_AT + 3_600_000 })), ErrorCode.RECORD_EXPIRED)
  })

  it('RECORD_FROM_FUTURE: issued beyond the tolerated clock skew', () => {
    expect(verifyCapacityRecord(VALID.bytes, opts({ now: ISSUED_AT - SKEW_MS }))).toEqual(record())
    expectCode(() => verifyCapacityRecord(VALID.bytes, opts({ now: ISSUED_AT - SKEW_MS - 1 })), ErrorCode.RECORD_FROM_FUTURE)
  })

  it('RECORD_TTL_TOO_LONG: a lifetime over the network TTL (plus skew)', () => {
    const atLimit = signCapacityRecord(A, NET, record({ expiresAt: ISSUED_AT + TTL_MS + SKEW_MS }))
    expect(verifyCapacityRecord(atLimit.bytes, opts()).expiresAt).toBe(ISSUED_AT + TTL_MS + SKEW_MS)
    const over = signCapacityRecord(A, NET, record({ expiresAt: ISSUED_AT + TTL_MS + SKEW_MS + 1 }))
    expectCode(() => verifyCapacityRecord(over.bytes, opts()), ErrorCode.RECORD_TTL_TOO_LONG)
    const year = signCapacityRecord(A, NET, record({ expiresAt: ISSUED_AT + 365 * 86_400_000 }))
    expectCode(() => verifyCapacityRecord(year.bytes, opts()), ErrorCode.RECORD_TTL_TOO_LONG)
  })

  describe('RECORD_TOO_LARGE', () => {
    /** A correctly signed envelope of exactly `size` bytes, padded through addrs. */
    function envelopeOfSize (size: number): Uint8Array {
      for (let full = 0; full <= 15; full++) {
        for (let n = 1; n <= 256; n++) {
          const addrs = [...Array.from({ length: full }, () => 'a'.repeat(256)), 'b'.repeat(n)]
          // the signature is always 64 bytes, so size the envelope before signing it
          const body = encodeCanonical(record({ addrs }))
          if (encodeCanonical({ body, sig: new Uint8Array(64) }).length === size) {
            const bytes = envelope(undefined, A, NET, body)
            expect(bytes.length).toBe(size)
            return bytes
          }
        }
      }
      throw new Error(`no envelope of exactly ${size} bytes`)
    }

    it('accepts a record of exactly maxRecordBytes and rejects one byte more', () => {
      const exact = envelopeOfSize(MAX_BYTES)
      expect(verifyCapacityRecord(exact, opts()).addrs.length).toBeGreaterThan(1)
      const over = envelopeOfSize(MAX_BYTES + 1)
      expectCode(() => verifyCapacityRecord(over, opts()), ErrorCode.RECORD_TOO_LARGE, { size: MAX_BYTES + 1, limit: MAX_BYTES })
    })

    it('signing refuses a record that would exceed the limit', () => {
      const addrs = Array.from({ length: 16 }, () => 'a'.repeat(256))
      expectCode(() => signCapacityRecord(A, NET, record({ addrs })), ErrorCode.RECORD_TOO_LARGE)
    })

    it('checks size before parsing: over-size garbage is TOO_LARGE', () => {
      expectCode(() => verifyCapacityRecord(new Uint8Array(MAX_BYTES + 1).fill(0xff), opts()), ErrorCode.RECORD_TOO_LARGE)
    })
  })

  describe('RECORD_MALFORMED', () => {
    const { body, sig } = split(VALID.bytes)
    const envelopes: Array<[string, Uint8Array]> = [
      ['empty input', new Uint8Array(0)],
      ['garbage', utf8('not a capacity record')],
      ['a CBOR array', encodeCanonical([body, sig])],
      ['an envelope without sig', encodeCanonical({ body })],
      ['an envelope without body', encodeCanonical({ sig })],
      ['an envelope with an extra key', encodeCanonical({ body, sig, seq: 1 })],
      ['body as text', encodeCanonical({ body: toHex(body), sig })],
      ['sig as text', encodeCanonical({ body, sig: toHex(sig) })],
      ['body bytes that are not CBOR', encodeCanonical({ body: Uint8Array.of(0xff, 0x00), sig })],
      ['an envelope with trailing bytes', Uint8Array.of(...VALID.bytes, 0)],
      ['an envelope with non-canonical key order', fromHex('a2' + '64626f6479' + toHex(encodeCanonical(body)) + '63736967' + toHex(encodeCanonical(sig)))]
    ]
    it.each(envelopes)('%s', (_name, bytes) => {
      expectCode(() => verifyCapacityRecord(bytes, opts()), ErrorCode.RECORD_MALFORMED)
    })

    it('a correctly signed body in non-canonical CBOR (non-minimal integer)', () => {
      const hex = toHex(body)
      expect(hex.endsWith('6966726565536c6f747304')).toBe(true) // "freeSlots": 4, the last entry
      const nonCanonical = fromHex(hex.slice(0, -2) + '1804')
      expectCode(() => verifyCapacityRecord(envelope(undefined, A, NET, nonCanonical), opts()), ErrorCode.RECORD_MALFORMED)
    })

    // Each body is correctly signed by A, so only the body rules can reject it.
    const bodies: Array<[string, (r: Record<string, any>) => void, string]> = [
      ['missing freeSlots', r => { delete r.freeSlots }, 'freeSlots'],
      ['missing peer', r => { delete r.peer }, 'peer'],
      ['unknown version v = 2', r => { r.v = 2 }, 'v'],
      ['network id of 31 bytes', r => { r.network = r.network.subarray(0, 31) }, 'network'],
      ['network id as hex text', r => { r.network = toHex(r.network) }, 'network'],
      ['peer not a PeerId', r => { r.peer = 'alice' }, 'peer'],
      ['negative seq', r => { r.seq = -1 }, 'seq'],
      ['fractional seq', r => { r.seq = 1.5 }, 'seq'],
      ['issuedAt as a string', r => { r.issuedAt = String(ISSUED_AT) }, 'issuedAt'],
      ['17 addresses', r => { r.addrs = Array.from({ length: 17 }, () => '/ip4/1.2.3.4') }, 'addrs'],
      ['an empty address', r => { r.addrs = [''] }, 'addrs.0'],
      ['unknown accelerator kind', r => { r.hardware.accelerators[0].kind = 'fpga' }, 'hardware.accelerators.0.kind'],
      ['accelerator count 0', r => { r.hardware.accelerators[0].count = 0 }, 'hardware.accelerators.0.count'],
      ['missing hardware.cpu', r => { delete r.hardware.cpu }, 'hardware.cpu'],
      ['bad model id', r => { r.models[0].id = '../etc/passwd' }, 'models.0.id'],
      ['unknown backend', r => { r.models[1].backend = 'vllm' }, 'models.1.backend'],
      ['fractional price', r => { r.models[0].priceInMicros = 0.5 }, 'models.0.priceInMicros'],
      ['unknown role', r => { r.roles = ['miner'] }, 'roles.0'],
      ['freeSlots over 65535', r => { r.freeSlots = 65536 }, 'freeSlots'],
      ['version over 128 chars', r => { r.version = 'v'.repeat(129) }, 'version'],
      ['unknown nested key', r => { r.hardware.gpuCount = 1 }, 'hardware.gpuCount'],
      ['unknown top-level key', r => { r.owner = 'mallory' }, 'owner']
    ]
    it.each(bodies)('a signed body with %s (field "%s")', (_name, change, field) => {
      const r = structuredClone(record()) as Record<string, any>
      change(r)
      expectCode(() => verifyCapacityRecord(envelope(r), opts()), ErrorCode.RECORD_MALFORMED, { field })
    })

    it('a signed body that is not a map', () => {
      for (const b of [null, 1, 'record', [], [record()]]) {
        expectCode(() => verifyCapacityRecord(envelope(b), opts()), ErrorCode.RECORD_MALFORMED)
      }
    })

    it('hostile nesting within the default 8192-byte limit', () => {
      const net = parseNetworkDefinition({ name: 'local' })
      const depth = 3500
      const b = new Uint8Array(2 * depth + 1)
      for (let i = 0; i < depth; i++) { b[2 * i] = 0xa1; b[2 * i + 1] = 0x60 }
      expectCode(() => verifyCapacityRecord(b, opts({ network: net })), ErrorCode.RECORD_MALFORMED)
      expectCode(() => verifyCapacityRecord(encodeCanonical({ body: b, sig: new Uint8Array(64) }), opts({ network: net })), ErrorCode.RECORD_MALFORMED)
    })
  })

  describe('RECORD_BAD_KEY', () => {
    const keys: Array<[string, Uint8Array]> = [
      ['not UTF-8', Uint8Array.of(0x2f, 0xff, 0xfe)],
      ['empty', new Uint8Array(0)],
      ['another namespace', utf8(`/pk/${A.peerId}`)],
      ['namespace only', utf8('/imcap/')],
      ['no leading slash', utf8(`imcap/${A.peerId}`)],
      ['a trailing segment', utf8(`/imcap/${A.peerId}/x`)],
      ['a non-PeerId', utf8('/imcap/alice')],
      ['an RSA-style PeerId', utf8('/imcap/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N')]
    ]
    it.each(keys)('key %s', (_name, key) => {
      expectCode(() => peerFromCapacityKey(key), ErrorCode.RECORD_BAD_KEY)
      expectCode(() => verifyCapacityRecord(VALID.bytes, opts({ key })), ErrorCode.RECORD_BAD_KEY)
    })

    it('capacityKey and peerFromCapacityKey round-trip', () => {
      fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), seed => {
        const id = identityFromSeed(seed)
        expect(peerFromCapacityKey(capacityKey(id.peerId))).toBe(id.peerId)
      }), { numRuns: 50 })
    })
  })
})

describe('capacity: selector', () => {
  const at = (over: Partial<CapacityRecord>, signer: Identity = A): Uint8Array => signCapacityRecord(signer, NET, record(over, signer.peerId)).bytes
  const sel = (records: Uint8Array[], extra: Partial<VerifyCapacityOptions> = {}): number => selectCapacityRecord(records, opts({ key: capacityKey(A.peerId), ...extra }))

  it('picks the highest seq', () => {
    expect(sel([at({ seq: 1 }), at({ seq: 3 }), at({ seq: 2 })])).toBe(1)
    expect(sel([at({ seq: 4 }), at({ seq: 3 })])).toBe(0)
    expect(sel([at({ seq: 0 }), at({ seq: 1 })])).toBe(1)
  })

  it('on equal seq, picks the later expiry', () => {
    expect(sel([at({ seq: 2, expiresAt: EXPIRES_AT }), at({ seq: 2, expiresAt: EXPIRES_AT + 5000 })])).toBe(1)
    expect(sel([at({ seq: 2, expiresAt: EXPIRES_AT + 5000 }), at({ seq: 2, expiresAt: EXPIRES_AT })])).toBe(0)
  })

  it('never picks an invalid record over a valid one, whatever its seq', () => {
    const valid = at({ seq: 1 })
    const { body } = split(at({ seq: 99 }))
    const invalid: Array<[string, Uint8Array]> = [
      ['forged signature', encodeCanonical({ body, sig: new Uint8Array(64) })],
      ['signed by B, names A', envelope(record({ seq: 99 }), B)],
      ['expired', at({ seq: 99, expiresAt: NOW })],
      ['from the future', at({ seq: 99, issuedAt: NOW + SKEW_MS + 1, expiresAt: NOW + SKEW_MS + 60_000 })],
      ['TTL too long', at({ seq: 99, expiresAt: ISSUED_AT + 10 * TTL_MS })],
      ['other network', signCapacityRecord(A, OTHER_NET, record({ seq: 99 }, A.peerId, OTHER_NET)).bytes],
      ['B\'s valid record under A\'s key', at({ seq: 99 }, B)],
      ['garbage', utf8('garbage')],
      ['over-size', new Uint8Array(MAX_BYTES + 1)]
    ]
    for (const [name, bad] of invalid) {
      expect(catchCoded(() => verifyCapacityRecord(bad, opts({ key: capacityKey(A.peerId) }))), name).toBeInstanceOf(CodedError)
      expect(sel([bad, valid]), name).toBe(1)
      expect(sel([valid, bad]), name).toBe(0)
    }
    expect(sel([...invalid.map(([, b]) => b), valid])).toBe(invalid.length)
  })

  it('returns 0 when nothing is valid (kad-dht then discards it)', () => {
    expect(sel([])).toBe(0)
    expect(sel([utf8('x'), utf8('y')])).toBe(0)
  })

  it('property: the pick is valid and has the highest (seq, expiresAt) among valid records', () => {
    const kind = fc.constantFrom('valid', 'valid', 'forged', 'expired', 'garbage')
    const entry = fc.tuple(kind, fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 3 }))
    fc.assert(fc.property(fc.array(entry, { minLength: 1, maxLength: 6 }), entries => {
      const records = entries.map(([k, seq, e]) => {
        const expiresAt = EXPIRES_AT + e * 1000
        if (k === 'valid') return at({ seq, expiresAt })
        if (k === 'forged') return envelope(record({ seq: seq + 10, expiresAt }), B)
        if (k === 'expired') return at({ seq: seq + 10, expiresAt: NOW })
        return Uint8Array.of(seq, e)
      })
      const i = sel(records)
      const valid = entries.map(([k, seq, e], j) => ({ k, seq, e, j })).filter(x => x.k === 'valid')
      if (valid.length === 0) {
        expect(i).toBe(0)
        return
      }
      expect(entries[i]![0]).toBe('valid')
      const best = valid.reduce((m, x) => (x.seq > m.seq || (x.seq === m.seq && x.e > m.e)) ? x : m)
      expect([entries[i]![1], entries[i]![2]]).toEqual([best.seq, best.e])
    }), { numRuns: 60 })
  })
})

describe('capacity: modelCid', () => {
  it('is CIDv1 raw over sha256("<network-id-hex>/model/<id>")', () => {
    const cid = modelCid(NET, 'reference/echo')
    expect(cid.version).toBe(1)
    expect(cid.code).toBe(0x55)
    expect(cid.multihash.code).toBe(0x12)
    const digest = createHash('sha256').update(`${NET.idHex}/model/reference/echo`).digest('hex')
    expect(toHex(cid.multihash.digest)).toBe(digest)
  })

  it('is stable, and differs across models and networks', () => {
    const ids = ['reference/echo', 'meta-llama/Llama-3.1-8B-Instruct', 'reference/echo2', 'Reference/echo']
    const cids = new Set<string>()
    for (const net of [NET, OTHER_NET]) {
      for (const id of ids) {
        expect(modelCid(net, id).toString()).toBe(modelCid(net, id).toString())
        cids.add(modelCid(net, id).toString())
      }
    }
    expect(cids.size).toBe(ids.length * 2)
  })

  it('never collides across networks for random model ids', () => {
    fc.assert(fc.property(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,40}$/), id => {
      expect(modelCid(NET, id).toString()).not.toBe(modelCid(OTHER_NET, id).toString())
    }), { numRuns: 100 })
  })
})

describe('capacity: fuzz (the validator only ever throws CodedError)', () => {
  /** Either a CodedError, or the input was the valid record itself. */
  function check (bytes: Uint8Array, key?: Uint8Array): void {
    let r: CapacityRecord
    try {
      r = verifyCapacityRecord(bytes, opts({ key }))
    } catch (err) {
      expect(err).toBeInstanceOf(CodedError)
      expect(Object.values(ErrorCode)).toContain((err as CodedError).code)
      return
    }
    expect(toHex(bytes)).toBe(toHex(VALID.bytes))
    expect(r).toEqual(record())
  }

  it('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), b => check(b)), { numRuns: 300 })
  })

  it('random bytes under a random key', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 80 }), (b, key) => check(b, key)), { numRuns: 300 })
  })

  it('random edits of a valid record', () => {
    const base = Array.from(VALID.bytes)
    const edit = fc.tuple(fc.constantFrom('set', 'flip', 'insert', 'delete', 'truncate'), fc.nat(), fc.integer({ min: 0, max: 255 }))
    fc.assert(fc.property(fc.array(edit, { minLength: 1, maxLength: 3 }), edits => {
      const b = base.slice()
      for (const [op, pos, byte] of edits) {
        const i = pos % (b.length + 1)
        if (op === 'set' && i < b.length) b[i] = byte
        if (op === 'flip' && i < b.length) b[i] = b[i]! ^ (1 << (byte % 8))
        if (op === 'insert') b.splice(i, 0, byte)
        if (op === 'delete') b.splice(i, 1)
        if (op === 'truncate') b.length = i
      }
      check(Uint8Array.from(b), capacityKey(A.peerId))
    }), { numRuns: 300 })
  })

  it('random edits of the body, re-wrapped with the original signature', () => {
    const { body, sig } = split(VALID.bytes)
    const base = Array.from(body)
    fc.assert(fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), (pos, x) => {
      const b = base.slice()
      b[pos % b.length] = b[pos % b.length]! ^ x
      const err = catchCoded(() => verifyCapacityRecord(encodeCanonical({ body: Uint8Array.from(b), sig }), opts()))
      expect([ErrorCode.RECORD_MALFORMED, ErrorCode.RECORD_BAD_SIGNATURE, ErrorCode.RECORD_WRONG_NETWORK, ErrorCode.RECORD_EXPIRED, ErrorCode.RECORD_FROM_FUTURE, ErrorCode.RECORD_TTL_TOO_LONG]).toContain(err.code)
    }), { numRuns: 300 })
  })

  it('correctly signed bodies with a random value in a random field', () => {
    const paths: string[][] = [['v'], ['network'], ['peer'], ['seq'], ['issuedAt'], ['expiresAt'], ['addrs'], ['addrs', '0'],
      ['hardware'], ['hardware', 'accelerators'], ['hardware', 'accelerators', '0', 'memoryMiB'], ['hardware', 'cpu', 'cores'],
      ['models'], ['models', '0'], ['models', '1', 'id'], ['roles'], ['freeSlots'], ['version'], ['extra']]
    fc.assert(fc.property(fc.constantFrom(...paths), cborValue, (path, value) => {
      const r = structuredClone(record()) as Record<string, any>
      let o = r
      for (const p of path.slice(0, -1)) o = o[p]
      o[path.at(-1)!] = value
      let signed: Uint8Array
      try {
        signed = envelope(r)
      } catch {
        return // too big for the codec to carry, not the validator's concern
      }
      let out: CapacityRecord
      try {
        out = verifyCapacityRecord(signed, opts())
      } catch (err) {
        expect(err).toBeInstanceOf(CodedError)
        return
      }
      // accepted only if still a well-formed record: it must re-encode to the signed body
      expect(toHex(encodeCanonical(out))).toBe(toHex(split(signed).body))
    }), { numRuns: 300 })
  })
})

describe('capacity: hardening found in review', () => {
  it('a record that expires before it is issued is malformed', () => {
    const bytes = envelope({ ...record(), issuedAt: NOW + 20, expiresAt: NOW + 10 })
    expectCode(() => verifyCapacityRecord(bytes, opts()), ErrorCode.RECORD_MALFORMED, { field: 'expiresAt' })
  })

  it('signing refuses a record whose network is not the one it is signed for', () => {
    expectCode(() => signCapacityRecord(A, NET, record({ network: OTHER_NET.id })), ErrorCode.RECORD_WRONG_NETWORK)
  })
})

describe('network: hardening found in review', () => {
  it('rejects an anchor listed twice', () => {
    const input = goldenNetworkInput(A.peerId, B.peerId) as Record<string, any>
    const err = catchCoded(() => parseNetworkDefinition({ ...input, anchors: [{ peerId: A.peerId, power: 1 }, { peerId: A.peerId, power: 2 }] }))
    expect(err.code).toBe(ErrorCode.NETWORK_INVALID)
    expect(err.meta.field).toBe('anchors')
  })

  it('rejects a bootstrap address whose /p2p/ part is not an Ed25519 PeerId', () => {
    const input = goldenNetworkInput(A.peerId, B.peerId) as Record<string, any>
    const err = catchCoded(() => parseNetworkDefinition({ ...input, bootstrap: ['/ip4/1.2.3.4/tcp/1/p2p/Qm'] }))
    expect(err.meta.field).toBe('bootstrap.0')
    parseNetworkDefinition({ ...input, bootstrap: [`/ip4/1.2.3.4/tcp/1/p2p/${A.peerId}`] })
  })
})
