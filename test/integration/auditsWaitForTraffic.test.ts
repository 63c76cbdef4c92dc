/**
 * A validator in a network with no client traffic audits nothing, by design:
 * gateways route an audit only beside client tasks of their own, so that a
 * provider cannot tell an audit by its requester (ARCHITECTURE.md §9). It must
 * say so, and what to do, instead of staying silent.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { auditorDefaults } from '../../node/options.ts'
import { eventually, runCli, startNodeProcess, tempDir, writeNetworkFile, type NodeProcess } from '../helpers/nodeProcess.ts'

describe('a validator whose audits no gateway will route', () => {
  const dir = tempDir()
  const nodes: NodeProcess[] = []
  let validator: NodeProcess

  beforeAll(async () => {
    const v = JSON.parse((await runCli(['identity', '--data', join(dir, 'v'), '--json'])).stdout) as { peerId: string }
    const networkFile = writeNetworkFile(dir, { epochSeconds: 3, recordTtlSeconds: 10, anchors: [{ peerId: v.peerId, power: 1 }] })
    const gateway = await startNodeProcess(['--data', join(dir, 'g'), '--network', networkFile, '--role', 'gateway'])
    nodes.push(gateway)
    const boot = ['--bootstrap', gateway.addresses[0]!]
    nodes.push(await startNodeProcess(['--data', join(dir, 'p'), '--network', networkFile, '--role', 'provider', '--models', 'ref-tiny', ...boot]))
    validator = await startNodeProcess(['--data', join(dir, 'v'), '--network', networkFile, '--role', 'validator', ...boot])
    nodes.push(validator)
  }, 90_000)

  afterAll(async () => {
    await Promise.all(nodes.map(async n => n.stop()))
  })

  it('warns that its audits wait for client traffic, and says what to do, once every few epochs', async () => {
    const warnings = (): Array<{ msg: string, level: number, epoch?: unknown }> => validator.logs.filter(l => /audits are waiting for client traffic/.test(l.msg))
    await eventually(async () => warnings().length, n => n > 0, { timeoutMs: 45_000, what: 'the validator\'s warning' })
    const w = warnings()[0]!
    expect(w.level).toBe(40)
    expect(w.msg).toMatch(/send tasks through a gateway/)
    // Not once per refused audit (up to 16 an epoch): at most once every auditorDefaults.trafficWarningEpochs.
    const epochs = warnings().map(x => Number(x.epoch))
    for (let i = 1; i < epochs.length; i++) expect(epochs[i]! - epochs[i - 1]!).toBeGreaterThanOrEqual(auditorDefaults.trafficWarningEpochs)
    // Every epoch without a placed audit is counted, by its reason.
    const counted = await eventually(async () => {
      const text = await (await fetch(`${validator.api}/metrics`)).text()
      return Number(/infermesh_validator_epochs_without_audits_total\{reason="no_client_traffic"\} (\d+)/.exec(text)?.[1] ?? 0)
    }, n => n >= 1, { timeoutMs: 20_000, what: 'an epoch without audits in /metrics' })
    expect(counted).toBeGreaterThanOrEqual(1)
  }, 60_000)

  it('warns, once every few epochs, when epochs pass with no audit placed for another reason, with what to do', async () => {
    // A validator alone in its network: no provider to audit.
    const dir2 = tempDir()
    const v = JSON.parse((await runCli(['identity', '--data', join(dir2, 'v'), '--json'])).stdout) as { peerId: string }
    const networkFile = writeNetworkFile(dir2, { epochSeconds: 2, recordTtlSeconds: 10, anchors: [{ peerId: v.peerId, power: 1 }] })
    const lonely = await startNodeProcess(['--data', join(dir2, 'v'), '--network', networkFile, '--role', 'validator'])
    nodes.push(lonely)
    const warnings = async (): Promise<Array<{ msg: string, level: number, reason?: unknown, epoch?: unknown }>> => lonely.logs.filter(l => /^no audit placed in epoch \d+:/.test(l.msg))
    await eventually(warnings, w => w.length >= 2, { timeoutMs: 40_000, what: 'two no-audit warnings' })
    const [first, second] = await warnings()
    expect(first!.level).toBe(40)
    expect(first!.reason).toBe('no_provider')
    expect(first!.msg).toMatch(/--verify-models/)
    expect(Number(second!.epoch) - Number(first!.epoch)).toBeGreaterThanOrEqual(auditorDefaults.trafficWarningEpochs)
  }, 60_000)
})
