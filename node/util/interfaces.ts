/** This machine's interface addresses (IPv4 and IPv6), for the --relay-reserve auto rule. */
import { networkInterfaces } from 'node:os'

export function interfaceIps (): string[] {
  return Object.values(networkInterfaces()).flatMap(list => (list ?? []).map(i => i.address))
}
