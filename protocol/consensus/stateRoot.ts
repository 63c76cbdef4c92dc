/**
 * The per-epoch consensus result root (ARCHITECTURE.md §9: "a per-epoch state root
 * lets anyone see at a glance whether nodes agree"). The ledger combines it
 * with its entries root.
 *
 * root = sha256(canonical CBOR of a map):
 *   domain      'infermesh/consensus/result/v1'
 *   scale       SCALE (2^20)
 *   params      { kappa, bondAlpha, trustAlpha, reputationAlpha, initialTrust } in fixed point
 *   epoch, validators, providers
 *   stake, consensus, rank, validatorTrust, dividends, reputation, trust:
 *               each a byte string, the vector as little-endian u32
 *   bonds       sha256 of the bonds matrix as little-endian u32, provider-major (types.ts)
 * Vectors go in as byte strings (not CBOR arrays) to keep encoding linear and
 * cheap; bonds go in by hash since the matrix is 4 MiB at 256 × 4,096.
 * Hashing those 4 MiB took about 22 ms of the ~60 ms an epoch takes at that
 * size with the portable sha256, ~3 ms with Node's (protocol/sha256.ts, which
 * nodes plug in; scripts/bench/consensus.ts); it stays, because bonds are the
 * state the next epoch builds on, and a root that skipped them could agree
 * while nodes had already diverged.
 */
import { encodeCanonical } from '../codec.ts'
import { SCALE } from './fixedPoint.ts'
import type { FixedParams } from './input.ts'
import type { ConsensusState } from './types.ts'
import { sha256 } from '../sha256.ts'

export const STATE_ROOT_DOMAIN = 'infermesh/consensus/result/v1'

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/** The vector's values as little-endian u32 bytes (a copy; the values are non-negative). */
export function le32Bytes (v: Int32Array): Uint8Array {
  const out = new Uint8Array(v.length * 4)
  if (LITTLE_ENDIAN) {
    out.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))
  } else {
    const view = new DataView(out.buffer)
    for (let k = 0; k < v.length; k++) view.setUint32(k * 4, v[k]! >>> 0, true)
  }
  return out
}

/** The same bytes as le32Bytes, without the copy where the host is little-endian (for hashing only). */
function le32View (v: Int32Array): Uint8Array {
  return LITTLE_ENDIAN ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : le32Bytes(v)
}

export interface RootFields {
  params: FixedParams
  state: ConsensusState
  stake: Int32Array
  consensus: Int32Array
  rank: Int32Array
  validatorTrust: Int32Array
  dividends: Int32Array
}

/** The canonical bytes the root hashes; exposed so tests and tools can inspect them. */
export function resultBytes (f: RootFields): Uint8Array {
  const { params, state } = f
  return encodeCanonical({
    domain: STATE_ROOT_DOMAIN,
    scale: SCALE,
    params: {
      kappa: params.kappa,
      bondAlpha: params.bondAlpha,
      trustAlpha: params.trustAlpha,
      reputationAlpha: params.reputationAlpha,
      initialTrust: params.initialTrust
    },
    epoch: state.epoch,
    validators: [...state.validators],
    providers: [...state.providers],
    stake: le32Bytes(f.stake),
    consensus: le32Bytes(f.consensus),
    rank: le32Bytes(f.rank),
    validatorTrust: le32Bytes(f.validatorTrust),
    dividends: le32Bytes(f.dividends),
    reputation: le32Bytes(state.reputation),
    trust: le32Bytes(state.trust),
    bonds: sha256(le32View(state.bonds))
  })
}

export function resultRoot (f: RootFields): Uint8Array {
  return sha256(resultBytes(f))
}
