/**
 * Bad input gets a clear message and exit status 2, and never touches existing
 * data (issue 2): malformed network file, port in use, unreadable or corrupt
 * identity file.
 */
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, tempDir, writeNetworkFile } from '../helpers/nodeProcess.ts'

describe('infermesh CLI bad input', () => {
  const dir = tempDir()
  const dataDir = join(dir, 'data')
  const keyFile = join(dataDir, 'identity.key')
  let keyBefore: string
  let peerId: string

  beforeAll(async () => {
    const first = await runCli(['identity', '--data', dataDir, '--json'])
    expect(first.code).toBe(0)
    peerId = JSON.parse(first.stdout).peerId
    keyBefore = readFileSync(keyFile, 'utf8')
  })

  it('creates the key once with mode 0600 and keeps the PeerId', async () => {
    expect(statSync(keyFile).mode & 0o777).toBe(0o600)
    const again = await runCli(['identity', '--data', dataDir])
    expect(again.code).toBe(0)
    expect(again.stdout.trim()).toBe(peerId)
    expect(readFileSync(keyFile, 'utf8')).toBe(keyBefore)
  })

  it.each([
    ['a bad name', { name: 'Not Valid!' }, 'name'],
    ['an unknown field', { name: 'ok', epochSecs: 5 }, 'epochSecs'],
    ['a bad anchor PeerId', { name: 'ok', anchors: [{ peerId: 'QmNotAnEd25519Key', power: 1 }] }, 'anchors.0.peerId'],
    ['a negative epoch', { name: 'ok', epochSeconds: -1 }, 'epochSeconds'],
    ['a bootstrap address without /p2p', { name: 'ok', bootstrap: ['/ip4/127.0.0.1/tcp/1'] }, 'bootstrap.0']
  ])('a network file with %s names the field and exits 2', async (_what, def, field) => {
    const file = join(dir, `net-${field}.json`)
    writeFileSync(file, JSON.stringify(def))
    const r = await runCli(['start', '--data', dataDir, '--network', file, '--api', '127.0.0.1:0'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`"${field}"`)
    expect(readFileSync(keyFile, 'utf8')).toBe(keyBefore)
  })

  it('a network file that is not JSON exits 2', async () => {
    const file = join(dir, 'broken.json')
    writeFileSync(file, '{ "name": "x", ')
    const r = await runCli(['start', '--data', dataDir, '--network', file])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/not valid JSON/)
  })

  describe('a port already in use', () => {
    let blocker: Server
    let port: number
    beforeAll(async () => {
      blocker = createServer()
      await new Promise<void>(resolve => blocker.listen(0, '127.0.0.1', resolve))
      port = (blocker.address() as { port: number }).port
    })
    afterAll(async () => new Promise<void>(resolve => blocker.close(() => resolve())))

    it('for the API exits 2 and says what to do', async () => {
      const r = await runCli(['start', '--data', dataDir, '--network', writeNetworkFile(dir), '--api', `127.0.0.1:${port}`])
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/already in use/)
      expect(r.stderr).toMatch(/--api/)
      expect(readFileSync(keyFile, 'utf8')).toBe(keyBefore)
    })

    it('for libp2p exits 2', async () => {
      const r = await runCli(['start', '--data', dataDir, '--network', writeNetworkFile(dir), '--api', '127.0.0.1:0', '--listen', `/ip4/127.0.0.1/tcp/${port}`])
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/in use/)
    })
  })

  it('a corrupt identity file exits 2 and is never overwritten', async () => {
    const d = join(dir, 'corrupt')
    mkdirSync(d)
    const garbage = '{"version":1,"type":"Ed25519","seed":"AAAA","peerId":"12D3KooWxyz"}\n'
    writeFileSync(join(d, 'identity.key'), garbage, { mode: 0o600 })
    for (const args of [['start', '--data', d, '--network', writeNetworkFile(dir), '--api', '127.0.0.1:0'], ['identity', '--data', d]]) {
      const r = await runCli(args)
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/identity file .* (corrupt|wrong size)/)
      expect(r.stderr).toMatch(/Restore it from a backup/)
      expect(readFileSync(join(d, 'identity.key'), 'utf8')).toBe(garbage)
    }
  })

  it('an identity file whose key does not match its PeerId exits 2', async () => {
    const d = join(dir, 'mismatch')
    mkdirSync(d)
    const parsed = JSON.parse(keyBefore)
    const tampered = JSON.stringify({ ...parsed, peerId: '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN' })
    writeFileSync(join(d, 'identity.key'), tampered, { mode: 0o600 })
    const r = await runCli(['identity', '--data', d])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/does not match its PeerId/)
    expect(readFileSync(join(d, 'identity.key'), 'utf8')).toBe(tampered)
  })

  it('an unreadable identity file exits 2 and is left in place', async () => {
    // A directory where the key file should be: unreadable even for root.
    const d = join(dir, 'unreadable')
    mkdirSync(join(d, 'identity.key'), { recursive: true })
    const r = await runCli(['start', '--data', d, '--network', writeNetworkFile(dir), '--api', '127.0.0.1:0'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/cannot be read \(EISDIR\)/)
    expect(statSync(join(d, 'identity.key')).isDirectory()).toBe(true)
    rmSync(d, { recursive: true })
  })

  it('a non-loopback API bind without a token is refused with exit 2', async () => {
    const r = await runCli(['start', '--data', dataDir, '--network', writeNetworkFile(dir), '--api', '0.0.0.0:0'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/without a bearer token/)
  })

  it('unknown flags and bad values exit 2', async () => {
    expect((await runCli(['start', '--no-such-flag'])).code).toBe(2)
    const bad = await runCli(['start', '--data', dataDir, '--network', writeNetworkFile(dir), '--role', 'miner'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/unknown role "miner"/)
    const badModel = await runCli(['start', '--data', dataDir, '--network', writeNetworkFile(dir), '--models', 'ref-tiny=-3'])
    expect(badModel.code).toBe(2)
    expect(badModel.stderr).toMatch(/non-negative/)
  })
})
