/** Abortable helpers shared by every service (lodestar's node/nodejs.ts pattern). */

export async function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) return
  await new Promise<void>(resolve => {
    const done = (): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, Math.max(0, ms))
    signal?.addEventListener('abort', done, { once: true })
  })
}

/** A signal that aborts when the parent does or after `ms`, whichever is first. */
export function withTimeout (parent: AbortSignal | undefined, ms: number): AbortSignal {
  const t = AbortSignal.timeout(ms)
  return parent == null ? t : AbortSignal.any([parent, t])
}

/** `p`, or undefined as soon as `signal` aborts (p runs on, for whoever else awaits it). */
export async function untilAborted<T> (p: Promise<T>, signal: AbortSignal | undefined): Promise<T | undefined> {
  if (signal == null) return p
  if (signal.aborted) return undefined
  let done: () => void = () => {}
  const aborted = new Promise<undefined>(resolve => {
    done = () => resolve(undefined)
    signal.addEventListener('abort', done, { once: true })
  })
  try {
    return await Promise.race([p, aborted])
  } finally {
    signal.removeEventListener('abort', done)
  }
}
