/**
 * The start-up banner a person at a terminal sees (infermesh start with
 * readable logs): where the API and dashboard are, what this node does, how
 * others reach it, and a request to paste. JSON-log runs print none: their
 * readers are programs, which read the "API listening" line.
 */
import { referenceKindOf } from '../protocol/reference/registry.ts'
import { explainVerdict, type Verdict } from './discovery/reachability.ts'
import type { InfermeshNode } from './node.ts'

export interface BannerInfo {
  peerId: string
  network: string
  api: string
  roles: string[]
  models: Array<{ id: string, kind: 'chat' | 'embedding' }>
  /** The addresses peers are told to dial. */
  addresses: string[]
  /** Whether the API wants a bearer token. */
  token: boolean
  /** Whether peers elsewhere can reach this node (node/discovery/reachability.ts). */
  reachability: Verdict
}

export function bannerInfo (node: InfermeshNode, token: boolean): BannerInfo {
  const { host, port } = node.api.address
  return {
    peerId: node.identity.peerId,
    network: node.network.definition.name,
    api: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    roles: node.roles,
    models: node.models.map(m => ({ id: m.id, kind: referenceKindOf(m.id) === 'embedding' ? 'embedding' : 'chat' })),
    addresses: node.host.getMultiaddrs().map(String),
    token,
    reachability: node.reachability()
  }
}

export function startBanner (b: BannerInfo): string {
  const chat = b.models.find(m => m.kind === 'chat')?.id
  const auth = b.token ? " -H 'authorization: Bearer $INFERMESH_API_TOKEN'" : ''
  const lines = [
    '',
    `  infermesh node ${b.peerId}`,
    `  network     ${b.network}`,
    `  roles       ${b.roles.join(', ')}`,
    `  models      ${b.models.length === 0 ? 'none served here (the network\'s: GET /v1/models)' : b.models.map(m => m.id).join(', ')}`,
    `  API         ${b.api}/v1   (OpenAI-compatible)`,
    `  dashboard   ${b.api}/`,
    `  peers dial  ${b.addresses.length === 0 ? '-' : b.addresses.join('\n              ')}`,
    `  reachable   ${b.reachability}: ${explainVerdict(b.reachability)}${b.reachability === 'checking' || b.reachability === 'private' ? ' (infermesh doctor tells when it settles)' : ''}`,
    '',
    '  try:',
    `    curl -s ${b.api}/v1/chat/completions -H 'content-type: application/json'${auth} \\`,
    `      -d '{"model":"${chat ?? 'ref-tiny'}","messages":[{"role":"user","content":"hello"}],"max_tokens":16}'`,
    ''
  ]
  return lines.join('\n') + '\n'
}
