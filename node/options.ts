/**
 * Every default of the node, in one place, with its unit and why
 *. Config (node/config.ts) layers flags, INFERMESH_* environment
 * variables and a config file over these.
 */
import type { ReferenceModelId } from '../protocol/reference/registry.ts'

export const second = 1000
export const minute = 60 * second

export const VERSION = '0.1.0'

export const defaultNodeOptions = {
  /** Data directory: identity key and LevelDB. Relative to the working directory. */
  dataDir: '.infermesh',
  /** A seeds/<name>.json network, or a path to a network file. */
  network: 'local',
  /** Extra bootstrap multiaddrs, added to the network file's list. */
  bootstrap: [] as string[],
  /**
   * libp2p listen multiaddrs. Loopback with an ephemeral port suits the local
   * development network; to join a real network use /ip4/0.0.0.0/tcp/4001.
   */
  listen: ['/ip4/127.0.0.1/tcp/0'],
  /**
   * Addresses to advertise instead of the listen addresses (behind NAT or a
   * port forward: the public address). Empty: advertise what we listen on.
   */
  announce: [] as string[],
  /**
   * Reserve a slot on a circuit relay and advertise the /p2p-circuit address, so
   * that peers reach this node behind NAT: auto (when it listens on a LAN
   * address and announces none: the home router case; a loopback-only node is a
   * local network and needs no relay), always, never.
   */
  relayReserve: 'auto',
  /** Port mapping on the router, UPnP IGD or NAT-PMP (node/discovery/portMapping.ts): auto (the same rule as relayReserve), on, off. */
  upnp: 'auto',
  /** Relay role: reservations held at once; more are refused (RESERVATION_REFUSED). */
  relayMaxReservations: '64',
  /** Relay role: KiB one relayed connection may carry (both ways together) before the relay resets it. */
  relayDataLimitKib: '16384',
  /** Relay role: seconds one relayed connection may stay open. */
  relayDurationLimit: '600',
  /** HTTP API bind address. Loopback, so nothing is exposed by default. */
  api: '127.0.0.1:8484',
  /** Bearer token for the API; required for a non-loopback bind. */
  apiToken: undefined as string | undefined,
  roles: ['provider', 'gateway'] as string[],
  /** Models to advertise: ID or ID=PRICE (credits per million tokens, in and out). */
  models: ['ref-tiny'],
  /** pino level */
  logLevel: 'info',
  /** auto: human-readable lines and a start-up banner on a terminal, JSON lines otherwise; or json, or pretty. */
  logFormat: 'auto',
  /** Optional JSON config file; <dataDir>/config.json is read when present. */
  config: undefined as string | undefined,
  /**
   * Provider backend: the built-in reference models (bit-exact), the same
   * with reductions in random order (reference-nondeterministic: imitates GPU
   * nondeterminism, for tests and devnets), or an OpenAI-compatible upstream
   * server, or GGUF files served by the built-in llama.cpp engine (llama).
   * Only the first advertises its models as deterministic.
   */
  backend: 'reference',
  /**
   * Accelerators the node cannot detect but serves with (an upstream's Groq or
   * Cerebras system, say), KIND:VENDOR:MODEL:MEMORY_GIB[:COUNT]: marked declared
   * in the capacity record.
   */
  accelerators: [] as string[],
  /** Upstream base URL for --backend openai, e.g. http://127.0.0.1:11434/v1 (Ollama). */
  upstream: undefined as string | undefined,
  /** Concurrent tasks this provider runs. */
  slots: '4',
  /** Credit a requester may run up before its tasks are refused, in credits. */
  creditLimit: '1000000',
  /** Seconds the upstream may take to start answering or between stream chunks. */
  upstreamTimeout: '60',
  /**
   * The structured parameters the upstream honours (tools, tool_choice,
   * parallel_tool_calls, response_format, structured_outputs), declared by the
   * operator. Empty: what the upstream's GET /models lists per model
   * (OpenRouter and infermesh list supported_parameters), else the sampling
   * parameters only.
   */
  upstreamParameters: [] as string[],
  /**
   * What the upstream's models take in: text, and image for a vision model.
   * Empty: what its GET /models lists as architecture.input_modalities
   * (OpenRouter and infermesh list them), else text only.
   */
  upstreamInputs: [] as string[],
  /**
   * Inbound connections accepted from one remote IP (open or upgrading), so one
   * host cannot take every connection slot. Loopback has its own, higher cap
   * (libp2pDefaults.maxInboundPerLoopbackIp).
   */
  maxInboundPerIp: '16',
  /**
   * Audits a validator sends per epoch at most (auditorDefaults.auditsPerProvider
   * per known provider below that). The cost of validating: each audit is one
   * ordinary task plus its recomputation.
   */
  auditsPerEpoch: '16',
  /**
   * Validator role: the real models this validator holds and checks, `ID@PATH.gguf`
   * (its own copy, run by the built-in engine) or, with verifyUpstream,
   * `ID@REVISION[#QUANT]` (the weights its own vLLM/SGLang server holds). It
   * audits only providers whose declared weights match. Empty: reference models only.
   */
  verifyModels: [] as string[],
  /** Validator role: base URL of the vLLM or SGLang server that re-scores answers for it (never the provider's). */
  verifyUpstream: undefined as string | undefined,
  /** The re-scoring API verifyUpstream speaks: vllm or sglang. */
  verifyDialect: 'vllm',
  /** CPU threads per llama.cpp engine (llamaDefaults.threads explains the default). */
  llamaThreads: '1',
  /** Fault injection for tests and devnets (see node/backends/faulty.ts). Never set in production. */
  fault: undefined as string | undefined
}

export type NodeOptions = typeof defaultNodeOptions

/** Built-in reference models (ARCHITECTURE.md §8) and what a provider advertises for them. */
export const referencePrices: Record<ReferenceModelId, number> = {
  'ref-tiny': 100_000,
  'ref-small': 1_000_000,
  'ref-embed': 50_000
}

export const providerDefaults = {
  /** Concurrent tasks a provider runs. */
  slots: 4,
  /** Start-up throughput measurement per model: output tokens per run, runs (the best counts), and a cap on the whole of it. */
  throughputTokens: 32,
  throughputRuns: 3,
  throughputTimeoutMs: 20 * 1000,
  /** Tasks waiting for a slot before new ones get BUSY. */
  maxQueue: 16,
  /** Credit a requester may run up before its tasks are refused, micro-credits (1M credits). */
  creditLimitMicros: 1_000_000_000_000,
  /** The request frame must arrive this soon after a stream opens (slow-loris). */
  requestReadTimeoutMs: 5 * 1000,
  /** Closing a finished stream. */
  closeTimeoutMs: 5 * 1000,
  /**
   * A task stream kept alive after its receipt (task/2.0.0) is closed when no next
   * request comes within this. Longer than the gateway's keptAliveIdleMs, so the
   * gateway, which knows when it will send, normally closes first; shorter than
   * libp2p's 120 s stream inactivity timeout.
   */
  keepAliveIdleMs: 30 * second,
  /**
   * Each frame written to the requester must be taken within this: a peer that
   * stops reading is cut off instead of holding a slot until its own deadline.
   */
  writeIdleTimeoutMs: 30 * second,
  /** Concurrent inbound task streams per connection. */
  maxInboundTaskStreams: 128,
  /**
   * Per-peer token bucket on task streams: refill rate, tasks per second. High
   * enough for one gateway carrying many clients (ARCHITECTURE.md §12 asks 1,500
   * tasks/s from one gateway); it bounds the signature checks a flood costs.
   */
  peerTaskRatePerSecond: 2_000,
  /** Per-peer bucket size: the burst one peer may open at once. */
  peerTaskBurst: 500,
  /**
   * Share of this provider's slots + queue one peer may hold at once; beyond
   * it RATE_LIMITED. 0.5: a flooding peer leaves half the capacity to others.
   */
  peerShareOfCapacity: 0.5,
  /** Peers whose buckets are kept; idle ones are dropped first. */
  maxTrackedPeers: 10_000
}

export const gatewayDefaults = {
  /** Providers tried for one task before giving up. */
  maxAttempts: 4,
  /** Whole-task deadline written into every request. */
  taskDeadlineMs: 120 * second,
  /** Dialing a provider. */
  dialTimeoutMs: 5 * second,
  /** First frame (token, embedding or error) must arrive within this, else fail over. */
  firstFrameTimeoutMs: 30 * second,
  /** Gap allowed between frames once streaming. */
  idleTimeoutMs: 30 * second,
  /** A failing provider is skipped this long, doubling per failure (Petals: 15 s). */
  banBaseMs: 15 * second,
  banMaxMs: 5 * minute,
  /**
   * A provider that refused a task as full (BUSY, or RATE_LIMITED: this gateway's share of
   * it) goes after the others this long. Not a failure: banned for banBaseMs and marked
   * unreliable, one busy refusal under load sent every first attempt to the other provider
   * for 15 s or more (scripts/bench/soak.ts: a provider idle mid-load while its peer queued).
   */
  busyBackoffMs: 1 * second,
  /** EMA factor for TTFT, throughput and reliability. */
  statsAlpha: 0.2,
  priorReliability: 0.9,
  /** Routing weight of a provider consensus has not scored yet (1 = the best known). */
  newProviderReputation: 0.5,
  /** Bound on providers with stats or bans kept in memory. */
  maxTrackedProviders: 10_000,
  /** Recent tasks per provider whose latency and throughput the percentile preferences read (preferred_max_latency, preferred_min_throughput). */
  recentSamples: 50,
  /**
   * Finished task streams kept open per provider for the next task (task/2.0.0), like
   * HTTP keep-alive. 64: the concurrency the throughput budget is measured at; half
   * a provider's providerDefaults.maxInboundTaskStreams.
   */
  keptAliveStreamsPerProvider: 64,
  /** Providers with kept-alive streams; beyond it the one idle longest loses its streams. */
  keptAlivePeers: 256,
  /** A kept-alive stream unused this long is closed (the provider's own limit, keepAliveIdleMs, is longer). */
  keptAliveIdleMs: 10 * second
}

export const accountsDefaults = {
  /** Counterparties whose balances are held in memory; all of them stay in LevelDB. */
  maxBalancesInMemory: 100_000,
  /**
   * Receipt keys remembered for de-duplication at most; each is kept only until its
   * request's deadline (Accounts.remember), so this bound is reached only by a node
   * above 1,600 tasks/s with 120 s deadlines.
   */
  recentReceipts: 200_000
}

export const statusDefaults = {
  /** Concurrent inbound status streams (each answers one signed record and closes). */
  maxInboundStreams: 32
}

export const rankingDefaults = {
  /** Share of tasks sent first to a provider we have never measured. */
  explorationShare: 0.05,
  /** TTFT assumed for an unmeasured provider, ms (its reliability: gatewayDefaults.priorReliability). */
  priorTtftMs: 500
}

export const catalogDefaults = {
  /** Most capacity records the model catalog holds. */
  maxRecords: 10_000
}

export const advertDefaults = {
  /** Republish the capacity record when this fraction of its TTL has passed (Petals: 60 s of 120 s). */
  republishFraction: 0.5,
  /** How long to wait for a first DHT peer before publishing anyway. */
  firstPeerWaitMs: 10 * second
}

export const lookupDefaults = {
  /** A provider lookup gives up after this long and returns what it has. */
  timeoutMs: 5 * second,
  /** Most providers returned for one model (bounds the record fetches). */
  maxProviders: 64,
  /** Fetching one capacity record from the DHT. */
  recordTimeoutMs: 3 * second,
  /** Most verified capacity records kept in memory (oldest evicted first). */
  maxCachedRecords: 4096,
  /** A model's provider list is reused this long without a new DHT walk. */
  providerListTtlMs: 10 * second,
  /** ...and served while a background walk refreshes it, up to this age. */
  providerListMaxStaleMs: 60 * second,
  /** Most models whose provider lists are cached. */
  maxCachedModels: 1024,
  /** Asking a provider for its record directly (status protocol). */
  statusTimeoutMs: 1 * second,
  /** Verified records are reused until this close to their expiry. */
  cacheMarginMs: 1 * second,
  /** A provider whose record could not be fetched (none, invalid, expired) is not asked again for this long. */
  missRetryMs: 3 * second
}

/**
 * Reachability (ARCHITECTURE.md §3): circuit relay v2, DCUtR, AutoNAT v2, UPnP.
 * The relay-role numbers an operator sets are in defaultNodeOptions (relay*).
 */
export const reachabilityDefaults = {
  /**
   * Protocols allowed over a relayed, limited connection, and only these: a task
   * (a few KiB each way), a status query (one record) and an audit handed to a
   * gateway. Bulk traffic (ledger sync, DHT, gossip) waits for a direct connection:
   * it would spend the relay's data limit on what any other peer can serve.
   */
  limitedProtocols: ['task', 'status', 'submit'] as const,
  /** Relays a node behind NAT keeps a reservation on at once (js-libp2p's default is 1: one relay down is no route at all). */
  reservationConcurrency: 2,
  /** A reservation request must be answered within this. */
  reservationCompletionTimeoutMs: 10 * second,
  /** Relay role: a hop request (a peer asking to be connected through us) must complete within this. */
  hopTimeoutMs: 30 * second,
  /** Relay role: hop streams served at once. */
  maxInboundHopStreams: 64,
  /** Relay role: reservation lifetime; clients refresh before it ends. */
  reservationTtlMs: 60 * minute,
  /** DCUtR: each hole-punch attempt's limit, and attempts per relayed connection. */
  holePunchTimeoutMs: 5 * second,
  holePunchRetries: 3,
  /** How often a node behind NAT checks its reservations and looks for more relays. */
  relayCheckIntervalMs: 5 * second,
  /** A node short of reservations looks for relays in the DHT at most this often, each search bounded, and keeps this many candidates. */
  relaySearchIntervalMs: 15 * second,
  relaySearchIntervalReservedMs: 5 * minute,
  relaySearchTimeoutMs: 10 * second,
  maxRelayCandidates: 16,
  /** A relay that refused a reservation (full, unreachable) is asked again only after this. */
  relayRetryMs: 60 * second,
  /** AutoNAT v2: first check after start, then this often. */
  autoNatStartupDelayMs: 2 * second,
  autoNatRefreshMs: 60 * second,
  /** How often the reachability verdict is re-evaluated from the host's addresses. */
  verdictIntervalMs: 2 * second
}

export const libp2pDefaults = {
  /** Most open connections. A node keeps its routing table and mesh well below this. */
  maxConnections: 300,
  /**
   * Inbound connections per remote IP when none is configured (--max-inbound-per-ip).
   * Several honest nodes can share one NAT address; 16 leaves them room while
   * one host still gets only ~5% of maxConnections.
   */
  maxInboundPerIp: 16,
  /**
   * Inbound connections per loopback IP. Only processes on this machine use it,
   * and a test network or devnet runs every node there (a 20-node in-process
   * network gives each node up to 19 from 127.0.0.1), so it gets the whole of
   * maxConnections: in effect loopback is exempt from the per-IP cap.
   */
  maxInboundPerLoopbackIp: 300,
  /**
   * New inbound connections accepted per host per second. libp2p's default of 5
   * resets connections when many nodes share one loopback host (ARCHITECTURE.md §14).
   */
  inboundConnectionThreshold: 100,
  /** Inbound connections still upgrading (Noise + yamux) at once. */
  maxIncomingPendingConnections: 64,
  /** Dial timeout. */
  dialTimeoutMs: 10 * second,
  /**
   * A peer that closes 3 of our connections within 2 s of opening each, inside 10 s, has
   * blocked us: not dialled for 30 s, doubling per repeat up to 10 min (gating/hangUpBackoff.ts).
   * A blocked provider redialled each refusing peer ~60 times a second without it.
   */
  hangUpBackoff: { quickMs: 2 * second, burst: 3, windowMs: 10 * second, backoffMs: 30 * second, maxBackoffMs: 10 * 60 * second, maxPeers: 4096 },
  /**
   * Addresses exempt from gossipsub's IP-colocation penalty (P6: −5 × (peers
   * on one IP − 10)², so more than ~14 peers from one address graylist each
   * other). Only processes on this machine connect from loopback, so a test or
   * devnet of many nodes on 127.0.0.1 is no Sybil signal; without this, 212 of
   * 349 peer pairs of a 20-node loopback network ignored each other's gossip.
   */
  ipColocationWhitelist: ['127.0.0.1', '::1'],
  /**
   * Gossipsub P4 for our topics (capacity, ledger): −weight × (rejected messages)²,
   * the counter decaying by this factor each second (half-life ≈ 69 s). Honest
   * nodes validate before forwarding, so they never deliver a REJECT; three
   * REJECTs (−90) take a peer past gossipsub's graylist threshold (−80).
   * The other topic terms stay off: quiet topics must not penalise honest peers.
   */
  invalidMessageDeliveriesWeight: -10,
  invalidMessageDeliveriesDecay: 0.99
}

export const cryptoDefaults = {
  /** Public keys kept ready for OpenSSL's Ed25519 verification, where libsodium did not load (node/crypto/nativeVerify.ts). */
  keyCacheLimit: 4096
}

export const cliDefaults = {
  /** `infermesh submit` waits this long for the whole answer. */
  submitTimeoutMs: 3 * minute,
  /** The devnet's readiness poll and its background client requests. */
  devnetPollTimeoutMs: 10 * second,
  devnetTrafficTimeoutMs: 30 * second
}

export const apiDefaults = {
  /** Largest request body accepted. */
  maxBodyBytes: 1024 * 1024,
  /** Most tokens one prompt-logprobs request (a validator's re-scoring) may score. */
  maxScoredTokens: 32_768,
  /** Request headers must arrive within this (slow-loris). */
  headersTimeoutMs: 10 * second,
  /** Whole request deadline: headers and body must have arrived by then (slow body uploads). */
  requestTimeoutMs: 60 * second,
  /** An idle keep-alive connection is closed after this (Node's default is 5 s). */
  keepAliveTimeoutMs: 5 * second,
  /**
   * How often Node checks the two timeouts above. Its default, 30 s, would let
   * a slow-loris client hold a socket up to 40 s despite the 10 s header limit.
   */
  connectionsCheckingIntervalMs: 1 * second,
  /** Largest request header block (Node's default is 16 KiB). */
  maxHeaderBytes: 16 * 1024
}

export const openaiDefaults = {
  /** max_tokens when a chat request gives none. */
  chatMaxTokens: 64,
  /** The same when it has tools or a JSON response format: a JSON answer cut short is no answer (capped by the model's context). */
  structuredMaxTokens: 1024,
  /** max_tokens when a completion request gives none (OpenAI's default). */
  completionMaxTokens: 16,
  /** Most choices one request may ask for (n): each is a task of its own. */
  maxChoices: 8
}

export const upstreamDefaults = {
  /** The upstream must start answering (and keep streaming) within this. */
  timeoutMs: 60 * second,
  /** Context length advertised for an upstream model whose server does not report one (GET /models). */
  contextLength: 8192,
  /** How long the start-up GET /models may take. */
  probeTimeoutMs: 5 * second,
  /** Largest single SSE event accepted from an upstream. */
  maxEventBytes: 1024 * 1024,
  /** Largest embeddings answer accepted from an upstream (a batch of vectors as JSON text). */
  maxEmbeddingBytes: 64 * 1024 * 1024,
  /**
   * Keep-alive connections to the upstream at most (an undici Pool). 128: a
   * provider's slots + queue with room to spare; tasks beyond it wait for one.
   */
  connections: 128,
  /** An idle upstream connection is kept this long for the next task. */
  keepAliveMs: 30 * second
}

export const submitDefaults = {
  /** Submitted tasks are taken only beside client tasks of this window, and never more of them. */
  clientWindowMs: 60 * second,
  /** Tasks one peer may have in flight through this gateway's submit protocol. */
  maxActivePerPeer: 8,
  readTimeoutMs: 5 * second,
  writeTimeoutMs: 10 * second
}

export const ledgerDefaults = {
  /** GET /v1/ledger/agreement asks this many connected peers for their roots, each within the timeout. */
  agreementPeers: 8,
  agreementTimeoutMs: 3 * second,
  /** Anti-entropy round interval: short, so a healed partition converges within seconds. */
  syncIntervalMs: 1 * second,
  /** Random peers compared per round. */
  syncPeersPerRound: 2,
  /**
   * After a round (or a connect-time sync) that added entries, the next round
   * comes this soon: a healed partition spreads by pulls, peer to peer, and a
   * node that just learned entries is the best place for its neighbours to
   * pull them from. Measured by scripts/bench/partition.ts.
   */
  syncFollowUpMs: 150,
  /** ...for at most this many fast rounds in a row without new entries, then back to syncIntervalMs. */
  maxSyncFollowUps: 8,
  /**
   * Syncs started because a peer connected and identify says it speaks the
   * sync protocol, at once; more wait in a queue. A reconnect after a partition
   * is exactly when roots differ, and waiting for a random pick cost seconds.
   */
  maxConnectSyncs: 4,
  /** Peers waiting for a connect-time sync; beyond this the periodic rounds pick them up. */
  maxConnectSyncQueue: 256,
  /** Epochs of history compared and kept in sync. */
  syncEpochs: 64,
  /** One sync request/response. */
  syncTimeoutMs: 5 * second,
  /** Concurrent inbound sync streams per connection. */
  maxInboundSyncStreams: 16
}

export const auditorDefaults = {
  /** Reference chat models whose providers a validator looks up in the DHT (real models come from gossip). */
  referenceModels: ['ref-tiny', 'ref-small'],
  /** Weight of the newest sample in the per-provider latency moving average. */
  latencyAlpha: 0.2,
  /** Audits per known provider per epoch, before the cap above. */
  auditsPerProvider: 3,
  /** Fractions of the epoch: reveal the previous epoch's weights, then audit, then commit. */
  revealAt: 0.1,
  commitAt: 0.85,
  auditTimeoutMs: 30 * second,
  /** Audit outcomes kept in memory. */
  maxAuditLog: 10_000,
  /** DHT lookups for providers to audit. */
  lookupTimeoutMs: 2 * second,
  /** Audits in flight at once. */
  maxConcurrentAudits: 8,
  /** Gateways not connected now (known from the peer store) that one audit may dial, after every connected one refused. */
  unconnectedGatewaysPerAudit: 3,
  /** While every gateway refuses audits for want of client traffic, say so once per this many epochs. */
  trafficWarningEpochs: 5,
  /** Unreachable gateways one audit moves past before it gives up (refusals for lack of client traffic are not counted). */
  unreachableGatewaysPerAudit: 2,
  /**
   * Weight of each new audit outcome in a provider's quality average (Bittensor
   * validators' moving-average scores use about 0.1): after 10 failed audits a
   * provider with a long clean record is at 0.35 of its weight, after 20 at 0.12.
   */
  outcomeAlpha: 0.1,
  /**
   * A provider this validator has not audited for this many epochs drops out of its weights
   * (and its memory). The default consensus window: a departed provider is not vouched for
   * forever, while one a big network audits rarely keeps its weight between audits.
   */
  observationEpochs: 32,
  /** A proven fraud (or a real model's conviction) keeps a provider's weight at 0 for this many epochs in this validator's view. */
  fraudMemoryEpochs: 10,
  /** How often a validator with real models looks for new evidence to re-check and confirm. */
  evidenceCheckMs: 1 * second,
  /** Pieces of evidence re-checked at once (each one prefill on the validator's engine, ahead of its audits). */
  maxConcurrentRechecks: 4,
  /** A re-check that fails without a verdict (the engine busy or erring) is tried again next round, this many times in all. */
  maxRecheckTries: 5,
  /** Latency at which the weight halves. */
  latencyScaleMs: 10 * second,
  /** Dialling one address of a provider's record (once per provider per epoch) gives up after this. */
  addressProbeTimeoutMs: 5 * second,
  /** A probe through a relay keeps its connection this long: the provider's DCUtR upgrade needs identify first. */
  /**
   * A real-model audit judged on fewer free (unforced) tokens than this is inconclusive, not a
   * pass: at the test models' detection rates a handful of steps rarely tells anything, and a
   * JSON answer under a grammar can leave none (ARCHITECTURE.md §9).
   */
  minEvidenceSteps: 8,
  relayedProbeHoldMs: 5 * second,
  /** Providers whose address probe epoch is remembered. */
  maxAddressProbes: 4096,
  /**
   * Throughput claims (protocol/verify/claims.ts): an audit misses its
   * provider's advertised tokens/s when its decode, timed by the gateway from
   * the first chunk to the last, took longer than this allowance for jitter
   * and a busy machine...
   */
  claimOverheadMs: 1 * second,
  /** ...plus this many times the decode time the claim implies... */
  claimSlack: 4,
  /** ...but never less than this per decode step (a provider interleaves several tasks; see claims.ts). */
  claimFloorMsPerStep: 50
}

export const reputationDefaults = {
  /** How often to check for new entries or a new epoch. */
  recomputeCheckMs: 500
}

export const doctorDefaults = {
  /** Free space in the data directory below which doctor warns, and fails. */
  diskWarnBytes: 1024 * 1024 * 1024,
  diskFailBytes: 100 * 1024 * 1024,
  /** A peer record signed further ahead of this clock than this is a warning (records beyond 30 s are refused). */
  clockSkewWarnMs: 5 * second,
  requestTimeoutMs: 10 * second
}

export const hardwareDefaults = {
  /** Commands used to query accelerators, by vendor (node/discovery/accelerators.ts). */
  nvidiaSmi: 'nvidia-smi',
  amdSmi: 'amd-smi',
  rocmSmi: 'rocm-smi',
  xpuSmi: 'xpu-smi',
  hlSmi: 'hl-smi',
  systemProfiler: 'system_profiler',
  timeoutMs: 5 * second
}

export const llamaDefaults = {
  /**
   * Context of each sequence, tokens (capped by the model's own). A byte-level
   * vocabulary spends a token per character, so chat needs a few thousand.
   */
  contextSize: 4096,
  /**
   * CPU threads per engine. One: on a two-core machine two threads ran 30-40×
   * slower (they contend with the node's own event loop and the other engine).
   */
  threads: 1,
  /** Prefill batch, tokens. In the exact configuration it changes speed, never logits. */
  batchSize: 512,
  /** Compiled output grammars kept per engine (structured outputs: the same tools and schemas come again and again). */
  grammarCache: 32
}

export const verifierDefaults = {
  /**
   * Seeded tier: the largest distance (share of the sampler's CDF at T > 0;
   * relative logit gap at T = 0) a replayed step may be from the claimed
   * token and still match. Measured on this CPU (scripts/bench/verification.ts,
   * 203,012 honest steps, F16/F32, prefill against decode, batch sizes, two
   * tasks at once): logprobs differ by up to 4.6e-3 (F16) and 2.7e-6 (F32);
   * at 1e-3 no honest step missed (95 % upper bound 1.8e-5 per step) while a
   * Q8_0 file served as F16 misses 3.5 % of steps and a Q4_0 27 %.
   */
  seededTolerance: 1e-3,
  /**
   * Seeded tier: per-step miss rates the sequential test weighs. p0 bounds an
   * honest engine's rate: 550× the CPU measurement above, kept wide for GPU
   * builds, which the seeded tier also covers and which were not measured
   * (the data here would support p0 = 1e-3, p1 = 0.04: Q8_0-as-F16 then
   * convicted in 2.3 audits of 256 tokens instead of 6). p1 is the rate of the
   * subtlest cheat it is tuned for, a Q8_0 file served as F16.
   */
  seededMissModel: { p0: 0.01, p1: 0.08 },
  /** Audits a validator's own engine judges at once, per model (each a prefill of prompt and answer). */
  sequences: 2,
  /** Alternatives a re-scoring reads per token (vLLM's default max_logprobs is 20). */
  topLogprobs: 20,
  /** A re-scoring server must answer within this. */
  upstreamTimeoutMs: 60 * second
}

export const realAuditDefaults = {
  /**
   * Longest completion a real-model audit asks for, tokens (a quarter of the
   * model's context at most). Client traffic asks for more, but detection
   * power grows with tokens audited (Token-DiFR: ~300 tokens tell a 4-bit
   * swap apart), while a validator's cost is one prefill of the prompt and
   * the completion.
   */
  maxTokens: 256
}

export const bootstrapDefaults = {
  /** How often a node checks that it has a peer at all, and its first pause before dialing the bootstrap list again. */
  firstCheckMs: 5 * second,
  /** The pause doubles after each dial that left the node alone, up to this. */
  maxPauseMs: 60 * second,
  /** One dial of a bootstrap address. */
  dialTimeoutMs: 10 * second
}

/**
 * Memory (issue 16): an idle node of any role at most 100 MB RSS, at most
 * 250 MB under load, flat over a long run. Where the megabytes went and what
 * each setting saves is in BENCHMARKS.md ("Memory"); the soak
 * (scripts/bench/soak.ts) checks them on the processes `npm start` runs.
 */
export const memoryDefaults = {
  /**
   * V8 flags for a long-running node. They only work on the command line (V8
   * sizes its heap when it starts: v8.setFlagsFromString after that changes
   * nothing, measured), so `npm start` passes them (package.json) and
   * test/unit/node/memory.test.ts checks it passes exactly these.
   * - --max-semi-space-size=8 (MB): V8 sizes the young generation to the
   *   machine (here 32 MB semi-spaces: 64 MB of new space committed, of which
   *   a node touched ~25 MB). 1 MB semi-spaces saved 22 MB of RSS but halved
   *   the task path's throughput (task-overhead, c=64: 279 against 574
   *   tasks/s; the soak 171 against ~220) and starved the real-model test's
   *   validators of audits; 8 MB keeps the throughput (533) for ~6 MB more
   *   RSS at start than 1 MB (BENCHMARKS.md, memory).
   * - --max-old-space-size=192 (MB): V8 grows the old generation lazily toward
   *   a limit of a quarter of the machine's memory, collecting less the more
   *   room it has; with a limit it collects sooner. An idle node holds ~25 MB,
   *   a loaded one ~60 MB; 192 leaves three times that before V8 works hard,
   *   and keeps a leak from taking the machine (the node dies with a heap
   *   out-of-memory error instead, which a supervisor restarts).
   * Tried for idle RSS at start and not taken: --v8-pool-size=1 with
   * UV_THREADPOOL_SIZE=2 (11 threads → 6; their stacks are a few pages each:
   * no change beyond the noise), --lazy-new-space-shrinking (none),
   * --no-maglev --no-turbofan (4.5 MB fewer of the binary's pages, at the
   * optimizing compilers' price). What V8 keeps committed at idle is given
   * back by idleHeapReduce below instead.
   */
  v8Flags: ['--max-semi-space-size=8', '--max-old-space-size=192'] as readonly string[],
  // Not for a node that runs llama.cpp: node/memoryExec.ts says why.
  /**
   * LevelDB's block cache, bytes (classic-level's default: 8 MiB). The node
   * reads its database at start (ledger, accounts, blocklist) and then keeps
   * what it needs in memory; its reads after that are rare, so a small cache
   * loses nothing measurable.
   */
  levelCacheBytes: 1024 * 1024,
  /**
   * LevelDB's memtable, bytes (default 4 MiB; LevelDB holds up to two, the
   * one being written and the one being flushed). Writes are ledger entries
   * and balances, a few hundred bytes each; 1 MiB is thousands of them before
   * a flush to a level-0 file.
   */
  levelWriteBufferBytes: 1024 * 1024,
  /** Open table files LevelDB keeps (default 1000, each with its index block in memory); a node's database has a handful. */
  levelMaxOpenFiles: 64,
  /**
   * glibc malloc arenas (MALLOC_ARENA_MAX; glibc's default is 8 per core): each
   * thread that allocates (V8's GC and compiler workers, libuv's pool) gets an
   * arena of its own, and freed memory stays in it. This was the gateway's
   * growth outside the V8 heap: +14 MB of native memory after a minute of
   * load; with 2 arenas the gateway, providers and validator each held
   * 10-12 MB less under load (soak, same machine). `infermesh start` sets it
   * on Linux by re-executing itself once, before loading anything
   * (node/bin.ts), unless the environment already sets it. Tried at start,
   * side by side, no change beyond the noise (±3 MB): MALLOC_ARENA_MAX=1, and
   * MALLOC_TRIM_THRESHOLD_ / MALLOC_MMAP_THRESHOLD_ fixed at 128 kB.
   */
  mallocArenaMax: 2,
  /**
   * When an idle node gives V8's spare heap back (node/memoryExec.ts,
   * reduceHeapWhenIdle; INFERMESH_IDLE_GC=0 turns it off): after a window of
   * `windowMs` with event loop utilisation below `maxIdleElu` and less than
   * `maxAllocBytes` allocated, when the heap
   * commits `minSlackBytes` more than it uses, at most every `minIntervalMs`.
   * A provider's young generation regrew from 1 to 4 MB semi-spaces within a
   * second of its start (its first advertisement, DHT and gossip joins), so
   * the interval is short; what bounds the cost is the slack: a collection
   * only after the heap regrew by 4 MB, which an idle node does every few tens
   * of seconds at most (a validator and a relay not at all in 25 s).
   * Measured per second in a soak at machine load 10: idle nodes 0.01-0.06 of
   * utilisation, allocating 0.1-0.7 MB/s before any task and 1.2-2.2 MB/s
   * after (the network's background: ledger sync, peer store merges, status
   * and DHT); under load 0.4-0.97, allocating 4-8 MB/s with a scavenge in most
   * windows.
   */
  idleHeapReduce: { windowMs: 1000, maxIdleElu: 0.1, maxAllocBytes: 3 * 1024 * 1024, minSlackBytes: 4 * 1024 * 1024, minIntervalMs: 2000 }
}
