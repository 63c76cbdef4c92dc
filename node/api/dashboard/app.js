// infermesh dashboard: polls this node's own API (same origin) every 2 s and
// renders it with plain DOM and inline SVG. No framework, nothing from other
// origins, no inline script or style (the page's CSP forbids them), and every
// value from the network goes in through textContent or an attribute, never as HTML.
'use strict'

;(() => {
  const POLL_MS = 2000
  /** Closed epochs shown in the ledger table. */
  const LEDGER_EPOCHS = 6
  /** GET /v1/ledger/agreement asks peers: at most this often. */
  const AGREEMENT_EVERY_MS = 5_000
  /** How often to look again for GET /v1/ledger/agreement once it answered 404. */
  const AGREEMENT_RETRY_MS = 30_000
  const SPARK_BARS = 60
  const SVG_NS = 'http://www.w3.org/2000/svg'
  const PALETTE = ['#3558d6', '#e0762b', '#1f9d6b', '#c8372d', '#8a4fd1', '#138fa6', '#b7791f', '#d14f93', '#5d6b82', '#6aa521']

  const $ = id => document.getElementById(id)

  /** Build an element; strings and numbers become text nodes. */
  function el (tag, attrs, ...children) {
    const e = document.createElement(tag)
    setAttrs(e, attrs)
    for (const c of children.flat()) {
      if (c == null || c === false) continue
      e.append(typeof c === 'object' ? c : document.createTextNode(String(c)))
    }
    return e
  }

  function svgEl (tag, attrs, ...children) {
    const e = document.createElementNS(SVG_NS, tag)
    setAttrs(e, attrs)
    for (const c of children.flat()) {
      if (c == null) continue
      e.append(typeof c === 'object' ? c : document.createTextNode(String(c)))
    }
    return e
  }

  function setAttrs (e, attrs) {
    for (const [k, v] of Object.entries(attrs ?? {})) {
      if (v == null || v === false) continue
      if (k === 'class') e.setAttribute('class', v)
      else if (k === 'text') e.textContent = String(v)
      else e.setAttribute(k, String(v))
    }
  }

  function setText (id, value) {
    const e = $(id)
    const text = value == null ? '–' : String(value)
    if (e.textContent !== text) e.textContent = text
  }

  function shortPeer (id) {
    const s = String(id ?? '')
    return s.length > 18 ? `${s.slice(0, 8)}…${s.slice(-6)}` : s
  }

  /** A PeerId shortened in monospace, the full value in its title. */
  function peerEl (id) {
    return el('span', { class: 'peer', title: id, 'data-peer': id }, shortPeer(id))
  }

  function hexPrefix (hex, n = 16) {
    if (hex == null) return el('span', { class: 'muted' }, '—')
    return el('span', { class: 'mono', title: hex }, hex.length > n ? `${hex.slice(0, n)}…` : hex)
  }

  function tag (text, cls) {
    return el('span', { class: cls == null ? 'tag' : `tag ${cls}` }, text)
  }

  function fmtNum (x, digits = 4) {
    if (x == null || Number.isNaN(x)) return '—'
    if (x === 0) return '0'
    return Number(x.toFixed(digits)).toString()
  }

  function fmtPrice (x) {
    if (x == null) return '—'
    return Number(x.toPrecision(6)).toString()
  }

  function fmtRange (r) {
    if (r == null) return '—'
    return r.min === r.max ? fmtPrice(r.min) : `${fmtPrice(r.min)}–${fmtPrice(r.max)}`
  }

  function fmtDuration (seconds) {
    let s = Math.max(0, Math.floor(seconds))
    const d = Math.floor(s / 86400); s -= d * 86400
    const h = Math.floor(s / 3600); s -= h * 3600
    const m = Math.floor(s / 60); s -= m * 60
    const pad = n => String(n).padStart(2, '0')
    if (d > 0) return `${d}d ${pad(h)}h ${pad(m)}m`
    if (h > 0) return `${h}h ${pad(m)}m ${pad(s)}s`
    if (m > 0) return `${m}m ${pad(s)}s`
    return `${s}s`
  }

  function fmtRelative (iso) {
    const t = Date.parse(iso)
    if (Number.isNaN(t)) return '—'
    const dt = Math.round((t - Date.now()) / 1000)
    return dt >= 0 ? `in ${fmtDuration(dt)}` : `${fmtDuration(-dt)} ago`
  }

  function fmtMiB (mib) {
    return mib >= 1024 ? `${Number((mib / 1024).toFixed(1))} GiB` : `${mib} MiB`
  }

  class HttpError extends Error {
    constructor (status, message) {
      super(message)
      this.status = status
    }
  }

  async function errorMessage (res) {
    try {
      const body = await res.json()
      if (body?.error?.message != null) return String(body.error.message)
    } catch {}
    return res.statusText || 'request failed'
  }

  // A node bound beyond loopback wants a bearer token for its API. The page
  // (public) asks for it once and keeps it for this tab only.
  const TOKEN_KEY = 'infermesh.apiToken'
  function tokenHeaders (headers) {
    let token = null
    try { token = sessionStorage.getItem(TOKEN_KEY) } catch {}
    return token == null || token === '' ? headers : { ...headers, authorization: `Bearer ${token}` }
  }

  async function getJson (path) {
    const res = await fetch(path, { headers: tokenHeaders({ accept: 'application/json' }), cache: 'no-store' })
    if (!res.ok) throw new HttpError(res.status, `${path}: ${res.status} ${await errorMessage(res)}`)
    return res.json()
  }

  async function getText (path) {
    const res = await fetch(path, { headers: tokenHeaders({}), cache: 'no-store' })
    if (!res.ok) throw new HttpError(res.status, `${path}: ${res.status} ${res.statusText}`)
    return res.text()
  }

  function fillBody (table, rows, emptyId) {
    table.tBodies[0].replaceChildren(...rows)
    if (emptyId != null) $(emptyId).hidden = rows.length > 0
  }

  /** Colours stay with a provider for the page's lifetime. */
  const colours = new Map()
  function colourOf (peer) {
    let c = colours.get(peer)
    if (c == null) {
      c = PALETTE[colours.size % PALETTE.length]
      colours.set(peer, c)
    }
    return c
  }

  // ---- this node ---------------------------------------------------------

  async function loadNode () {
    const n = await getJson('/v1/node')
    const peer = $('node-peer')
    if (peer.dataset.peer !== n.peerId) {
      peer.dataset.peer = n.peerId
      peer.replaceChildren(el('span', { class: 'mono', title: n.peerId }, n.peerId))
    }
    setText('node-network', n.network?.name)
    $('node-network-id').replaceChildren(hexPrefix(n.network?.id, 24))
    setText('node-roles', (n.roles ?? []).join(', ') || 'gateway only')
    setText('node-models', (n.models ?? []).join(', ') || 'none')
    setText('node-peers', n.peers)
    setText('node-version', n.version)
    setText('node-uptime', fmtDuration(n.uptimeSeconds ?? 0))
    $('node-addresses').replaceChildren(...(n.addresses ?? []).map(a => el('span', { class: 'addr' }, a)))
    setText('peer-count', n.peers)
    setText('hdr-network', `${n.network?.name ?? ''} · ${shortPeer(n.peerId)}`)
    $('hdr-network').title = n.peerId
    document.title = `infermesh · ${n.network?.name ?? ''} · ${shortPeer(n.peerId)}`
  }

  // ---- network: models and providers -------------------------------------

  function hardwareCell (hw) {
    if (hw == null) return el('td', {}, '—')
    const parts = []
    for (const a of hw.accelerators ?? []) {
      parts.push(tag(`${a.count}× ${a.vendor} ${a.model} · ${fmtMiB(a.memoryMiB)}${a.declared ? ' (declared)' : ''}`, a.declared ? 'declared' : 'gpu'))
    }
    if (hw.cpuOnly) parts.push(tag('CPU only', 'warn'))
    const cpu = hw.cpu == null ? '' : `${hw.cpu.model} (${hw.cpu.cores} cores)`
    return el('td', {}, parts, el('div', { class: 'muted' }, [cpu, hw.ramMiB != null ? `${fmtMiB(hw.ramMiB)} RAM` : ''].filter(Boolean).join(' · ')))
  }

  function modelsCell (models) {
    return el('td', {}, (models ?? []).map(m => el('span', { class: 'tag', title: `${m.backend}, context ${m.contextLength}, ${m.tokensPerSecond ?? '?'} tok/s` },
      el('b', {}, m.id), ` ${fmtPrice(m.pricing?.prompt)} · ${fmtPrice(m.pricing?.completion)}`)))
  }

  function fillModelSelect (ids) {
    const select = $('model')
    const current = [...select.options].map(o => o.value)
    if (current.length === ids.length && current.every((v, i) => v === ids[i])) return
    const keep = select.value
    select.replaceChildren(...ids.map(id => el('option', { value: id }, id)))
    if (ids.includes(keep)) select.value = keep
    else if (ids.includes('ref-tiny')) select.value = 'ref-tiny'
  }

  async function loadNetwork () {
    const models = (await getJson('/v1/models')).data ?? []
    models.sort((a, b) => a.id.localeCompare(b.id))
    setText('model-count', models.length)
    fillModelSelect(models.map(m => m.id).filter(id => !id.includes('embed')))
    fillBody($('models-table'), models.map(m => el('tr', { 'data-model': m.id },
      el('td', {}, el('b', {}, m.id)),
      el('td', { class: 'num' }, m.providers),
      el('td', { class: 'num' }, m.context_length ?? '—'),
      el('td', {}, fmtRange(m.pricing?.prompt)),
      el('td', {}, fmtRange(m.pricing?.completion))
    )))

    const lookups = await Promise.allSettled(models.map(m => getJson(`/v1/providers?model=${encodeURIComponent(m.id)}`)))
    const byPeer = new Map()
    for (const r of lookups) {
      if (r.status !== 'fulfilled') continue
      for (const p of r.value.providers ?? []) {
        const seen = byPeer.get(p.peerId)
        if (seen == null || (p.seq ?? 0) > (seen.seq ?? 0)) byPeer.set(p.peerId, p)
      }
    }
    const providers = [...byPeer.values()].sort((a, b) => a.peerId.localeCompare(b.peerId))
    setText('provider-count', providers.length)
    fillBody($('providers-table'), providers.map(p => el('tr', { 'data-provider': p.peerId },
      el('td', {}, peerEl(p.peerId)),
      hardwareCell(p.hardware),
      modelsCell(p.models),
      el('td', { class: 'num' }, p.freeSlots),
      el('td', { class: 'num', 'data-tool-errors': p.gateway?.toolAnswers ? String(p.gateway.toolErrors) : '' }, p.gateway?.toolAnswers ? `${p.gateway.toolErrors} / ${p.gateway.toolAnswers}` : '–'),
      el('td', {}, p.version),
      el('td', { class: 'muted' }, fmtRelative(p.expiresAt))
    )), 'providers-empty')
    const failed = lookups.find(r => r.status === 'rejected')
    if (failed != null) throw failed.reason
  }

  // ---- task activity -----------------------------------------------------

  /** Parse `infermesh_tasks_total{role="…",outcome="…"} N` lines of the Prometheus text format. */
  function parseTaskCounters (text) {
    const out = []
    for (const line of text.split('\n')) {
      if (!line.startsWith('infermesh_tasks_total')) continue
      const m = /^infermesh_tasks_total(?:\{([^}]*)\})?\s+(\S+)/.exec(line)
      if (m == null) continue
      const labels = {}
      for (const l of (m[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => c === 'n' ? '\n' : c)
      out.push({ role: labels.role ?? '', outcome: labels.outcome ?? '', value: Number(m[2]) })
    }
    return out.sort((a, b) => a.role.localeCompare(b.role) || (a.outcome === 'ok' ? -1 : b.outcome === 'ok' ? 1 : a.outcome.localeCompare(b.outcome)))
  }

  const sparkHistory = []
  let lastTotals

  function drawSpark () {
    const chart = $('activity-chart')
    const w = 300
    const h = 48
    const bw = w / SPARK_BARS
    const max = Math.max(1, ...sparkHistory.map(s => s.ok + s.err))
    const bars = []
    sparkHistory.forEach((s, i) => {
      const x = w - (sparkHistory.length - i) * bw
      const okH = (s.ok / max) * (h - 2)
      const errH = (s.err / max) * (h - 2)
      if (s.ok > 0) bars.push(svgEl('rect', { class: 'bar', x: x + 0.5, y: h - okH, width: bw - 1, height: okH }))
      if (s.err > 0) bars.push(svgEl('rect', { class: 'bar err', x: x + 0.5, y: h - okH - errH, width: bw - 1, height: errH }))
    })
    bars.push(svgEl('line', { class: 'axis', x1: 0, y1: h - 0.5, x2: w, y2: h - 0.5 }))
    chart.replaceChildren(svgEl('title', {}, `tasks finished per ${POLL_MS / 1000} s poll (gateway and provider; red: errors)`), ...bars)
  }

  async function loadActivity () {
    const [accounts, metrics] = await Promise.allSettled([getJson('/v1/accounts'), getText('/metrics')])
    if (metrics.status === 'fulfilled') {
      const counters = parseTaskCounters(metrics.value)
      fillBody($('tasks-table'), counters.map(c => el('tr', { 'data-role': c.role, 'data-outcome': c.outcome },
        el('td', {}, c.role),
        el('td', {}, c.outcome === 'ok' ? tag('ok', 'ok') : tag(c.outcome, 'bad')),
        el('td', { class: 'num' }, c.value)
      )))
      const gatewayOk = counters.find(c => c.role === 'gateway' && c.outcome === 'ok')?.value ?? 0
      setText('tasks-ok', gatewayOk)
      const totals = { ok: 0, err: 0 }
      for (const c of counters) totals[c.outcome === 'ok' ? 'ok' : 'err'] += c.value
      if (lastTotals != null) {
        sparkHistory.push({ ok: Math.max(0, totals.ok - lastTotals.ok), err: Math.max(0, totals.err - lastTotals.err) })
        if (sparkHistory.length > SPARK_BARS) sparkHistory.shift()
      }
      lastTotals = totals
      drawSpark()
    }
    if (accounts.status === 'fulfilled') {
      const list = [...(accounts.value.accounts ?? [])].sort((a, b) => (b.tasksServed + b.tasksBought) - (a.tasksServed + a.tasksBought) || a.peer.localeCompare(b.peer))
      fillBody($('accounts-table'), list.map(a => el('tr', { 'data-peer': a.peer },
        el('td', {}, peerEl(a.peer)),
        el('td', { class: 'num' }, a.tasksServed),
        el('td', { class: 'num' }, a.tasksBought),
        el('td', { class: 'num' }, fmtNum(a.earned, 6)),
        el('td', { class: 'num' }, fmtNum(a.owed, 6))
      )), 'accounts-empty')
    }
    const failed = [metrics, accounts].find(r => r.status === 'rejected')
    if (failed != null) throw failed.reason
  }

  // ---- reputation --------------------------------------------------------

  function niceMax (x) {
    if (!(x > 0)) return 1
    const p = 10 ** Math.floor(Math.log10(x))
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= x) return m * p
    return 10 * p
  }

  function drawReputationChart (providers) {
    const chart = $('reputation-chart')
    const W = 760
    const H = 260
    const M = { l: 48, r: 14, t: 12, b: 30 }
    const series = providers.map(p => ({
      peer: p.peerId,
      zeroed: p.zeroed,
      points: (p.history ?? []).filter(h => h.reputation != null).map(h => ({ epoch: h.epoch, rep: h.reputation }))
    })).filter(s => s.points.length > 0)
    const all = series.flatMap(s => s.points)
    if (all.length === 0) {
      chart.replaceChildren(
        svgEl('rect', { x: M.l, y: M.t, width: W - M.l - M.r, height: H - M.t - M.b, fill: '#f8f9fc', stroke: '#e3e7ee' }),
        svgEl('text', { class: 'placeholder', x: W / 2, y: H / 2, 'text-anchor': 'middle' }, 'no reputation yet: it appears once validators reveal weights')
      )
      return
    }
    let e0 = Math.min(...all.map(p => p.epoch))
    let e1 = Math.max(...all.map(p => p.epoch))
    if (e0 === e1) { e0 -= 1; e1 += 1 }
    const yMax = niceMax(Math.max(...all.map(p => p.rep)))
    const x = e => M.l + ((e - e0) / (e1 - e0)) * (W - M.l - M.r)
    const y = v => M.t + (1 - v / yMax) * (H - M.t - M.b)
    const nodes = []
    for (let i = 0; i <= 4; i++) {
      const v = (yMax * i) / 4
      nodes.push(svgEl('line', { class: 'grid-line', x1: M.l, x2: W - M.r, y1: y(v), y2: y(v) }))
      nodes.push(svgEl('text', { x: M.l - 6, y: y(v) + 4, 'text-anchor': 'end' }, fmtNum(v, 3)))
    }
    const span = e1 - e0
    const step = Math.max(1, Math.ceil(span / 8))
    for (let e = Math.ceil(e0); e <= e1; e += step) {
      nodes.push(svgEl('line', { class: 'axis', x1: x(e), x2: x(e), y1: H - M.b, y2: H - M.b + 4 }))
      nodes.push(svgEl('text', { x: x(e), y: H - M.b + 16, 'text-anchor': 'middle' }, String(e)))
    }
    nodes.push(svgEl('line', { class: 'axis', x1: M.l, x2: W - M.r, y1: H - M.b, y2: H - M.b }))
    nodes.push(svgEl('line', { class: 'axis', x1: M.l, x2: M.l, y1: M.t, y2: H - M.b }))
    for (const s of series) {
      const colour = colourOf(s.peer)
      const g = svgEl('g', { 'data-provider': s.peer })
      g.append(svgEl('polyline', {
        class: 'series',
        stroke: colour,
        'stroke-dasharray': s.zeroed ? '5 4' : null,
        points: s.points.map(p => `${x(p.epoch).toFixed(1)},${y(p.rep).toFixed(1)}`).join(' ')
      }))
      for (const p of s.points) {
        g.append(svgEl('circle', {
          cx: x(p.epoch).toFixed(1), cy: y(p.rep).toFixed(1), r: 3.5, fill: colour,
          'data-epoch': p.epoch, 'data-provider': s.peer, 'data-reputation': p.rep
        }, svgEl('title', {}, `${s.peer}\nepoch ${p.epoch}: ${fmtNum(p.rep, 6)}`)))
      }
      nodes.push(g)
    }
    chart.replaceChildren(...nodes)
  }

  function reputationTables (rep) {
    const providers = [...(rep.providers ?? [])].sort((a, b) => (b.reputation ?? -1) - (a.reputation ?? -1) || a.peerId.localeCompare(b.peerId))
    for (const p of [...providers].sort((a, b) => a.peerId.localeCompare(b.peerId))) colourOf(p.peerId)
    drawReputationChart(providers)
    $('reputation-legend').replaceChildren(...providers.map(p => el('li', { 'data-provider': p.peerId },
      el('span', { class: 'swatch', 'data-colour': colourOf(p.peerId) }), peerEl(p.peerId), p.zeroed ? tag('zeroed', 'bad') : null)))
    // Swatch colours through the CSSOM: the CSP forbids inline style attributes, not this.
    for (const s of $('reputation-legend').querySelectorAll('.swatch')) s.style.background = s.dataset.colour
    fillBody($('reputation-table'), providers.map(p => {
      const sw = el('span', { class: 'swatch' })
      sw.style.background = colourOf(p.peerId)
      return el('tr', { 'data-provider': p.peerId },
        el('td', {}, sw),
        el('td', {}, peerEl(p.peerId)),
        el('td', { class: 'num reputation' }, fmtNum(p.reputation, 6)),
        el('td', { class: 'num score' }, fmtNum(p.score, 4)),
        el('td', { class: 'zeroed' }, p.zeroed ? tag('zeroed', 'bad') : tag('no', 'ok')),
        el('td', { class: 'num fraud' }, p.fraudProofs > 0 ? el('b', { class: 'bad' }, p.fraudProofs) : '0'),
        el('td', { class: 'muted' }, p.audits == null ? '—' : `${p.audits.passed} · ${p.audits.failed} · ${p.audits.unavailable}`),
        // Audits slower than the provider's record claims (its advertised tokens/s), of those timed.
        el('td', { class: 'muted claims' }, p.audits == null || !(p.audits.claimsChecked > 0) ? '—' : `${p.audits.claimsMissed} / ${p.audits.claimsChecked}`)
      )
    }), 'reputation-empty')

    const validators = [...(rep.validators ?? [])].sort((a, b) => (b.power ?? 0) - (a.power ?? 0) || a.peerId.localeCompare(b.peerId))
    setText('validator-count', validators.filter(v => (v.power ?? 0) > 0).length)
    fillBody($('validators-table'), validators.map(v => el('tr', { 'data-validator': v.peerId },
      el('td', {}, peerEl(v.peerId)),
      el('td', { class: 'num' }, v.power ?? '—'),
      el('td', { class: 'num' }, fmtNum(v.trust, 4))
    )), 'validators-empty')
    setText('epoch', rep.epoch)
    const root = $('state-root')
    root.textContent = rep.stateRoot == null ? '' : `state root ${rep.stateRoot.slice(0, 16)}…`
    root.title = rep.stateRoot ?? ''
  }

  // ---- ledger agreement --------------------------------------------------

  /**
   * GET /v1/ledger/agreement asks the node's peers, so it is slower and dearer
   * than the rest: fetched in the background at most every AGREEMENT_EVERY_MS,
   * and the last answer shown meanwhile. A 404 means this node has no such
   * endpoint; look again after AGREEMENT_RETRY_MS.
   */
  const agreement = { byEpoch: undefined, fetchedAt: 0, missingSince: undefined, inFlight: false, error: undefined }

  function refreshAgreement () {
    const now = Date.now()
    if (agreement.inFlight) return
    if (agreement.missingSince != null && now - agreement.missingSince < AGREEMENT_RETRY_MS) return
    if (agreement.byEpoch != null && now - agreement.fetchedAt < AGREEMENT_EVERY_MS) return
    agreement.inFlight = true
    getJson('/v1/ledger/agreement').then(a => {
      agreement.byEpoch = new Map((a.epochs ?? []).map(e => [e.epoch, e]))
      agreement.missingSince = undefined
      agreement.error = undefined
    }, err => {
      if (err instanceof HttpError && (err.status === 404 || err.status === 405)) {
        agreement.byEpoch = undefined
        agreement.missingSince = Date.now()
      } else {
        agreement.error = err
      }
    }).finally(() => {
      agreement.fetchedAt = Date.now()
      agreement.inFlight = false
    })
  }

  function peersCell (entry) {
    if (entry == null) return el('td', { class: 'muted' }, '—')
    const peers = entry.peers ?? []
    if (peers.length === 0) return el('td', { class: 'muted' }, 'no peer answer')
    const agree = peers.filter(p => p.agrees).length
    const t = tag(`${agree}/${peers.length} agree`, agree === peers.length ? 'ok' : 'bad')
    t.title = [`this node ${entry.root ?? '—'}`, ...peers.map(p => `${p.peer} ${p.agrees ? 'agrees' : 'differs'}: ${p.root ?? 'no root'}`)].join('\n')
    return el('td', { class: 'peers' }, t)
  }

  async function loadLedger (latest) {
    if (latest == null || latest < 0) return
    const epochs = []
    for (let n = latest; n >= 0 && n > latest - LEDGER_EPOCHS; n--) epochs.push(n)
    refreshAgreement()
    const rows = await Promise.allSettled(epochs.map(n => getJson(`/v1/ledger/epochs/${n}`)))
    const byEpoch = agreement.byEpoch
    setText('ledger-mode', byEpoch != null
      ? `compared with peers at ${new Date(agreement.fetchedAt).toLocaleTimeString()}`
      : agreement.missingSince != null ? "this node's roots (this node cannot compare with peers)" : 'comparing with peers…')
    fillBody($('ledger-table'), epochs.map((n, i) => {
      const r = rows[i]
      const held = r.status === 'fulfilled' ? r.value : undefined
      const c = held?.counts
      const a = byEpoch?.get(n)
      return el('tr', { 'data-epoch': n },
        el('td', { class: 'num' }, n),
        el('td', { class: 'root' }, held == null ? el('span', { class: 'muted' }, r.reason instanceof HttpError && r.reason.status === 404 ? 'nothing held' : 'error') : hexPrefix(held.entriesRoot)),
        el('td', { class: 'num' }, held?.entries ?? 0),
        el('td', { class: 'muted' }, c == null ? '—' : `${c.commit} · ${c.reveal} · ${c.fraud} · ${c.endorse}`),
        el('td', {}, held == null ? '—' : held.final ? tag('final', 'ok') : tag('open', 'warn')),
        peersCell(a)
      )
    }))
    const failed = rows.find(r => r.status === 'rejected' && !(r.reason instanceof HttpError && r.reason.status === 404))
    if (failed != null) throw failed.reason
    if (agreement.error != null) throw agreement.error
  }

  async function loadReputation () {
    const rep = await getJson('/v1/reputation')
    reputationTables(rep)
    await loadLedger(rep.epoch)
  }

  // ---- polling -----------------------------------------------------------

  function setStatus (ok, text) {
    const s = $('status')
    s.classList.toggle('ok', ok)
    s.classList.toggle('bad', !ok)
    setText('status-text', text)
  }

  let refreshing
  async function refresh () {
    if (refreshing != null) return refreshing
    refreshing = (async () => {
      const results = await Promise.allSettled([loadNode(), loadNetwork(), loadActivity(), loadReputation()])
      const failed = results.filter(r => r.status === 'rejected').map(r => r.reason)
      if (failed.length === 0) {
        $('token-form').hidden = true
        setStatus(true, `live · updated ${new Date().toLocaleTimeString()}`)
      } else if (failed.some(e => e instanceof HttpError && e.status === 401)) {
        setStatus(false, 'this node wants its API bearer token (INFERMESH_API_TOKEN): enter it above')
        $('token-form').hidden = false
      } else {
        setStatus(false, `${failed[0]?.message ?? 'error'} · retrying`)
      }
    })()
    try {
      await refreshing
    } finally {
      refreshing = undefined
    }
  }

  async function loop () {
    try {
      // A hidden tab does not poll; it catches up when shown again.
      if (!document.hidden) await refresh()
    } finally {
      setTimeout(() => { void loop() }, POLL_MS)
    }
  }

  // ---- send a task -------------------------------------------------------

  function showSubmitError (message) {
    const e = $('submit-error')
    e.textContent = message
    e.hidden = message == null
  }

  /** Handle one SSE event; true at `data: [DONE]`. */
  function handleEvent (raw, state) {
    const data = raw.split('\n').filter(l => l.startsWith('data:')).map(l => l.slice(5).replace(/^ /, '')).join('\n')
    if (data === '') return false
    if (data === '[DONE]') return true
    const obj = JSON.parse(data)
    if (obj.error != null) throw new Error(obj.error.message ?? 'the task failed')
    const content = obj.choices?.[0]?.delta?.content
    if (typeof content === 'string' && content !== '') {
      state.text += content
      $('answer').textContent = state.text
    }
    if (obj.infermesh != null) {
      const r = obj.infermesh.receipt ?? {}
      state.receipt = r
      setText('receipt-id', r.id)
      $('receipt-id').title = `task ${obj.infermesh.taskId ?? ''}`
      const provider = obj.infermesh.provider ?? r.provider
      const cell = $('receipt-provider')
      cell.replaceChildren(el('span', { title: provider }, provider))
      if (r.usage != null) setText('receipt-usage', `${r.usage.promptTokens} prompt + ${r.usage.completionTokens} completion tokens · ${fmtNum((r.priceMicros ?? 0) / 1e6, 6)} credits · ${r.finishReason ?? ''}`)
    }
    return false
  }

  async function submitTask (ev) {
    ev.preventDefault()
    showSubmitError(undefined)
    const prompt = $('prompt').value.trim()
    const model = $('model').value
    if (prompt === '') return showSubmitError('write a prompt first')
    if (model === '') return showSubmitError('the network serves no chat model yet')
    const maxTokens = Number.parseInt($('max-tokens').value, 10)
    const button = $('submit-button')
    const answer = $('answer')
    button.disabled = true
    answer.textContent = ''
    answer.classList.add('streaming')
    setText('receipt-id', null)
    setText('receipt-provider', null)
    setText('receipt-usage', null)
    const state = { text: '', receipt: undefined }
    try {
      const body = { model, messages: [{ role: 'user', content: prompt }], stream: true }
      if (Number.isFinite(maxTokens) && maxTokens > 0) body.max_tokens = maxTokens
      const res = await fetch('/v1/chat/completions', { method: 'POST', headers: tokenHeaders({ 'content-type': 'application/json', accept: 'text/event-stream' }), body: JSON.stringify(body) })
      if (!res.ok) throw new Error(`${res.status}: ${await errorMessage(res)}`)
      if (res.body == null) throw new Error('the response has no body to stream')
      const reader = res.body.getReader()
      const decoder = new TextDecoder()
      let buf = ''
      let done = false
      while (!done) {
        const { value, done: end } = await reader.read()
        if (end) break
        buf += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n')
        let i
        while (!done && (i = buf.indexOf('\n\n')) >= 0) {
          const event = buf.slice(0, i)
          buf = buf.slice(i + 2)
          done = handleEvent(event, state)
        }
      }
      if (!done && buf.trim() !== '') done = handleEvent(buf, state)
      if (done) await reader.cancel().catch(() => {})
      if (state.receipt == null) throw new Error('the stream ended without a receipt')
    } catch (err) {
      showSubmitError(err instanceof Error ? err.message : String(err))
    } finally {
      button.disabled = false
      answer.classList.remove('streaming')
      void refresh()
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('submit-form').addEventListener('submit', ev => { void submitTask(ev) })
    $('token-form').addEventListener('submit', ev => {
      ev.preventDefault()
      try { sessionStorage.setItem(TOKEN_KEY, $('token-input').value.trim()) } catch {}
      $('token-input').value = ''
      void refresh()
    })
    document.addEventListener('visibilitychange', () => { if (!document.hidden) void refresh() })
    void loop()
  })
})()
