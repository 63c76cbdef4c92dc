/**
 * libsodium, through sodium-native's prebuilt addon, when it loads on this
 * platform. sodium-native ships no build for musl (Alpine), where classic-level
 * does: there the node signs and verifies through OpenSSL (node:crypto) instead,
 * about half as fast, and says so at start (node.ts).
 */
import type sodiumNative from 'sodium-native'

let loaded: typeof sodiumNative | undefined
let failure: string | undefined
try {
  loaded = (await import('sodium-native')).default
} catch (err) {
  failure = (err as Error).message
}

/** libsodium, or undefined where its addon did not load. */
export const sodium = loaded
/** Why libsodium did not load, where it did not. */
export const sodiumLoadError = failure
