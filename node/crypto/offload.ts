/**
 * Ed25519 on libuv's thread pool while a node is busy. Verify is the task
 * path's largest single cost (OpenSSL: about 150 µs here, sign about 50 µs,
 * four per task between gateway and provider); on the event loop it serialises
 * with everything else, in the pool it runs on another core. A hop to the pool
 * and back costs about 80 µs of latency, which only pays when the event loop
 * has other tasks to get on with meanwhile: with one task in flight the node
 * signs and verifies in line, with `cryptoDefaults.offloadAtTasks` or more it
 * hands them to the pool.
 */
import type { AsyncSignFn, AsyncVerifyFn, SignFn, VerifyFn } from '../../protocol/signing.ts'
import { cryptoDefaults } from '../options.ts'
import { nativeSign, nativeSignInPool } from './nativeSign.ts'
import { nativeVerify, nativeVerifyInPool } from './nativeVerify.ts'

export interface CryptoOffloadOptions {
  offloadAtTasks?: number
  /** In-line and pooled implementations: the native ones unless a test says otherwise. */
  verify?: VerifyFn
  verifyInPool?: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => Promise<boolean>
  sign?: SignFn
  signInPool?: (seed: Uint8Array, message: Uint8Array) => Promise<Uint8Array>
}

export class CryptoOffload {
  /** Tasks this node is handling now, as a gateway and as a provider. */
  private inFlight = 0
  private readonly offloadAt: number
  readonly verify: AsyncVerifyFn
  readonly sign: AsyncSignFn

  constructor (opts: CryptoOffloadOptions = {}) {
    this.offloadAt = opts.offloadAtTasks ?? cryptoDefaults.offloadAtTasks
    const inLine = opts.verify ?? nativeVerify
    const pooled = opts.verifyInPool ?? nativeVerifyInPool
    const signInLine = opts.sign ?? nativeSign
    const signPooled = opts.signInPool ?? nativeSignInPool
    this.verify = (publicKey, message, signature) => this.busy ? pooled(publicKey, message, signature) : inLine(publicKey, message, signature)
    this.sign = (seed, message) => this.busy ? signPooled(seed, message) : signInLine(seed, message)
  }

  get busy (): boolean {
    return this.inFlight >= this.offloadAt
  }

  get tasksInFlight (): number {
    return this.inFlight
  }

  /** Counts a task until the returned function is called (once; later calls do nothing). */
  taskStarted (): () => void {
    this.inFlight++
    let ended = false
    return () => {
      if (ended) return
      ended = true
      this.inFlight--
    }
  }
}
