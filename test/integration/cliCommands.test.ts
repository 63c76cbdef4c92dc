/**
 * Every CLI command has --help, and every command that prints data has
 * --json whose shape is checked here against a running node.
 */
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { eventually, getJson, runCli, startNodeProcess, tempDir, writeNetworkFile, type NodeProcess } from '../helpers/nodeProcess.ts'

const peerId = z.string().regex(/^12D3KooW[1-9A-HJ-NP-Za-km-z]+$/)

describe('infermesh commands', () => {
  const dir = tempDir()
  let node: NodeProcess

  beforeAll(async () => {
    node = await startNodeProcess(['--data', join(dir, 'n'), '--network', writeNetworkFile(dir, { recordTtlSeconds: 10 }), '--role', 'provider', '--models', 'ref-tiny'])
    await eventually(async () => (await getJson(`${node.api}/v1/providers?model=ref-tiny`)).body.providers.length, n => n === 1, { what: 'provider published' })
  }, 60_000)
  afterAll(async () => node?.stop())

  it.each(['start', 'devnet', 'identity', 'providers', 'reputation', 'submit', 'status', 'config'])('%s --help', async cmd => {
    const r = await runCli([cmd, '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(new RegExp(`^Usage: infermesh ${cmd}`))
    expect(r.stdout).toMatch(/Options:/)
  })

  const shapes: Array<[string, string[], z.ZodType]> = [
    ['identity', ['identity', '--data', join(tempDir(), 'id')], z.object({ peerId, keyFile: z.string(), created: z.boolean() })],
    ['providers', ['providers', '--model', 'ref-tiny'], z.object({ model: z.literal('ref-tiny'), providers: z.array(z.object({ peerId, hardware: z.object({ cpuOnly: z.boolean() }), models: z.array(z.object({ id: z.string(), pricing: z.object({ prompt: z.number(), completion: z.number() }) })), expiresAt: z.string() })).length(1) })],
    ['reputation', ['reputation'], z.object({ epoch: z.number(), currentEpoch: z.number(), stateRoot: z.string().nullable(), providers: z.array(z.object({ peerId })), validators: z.array(z.object({ peerId })) })],
    ['submit', ['submit', '--model', 'ref-tiny', '--max-tokens', '4', 'hi'], z.object({ object: z.literal('chat.completion'), choices: z.array(z.object({ message: z.object({ content: z.string() }) })).length(1), infermesh: z.object({ provider: peerId, taskId: z.string().regex(/^[0-9a-f]{32}$/), receipt: z.object({ id: z.string() }) }) })],
    ['status', ['status'], z.object({ peerId, network: z.object({ name: z.literal('itest'), id: z.string().length(64) }), roles: z.array(z.string()), peers: z.number(), servedModels: z.array(z.string()), networkModels: z.array(z.object({ id: z.string(), providers: z.number() })), consensus: z.object({ epoch: z.number(), validators: z.number() }) })],
    ['config', ['config'], z.object({ configFile: z.string().nullable(), settings: z.record(z.string(), z.object({ source: z.enum(['flag', 'env', 'file', 'default']) })) })]
  ]

  it.each(shapes)('%s --json has the documented shape', async (_name, args, schema) => {
    const withApi = ['identity', 'config'].includes(args[0]!) ? args : [...args, '--api', node.api]
    const r = await runCli([...withApi, '--json'])
    expect(r.code).toBe(0)
    const parsed = schema.safeParse(JSON.parse(r.stdout))
    expect(parsed.success ? 'ok' : JSON.stringify(parsed.error.issues)).toBe('ok')
  })

  it('an unreachable API says what to do and exits 2', async () => {
    // A port that was just free: nothing listens there (port 9 may be taken on some machines).
    const probe = createServer()
    await new Promise<void>(resolve => probe.listen(0, '127.0.0.1', resolve))
    const port = (probe.address() as AddressInfo).port
    await new Promise<void>(resolve => probe.close(() => resolve()))
    const r = await runCli(['status', '--api', `http://127.0.0.1:${port}`])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/cannot reach the node API .* start a node with "infermesh start" or pass --api URL/)
  })
})
