/** /v1/reputation and /v1/ledger/epochs/:n: what this node's ledger and consensus say. */
import { CodedError, ErrorCode } from '../../protocol/errors.ts'
import { SCALE } from '../../protocol/consensus/index.ts'
import { toHex } from '../../protocol/bytes.ts'
import type { EvidenceBody, LedgerEntry } from '../../protocol/ledger/entries.ts'
import { evidenceProviderOf, fraudProviderOf } from '../../protocol/ledger/fraud.ts'
import { nativeVerify } from '../crypto/nativeVerify.ts'
import { verifierDefaults } from '../options.ts'
import { recheckEvidence } from '../verify/evidence.ts'
import type { ModelVerifier } from '../verify/verifier.ts'
import type { LedgerService } from '../ledger/ledgerService.ts'
import type { ReputationService } from '../ledger/reputation.ts'
import type { NodeContext } from '../nodeContext.ts'
import type { Auditor } from '../validator/auditor.ts'
import { invalidRequest } from './httpErrors.ts'
import type { Route } from './server.ts'

const fx = (x: number | undefined): number | null => x == null ? null : Math.round((x / SCALE) * 1e6) / 1e6

export function ledgerRoutes (deps: { node: NodeContext, ledger: LedgerService, reputation: ReputationService, auditor?: Auditor, verifier?: ModelVerifier }): Route[] {
  const { reputation, ledger } = deps
  /** Evidence as the API shows it: what it says, who confirmed it, and whether it zeroes its provider now. */
  const evidenceView = (e: LedgerEntry): Record<string, unknown> => {
    const b = e.body as EvidenceBody
    const confirmations = ledger.entries().filter(c => c.body.kind === 'confirm' && toHex(c.body.payload.evidence) === e.id).map(c => ({ author: c.body.author, epoch: c.body.epoch }))
    const provider = evidenceProviderOf(b.payload, deps.node.network)
    return {
      id: e.id,
      author: b.author,
      epoch: b.epoch,
      provider: provider ?? null,
      tier: b.payload.tier,
      steps: b.payload.steps,
      misses: b.payload.misses,
      confirmations,
      // Counted by consensus once a second validator with power confirmed it (protocol/ledger/epochInput.ts).
      zeroesProvider: provider != null && reputation.zeroedNow.has(provider) && confirmations.length > 0
    }
  }
  const evidenceEntry = (id: string | undefined): LedgerEntry => {
    if (id == null || !/^[0-9a-f]{64}$/.test(id)) throw invalidRequest('an evidence id is the entry id: 64 hex characters', 'id')
    const e = ledger.entries().find(x => x.id === id)
    if (e == null || e.body.kind !== 'evidence') throw new CodedError(ErrorCode.NOT_FOUND, `this node holds no evidence ${id}`)
    return e
  }
  return [
    {
      method: 'GET',
      path: '/v1/ledger/evidence',
      handler: async () => ({ evidence: ledger.entries().filter(e => e.body.kind === 'evidence').map(evidenceView) })
    },
    {
      method: 'GET',
      path: '/v1/ledger/evidence/:id',
      handler: async ({ params }) => evidenceView(evidenceEntry(params.id))
    },
    {
      // Re-check it here: on this node's own copy of the weights, if it holds them (infermesh verify-evidence ID).
      method: 'POST',
      path: '/v1/ledger/evidence/:id/verify',
      handler: async ({ params }) => {
        const e = evidenceEntry(params.id)
        const r = await recheckEvidence(e, deps.node.network, nativeVerify, deps.verifier, AbortSignal.timeout(verifierDefaults.upstreamTimeoutMs))
        return { ...evidenceView(e), recheck: { status: r.status, reason: r.reason, weights: r.weights ?? null, steps: r.verdict?.steps ?? null, misses: r.verdict?.misses ?? null, method: r.verdict?.method ?? null } }
      }
    },
    {
      method: 'GET',
      path: '/v1/reputation',
      handler: async () => {
        const state = reputation.state()
        const outcomes = reputation.outcomesList().filter(o => o.result != null)
        const fraudProofs = new Map<string, number>()
        for (const e of ledger.entries()) {
          if (e.body.kind !== 'fraud') continue
          const provider = fraudProviderOf(e.body.payload, deps.node.network)
          if (provider != null) fraudProofs.set(provider, (fraudProofs.get(provider) ?? 0) + 1)
        }
        // The consensus state's providers, and any a fraud proof zeroes before a reveal has named
        // it (a proof acts at once; the state lists a provider only once an epoch's reveals do).
        const listed = state?.providers ?? []
        const peers = [...listed, ...[...reputation.zeroedNow].filter(p => !listed.includes(p)).sort()]
        const providers = peers.map((peerId, j) => {
          const obs = deps.auditor?.observations.get(peerId)
          return {
            peerId,
            reputation: j < listed.length ? fx(state!.reputation[j]) : null,
            score: reputation.reputationOf(peerId) ?? null,
            zeroed: reputation.zeroedNow.has(peerId),
            fraudProofs: fraudProofs.get(peerId) ?? 0,
            audits: obs == null ? null : { passed: obs.passed, failed: obs.failed, unavailable: obs.unavailable, claimsChecked: obs.claimsChecked, claimsMissed: obs.claimsMissed },
            history: outcomes.map(o => {
              const k = o.result!.state.providers.indexOf(peerId)
              return { epoch: o.epoch, reputation: k < 0 ? null : fx(o.result!.reputation[k]), rank: k < 0 ? null : fx(o.result!.rank[k]), final: o.final }
            })
          }
        })
        const last = outcomes.at(-1)
        const validators = (state?.validators ?? []).map((peerId, i) => ({
          peerId,
          trust: fx(state!.trust[i]),
          power: last == null ? null : last.input.power[last.input.validators.indexOf(peerId)] ?? null
        }))
        // A validator's own audits of every provider it has audited, in consensus yet or not (a
        // provider enters the consensus state only once a reveal names it, an epoch or two later).
        // For real models, what the verifier found (tokens judged, tokens beyond tolerance), and the
        // weight this validator would commit now: 0 while a conviction stands.
        const realByPeer = new Map<string, { audits: number, steps: number, misses: number, convicting: number, tiers: string[] }>()
        for (const v of deps.auditor?.lastVerdicts ?? []) {
          const r = realByPeer.get(v.provider) ?? { audits: 0, steps: 0, misses: 0, convicting: 0, tiers: [] }
          r.audits++
          r.steps += v.steps
          r.misses += v.misses
          if (v.convicts) r.convicting++
          if (!r.tiers.includes(v.tier)) r.tiers.push(v.tier)
          realByPeer.set(v.provider, r)
        }
        const now = reputation.currentEpoch()
        const audited = deps.auditor == null
          ? undefined
          : [...deps.auditor.observations].map(([peerId, o]) => ({
              peerId,
              firstEpoch: o.firstAuditEpoch ?? null,
              passed: o.passed,
              failed: o.failed,
              unavailable: o.unavailable,
              weight: deps.auditor!.weightNow(peerId, now),
              convictedEpoch: o.lastFraudEpoch ?? null,
              real: realByPeer.get(peerId) ?? null
            }))
        return { epoch: reputation.latestClosed(), currentEpoch: reputation.currentEpoch(), stateRoot: last?.stateRoot ?? null, providers, validators, ...(audited == null ? {} : { audited }) }
      }
    },
    {
      method: 'GET',
      path: '/v1/ledger/agreement',
      handler: async () => {
        // The last few closed epochs' roots beside connected peers'.
        const to = reputation.latestClosed()
        return await ledger.agreement(Math.max(0, to - 3), to)
      }
    },
    {
      method: 'GET',
      path: '/v1/ledger/epochs/:n',
      handler: async ({ params }) => {
        const n = Number(params.n)
        if (!Number.isSafeInteger(n) || n < 0) throw invalidRequest('the epoch is a non-negative integer', 'n')
        const o = reputation.outcome(n)
        const ids = deps.ledger.entries().filter(e => e.body.epoch === n)
        if (o == null && ids.length === 0) throw new CodedError(ErrorCode.NOT_FOUND, `this node holds nothing for epoch ${n} (current epoch ${reputation.currentEpoch()})`)
        return {
          epoch: n,
          entriesRoot: ledger.rootHex(n),
          entries: ids.length,
          counts: o?.counts ?? null,
          final: reputation.isFinal(n),
          consensus: o?.result == null
            ? null
            : {
                stateRoot: o.stateRoot,
                validators: o.input.validators.map((v, i) => ({ peerId: v, power: o.input.power[i], trust: fx(o.result!.validatorTrust[i]) })),
                providers: o.input.providers.map((p, j) => ({ peerId: p, consensus: fx(o.result!.consensus[j]), rank: fx(o.result!.rank[j]), reputation: fx(o.result!.reputation[j]), zeroed: o.input.zeroed[j] === 1 }))
              }
        }
      }
    }
  ]
}
