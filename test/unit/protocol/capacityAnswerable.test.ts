/** The pure rule a provider lookup answers by from records already held (issue 16). */
import { describe, expect, it } from 'vitest'
import { answerableRecords, recordUsable, type CapacityRecord } from '../../../protocol/capacity.ts'
import { generateIdentity } from '../../../protocol/identity.ts'
import { parseNetworkDefinition } from '../../../protocol/network.ts'
import { capacityRecordBody } from '../../helpers/capacityRecords.ts'
import { compareCodeUnits } from '../../../protocol/ascii.ts'

const network = parseNetworkDefinition({ name: 'answerable-unit' })
const now = 1_700_000_000_000
const rec = (over: Partial<CapacityRecord> = {}, id = generateIdentity()): CapacityRecord =>
  capacityRecordBody(id, network, { issuedAt: now - 10_000, expiresAt: now + 50_000, ...over })

describe('recordUsable', () => {
  it('is false once the record has expired, or is within the margin of it', () => {
    expect(recordUsable({ expiresAt: now + 1 }, now)).toBe(true)
    expect(recordUsable({ expiresAt: now }, now)).toBe(false)
    expect(recordUsable({ expiresAt: now - 1 }, now)).toBe(false)
    expect(recordUsable({ expiresAt: now + 1000 }, now, 1000)).toBe(false)
    expect(recordUsable({ expiresAt: now + 1001 }, now, 1000)).toBe(true)
  })
})

describe('answerableRecords', () => {
  const opts = { now, marginMs: 1000, max: 64 }

  it('keeps only unexpired records (with the margin) that list the model, sorted by PeerId', () => {
    const good = [rec(), rec(), rec()]
    const expired = rec({ expiresAt: now - 1 })
    const closeToExpiry = rec({ expiresAt: now + 500 })
    const otherModel = rec({ models: [{ ...rec().models[0]!, id: 'ref-small' }] })
    const out = answerableRecords([expired, ...good, closeToExpiry, otherModel], 'ref-tiny', opts)
    expect(out.map(r => r.peer)).toEqual(good.map(r => r.peer).sort((a, b) => compareCodeUnits(a, b)))
    expect(answerableRecords([expired, closeToExpiry], 'ref-tiny', opts)).toEqual([])
  })

  it('keeps one record per peer: the highest seq, then the later expiry', () => {
    const id = generateIdentity()
    const older = rec({ seq: 3 }, id)
    const newer = rec({ seq: 4, expiresAt: now + 20_000 }, id)
    const sameSeqLater = rec({ seq: 4, expiresAt: now + 30_000 }, id)
    expect(answerableRecords([older, newer, sameSeqLater], 'ref-tiny', opts)).toEqual([sameSeqLater])
    // A newer record that has expired does not hide an older one still good.
    expect(answerableRecords([older, rec({ seq: 9, expiresAt: now - 1 }, id)], 'ref-tiny', opts)).toEqual([older])
  })

  it('returns at most max', () => {
    const many = Array.from({ length: 10 }, () => rec())
    expect(answerableRecords(many, 'ref-tiny', { ...opts, max: 4 })).toHaveLength(4)
    expect(answerableRecords(many, 'ref-tiny', { ...opts, max: 0 })).toEqual([])
  })
})
