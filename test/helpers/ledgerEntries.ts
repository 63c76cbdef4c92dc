/** Signed ledger entries for tests. */
import type { Identity } from '../../protocol/identity.ts'
import { epochOf, LEDGER_ENTRY_VERSION, signEntry, type LedgerEntry } from '../../protocol/ledger/entries.ts'
import type { Network } from '../../protocol/network.ts'
import { requestHash, signReceipt, signTaskRequest, taskOutputHash } from '../../protocol/task.ts'

/**
 * A fraud proof by `author` against `provider`, issued at `issuedAt`: a
 * ref-tiny task that `gateway` sent and `provider` signed a receipt for with
 * an output that does not recompute.
 */
export function fraudEntry (o: { author: Identity, gateway: Identity, provider: Identity, network: Network, issuedAt: number }): LedgerEntry {
  const { author, gateway, provider, network, issuedAt } = o
  const at = issuedAt - 2000
  const req = signTaskRequest(gateway, network, {
    v: 1, network: network.id, id: '0123456789abcdef0123456789abcdef', requester: gateway.peerId, provider: provider.peerId, model: 'ref-tiny', kind: 'chat',
    input: { prompt: 'x' }, params: { maxTokens: 4, temperature: 0, topP: 1, seed: 1, stop: [], logprobs: false, topLogprobs: 0 },
    maxPrice: { inMicros: 1, outMicros: 1 }, issuedAt: at, deadline: at + 60_000
  })
  const rc = signReceipt(provider, network, {
    v: 1, network: network.id, taskId: req.value.id, requestHash: requestHash(req.body), requester: gateway.peerId, provider: provider.peerId, model: 'ref-tiny',
    outputHash: taskOutputHash({ text: 'wrong' }), finishReason: 'length', usage: { promptTokens: 1, completionTokens: 4 }, priceMicros: 0, startedAt: at, finishedAt: at + 1
  })
  return signEntry(author, network, {
    v: LEDGER_ENTRY_VERSION, network: network.id, kind: 'fraud', author: author.peerId, epoch: epochOf(issuedAt, network), issuedAt,
    payload: { request: { body: req.body, sig: req.sig }, receipt: { body: rc.body, sig: rc.sig } }
  })
}
