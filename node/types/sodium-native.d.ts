// The part of sodium-native (libsodium) that node/crypto uses; the package ships no types.
declare module 'sodium-native' {
  const sodium: {
    crypto_sign_BYTES: number
    crypto_sign_PUBLICKEYBYTES: number
    crypto_sign_SECRETKEYBYTES: number
    /** Fills pk and sk (seed ‖ pk) from a 32-byte seed. */
    crypto_sign_seed_keypair: (pk: Uint8Array, sk: Uint8Array, seed: Uint8Array) => void
    /** Writes the 64-byte Ed25519 signature of m into sig. */
    crypto_sign_detached: (sig: Uint8Array, m: Uint8Array, sk: Uint8Array) => void
    /** Whether sig is pk's valid Ed25519 signature of m (RFC 8032, strict encodings, no small-order keys). */
    crypto_sign_verify_detached: (sig: Uint8Array, m: Uint8Array, pk: Uint8Array) => boolean
  }
  export default sodium
}
