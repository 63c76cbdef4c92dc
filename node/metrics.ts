/**
 * Prometheus metrics (prom-client), one registry per node. Names carry their
 * unit. libp2p's own metrics (@libp2p/prometheus-metrics) and
 * the process defaults (memory, CPU, event loop) go into the same registry.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'

export function createMetrics () {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const taskBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
  return {
    registry,
    tasks: new Counter({ name: 'infermesh_tasks_total', help: 'Tasks finished, by role (gateway, provider) and outcome (ok or an error code)', labelNames: ['role', 'outcome'], registers: [registry] }),
    taskDuration: new Histogram({ name: 'infermesh_task_duration_seconds', help: 'Task duration, by role and outcome', labelNames: ['role', 'outcome'], buckets: taskBuckets, registers: [registry] }),
    timeToFirstToken: new Histogram({ name: 'infermesh_gateway_time_to_first_token_seconds', help: 'Time from dispatch to the first streamed frame, at the gateway', buckets: taskBuckets, registers: [registry] }),
    toolAnswers: new Counter({ name: 'infermesh_gateway_tool_answers_total', help: 'Finished tool answers checked against the request\'s tools: ok, or not_envelope, unknown_tool, invalid_json, schema', labelNames: ['outcome'], registers: [registry] }),
    failovers: new Counter({ name: 'infermesh_gateway_failovers_total', help: 'Attempts that failed and moved to the next provider, by error code', labelNames: ['code'], registers: [registry] }),
    slotsFree: new Gauge({ name: 'infermesh_provider_slots_free', help: 'Free task slots on this provider', registers: [registry] }),
    queueLength: new Gauge({ name: 'infermesh_provider_queue_length', help: 'Tasks waiting for a slot on this provider', registers: [registry] }),
    dhtRejected: new Counter({ name: 'infermesh_dht_records_rejected_total', help: 'DHT records refused by the capacity-record validator, by code', labelNames: ['code'], registers: [registry] }),
    lookupDuration: new Histogram({ name: 'infermesh_provider_lookup_duration_seconds', help: 'Provider lookups (provider walk and record fetches)', labelNames: ['cached'], buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry] }),
    ledgerEntries: new Gauge({ name: 'infermesh_ledger_entries', help: 'Ledger entries held', registers: [registry] }),
    ledgerVerdicts: new Counter({ name: 'infermesh_ledger_verdicts_total', help: 'Ledger entries validated, by code (OK or the rejection code)', labelNames: ['code'], registers: [registry] }),
    epochsWithoutAudits: new Counter({ name: 'infermesh_validator_epochs_without_audits_total', help: 'Epochs in which this validator placed no audit, by the main reason (no_client_traffic, no_provider, no_gateway, too_many_in_flight, ...)', labelNames: ['reason'], registers: [registry] }),
    audits: new Counter({ name: 'infermesh_audits_total', help: 'Audits sent by this validator, by outcome', labelNames: ['outcome'], registers: [registry] }),
    consensusDuration: new Histogram({ name: 'infermesh_consensus_duration_seconds', help: 'One reputation recompute over the consensus window', buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 5], registers: [registry] }),
    peers: new Gauge({ name: 'infermesh_peers', help: 'Connected peers', registers: [registry] }),
    reachability: new Gauge({ name: 'infermesh_reachability', help: 'This node\'s reachability verdict: 1 on the current one (public, relayed, private, local, checking)', labelNames: ['verdict'], registers: [registry] }),
    connections: new Gauge({ name: 'infermesh_connections', help: 'Open connections, direct or relayed (through a circuit relay)', labelNames: ['kind'], registers: [registry] }),
    connectionUpgrades: new Counter({ name: 'infermesh_connection_upgrades_total', help: 'Direct connections opened to a peer while a relayed one was open (DCUtR: a dial-back or a hole punch), by who opened it', labelNames: ['direction'], registers: [registry] }),
    relayedConnections: new Counter({ name: 'infermesh_relayed_connections_total', help: 'Connections opened through a circuit relay, by direction (a relay resets one at its data or duration limit; the next task opens another)', labelNames: ['direction'], registers: [registry] }),
    relayedTasks: new Counter({ name: 'infermesh_relayed_tasks_total', help: 'Task streams that ran over a relayed connection, by role (gateway: sent, provider: served)', labelNames: ['role'], registers: [registry] }),
    connectionsRefused: new Counter({ name: 'infermesh_connections_refused_total', help: 'Connections the gater refused, by reason: blocked-peer (blocklist or fraud ban; inbound ones after Noise), inbound-per-ip, dial-backoff (a peer that hung up on each recent connection)', labelNames: ['reason'], registers: [registry] }),
    dialBackoffs: new Counter({ name: 'infermesh_dial_backoffs_total', help: 'Times a peer that hung up on every connection was put in dial backoff', registers: [registry] }),
    taskStreams: new Counter({ name: 'infermesh_task_streams_total', help: 'Task streams opened, by role (gateway: opened, provider: accepted); each carries tasks until it idles (task/2.0.0 keep-alive), so far fewer than tasks', labelNames: ['role'], registers: [registry] })
  }
}

export type Metrics = ReturnType<typeof createMetrics>
