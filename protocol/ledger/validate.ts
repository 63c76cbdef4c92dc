/**
 * Ledger entry validation (ARCHITECTURE.md §9 "Ledger"), returning an action as
 * lodestar's gossip validators do:
 *   ACCEPT  store and forward;
 *   IGNORE  drop without blame (duplicate, too early, too late, commit not yet seen);
 *   REJECT  drop and blame the sender: the entry is invalid for everyone.
 *
 * validateGossipEntry is for the gossipsub topic; validateSyncedEntry is for
 * entries fetched by anti-entropy, and differs only in accepting entries
 * issued long ago. Apart from that "near now" check and the "not from the
 * future" check (which only ever turns IGNORE into ACCEPT as time passes), the
 * answer depends on the entry's signed fields and the entries already held,
 * never on when it arrived, so nodes that sync converge on the same ledger.
 */
import { CodedError, ErrorCode } from '../errors.ts'
import type { Network } from '../network.ts'
import type { VerifyFn } from '../signing.ts'
import { commitOpenedBy, decodeEntryUnverified, entryIdOf, epochWindowProblem, maxEntryBytes, type EntryIdFn, type LedgerEntry } from './entries.ts'
import { verifyFraudProof, type RecomputeFn } from './fraud.ts'
import { checkEvidence } from './evidence.ts'
import { toHex } from '../bytes.ts'

export type GossipAction = 'ACCEPT' | 'IGNORE' | 'REJECT'

export const LEDGER_VALIDATION_CODES = [
  ErrorCode.ENTRY_MALFORMED,
  ErrorCode.ENTRY_TOO_LARGE,
  ErrorCode.ENTRY_BAD_SIGNATURE,
  ErrorCode.ENTRY_WRONG_NETWORK,
  ErrorCode.ENTRY_DUPLICATE,
  ErrorCode.ENTRY_OUT_OF_WINDOW,
  ErrorCode.ENTRY_FROM_FUTURE,
  ErrorCode.REVEAL_WITHOUT_COMMIT,
  ErrorCode.REVEAL_MISMATCH,
  ErrorCode.FRAUD_NOT_PROVEN,
  ErrorCode.ENDORSE_SELF,
  ErrorCode.EVIDENCE_INVALID,
  ErrorCode.CONFIRM_UNKNOWN_EVIDENCE,
  ErrorCode.CONFIRM_INVALID
] as const
export type LedgerValidationCode = typeof LEDGER_VALIDATION_CODES[number]

/** The one place a code becomes an action; node/ maps actions to gossipsub results. */
export const LEDGER_CODE_ACTION: Readonly<Record<LedgerValidationCode, Exclude<GossipAction, 'ACCEPT'>>> = {
  ENTRY_MALFORMED: 'REJECT',
  ENTRY_TOO_LARGE: 'REJECT',
  ENTRY_BAD_SIGNATURE: 'REJECT',
  ENTRY_WRONG_NETWORK: 'REJECT',
  ENTRY_DUPLICATE: 'IGNORE',
  ENTRY_OUT_OF_WINDOW: 'IGNORE',
  ENTRY_FROM_FUTURE: 'IGNORE',
  // The reveal may simply have overtaken its commit; anti-entropy fetches it again later.
  REVEAL_WITHOUT_COMMIT: 'IGNORE',
  REVEAL_MISMATCH: 'REJECT',
  FRAUD_NOT_PROVEN: 'REJECT',
  ENDORSE_SELF: 'REJECT',
  EVIDENCE_INVALID: 'REJECT',
  // The evidence may not have arrived yet; anti-entropy fetches the confirm again later.
  CONFIRM_UNKNOWN_EVIDENCE: 'IGNORE',
  CONFIRM_INVALID: 'REJECT'
}

/**
 * `id` is the entry id (sha256 hex of the bytes), or '' when the bytes were
 * refused before hashing (over-size, not bytes). `entry` is present whenever
 * the entry decoded, so a caller can park a REVEAL_WITHOUT_COMMIT and retry it.
 */
export type EntryValidation =
  | { action: 'ACCEPT', code: 'OK', id: string, entry: LedgerEntry }
  | { action: 'IGNORE' | 'REJECT', code: LedgerValidationCode, id: string, message: string, entry?: LedgerEntry }

export interface LedgerValidationContext {
  network: Network
  verify: VerifyFn
  /** Current time, unix ms. protocol/ never reads the clock. */
  now: number
  /** Whether this entry id is already held (stored or in flight). */
  has: (id: string) => boolean
  /**
   * The held commit(s) of `author` for `epoch`. An author may have committed
   * more than once; a reveal is valid when it opens any of them.
   */
  commitOf: (author: string, epoch: number) => LedgerEntry | readonly LedgerEntry[] | undefined
  /** Deterministic recomputation for fraud proofs (fraud.ts referenceRecompute). */
  recompute: RecomputeFn
  /** A held entry by id (confirmations name the evidence they confirm). */
  entryById?: (id: string) => LedgerEntry | undefined
  /** How entry ids are computed; default the portable entryIdOf. Nodes pass Node's native sha256. */
  entryId?: EntryIdFn
}

/**
 * For the gossipsub topic `/infermesh/<net>/ledger/1`. `bytes` are handed over:
 * the entry may keep them, not a copy (entries.ts decodeEntryUnverified).
 */
export function validateGossipEntry (bytes: Uint8Array, ctx: LedgerValidationContext): EntryValidation {
  return validate(bytes, ctx, true)
}

/** For entries fetched over `/infermesh/<net>/ledger-sync/1.0.0`: historical entries are fine. */
export function validateSyncedEntry (bytes: Uint8Array, ctx: LedgerValidationContext): EntryValidation {
  return validate(bytes, ctx, false)
}

function isLedgerCode (code: string): code is LedgerValidationCode {
  return Object.hasOwn(LEDGER_CODE_ACTION, code)
}

function validate (bytes: Uint8Array, ctx: LedgerValidationContext, gossip: boolean): EntryValidation {
  let id = ''
  let entry: LedgerEntry | undefined
  try {
    if (!(bytes instanceof Uint8Array)) throw new CodedError(ErrorCode.ENTRY_MALFORMED, 'expected bytes')
    // §9 Ledger "size": before hashing or decoding anything.
    const max = maxEntryBytes(ctx.network)
    if (bytes.length > max) {
      throw new CodedError(ErrorCode.ENTRY_TOO_LARGE, `entry is ${bytes.length} bytes, the network allows ${max}`, { size: bytes.length, limit: max })
    }
    // §9 Ledger "duplicates are free": content-addressed, so a seen id needs no more work.
    id = (ctx.entryId ?? entryIdOf)(bytes)
    if (ctx.has(id)) throw new CodedError(ErrorCode.ENTRY_DUPLICATE, 'entry already held')
    // §4 canonical bytes, §13 malformed records; §4/§13 wrong network (replay from another network).
    const decoded = decodeEntryUnverified(bytes, ctx.network, id)
    entry = decoded.entry
    const body = entry.body
    const skewMs = ctx.network.definition.limits.maxClockSkewSeconds * 1000
    // §9 Epochs "nodes tolerate a stated clock skew": nothing is issued after now + skew.
    if (body.issuedAt > ctx.now + skewMs) {
      throw new CodedError(ErrorCode.ENTRY_FROM_FUTURE, `entry issued ${body.issuedAt - ctx.now} ms in the future`, { issuedAt: body.issuedAt })
    }
    // §13 replayed (another epoch): gossip carries only fresh entries; old ones come by anti-entropy.
    if (gossip && body.issuedAt < ctx.now - skewMs) {
      throw new CodedError(ErrorCode.ENTRY_OUT_OF_WINDOW, `entry issued ${ctx.now - body.issuedAt} ms ago; gossip carries only entries issued within the clock skew`, { issuedAt: body.issuedAt })
    }
    // §9 Weights (commit in e, reveal in e + commitRevealEpochs) and Epochs, on signed fields only.
    const windowProblem = epochWindowProblem(body, ctx.network)
    if (windowProblem != null) throw new CodedError(ErrorCode.ENTRY_OUT_OF_WINDOW, windowProblem, { epoch: body.epoch, issuedAt: body.issuedAt })
    // §9 Consensus "flows to other validators only through endorsements": endorsing oneself mints nothing and is refused.
    if (body.kind === 'endorse' && body.payload.validator === body.author) {
      throw new CodedError(ErrorCode.ENDORSE_SELF, 'an author cannot endorse itself')
    }
    // §4 every record is signed; §13 forged. After the cheap checks, before lookups and recomputation.
    if (!decoded.sigOk(ctx.verify)) {
      throw new CodedError(ErrorCode.ENTRY_BAD_SIGNATURE, `signature does not verify for ${body.author}`, { author: body.author })
    }
    if (body.kind === 'reveal') {
      // §9 Weights: a reveal opens a commit of the same author and epoch.
      const held = ctx.commitOf(body.author, body.epoch)
      const commits = held == null ? [] : Array.isArray(held) ? held : [held as LedgerEntry]
      if (commits.length === 0) throw new CodedError(ErrorCode.REVEAL_WITHOUT_COMMIT, `no commit of ${body.author} for epoch ${body.epoch} is held yet`)
      // A commit commits to its reveal's id (entries.ts commitmentOfReveal), already in hand.
      const opens = commits.some(c => c.body.author === body.author && c.body.epoch === body.epoch && commitOpenedBy(c, id))
      if (!opens) throw new CodedError(ErrorCode.REVEAL_MISMATCH, `the reveal does not open ${body.author}'s commit for epoch ${body.epoch}`)
    } else if (body.kind === 'fraud') {
      // §9 Fraud proof: anyone can verify it by recomputation.
      verifyFraudProof(body.payload, ctx.network, ctx.verify, ctx.recompute)
    } else if (body.kind === 'evidence') {
      // Real models: everything but the model is checked here; holders of the weights confirm the rest.
      checkEvidence(body.payload, ctx.network, ctx.verify, body.author)
    } else if (body.kind === 'confirm') {
      const evidenceId = toHex(body.payload.evidence)
      const evidence = ctx.entryById?.(evidenceId)
      if (evidence == null) throw new CodedError(ErrorCode.CONFIRM_UNKNOWN_EVIDENCE, `evidence ${evidenceId} is not held yet`)
      if (evidence.body.kind !== 'evidence') throw new CodedError(ErrorCode.CONFIRM_INVALID, `entry ${evidenceId} is a ${evidence.body.kind}, not evidence`)
      if (evidence.body.author === body.author) throw new CodedError(ErrorCode.CONFIRM_INVALID, 'an author cannot confirm its own evidence')
    }
    return { action: 'ACCEPT', code: 'OK', id, entry }
  } catch (err) {
    if (!(err instanceof CodedError)) throw err
    // Any other coded failure while decoding (none is expected) is a malformed entry.
    const code: LedgerValidationCode = isLedgerCode(err.code) ? err.code : ErrorCode.ENTRY_MALFORMED
    const result: EntryValidation = { action: LEDGER_CODE_ACTION[code], code, id, message: err.message }
    if (entry != null) result.entry = entry
    return result
  }
}
