/** Ending inbound streams so a hostile peer cannot keep them (ARCHITECTURE.md §13 idle streams). */
import type { Stream } from '@libp2p/interface'

/**
 * Close our side of `stream` within `ms`, then give the remote `ms` more to
 * close its side, and reset the stream if it has not. close() alone ends only
 * our side: a peer that never ends its own keeps the stream half-open, holding
 * a stream slot and whatever it keeps sending. `onClosed` runs as soon as our
 * side is closed (or the close failed), so work accounting does not wait on the peer.
 */
export async function closeOrReset (stream: Stream, ms: number, onClosed?: () => void): Promise<void> {
  try {
    await stream.close({ signal: AbortSignal.timeout(ms) })
  } catch (err) {
    stream.abort(err as Error)
    return
  } finally {
    onClosed?.()
  }
  if (stream.remoteWriteStatus === 'closed' || stream.status === 'closed' || stream.status === 'aborted' || stream.status === 'reset') return
  await new Promise<void>(resolve => {
    const timer = setTimeout(done, ms)
    function done (): void {
      clearTimeout(timer)
      stream.removeEventListener('close', done)
      resolve()
    }
    stream.addEventListener('close', done)
  })
  if (stream.status === 'open' || stream.status === 'closing') stream.abort(new Error('the remote did not close its side of the stream in time'))
}
