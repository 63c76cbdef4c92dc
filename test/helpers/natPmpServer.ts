/**
 * A NAT-PMP responder (RFC 6886) for the NAT tests, run inside a home router's
 * namespace: it answers the external-address request with the router's WAN
 * address, and a TCP mapping request by adding an nftables DNAT rule from the
 * WAN port to the asking host, as a home router with NAT-PMP on does. Each
 * mapping is printed as a JSON line.
 *
 *   node natPmpServer.ts LAN_IP WAN_IP
 */
import { execFileSync } from 'node:child_process'
import { createSocket } from 'node:dgram'

const [lanIp, wanIp] = process.argv.slice(2)
if (lanIp == null || wanIp == null) throw new Error('usage: natPmpServer.ts LAN_IP WAN_IP')
const started = Math.floor(Date.now() / 1000)
const mapped = new Set<string>()
const socket = createSocket('udp4')

socket.on('message', (msg, rinfo) => {
  if (msg.length < 2 || msg[0] !== 0) return
  const op = msg[1]!
  const epoch = Math.floor(Date.now() / 1000) - started
  if (op === 0) {
    const res = Buffer.alloc(12)
    res.writeUInt8(0, 0)
    res.writeUInt8(128, 1)
    res.writeUInt16BE(0, 2)
    res.writeUInt32BE(epoch, 4)
    wanIp.split('.').forEach((o, i) => res.writeUInt8(Number(o), 8 + i))
    socket.send(res, rinfo.port, rinfo.address)
    return
  }
  if ((op !== 1 && op !== 2) || msg.length < 12) return
  const internal = msg.readUInt16BE(4)
  const external = msg.readUInt16BE(6) === 0 ? internal : msg.readUInt16BE(6)
  const lifetime = msg.readUInt32BE(8)
  const proto = op === 2 ? 'tcp' : 'udp'
  const key = `${proto}/${external}`
  if (lifetime > 0 && !mapped.has(key)) {
    execFileSync('nft', ['add', 'rule', 'ip', 'nat', 'prerouting', 'iifname', 'wan', proto, 'dport', String(external), 'dnat', 'to', `${rinfo.address}:${internal}`])
    mapped.add(key)
    process.stdout.write(JSON.stringify({ mapped: { proto, external, host: rinfo.address, internal, lifetime } }) + '\n')
  }
  const res = Buffer.alloc(16)
  res.writeUInt8(0, 0)
  res.writeUInt8(128 + op, 1)
  res.writeUInt16BE(0, 2)
  res.writeUInt32BE(epoch, 4)
  res.writeUInt16BE(internal, 8)
  res.writeUInt16BE(external, 10)
  res.writeUInt32BE(lifetime, 12)
  socket.send(res, rinfo.port, rinfo.address)
})
socket.bind(5351, lanIp, () => process.stdout.write(JSON.stringify({ listening: `${lanIp}:5351` }) + '\n'))
