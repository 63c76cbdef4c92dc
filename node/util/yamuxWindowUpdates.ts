/**
 * Yamux window updates at half the window, as go-yamux (the reference
 * implementation of the spec) sends them, not after every data frame.
 *
 * @chainsafe/libp2p-yamux 8.0.1 answers every data frame it receives with a
 * window update frame, however little of the window it used: on the task path
 * that is one more yamux frame, Noise message and socket write per frame in
 * the other direction, and as many reads, decrypts and decodes at the peer.
 * go-yamux sends one only once at least half the receive window is used
 * (session.go, sendWindowUpdate: "if delta < (max/2) && flags == 0 { return
 * nil }"), or when a flag (ACK, FIN, RST) must go out. A sender never stalls
 * for it: it still has at least half a window (128 KiB at the least) when the
 * update is sent.
 *
 * The library has no option for this, so its stream class's method is wrapped
 * once, at start (node/libp2p.ts).
 */
import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream'

interface WindowState {
  state: StreamState
  recvWindow: number
  recvWindowCapacity: number
}

let installed = false

export function sendWindowUpdatesAtHalf (): void {
  if (installed) return
  installed = true
  const proto = YamuxStream.prototype as unknown as WindowState & { sendWindowUpdate: () => void }
  const original = proto.sendWindowUpdate
  if (typeof original !== 'function') return // another version: leave it alone
  proto.sendWindowUpdate = function (this: WindowState) {
    // A stream that still owes its SYN or ACK sends it now: the original decides (its
    // getSendFlags moves the state on, so it is not called here).
    const owesFlag = this.state === StreamState.Init || this.state === StreamState.SYNReceived
    if (!owesFlag && this.recvWindow - this.recvWindowCapacity < this.recvWindow / 2) return
    original.call(this)
  }
}
