/**
 * The task workload: the distribution of prompts, lengths and parameters that
 * client traffic follows, from a seed. Validators draw audits from the very
 * same distribution (design.md §9), and devnet clients and tests draw their
 * traffic from it, so nothing in an audit's content tells it apart.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { utf8 } from './bytes.ts'
import type { ChatMessage, TaskParams } from './task.ts'

const WORDS = ['route', 'model', 'token', 'gpu', 'price', 'latency', 'peer', 'cache', 'prompt', 'answer', 'explain', 'summarize', 'list', 'why', 'how', 'network', 'proof', 'seed', 'epoch', 'weight', 'trust', 'ledger', 'stream', 'batch', 'memory', 'kernel', 'tensor', 'shard', 'queue', 'signal']

/** A small, deterministic PRNG (mulberry32) for workload draws; not for keys. */
export function workloadRandom (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function seedFrom (text: string): number {
  const h = sha256(utf8(text))
  return ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0
}

export interface WorkloadTask {
  messages: ChatMessage[]
  params: TaskParams
}

/** One chat task: 1-3 messages of 3-40 words, max_tokens 8-48, temperature 0-1.2, always a seed. */
export function drawTask (random: () => number): WorkloadTask {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!
  const sentence = (): string => Array.from({ length: 3 + Math.floor(random() * 38) }, () => pick(WORDS)).join(' ')
  const messages: ChatMessage[] = []
  if (random() < 0.3) messages.push({ role: 'system', content: sentence() })
  messages.push({ role: 'user', content: sentence() })
  if (random() < 0.2) messages.push({ role: 'assistant', content: sentence() }, { role: 'user', content: sentence() })
  return {
    messages,
    params: {
      maxTokens: 8 + Math.floor(random() * 41),
      temperature: Math.round(random() * 12) / 10,
      topP: random() < 0.5 ? 1 : 0.9,
      seed: Math.floor(random() * 0xffff_ffff),
      stop: [],
      logprobs: false,
      topLogprobs: 0
    }
  }
}

/** Exponential inter-arrival gap with the given mean: client traffic is Poisson-like. */
export function drawGapMs (random: () => number, meanMs: number): number {
  return Math.max(1, Math.round(-meanMs * Math.log(1 - random())))
}
