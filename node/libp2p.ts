/**
 * The one libp2p factory (ARCHITECTURE.md §3): TCP, Noise, yamux, identify, ping,
 * kad-dht under the network's protocol prefix, and gossipsub; for reachability
 * circuit relay v2 (transport; server on a relay), DCUtR, AutoNAT v2 and UPnP.
 * Every limit is set here with the reason beside it in node/options.ts.
 */
import { coalescedNoise } from './util/coalescedNoise.ts'
import { sendWindowUpdatesAtHalf } from './util/yamuxWindowUpdates.ts'
import { yamux } from '@chainsafe/libp2p-yamux'
import { autoNATv2 } from '@libp2p/autonat-v2'
import { bootstrap } from '@libp2p/bootstrap'
import { circuitRelayServer, circuitRelayTransport, type CircuitRelayService } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { gossipsub } from '@libp2p/gossipsub'
import { createTopicScoreParams } from '@libp2p/gossipsub/score'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper, type KadDHT } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { KEEP_ALIVE } from '@libp2p/interface'
import { createLibp2p, type Libp2p } from 'libp2p'
import type { Registry } from 'prom-client'
import { CAPACITY_KEY_NAMESPACE, selectCapacityRecord, verifyCapacityRecord } from '../protocol/capacity.ts'
import type { Identity } from '../protocol/identity.ts'
import { protocolIds, type Network } from '../protocol/network.ts'
import type { VerifyFn } from '../protocol/signing.ts'
import { createConnectionGater, type GaterDenial } from './gating/connectionGater.ts'
import { HangUpBackoff } from './gating/hangUpBackoff.ts'
import { libp2pDefaults, reachabilityDefaults } from './options.ts'

export type HostServices = {
  dht: KadDHT
  identify: ReturnType<ReturnType<typeof identify>>
  ping: ReturnType<ReturnType<typeof ping>>
  pubsub: ReturnType<ReturnType<typeof gossipsub>>
  autonat: unknown
  dcutr: unknown
  /** Only on a node with the relay role. */
  relay?: CircuitRelayService
}

/** What a relay's operator allows (defaultNodeOptions.relay*). */
export interface RelayServerLimits {
  maxReservations: number
  /** Bytes one relayed connection may carry, both ways together. */
  dataLimitBytes: number
  durationLimitMs: number
}

export type Host = Libp2p<HostServices>

export interface HostInit {
  identity: Identity
  network: Network
  listen: string[]
  /** Advertised instead of the listen addresses when not empty. */
  announce?: string[]
  /** Network file bootstrap list plus --bootstrap. */
  bootstrap: string[]
  verify: VerifyFn
  now: () => number
  /**
   * Gossipsub's app-specific peer score (ARCHITECTURE.md §9): reputation and fraud
   * bans, so the mesh itself shuns proven cheaters. Late-bound: the ledger
   * starts after the host.
   */
  appScore?: (peerId: string) => number
  /** When given, libp2p's own metrics (connections, streams, DHT, gossipsub) go here. */
  metricsRegistry?: Registry
  /**
   * The blocklist (operator-blocked and fraud-proven peers), consulted by the
   * connection gater on every dial and handshake. Late-bound like appScore.
   */
  isBlocked?: (peerId: string) => boolean
  /** Inbound connections from one non-loopback IP; libp2pDefaults.maxInboundPerIp when not given. */
  maxInboundPerIp?: number
  /** Inbound connections from one loopback IP; libp2pDefaults.maxInboundPerLoopbackIp when not given. */
  maxInboundPerLoopbackIp?: number
  /** Told about every connection the gater refuses. */
  onConnectionDenied?: (reason: GaterDenial, detail: string) => void
  /** Told when a peer that hangs up on every connection is put in dial backoff (gating/hangUpBackoff.ts), for how long. */
  onDialBackoff?: (peerId: string, ms: number) => void
  /** Called with every DHT record the validator rejects, for logs and metrics. */
  onRecordRejected?: (err: unknown, key: Uint8Array) => void
  /**
   * Run the DHT as a client only: a node behind NAT, which others could reach only
   * through a relay (and kad-dht does not run on relayed connections), would sit in
   * their routing tables as a peer every query times out on.
   */
  dhtClient?: boolean
  /** Map the listen port on the router by UPnP IGD or NAT-PMP. */
  upnp?: boolean
  /** Serve as a circuit relay (the relay role), within these limits. */
  relay?: RelayServerLimits
}

export async function createHost (init: HostInit): Promise<Host> {
  const { network } = init
  sendWindowUpdatesAtHalf()
  const privateKey = await generateKeyPairFromSeed('Ed25519', init.identity.seed)

  const validateCapacity = (key: Uint8Array, value: Uint8Array): void => {
    try {
      verifyCapacityRecord(value, { network, now: init.now(), verify: init.verify, key })
    } catch (err) {
      init.onRecordRejected?.(err, key)
      throw err
    }
  }

  // Loaded only with --upnp: @achingbrain/nat-port-mapper brings node:https and node:tls
  // (2.9 MB of RSS in a bare node) and an XML parser, which a node without UPnP never uses.
  let upnp: ReturnType<typeof import('@libp2p/upnp-nat').uPnPNAT> | undefined
  if (init.upnp === true) {
    const [{ uPnPNAT }, { portMappingClient }] = await Promise.all([import('@libp2p/upnp-nat'), import('./discovery/portMapping.ts')])
    upnp = uPnPNAT({ portMappingClient: portMappingClient(), portMappingDescription: 'infermesh', autoConfirmAddress: true })
  }

  const hangUps = new HangUpBackoff(libp2pDefaults.hangUpBackoff)
  const host = await createLibp2p({
    privateKey,
    ...(init.metricsRegistry != null ? { metrics: prometheusMetrics({ registry: init.metricsRegistry, collectDefaultMetrics: false, preserveExistingMetrics: true }) } : {}),
    addresses: {
      listen: init.listen,
      ...(init.announce != null && init.announce.length > 0 ? { announce: init.announce } : {})
    },
    connectionGater: createConnectionGater({
      isBlocked: peer => init.isBlocked?.(peer) ?? false,
      isBackingOff: peer => hangUps.denies(peer, init.now()),
      maxInboundPerIp: init.maxInboundPerIp ?? libp2pDefaults.maxInboundPerIp,
      maxInboundPerLoopbackIp: init.maxInboundPerLoopbackIp ?? libp2pDefaults.maxInboundPerLoopbackIp,
      onDenied: init.onConnectionDenied
    }),
    transports: [tcp(), circuitRelayTransport({
      reservationConcurrency: reachabilityDefaults.reservationConcurrency,
      reservationCompletionTimeout: reachabilityDefaults.reservationCompletionTimeoutMs
    })],
    connectionEncrypters: [coalescedNoise()],
    streamMuxers: [yamux()],
    peerDiscovery: init.bootstrap.length > 0 ? [bootstrap({ list: init.bootstrap })] : [],
    connectionManager: {
      maxConnections: libp2pDefaults.maxConnections,
      dialTimeout: libp2pDefaults.dialTimeoutMs,
      inboundConnectionThreshold: libp2pDefaults.inboundConnectionThreshold,
      maxIncomingPendingConnections: libp2pDefaults.maxIncomingPendingConnections
    },
    services: {
      identify: identify(),
      ping: ping(),
      // Tells this node which of its addresses others can dial (and dials back for others).
      autonat: autoNATv2({ startupDelay: reachabilityDefaults.autoNatStartupDelayMs, refreshInterval: reachabilityDefaults.autoNatRefreshMs }),
      // A relayed connection is upgraded to a direct one: by dialing back a public
      // peer, or by a simultaneous open (ARCHITECTURE.md §3 says what Node can punch).
      dcutr: dcutr({ timeout: reachabilityDefaults.holePunchTimeoutMs, retries: reachabilityDefaults.holePunchRetries }),
      // UPnP IGD, and NAT-PMP on the default gateway (node/discovery/portMapping.ts). The mapped
      // address is taken on the router's word (autoConfirmAddress): AutoNAT v2 checks an address
      // only when a new peer connects, so on a network whose peers are all connected already a
      // mapping made later stayed unlisted (a CI run: 90 s). Validators' address checks still dial it.
      ...(upnp != null ? { upnp } : {}),
      ...(init.relay != null
        ? {
            relay: circuitRelayServer({
              hopTimeout: reachabilityDefaults.hopTimeoutMs,
              maxInboundHopStreams: reachabilityDefaults.maxInboundHopStreams,
              reservations: {
                maxReservations: init.relay.maxReservations,
                reservationTtl: reachabilityDefaults.reservationTtlMs,
                defaultDataLimit: BigInt(init.relay.dataLimitBytes),
                defaultDurationLimit: init.relay.durationLimitMs
              }
            })
          }
        : {}),
      dht: kadDHT({
        // A private DHT: only peers of this network speak this protocol.
        protocol: protocolIds(network).kad,
        logPrefix: 'libp2p:infermesh-dht',
        // Loopback and LAN networks have no public address, so automatic mode
        // would leave every node a client and the DHT empty: servers unless behind NAT.
        clientMode: init.dhtClient === true,
        peerInfoMapper: passthroughMapper,
        // A lone node (the first seed) still answers lookups from its own store.
        allowQueryWithZeroPeers: true,
        validators: { [CAPACITY_KEY_NAMESPACE]: validateCapacity },
        selectors: {
          [CAPACITY_KEY_NAMESPACE]: (key, records) => selectCapacityRecord(records, { network, now: init.now(), verify: init.verify, key })
        }
      }),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        maxInboundDataLength: network.definition.limits.maxMessageBytes,
        scoreParams: {
          appSpecificScore: (p: string) => init.appScore?.(p) ?? 0,
          appSpecificWeight: 1,
          IPColocationFactorWhitelist: new Set(libp2pDefaults.ipColocationWhitelist),
          // A peer that delivers messages our validators REJECT (forged, wrong network, over-size) loses score fast.
          topics: Object.fromEntries([protocolIds(network).capacityTopic, protocolIds(network).ledgerTopic].map(t => [t, createTopicScoreParams({
            topicWeight: 1,
            timeInMeshWeight: 0,
            firstMessageDeliveriesWeight: 0,
            meshMessageDeliveriesWeight: 0,
            meshFailurePenaltyWeight: 0,
            invalidMessageDeliveriesWeight: libp2pDefaults.invalidMessageDeliveriesWeight,
            invalidMessageDeliveriesDecay: libp2pDefaults.invalidMessageDeliveriesDecay
          })]))
        }
      })
    }
  })
  backOffFromHangUps(host, hangUps, init)
  return host
}

/**
 * Feeds our dialled connections' lifetimes to the backoff (gating/hangUpBackoff.ts), and
 * ends a peer's backoff when it connects to us. A peer put in backoff also loses its
 * KEEP_ALIVE tags, so that libp2p's reconnect queue stops redialling it; kad-dht tags it
 * again only if it re-enters the closest peers.
 */
function backOffFromHangUps (host: Host, hangUps: HangUpBackoff, init: HostInit): void {
  host.addEventListener('connection:open', evt => {
    if (evt.detail.direction === 'inbound') hangUps.forget(evt.detail.remotePeer.toString())
  })
  host.addEventListener('connection:close', evt => {
    const conn = evt.detail
    // Another connection to the peer still open (a relayed one upgraded by DCUtR): no hang-up.
    // Nor a relayed connection: a relay resets one at its data limit, which a busy one can
    // reach in moments, and backing off then would cut the peer off for 30 s.
    if (conn.direction !== 'outbound' || !conn.direct || host.getConnections(conn.remotePeer).length > 0) return
    const peer = conn.remotePeer.toString()
    const ms = hangUps.closed(peer, conn.timeline.open, conn.timeline.close ?? init.now())
    if (ms === 0) return
    init.onDialBackoff?.(peer, ms)
    void host.peerStore.get(conn.remotePeer).then(async stored => {
      const tags = Object.fromEntries([...stored.tags.keys()].filter(t => t.startsWith(KEEP_ALIVE)).map(t => [t, undefined]))
      if (Object.keys(tags).length > 0) await host.peerStore.merge(conn.remotePeer, { tags })
    }).catch(() => {})
  })
}
