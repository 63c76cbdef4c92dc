import { sha256 } from '@noble/hashes/sha2.js'
import { decode as cborDecode } from 'cborg'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { bytesEqual, concatBytes, fromHex, toHex, utf8 } from '../../../../protocol/bytes.ts'
import { decodeCanonical, encodeCanonical } from '../../../../protocol/codec.ts'
import { CodedError, ErrorCode } from '../../../../protocol/errors.ts'
import { identityFromSeed, publicKeyFromPeerId } from '../../../../protocol/identity.ts'
import {
  commitmentOfReveal, commitOpenedBy, decodeEntry, decodeEntryUnverified, entryIdOf, epochOf, epochStartMs, epochWindowProblem, LEDGER_ENTRY_VERSION, MAX_WEIGHTS, packWeights,
  parseDecodedBody, parseEntryBody, readBodyFast, signCommitAndReveal, signEntry, sortWeights, unpackWeights, verifyEntrySignature, type EntryBody, type LedgerEntry, type Weights
} from '../../../../protocol/ledger/entries.ts'
import { packedWeightsProblem, WEIGHT_RECORD_BYTES } from '../../../../protocol/ledger/packedWeights.ts'
import { parseNetworkDefinition } from '../../../../protocol/network.ts'
import { nobleVerify, signDomain, signingMessage, SigningDomain, verifyDomain, type VerifyFn } from '../../../../protocol/signing.ts'
import { requestHash, signReceipt, signTaskRequest, taskOutputHash } from '../../../../protocol/task.ts'
import { cborValue, expectCode, flipBit, nativeVerify } from '../helpers.ts'

const seed = (b: number): Uint8Array => new Uint8Array(32).fill(b)
const author = identityFromSeed(seed(1))
const validator = identityFromSeed(seed(2))
const gateway = identityFromSeed(seed(3))
const p1 = identityFromSeed(seed(4))
const p2 = identityFromSeed(seed(5))
const NET = parseNetworkDefinition({ name: 'ledgernet' })
const OTHER = parseNetworkDefinition({ name: 'othernet' })
/** 20 s into epoch 29833333 of a 60 s epoch. */
const T0 = 1_790_000_000_000
const E = 29_833_333
const SALT = new Uint8Array(32).fill(0x5a)
const WEIGHTS: Weights = sortWeights([{ provider: p1.peerId, weight: 40000 }, { provider: p2.peerId, weight: 25535 }])

function fraudPayload (): Extract<EntryBody, { kind: 'fraud' }>['payload'] {
  const req = signTaskRequest(gateway, NET, {
    v: 1, network: NET.id, id: '0123456789abcdef0123456789abcdef', requester: gateway.peerId, provider: p1.peerId, model: 'ref-tiny', kind: 'chat',
    input: { messages: [{ role: 'user', content: 'hi' }] }, params: { maxTokens: 8, temperature: 0.5, topP: 0.9, seed: 42, stop: [], logprobs: false, topLogprobs: 0 },
    maxPrice: { inMicros: 1000, outMicros: 2000 }, issuedAt: T0 - 5000, deadline: T0 + 55_000
  })
  const receipt = signReceipt(p1, NET, {
    v: 1, network: NET.id, taskId: req.value.id, requestHash: requestHash(req.body), requester: gateway.peerId, provider: p1.peerId, model: 'ref-tiny',
    outputHash: taskOutputHash({ text: 'not what ref-tiny says' }), finishReason: 'length', usage: { promptTokens: 27, completionTokens: 8 }, priceMicros: 1,
    startedAt: T0 - 4000, finishedAt: T0 - 3900
  })
  return { request: { body: req.body, sig: req.sig }, receipt: { body: receipt.body, sig: receipt.sig } }
}

const V = LEDGER_ENTRY_VERSION
const PACKED = packWeights(WEIGHTS)
const revealBody = (): EntryBody => ({ v: V, network: NET.id, kind: 'reveal', author: author.peerId, epoch: E, issuedAt: T0 + 60_000, payload: { weights: PACKED.slice(), salt: SALT } })
const bodies = {
  commit: (): EntryBody => ({ v: V, network: NET.id, kind: 'commit', author: author.peerId, epoch: E, issuedAt: T0, payload: { commitment: commitmentOfReveal(signEntry(author, NET, revealBody())) } }),
  reveal: revealBody,
  fraud: (): EntryBody => ({ v: V, network: NET.id, kind: 'fraud', author: author.peerId, epoch: E, issuedAt: T0, payload: fraudPayload() }),
  endorse: (): EntryBody => ({ v: V, network: NET.id, kind: 'endorse', author: author.peerId, epoch: E, issuedAt: T0, payload: { validator: validator.peerId, share: 13107 } })
}
/** A reveal body for `weights` (any order) and `salt`, issued at `issuedAt` (its epoch is the one before). */
const revealOf = (weights: Weights, salt: Uint8Array, issuedAt: number): EntryBody =>
  ({ v: V, network: NET.id, kind: 'reveal', author: author.peerId, epoch: Math.max(0, epochOf(issuedAt, NET) - 1), issuedAt, payload: { weights: packWeights(weights), salt } })
type Kind = keyof typeof bodies
const KINDS = Object.keys(bodies) as Kind[]

/**
 * Golden entries: fixed seeds, timestamps and deterministic Ed25519, so these
 * bytes never change unless the wire format does. Each is also checked below
 * against an encoding assembled by hand and a signature verified by OpenSSL.
 */
const GOLDEN: Record<Kind, { id: string, hex: string }> = {
  commit: {
    id: '6f6d0099683f078a1d0b2257b54e2e3275ad2051b3c27c18d5f23046ebb1b155',
    hex: 'a26373696758406349caa4f6f4e53a91b3b812f388316e1b2f0cfc0f81e8ebe75002db49764e5a9b452f7186ebb9bcf404ba059f3f0e647177c5c42cc386302b08e57aae6deb0364626f647958caa7617602646b696e6466636f6d6d69746565706f63681a01c7387566617574686f727834313244334b6f6f574b3939566f56784e4537587a79427758457a573778684b37477076383572394633563366794b53554b504835676e6574776f726b5820d6b72c64262608c2fb7320208449f615fc8f9a10095ba2803fbf3679a87141a3677061796c6f6164a16a636f6d6d69746d656e745820ed57eea8084c11616857c1afc70d860ee78dd1acd117c5529172d2226fec21fd6869737375656441741b000001a0c4506c00'
  },
  reveal: {
    id: 'ed57eea8084c11616857c1afc70d860ee78dd1acd117c5529172d2226fec21fd',
    hex: 'a2637369675840d1f5fa94deae7dbb82a7768e838a0f05d21c7a0b42a745cc2c83e84ca5d91e4db79bc6ea10f0cba48797dec7e0eaef0ced35cd8ab0066da91f90e207940eb40864626f6479590112a7617602646b696e646672657665616c6565706f63681a01c7387566617574686f727834313244334b6f6f574b3939566f56784e4537587a79427758457a573778684b37477076383572394633563366794b53554b504835676e6574776f726b5820d6b72c64262608c2fb7320208449f615fc8f9a10095ba2803fbf3679a87141a3677061796c6f6164a26473616c7458205a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a677765696768747358446e7a1cdd29b0b78fd13af4c5598feff4ef2a97166e3ca6f2e4fbfccd80505bf163bfca93ac1705187071d67b83c7ff0efe8108e8ec4530575d7726879333dbdabe7c9c406869737375656441741b000001a0c4515660'
  },
  fraud: {
    id: '842a179262dc1039d03e1490f96c2b97c9f186720b3166ee17b5336dcdbb2ed7',
    hex: 'a2637369675840ac38b9f9293b13db3104e589bebad5fe7cc4a846b30f7fd54a7301d1853c246e65365ae8a9faef055668b82c946bd31eef5fe8046c448c2cc430442628cdbe0264626f64795904a7a7617602646b696e646566726175646565706f63681a01c7387566617574686f727834313244334b6f6f574b3939566f56784e4537587a79427758457a573778684b37477076383572394633563366794b53554b504835676e6574776f726b5820d6b72c64262608c2fb7320208449f615fc8f9a10095ba2803fbf3679a87141a3677061796c6f6164a26772656365697074a2637369675840be6c56df762a43ec573834371f6de6580388ade99d83126605b3405d45f21a2ec7e11a95e730f3d2ebd344f0484928264a62cc7c6ee3ac0002da94fbaeb2a60864626f64795901b0ad617601656d6f64656c687265662d74696e79657573616765a26c70726f6d7074546f6b656e73181b70636f6d706c6574696f6e546f6b656e7308667461736b496478203031323334353637383961626364656630313233343536373839616263646566676e6574776f726b5820d6b72c64262608c2fb7320208449f615fc8f9a10095ba2803fbf3679a87141a36870726f76696465727834313244334b6f6f575054393846584d6644515961765a6d36364565566a547150394e6e65686e3167796179647156384c38425177697265717565737465727834313244334b6f6f57526e645668565a504369517748424242646737363947797250555731337a787771517966397233414e616261697374617274656441741b000001a0c4505c606a66696e697368656441741b000001a0c4505cc46a6f757470757448617368582012407311ce113f1d24d2a35cf4cf27128f703a2da4c33c9df15d05cd08ca93bd6b70726963654d6963726f73016b72657175657374486173685820f71c36f58d70b8f5d2cc9b82e42594c489a15a1c7b52f7871434405b60fa15126c66696e697368526561736f6e666c656e6774686772657175657374a263736967584098b4f07bf0fa1aa40b0bfeb6a8f253c8ecd65fbcc404d9514d8cfd2ff2c288d86f2020150c15851bb6b228d527784d1723a734a6c4a468882988ff8eaf3b8c0c64626f64795901adac61760162696478203031323334353637383961626364656630313233343536373839616263646566646b696e64646368617465696e707574a1686d6573736167657381a264726f6c65647573657267636f6e74656e74626869656d6f64656c687265662d74696e7966706172616d73a76473656564182a6473746f708064746f7050fb3feccccccccccccd686c6f6770726f6273f4696d6178546f6b656e73086b74656d7065726174757265f938006b746f704c6f6770726f627300676e6574776f726b5820d6b72c64262608c2fb7320208449f615fc8f9a10095ba2803fbf3679a87141a368646561646c696e651b000001a0c45142d86869737375656441741b000001a0c4505878686d61785072696365a268696e4d6963726f731903e8696f75744d6963726f731907d06870726f76696465727834313244334b6f6f575054393846584d6644515961765a6d36364565566a547150394e6e65686e3167796179647156384c38425177697265717565737465727834313244334b6f6f57526e645668565a504369517748424242646737363947797250555731337a787771517966397233414e6162616869737375656441741b000001a0c4506c00'
  },
  endorse: {
    id: 'e2baa0769f18cb91246edbcb0217a99b6b0c5bc9f2a08e7e6aae3bda151c4185',
    hex: 'a26373696758401eed7fb7ab73c9c7bbd485bd4df5e60106aa57b118184831522271269135707d0287578902ad66b7e28c83a5cfa2d477a5bb6954cff4b0298b20d5795c98430464626f647958e7a7617602646b696e6467656e646f7273656565706f63681a01c7387566617574686f727834313244334b6f6f574b3939566f56784e4537587a79427758457a573778684b37477076383572394633563366794b53554b504835676e6574776f726b5820d6b72c64262608c2fb7320208449f615fc8f9a10095ba2803fbf3679a87141a3677061796c6f6164a26573686172651933336976616c696461746f727834313244334b6f6f574a576f61715a6844616f454673684637526831627059396f68696846687a6357366436394c72324e415375716869737375656441741b000001a0c4506c00'
  }
}

/** CBOR text string head + UTF-8, by hand (RFC 8949 §3.1, major type 3). */
function tstr (s: string): Uint8Array {
  const b = utf8(s)
  return concatBytes(b.length < 24 ? Uint8Array.of(0x60 | b.length) : Uint8Array.of(0x78, b.length), b)
}

describe('ledger entries: golden bytes', () => {
  for (const kind of KINDS) {
    it(`${kind}: signs to the golden bytes and decodes back`, () => {
      const e = signEntry(author, NET, bodies[kind]())
      expect({ id: e.id, hex: toHex(e.bytes) }).toEqual(GOLDEN[kind])
      const d = decodeEntry(fromHex(GOLDEN[kind].hex), NET, nobleVerify)
      expect(d.id).toBe(GOLDEN[kind].id)
      expect(d.body).toEqual(bodies[kind]())
      expect(encodeCanonical(d.body)).toEqual(encodeCanonical(bodies[kind]()))
    })

    it(`${kind}: the id is sha256 of the envelope and OpenSSL verifies the signature over domain ‖ 0 ‖ network ‖ body`, () => {
      const bytes = fromHex(GOLDEN[kind].hex)
      expect(entryIdOf(bytes)).toBe(GOLDEN[kind].id)
      // Parsed with cborg directly, not through our decoder.
      const env = cborDecode(bytes) as { body: Uint8Array, sig: Uint8Array }
      expect(Object.keys(env).sort()).toEqual(['body', 'sig'])
      const message = concatBytes(utf8('infermesh/ledger-entry/v1'), Uint8Array.of(0), NET.id, env.body)
      expect(SigningDomain.LEDGER_ENTRY).toBe('infermesh/ledger-entry/v1')
      expect(nativeVerify(author.publicKey, message, env.sig)).toBe(true)
      expect(nobleVerify(author.publicKey, message, env.sig)).toBe(true)
    })
  }

  it('the packed weights, the reveal body and the commit body match encodings assembled by hand; the commitment is the reveal\'s id', () => {
    // Deterministic CBOR sorts map keys by their encoded bytes, so shorter keys first.
    expect(WEIGHTS.map(w => w.provider)).toEqual([p2.peerId, p1.peerId]) // sorted
    const u16 = (w: number): Uint8Array => Uint8Array.of(w >> 8, w & 0xff)
    // key ‖ u16 per provider, in key order: p2's key sorts before p1's, as p2's PeerId does before p1's.
    const packed = concatBytes(p2.publicKey, u16(25535), p1.publicKey, u16(40000))
    expect(toHex(PACKED)).toBe(toHex(packed))
    const epoch = concatBytes(Uint8Array.of(0x1a), fromHex(E.toString(16).padStart(8, '0')))
    const revealBodyBytes = concatBytes(
      Uint8Array.of(0xa7),
      tstr('v'), Uint8Array.of(0x02),
      tstr('kind'), tstr('reveal'),
      tstr('epoch'), epoch,
      tstr('author'), tstr(author.peerId),
      tstr('network'), Uint8Array.of(0x58, 0x20), NET.id,
      tstr('payload'), Uint8Array.of(0xa2), tstr('salt'), Uint8Array.of(0x58, 0x20), SALT, tstr('weights'), Uint8Array.of(0x58, packed.length), packed,
      tstr('issuedAt'), Uint8Array.of(0x1b), fromHex((T0 + 60_000).toString(16).padStart(16, '0'))
    )
    const revealEnv = cborDecode(fromHex(GOLDEN.reveal.hex)) as { body: Uint8Array }
    expect(toHex(revealEnv.body)).toBe(toHex(revealBodyBytes))
    // The commitment is sha256 of the reveal's wire bytes, i.e. its id.
    const commitment = sha256(fromHex(GOLDEN.reveal.hex))
    expect(toHex(commitment)).toBe(GOLDEN.reveal.id)
    const body = concatBytes(
      Uint8Array.of(0xa7),
      tstr('v'), Uint8Array.of(0x02),
      tstr('kind'), tstr('commit'),
      tstr('epoch'), epoch,
      tstr('author'), tstr(author.peerId),
      tstr('network'), Uint8Array.of(0x58, 0x20), NET.id,
      tstr('payload'), Uint8Array.of(0xa1), tstr('commitment'), Uint8Array.of(0x58, 0x20), commitment,
      tstr('issuedAt'), Uint8Array.of(0x1b), fromHex(T0.toString(16).padStart(16, '0'))
    )
    const env = cborDecode(fromHex(GOLDEN.commit.hex)) as { body: Uint8Array }
    expect(toHex(env.body)).toBe(toHex(body))
  })
})

describe('ledger entries: signing and decoding', () => {
  it('round-trips every kind through both verifiers', () => {
    for (const kind of KINDS) {
      const e = signEntry(author, NET, bodies[kind]())
      for (const verify of [nobleVerify, nativeVerify]) {
        const d = decodeEntry(e.bytes, NET, verify)
        expect(d).toEqual(e)
      }
    }
  })

  it('the decoded entry keeps bytes that fill most of their buffer, and copies a small part of a larger one', () => {
    const r = signEntry(author, NET, bodies.reveal())
    // Its own buffer (a gossip message read alone): kept as it is, no copy.
    const own = r.bytes.slice()
    const kept = decodeEntry(own, NET, nobleVerify)
    expect(kept.bytes.buffer).toBe(own.buffer)
    expect(kept.body).toEqual(r.body)
    // At least half of a larger buffer: kept too, as a plain Uint8Array even from a Node Buffer.
    for (const frame of [new Uint8Array(r.bytes.length + 100), Buffer.alloc(r.bytes.length + 100)]) {
      frame.set(r.bytes, 37)
      const dv = decodeEntry(frame.subarray(37, 37 + r.bytes.length), NET, nativeVerify)
      expect(dv.bytes.constructor).toBe(Uint8Array)
      expect(dv.bytes.buffer).toBe(frame.buffer)
      expect(toHex(dv.bytes)).toBe(toHex(r.bytes))
    }
    // Under half of it (one entry of a sync response, a small Buffer from Node's pool): a copy of its own,
    // so the entry neither holds the rest alive nor changes with it.
    const e = signEntry(author, NET, bodies.endorse())
    const pooled = Buffer.from(e.bytes)
    expect(pooled.buffer.byteLength).toBeGreaterThan(2 * pooled.length)
    for (const [view, whole] of [[pooled, pooled.buffer], (() => {
      const frame = new Uint8Array(2 * r.bytes.length + 1)
      frame.set(r.bytes, 5)
      return [frame.subarray(5, 5 + r.bytes.length), frame.buffer] as const
    })()] as const) {
      const before = toHex(view)
      const d = decodeEntry(view, NET, nativeVerify)
      new Uint8Array(whole).fill(0)
      expect(d.bytes.constructor).toBe(Uint8Array)
      expect(d.bytes.byteLength).toBe(d.bytes.buffer.byteLength)
      expect(toHex(d.bytes)).toBe(before)
      expect(entryIdOf(d.bytes)).toBe(d.id)
      expect(decodeEntry(d.bytes, NET, nobleVerify).body).toEqual(d.body)
    }
  })

  it('verifyEntrySignature (the message in a reused buffer) agrees with verifyDomain, whatever came before', () => {
    // And a reveal of 400 weights (about 14 kB), packed by hand: sorted distinct keys.
    const packed = new Uint8Array(400 * WEIGHT_RECORD_BYTES)
    for (let i = 0; i < 400; i++) {
      packed[i * WEIGHT_RECORD_BYTES] = i >> 8
      packed[i * WEIGHT_RECORD_BYTES + 1] = i & 0xff
      packed[i * WEIGHT_RECORD_BYTES + 33] = 1
    }
    const big = revealBody()
    const entries = [...KINDS.map(kind => signEntry(author, NET, bodies[kind]())), signEntry(author, NET, { ...big, payload: { weights: packed, salt: SALT } } as EntryBody)]
    const parts = entries.map(e => {
      const env = decodeCanonical(e.bytes, Number.MAX_SAFE_INTEGER) as { body: Uint8Array, sig: Uint8Array }
      return { e, body: env.body, key: publicKeyFromPeerId(e.body.author) }
    })
    const seen: string[] = []
    // A verifier that looks at what it is given: the exact message, only during the call.
    const spy: VerifyFn = (pk, message, sig) => {
      seen.push(toHex(message))
      return nativeVerify(pk, message, sig)
    }
    // Largest first, then smaller: what a longer message left in the buffer must never count.
    const order = [...parts].sort((a, b) => b.body.length - a.body.length)
    for (let round = 0; round < 2; round++) {
      for (const { e, body, key } of [...order, ...order.reverse()]) {
        for (const net of [NET, OTHER]) {
          const bad = flipBit(e.sig, 5)
          for (const sig of [e.sig, bad, e.sig.subarray(0, 63), new Uint8Array(0)]) {
            seen.length = 0
            const want = verifyDomain(nativeVerify, key, sig, SigningDomain.LEDGER_ENTRY, net.id, body)
            expect(verifyEntrySignature(spy, key, sig, net.id, body)).toBe(want)
            if (sig.length === 64) expect(seen).toEqual([toHex(signingMessage(SigningDomain.LEDGER_ENTRY, net.id, body))])
            else expect(seen).toEqual([])
          }
        }
      }
    }
    // A verifier that verifies another entry inside its own call gets a message of its own for each.
    const [a, b] = [parts[0]!, parts[parts.length - 1]!]
    const nested: VerifyFn = (pk, message, sig) => {
      const inner = verifyEntrySignature(nativeVerify, b.key, b.e.sig, NET.id, b.body)
      return inner && nativeVerify(pk, message, sig)
    }
    expect(verifyEntrySignature(nested, a.key, a.e.sig, NET.id, a.body)).toBe(true)
    expect(verifyEntrySignature(nativeVerify, a.key, a.e.sig, NET.id, a.body)).toBe(true)
    // A body larger than the reused buffer is kept to still verifies (a message of its own).
    const huge = new Uint8Array(300 * 1024).fill(7)
    const sig = signDomain(author.seed, SigningDomain.LEDGER_ENTRY, NET.id, huge)
    expect(verifyEntrySignature(nativeVerify, publicKeyFromPeerId(author.peerId), sig, NET.id, huge)).toBe(true)
    expect(verifyEntrySignature(nativeVerify, publicKeyFromPeerId(author.peerId), flipBit(sig, 0), NET.id, huge)).toBe(false)
  })

  it('refuses to sign for another author, another network, or a malformed body', () => {
    expectCode(() => signEntry(validator, NET, bodies.commit()), ErrorCode.ENTRY_MALFORMED, { field: 'author' })
    expectCode(() => signEntry(author, OTHER, bodies.commit()), ErrorCode.ENTRY_WRONG_NETWORK)
    const record = (i: number): Uint8Array => PACKED.subarray(i * WEIGHT_RECORD_BYTES, (i + 1) * WEIGHT_RECORD_BYTES)
    const withWeights = (weights: unknown): EntryBody => ({ ...bodies.reveal(), payload: { weights, salt: SALT } }) as EntryBody
    expectCode(() => signEntry(author, NET, withWeights(concatBytes(record(1), record(0)))), ErrorCode.ENTRY_MALFORMED, { field: 'payload.weights' })
    expectCode(() => signEntry(author, NET, withWeights(concatBytes(record(0), record(0)))), ErrorCode.ENTRY_MALFORMED, { field: 'payload.weights' })
    expectCode(() => signEntry(author, NET, withWeights(PACKED.subarray(0, PACKED.length - 1))), ErrorCode.ENTRY_MALFORMED, { field: 'payload.weights' })
    expectCode(() => signEntry(author, NET, withWeights(WEIGHTS)), ErrorCode.ENTRY_MALFORMED, { field: 'payload.weights' })
    // packWeights refuses what cannot be packed, naming the same field
    expectCode(() => packWeights([WEIGHTS[0]!, WEIGHTS[0]!]), ErrorCode.ENTRY_MALFORMED, { field: 'payload.weights' })
    expectCode(() => packWeights([{ provider: p1.peerId, weight: 65536 }]), ErrorCode.ENTRY_MALFORMED, { field: 'payload.weights' })
    expectCode(() => packWeights([{ provider: p1.peerId, weight: 1.5 }]), ErrorCode.ENTRY_MALFORMED, { field: 'payload.weights' })
    expectCode(() => packWeights([{ provider: 'QmNotAnEd25519Key', weight: 1 }]), ErrorCode.ENTRY_MALFORMED, { field: 'payload.weights' })
    const shortSalt = { ...bodies.reveal(), payload: { weights: PACKED, salt: new Uint8Array(31) } } as EntryBody
    expectCode(() => signEntry(author, NET, shortSalt), ErrorCode.ENTRY_MALFORMED)
    const extra = { ...bodies.endorse(), extra: 1 } as unknown as EntryBody
    expectCode(() => signEntry(author, NET, extra), ErrorCode.ENTRY_MALFORMED, { field: 'extra' })
    const badKind = { ...bodies.endorse(), kind: 'vote' } as unknown as EntryBody
    expectCode(() => signEntry(author, NET, badKind), ErrorCode.ENTRY_MALFORMED)
    const badPeer = { ...bodies.endorse(), payload: { validator: 'QmNotAnEd25519Key', share: 1 } } as EntryBody
    expectCode(() => signEntry(author, NET, badPeer), ErrorCode.ENTRY_MALFORMED)
  })

  it('caps a weight vector at MAX_WEIGHTS providers and the entry at the message limit', () => {
    const small = parseNetworkDefinition({ name: 'smallnet', limits: { maxMessageBytes: 1024 } })
    // MAX_WEIGHTS + 1 distinct keys in order (key i starts with i, big-endian)
    const many = new Uint8Array((MAX_WEIGHTS + 1) * WEIGHT_RECORD_BYTES)
    for (let i = 0; i <= MAX_WEIGHTS; i++) many.set([i >> 8, i & 0xff], i * WEIGHT_RECORD_BYTES)
    expect(packedWeightsProblem(many.subarray(WEIGHT_RECORD_BYTES))).toBeUndefined()
    expectCode(() => signEntry(author, NET, { ...bodies.reveal(), payload: { weights: many, salt: SALT } } as EntryBody), ErrorCode.ENTRY_MALFORMED, { field: 'payload.weights' })
    const forty = packWeights(Array.from({ length: 40 }, (_, i) => ({ provider: identityFromSeed(seed(100 + i)).peerId, weight: i })))
    const body = { ...bodies.reveal(), network: small.id, payload: { weights: forty, salt: SALT } } as EntryBody
    expectCode(() => signEntry(author, small, body), ErrorCode.ENTRY_TOO_LARGE)
    // the same entry signed where it fits is refused by the small network's decoder before anything else
    const big = signEntry(author, NET, { ...bodies.reveal(), payload: { weights: forty, salt: SALT } } as EntryBody)
    expectCode(() => decodeEntry(big.bytes, small, nobleVerify), ErrorCode.ENTRY_TOO_LARGE)
  })

  it('rejects forged, replayed and tampered entries with precise codes', () => {
    const e = signEntry(author, NET, bodies.endorse())
    // another network: the body names it (replay from another network)
    expectCode(() => decodeEntry(e.bytes, OTHER, nobleVerify), ErrorCode.ENTRY_WRONG_NETWORK)
    // forged: validator's signature on a body that names author
    const env = cborDecode(e.bytes) as { body: Uint8Array, sig: Uint8Array }
    const forgedSig = signEntry(validator, NET, { ...bodies.endorse(), author: validator.peerId, payload: { validator: author.peerId, share: 1 } } as EntryBody).sig
    expectCode(() => decodeEntry(encodeCanonical({ body: env.body, sig: forgedSig }), NET, nobleVerify), ErrorCode.ENTRY_BAD_SIGNATURE)
    // empty and short signatures are rejections, never skipped checks (bittensor #3392)
    expectCode(() => decodeEntry(encodeCanonical({ body: env.body, sig: new Uint8Array(0) }), NET, nobleVerify), ErrorCode.ENTRY_BAD_SIGNATURE)
    expectCode(() => decodeEntry(encodeCanonical({ body: env.body, sig: env.sig.subarray(0, 63) }), NET, nobleVerify), ErrorCode.ENTRY_BAD_SIGNATURE)
    // a signature for the same bytes under another domain does not carry over
    const taskSig = signTaskRequestDomainSig(env.body)
    expectCode(() => decodeEntry(encodeCanonical({ body: env.body, sig: taskSig }), NET, nobleVerify), ErrorCode.ENTRY_BAD_SIGNATURE)
    // a body changed after signing
    const altered = encodeCanonical({ ...bodies.endorse(), payload: { validator: validator.peerId, share: 65535 } })
    expectCode(() => decodeEntry(encodeCanonical({ body: altered, sig: env.sig }), NET, nobleVerify), ErrorCode.ENTRY_BAD_SIGNATURE)
    // non-canonical envelope (indefinite-length map)
    expectCode(() => decodeEntry(Uint8Array.of(0xbf, 0xff), NET, nobleVerify), ErrorCode.ENTRY_MALFORMED)
    // trailing byte
    expectCode(() => decodeEntry(concatBytes(e.bytes, Uint8Array.of(0)), NET, nobleVerify), ErrorCode.ENTRY_MALFORMED)
    // envelope of the wrong shape, and a body that is not canonical CBOR
    expectCode(() => decodeEntry(encodeCanonical({ body: env.body }), NET, nobleVerify), ErrorCode.ENTRY_MALFORMED)
    expectCode(() => decodeEntry(encodeCanonical({ body: concatBytes(env.body, Uint8Array.of(0)), sig: env.sig }), NET, nobleVerify), ErrorCode.ENTRY_MALFORMED)
    expectCode(() => decodeEntry('nope' as unknown as Uint8Array, NET, nobleVerify), ErrorCode.ENTRY_MALFORMED)
  })
})

function signTaskRequestDomainSig (body: Uint8Array): Uint8Array {
  // Same key, same bytes, TASK_REQUEST domain.
  return signDomain(author.seed, SigningDomain.TASK_REQUEST, NET.id, body)
}

describe('ledger entries: epochs', () => {
  it('epochOf and epochStartMs agree with the network epoch length', () => {
    expect(epochOf(T0, NET)).toBe(E)
    expect(epochStartMs(E, NET)).toBe(1_789_999_980_000)
    expect(epochOf(epochStartMs(E, NET), NET)).toBe(E)
    expect(epochOf(epochStartMs(E + 1, NET) - 1, NET)).toBe(E)
    expect(epochOf(0, NET)).toBe(0)
    const slow = parseNetworkDefinition({ name: 'slow', epochSeconds: 3600 })
    expect(epochOf(7_200_000, slow)).toBe(2)
  })

  it('epoch windows: commit, fraud and endorse in their own epoch, reveal in e + commitRevealEpochs', () => {
    expect(epochWindowProblem(bodies.commit(), NET)).toBeUndefined()
    expect(epochWindowProblem(bodies.reveal(), NET)).toBeUndefined()
    expect(epochWindowProblem(bodies.endorse(), NET)).toBeUndefined()
    expect(epochWindowProblem({ ...bodies.commit(), epoch: E + 1 } as EntryBody, NET)).toMatch(/must be issued in that epoch/)
    expect(epochWindowProblem({ ...bodies.reveal(), issuedAt: T0 } as EntryBody, NET)).toMatch(/reveal/)
    expect(epochWindowProblem({ ...bodies.reveal(), issuedAt: T0 + 120_000 } as EntryBody, NET)).toMatch(/reveal/)
    const slowReveal = parseNetworkDefinition({ name: 'ledgernet', commitRevealEpochs: 2 })
    expect(epochWindowProblem({ ...bodies.reveal(), network: slowReveal.id, issuedAt: T0 + 120_000 } as EntryBody, slowReveal)).toBeUndefined()
  })
})

describe('ledger entries: decoder properties (ARCHITECTURE.md §13: every decoder)', () => {
  const onlyCoded = (bytes: Uint8Array): void => {
    try {
      decodeEntry(bytes, NET, nobleVerify)
    } catch (err) {
      if (!(err instanceof CodedError)) throw err
      expect(err.code).toMatch(/^ENTRY_/)
      return
    }
    throw new Error('decoded garbage')
  }

  it('random bytes only ever give an ENTRY_* CodedError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), onlyCoded), { numRuns: 500 })
  })

  it('random CBOR values, and envelopes around them, only ever give an ENTRY_* CodedError', () => {
    fc.assert(fc.property(cborValue, fc.uint8Array({ maxLength: 64 }), (v, sig) => {
      onlyCoded(encodeCanonical(v))
      onlyCoded(encodeCanonical({ body: encodeCanonical(v), sig }))
    }), { numRuns: 300 })
  })

  it('bodies with one field replaced by a random value only ever give a CodedError', () => {
    fc.assert(fc.property(fc.constantFrom(...KINDS), fc.constantFrom('v', 'network', 'kind', 'author', 'epoch', 'issuedAt', 'payload'), cborValue, (kind, field, v) => {
      const body = { ...bodies[kind](), [field]: v }
      const sig = new Uint8Array(64)
      onlyCoded(encodeCanonical({ body: encodeCanonical(body), sig }))
      // Some replacements are themselves valid (epoch 0, say): signing then succeeds.
      try {
        signEntry(author, NET, body as EntryBody)
      } catch (err) {
        if (!(err instanceof CodedError)) throw err
      }
    }), { numRuns: 200 })
  })

  const valid = Object.fromEntries(KINDS.map(k => [k, signEntry(author, NET, bodies[k]())])) as Record<Kind, LedgerEntry>

  it('valid entries with a bit flipped, truncated, or spliced only ever give a CodedError', () => {
    fc.assert(fc.property(fc.constantFrom(...KINDS), fc.nat(), (kind, bit) => {
      const b = valid[kind].bytes
      onlyCoded(flipBit(b, bit % (b.length * 8)))
    }), { numRuns: 300 })
    fc.assert(fc.property(fc.constantFrom(...KINDS), fc.nat(), fc.uint8Array({ maxLength: 8 }), (kind, at, junk) => {
      const b = valid[kind].bytes
      const cut = at % b.length
      onlyCoded(b.subarray(0, cut))
      const spliced = concatBytes(b.subarray(0, cut), junk, b.subarray(cut + 1))
      if (!bytesEqual(spliced, b)) onlyCoded(spliced) // a byte replaced by itself is the valid entry
    }), { numRuns: 300 })
  })

  it('signEntry ∘ decodeEntry is the identity on random valid bodies', () => {
    const arbWeights = fc.uniqueArray(fc.integer({ min: 0, max: 60 }), { maxLength: 8 }).chain(ix =>
      fc.tuple(...ix.map(i => fc.integer({ min: 0, max: 65535 }).map(w => ({ provider: identityFromSeed(seed(100 + i)).peerId, weight: w })))))
    fc.assert(fc.property(arbWeights, fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.integer({ min: 0, max: 2 ** 45 }), (ws, salt, issuedAt) => {
      const e = signEntry(author, NET, revealOf(ws, salt, issuedAt))
      expect(decodeEntry(e.bytes, NET, nativeVerify)).toEqual(e)
    }), { numRuns: 50 })
  })
})

describe('ledger entries: the fast paths agree with the schema and the general encoder', () => {
  const providerIds = Array.from({ length: 40 }, (_, i) => identityFromSeed(seed(100 + i)).peerId)
  const arbWeights = fc.uniqueArray(fc.integer({ min: 0, max: providerIds.length - 1 }), { maxLength: 12 }).chain(ix =>
    fc.tuple(...ix.map(i => fc.integer({ min: 0, max: 65535 }).map(w => ({ provider: providerIds[i]!, weight: w })))))
    .map(ws => packWeights(ws))
  const arbUint = fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 2 ** 32 + 5 }), fc.maxSafeInteger().map(Math.abs))

  /** zod's answer and the hand-written one: the hand-written one only answers where zod accepts, and then with an equal body. */
  function agree (value: unknown): void {
    let encoded: Uint8Array | undefined
    try {
      encoded = encodeCanonical(value)
    } catch {}
    if (encoded !== undefined) agreeBytes(encoded)
    const fast = parseDecodedBody(value)
    let zod: EntryBody | CodedError
    try {
      zod = parseEntryBody(value)
    } catch (err) {
      if (!(err instanceof CodedError)) throw err
      zod = err
    }
    if (fast !== undefined) {
      expect(zod).not.toBeInstanceOf(CodedError)
      expect(fast).toStrictEqual(zod)
      // Same field order as zod's output, for anything that serialises it.
      expect(JSON.stringify(fast)).toBe(JSON.stringify(zod))
    }
  }

  /** The schema-aware reader against decodeCanonical + the schema, on body bytes. */
  function agreeBytes (bytes: Uint8Array): void {
    const fast = readBodyFast(bytes)
    if (fast === undefined) return
    let full: EntryBody
    try {
      full = parseEntryBody(decodeCanonical(bytes, 1 << 20))
    } catch (err) {
      throw new Error(`the body reader accepted ${toHex(bytes)}, which the full check refuses: ${(err as Error).message}`)
    }
    expect(fast).toStrictEqual(full)
    expect(JSON.stringify(fast)).toBe(JSON.stringify(full))
  }

  it('the body reader reads valid commit, reveal and endorse bodies, and agrees on byte-level mutations of them', () => {
    for (const k of KINDS) {
      const bytes = encodeCanonical(bodies[k]())
      expect(readBodyFast(bytes) === undefined).toBe(k === 'fraud')
      agreeBytes(bytes)
    }
    fc.assert(fc.property(arbWeights, fc.uint8Array({ minLength: 32, maxLength: 32 }), arbUint, arbUint, (weights, salt, epoch, issuedAt) => {
      const bytes = encodeCanonical({ v: V, network: NET.id, kind: 'reveal', author: author.peerId, epoch, issuedAt, payload: { weights, salt } })
      expect(readBodyFast(bytes)).toBeDefined()
      agreeBytes(bytes)
    }), { numRuns: 200 })
    let accepted = 0
    fc.assert(fc.property(fc.constantFrom(...KINDS), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete', 'truncate', 'swap')), { minLength: 1, maxLength: 2 }), (kind, edits) => {
      const b = Array.from(encodeCanonical(bodies[kind]()))
      for (const [pos, byte, op] of edits) {
        const i = pos % (b.length + 1)
        if (op === 'set' && i < b.length) b[i] = byte
        if (op === 'insert') b.splice(i, 0, byte)
        if (op === 'delete') b.splice(i, 1)
        if (op === 'truncate') b.length = i
        if (op === 'swap' && i + 1 < b.length) [b[i], b[i + 1]] = [b[i + 1]!, b[i]!]
      }
      const bytes = Uint8Array.from(b)
      if (readBodyFast(bytes) !== undefined) accepted++
      agreeBytes(bytes)
    }), { numRuns: 5000 })
    // Some mutations stay valid (a weight or a salt byte changed); those must be read, not given up on.
    expect(accepted).toBeGreaterThan(50)
  })

  it('the in-place envelope reader accepts exactly what the codec accepts as {body, sig}, with the same parts', () => {
    const valid = KINDS.map(k => signEntry(author, NET, bodies[k]()).bytes)
    const viaCodec = (bytes: Uint8Array): { body: Uint8Array, sig: Uint8Array } | undefined => {
      try {
        const env = decodeCanonical(bytes, 1 << 20) as Record<string, unknown>
        return env.body instanceof Uint8Array && env.sig instanceof Uint8Array && Object.keys(env).length === 2 ? env as { body: Uint8Array, sig: Uint8Array } : undefined
      } catch {
        return undefined
      }
    }
    let decoded = 0
    fc.assert(fc.property(fc.constantFrom(...valid), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete', 'truncate')), { minLength: 1, maxLength: 2 }), (bytes, edits) => {
      const b = Array.from(bytes)
      // Edits land in the envelope's head (the first 80 bytes) or anywhere, half and half.
      for (const [pos, byte, op] of edits) {
        const i = pos % 2 === 0 ? (pos >> 1) % 80 : (pos >> 1) % (b.length + 1)
        if (op === 'set' && i < b.length) b[i] = byte
        if (op === 'insert') b.splice(i, 0, byte)
        if (op === 'delete') b.splice(i, 1)
        if (op === 'truncate') b.length = i
      }
      const mutated = Uint8Array.from(b)
      const ref = viaCodec(mutated)
      let entry: LedgerEntry | undefined
      try {
        entry = decodeEntryUnverified(mutated, NET).entry
      } catch (err) {
        if (!(err instanceof CodedError)) throw err
      }
      if (entry === undefined) return
      decoded++
      expect(ref).toBeDefined()
      expect(toHex(entry.sig)).toBe(toHex(ref!.sig))
      expect(entry.body).toStrictEqual(parseEntryBody(decodeCanonical(ref!.body, 1 << 20)))
    }), { numRuns: 3000 })
    expect(decoded).toBeGreaterThan(20)
  })

  it('the body reader agrees wherever a head is widened to a longer, non-canonical form', () => {
    for (const k of KINDS) {
      const b = Array.from(encodeCanonical(bodies[k]()))
      for (let i = 0; i < b.length; i++) {
        const major = b[i]! & 0xe0
        const info = b[i]! & 0x1f
        // Wherever a byte could be a head: a short argument moved into the next size up (1 → 1 byte, 1 byte → 2 bytes, 2 → 4, 4 → 8).
        const widened = info < 24
          ? [major | 24, info]
          : info === 24 && i + 1 < b.length ? [major | 25, 0, b[i + 1]!]
            : info === 25 && i + 2 < b.length ? [major | 26, 0, 0, b[i + 1]!, b[i + 2]!]
              : info === 26 && i + 4 < b.length ? [major | 27, 0, 0, 0, 0, ...b.slice(i + 1, i + 5)] : undefined
        if (widened === undefined) continue
        const skip = info < 24 ? 1 : info === 24 ? 2 : info === 25 ? 3 : 5
        const bytes = Uint8Array.from([...b.slice(0, i), ...widened, ...b.slice(i + skip)])
        // At a real head the full check refuses it, so must the reader; inside a string it may still be a valid body.
        agreeBytes(bytes)
      }
    }
  })

  it('on valid bodies of every kind (the fast path accepts commit, reveal and endorse)', () => {
    for (const k of KINDS) {
      const decoded = decodeCanonical(encodeCanonical(bodies[k]()), 1 << 20)
      agree(decoded)
      expect(parseDecodedBody(decoded) === undefined).toBe(k === 'fraud')
    }
    fc.assert(fc.property(arbWeights, fc.uint8Array({ minLength: 32, maxLength: 32 }), arbUint, arbUint, (weights, salt, epoch, issuedAt) => {
      const body = { v: V, network: NET.id, kind: 'reveal', author: author.peerId, epoch, issuedAt, payload: { weights, salt } }
      const decoded = decodeCanonical(encodeCanonical(body), 1 << 20)
      expect(parseDecodedBody(decoded)).toBeDefined()
      agree(decoded)
    }), { numRuns: 200 })
  })

  it('on bodies and payloads with one field replaced, added or removed', () => {
    const fields = ['v', 'network', 'kind', 'author', 'epoch', 'issuedAt', 'payload', 'commitment', 'weights', 'salt', 'validator', 'share', 'provider', 'weight', 'extra', '__proto__']
    const rec = WEIGHT_RECORD_BYTES
    const values: unknown[] = [validator.peerId, p1.peerId.slice(1), `${p1.peerId}x`, 'commit', 'reveal', 'endorse', 'fraud', 0, 1, 1, 2, 65535, 65536, -1, 1.5,
      2 ** 53, Number.MAX_SAFE_INTEGER, NET.id, new Uint8Array(31), new Uint8Array(33), null, true, [], {}, '', WEIGHTS, [WEIGHTS[0]],
      new Uint8Array(0), new Uint8Array(rec), PACKED.subarray(0, rec - 1), PACKED.subarray(rec), concatBytes(PACKED.subarray(rec), PACKED.subarray(0, rec)),
      concatBytes(PACKED, PACKED.subarray(rec)), concatBytes(PACKED, Uint8Array.of(0))]
    const mutated = (kind: Kind, where: string, field: string, v: unknown, remove: boolean): Record<string, any> => {
      const body = decodeCanonical(encodeCanonical(bodies[kind]()), 1 << 20) as Record<string, any>
      const target: Record<string, unknown> | undefined = where === 'body' ? body : body.payload
      if (target != null) {
        if (remove) delete target[field]
        else Object.defineProperty(target, field, { value: v, enumerable: true, writable: true, configurable: true })
      }
      return body
    }
    // Every field × every value, exhaustively (a few thousand cases), then random values.
    for (const kind of KINDS) {
      for (const where of ['body', 'payload']) {
        for (const field of fields) {
          agree(mutated(kind, where, field, undefined, true))
          for (const v of values) agree(mutated(kind, where, field, v, false))
        }
      }
    }
    fc.assert(fc.property(fc.constantFrom(...KINDS), fc.constantFrom('body', 'payload'), fc.oneof(fc.constantFrom(...fields), fc.string({ maxLength: 10 })),
      cborValue, (kind, where, field, v) => { agree(mutated(kind, where, field, v, false)) }), { numRuns: 500 })
    // Random packed vectors, valid or not.
    const reveal = decodeCanonical(encodeCanonical(bodies.reveal()), 1 << 20) as Record<string, any>
    fc.assert(fc.property(fc.uint8Array({ maxLength: 6 * rec }), weights => { agree({ ...reveal, payload: { ...reveal.payload, weights } }) }), { numRuns: 300 })
    expect(parseDecodedBody({ ...reveal, payload: { ...reveal.payload, weights: concatBytes(PACKED.subarray(rec), PACKED.subarray(0, rec)) } })).toBeUndefined()
  })
})

describe('ledger entries: packed weights and commit-reveal', () => {
  const ids = Array.from({ length: 60 }, (_, i) => identityFromSeed(seed(100 + i)).peerId)
  const arbWeights = fc.uniqueArray(fc.integer({ min: 0, max: ids.length - 1 }), { maxLength: 20 }).chain(ix =>
    fc.tuple(...ix.map(i => fc.integer({ min: 0, max: 65535 }).map(w => ({ provider: ids[i]!, weight: w })))))

  it('packWeights ∘ unpackWeights is sortWeights: key order is PeerId order', () => {
    fc.assert(fc.property(arbWeights, ws => {
      const packed = packWeights(ws)
      expect(packed.length).toBe(ws.length * WEIGHT_RECORD_BYTES)
      expect(packedWeightsProblem(packed)).toBeUndefined()
      expect(unpackWeights(packed)).toEqual(sortWeights(ws))
    }), { numRuns: 300 })
    // Fresh random keys too, not only the ones above (whose PeerIds the cache already holds).
    fc.assert(fc.property(fc.uniqueArray(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 12, selector: k => toHex(k) }), keys => {
      const ws = keys.map((k, i) => ({ provider: identityFromSeed(k).peerId, weight: i }))
      expect(unpackWeights(packWeights(ws))).toEqual(sortWeights(ws))
    }), { numRuns: 100 })
  })

  it('packedWeightsProblem refuses partial records, unsorted and repeated keys, and too many records', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 10 * WEIGHT_RECORD_BYTES }), bytes => {
      const problem = packedWeightsProblem(bytes)
      const n = bytes.length / WEIGHT_RECORD_BYTES
      const keys = Array.from({ length: Math.floor(n) }, (_, i) => toHex(bytes.subarray(i * WEIGHT_RECORD_BYTES, i * WEIGHT_RECORD_BYTES + 32)))
      const ok = Number.isInteger(n) && keys.every((k, i) => i === 0 || keys[i - 1]! < k)
      expect(problem === undefined).toBe(ok)
    }), { numRuns: 500 })
  })

  it('a commit commits to its reveal\'s id; only that exact reveal opens it', () => {
    fc.assert(fc.property(arbWeights, fc.uint8Array({ minLength: 32, maxLength: 32 }), (weights, salt) => {
      const { commit, reveal } = signCommitAndReveal(author, NET, { epoch: E, weights, salt, commitIssuedAt: T0, revealIssuedAt: T0 + 60_000 })
      expect(commit.body.kind === 'commit' && toHex(commit.body.payload.commitment)).toBe(reveal.id)
      expect(toHex(commitmentOfReveal(reveal))).toBe(entryIdOf(reveal.bytes))
      expect(commitOpenedBy(commit, reveal.id)).toBe(true)
      expect(reveal.body.kind === 'reveal' && unpackWeights(reveal.body.payload.weights)).toEqual(sortWeights(weights))
      // the same weights and salt issued a millisecond later are another entry, which the commit does not name
      const later = signEntry(author, NET, { ...reveal.body, issuedAt: reveal.body.issuedAt + 1 })
      expect(commitOpenedBy(commit, later.id)).toBe(false)
      expect(commitOpenedBy(reveal, reveal.id)).toBe(false)
    }), { numRuns: 50 })
  })
})
