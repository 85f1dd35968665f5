/**
 * The status page itself: one small HTML document, a stylesheet and a script, served as they
 * are (no build step, no framework). The script loads the snapshot from the event stream
 * (`api/stream`), falls back to polling `api/status`, and builds every table with textContent
 * only: monitor names, causes and user names come from ZoneMinder and the apps, never as markup.
 */

export interface PageOptions {
  readonly csrfToken: string;
  readonly version: string;
  /** ZoneMinder's API is configured: the monitors table shows each last event's picture. */
  readonly pictures?: boolean;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function renderPage(options: PageOptions): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="zmes-csrf" content="${escapeHtml(options.csrfToken)}">
<meta name="zmes-pictures" content="${options.pictures === true ? 'yes' : 'no'}">
<title>zmes status</title>
<link rel="stylesheet" href="status.css">
<script src="status.js" defer></script>
</head>
<body>
<header class="top">
  <div class="brand"><span class="logo">zmes</span><span class="tagline">ZoneMinder event notifications</span></div>
  <div class="meta"><span id="version">${escapeHtml(options.version)}</span><span class="sep">·</span>up <span id="uptime">–</span><span class="sep">·</span><span id="live" class="live wait">connecting…</span></div>
</header>
<main>
  <section class="cards" id="health" aria-label="Connections"></section>
  <section class="panel"><h2>Monitors</h2><div id="monitors" class="scroll"></div></section>
  <section class="panel"><h2>Recent events</h2><div id="events" class="scroll"></div></section>
  <section class="panel"><h2>Connected apps <span class="count" id="clients-count"></span></h2><div id="clients" class="scroll"></div></section>
  <section class="panel"><h2>Push devices <span class="count" id="devices-count"></span></h2><div id="devices" class="scroll"></div></section>
  <section class="panel"><h2>Recent warnings and errors</h2><div id="errors" class="scroll"></div></section>
</main>
<footer>The same data as JSON: <a href="api/status">api/status</a></footer>
<noscript><p class="noscript">This page needs JavaScript; the same data is at <a href="api/status">api/status</a>.</p></noscript>
</body>
</html>
`;
}

export const STATUS_STYLE = `img.thumb { width: 96px; height: auto; border-radius: 4px; display: block; }
:root {
  color-scheme: light dark;
  --bg: #f4f5f7; --card: #ffffff; --text: #1c1f23; --muted: #6b7280; --line: #e3e6ea;
  --accent: #0b7fc6; --ok: #1a8f3c; --ok-bg: #e3f4e8; --bad: #c62828; --bad-bg: #fdecea;
  --off: #6b7280; --off-bg: #eef0f2; --fresh: #fff6d6;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #111418; --card: #1b1f24; --text: #e6e8eb; --muted: #9aa3ad; --line: #2b3138;
    --accent: #4fb3f0; --ok: #5fd07f; --ok-bg: #173222; --bad: #ff7b72; --bad-bg: #3a1d1d;
    --off: #9aa3ad; --off-bg: #262b31; --fresh: #3b3415;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
.top { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: 8px 24px; padding: 14px 24px; background: var(--card); border-bottom: 1px solid var(--line); }
.brand { display: flex; align-items: baseline; gap: 12px; }
.logo { font-size: 20px; font-weight: 700; color: var(--accent); letter-spacing: .5px; }
.tagline, .meta { color: var(--muted); }
.sep { margin: 0 8px; }
.live::before { content: ""; display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin-right: 6px; background: var(--off); vertical-align: 1px; }
.live.on::before { background: var(--ok); }
.live.wait::before { background: #d9a400; }
main { max-width: 1280px; margin: 0 auto; padding: 20px 24px 8px; display: grid; gap: 18px; }
/* Grid items may shrink below their tables' width: the tables scroll inside their panel. */
main > * { min-width: 0; }
@media (max-width: 600px) { main { padding: 12px 10px 4px; } .top { padding: 12px 14px; } th, td { padding: 6px 10px; } }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 14px; }
.card, .panel { background: var(--card); border: 1px solid var(--line); border-radius: 10px; }
.card { padding: 14px 16px; }
.card h3 { margin: 0; font-size: 15px; display: flex; align-items: center; justify-content: space-between; gap: 8px; }
.card .detail { color: var(--muted); margin: 4px 0 10px; overflow-wrap: anywhere; }
.card dl { margin: 0; display: grid; grid-template-columns: max-content 1fr; gap: 3px 10px; }
.card dt { color: var(--muted); }
.card dd { margin: 0; overflow-wrap: anywhere; }
.card dd.error { color: var(--bad); }
.pill { font-size: 12px; font-weight: 600; padding: 1px 9px; border-radius: 999px; text-transform: uppercase; letter-spacing: .4px; }
.pill.up { color: var(--ok); background: var(--ok-bg); }
.pill.down { color: var(--bad); background: var(--bad-bg); }
.pill.off { color: var(--off); background: var(--off-bg); }
.panel { padding: 4px 0 6px; }
.panel h2 { font-size: 15px; margin: 10px 16px 8px; }
.count { color: var(--muted); font-weight: 400; }
.scroll { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 7px 16px; border-top: 1px solid var(--line); white-space: nowrap; vertical-align: baseline; }
th { color: var(--muted); font-weight: 600; font-size: 12px; text-transform: uppercase; letter-spacing: .4px; border-top: 0; }
td.wrap { white-space: normal; overflow-wrap: anywhere; min-width: 16em; }
td.num, .mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 13px; }
td .sub { display: block; color: var(--muted); font-size: 12px; }
tr.fresh td { animation: fresh 4s ease-out; }
@keyframes fresh { from { background: var(--fresh); } to { background: transparent; } }
.empty { color: var(--muted); padding: 8px 16px 10px; margin: 0; }
.state-open { color: var(--bad); font-weight: 600; }
.state-bad, .level-error { color: var(--bad); }
.level-warn { color: #b26a00; }
@media (prefers-color-scheme: dark) { .level-warn { color: #e3a547; } }
.ok { color: var(--ok); }
button { font: inherit; font-size: 13px; padding: 4px 12px; border-radius: 6px; border: 1px solid var(--accent); background: transparent; color: var(--accent); cursor: pointer; }
button:hover:not(:disabled) { background: var(--accent); color: #fff; }
button:disabled { opacity: .55; cursor: default; }
.result { display: block; font-size: 12px; margin-top: 3px; white-space: normal; max-width: 22em; }
footer { max-width: 1280px; margin: 0 auto; padding: 4px 24px 24px; color: var(--muted); font-size: 12px; }
a { color: var(--accent); }
.noscript { padding: 0 24px; }
`;

/** Plain ES2020 for the browser; no template literals, so this file needs no escaping. */
export const STATUS_SCRIPT = `'use strict';
(function () {
  var csrf = (document.querySelector('meta[name="zmes-csrf"]') || {}).content || '';
  var pictures = ((document.querySelector('meta[name="zmes-pictures"]') || {}).content || '') === 'yes';
  var last = null;
  var seenEvents = null;
  var pending = {};
  var results = {};
  var lastMessageAt = 0;

  function byId(id) { return document.getElementById(id); }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function ago(iso) {
    if (!iso) return '';
    var s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (s < 5) return 'just now';
    if (s < 90) return s + ' s ago';
    if (s < 5400) return Math.round(s / 60) + ' min ago';
    if (s < 129600) return Math.round(s / 3600) + ' h ago';
    return Math.round(s / 86400) + ' days ago';
  }
  function when(iso) {
    if (!iso) return '–';
    var d = new Date(iso);
    var today = new Date();
    var time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
    if (d.toDateString() === today.toDateString()) return time;
    return d.toLocaleDateString([], { day: 'numeric', month: 'short' }) + ' ' + time;
  }
  function duration(ms) {
    var s = Math.floor(ms / 1000);
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min';
    if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
    return Math.floor(s / 86400) + ' d ' + Math.floor((s % 86400) / 3600) + ' h';
  }
  function timeCell(iso) {
    var td = el('td');
    td.appendChild(el('span', null, when(iso)));
    td.appendChild(el('span', 'sub', ago(iso)));
    return td;
  }

  function table(headers, rows, empty) {
    if (rows.length === 0) return el('p', 'empty', empty);
    var t = el('table');
    var head = el('tr');
    headers.forEach(function (h) { head.appendChild(el('th', null, h)); });
    var thead = el('thead'); thead.appendChild(head); t.appendChild(thead);
    var body = el('tbody');
    rows.forEach(function (r) { body.appendChild(r); });
    t.appendChild(body);
    return t;
  }
  function row(cells) {
    var tr = el('tr');
    cells.forEach(function (c) { tr.appendChild(c instanceof Node ? c : el('td', null, c)); });
    return tr;
  }

  var STATE_TEXT = { up: 'up', down: 'down', off: 'off' };
  function card(title, health, extra) {
    var c = el('article', 'card');
    c.setAttribute('data-channel', title);
    var h = el('h3', null, title);
    h.appendChild(el('span', 'pill ' + health.state, STATE_TEXT[health.state] || health.state));
    c.appendChild(h);
    c.appendChild(el('div', 'detail', health.detail));
    var dl = el('dl');
    function item(label, value, className) {
      dl.appendChild(el('dt', null, label));
      dl.appendChild(el('dd', className || null, value));
    }
    (extra || []).forEach(function (e) { item(e[0], e[1]); });
    item('Last success', health.last_success ? health.last_success.text + ' · ' + ago(health.last_success.at) : '–');
    item('Last error', health.last_error ? health.last_error.text + ' · ' + ago(health.last_error.at) : 'none', health.last_error ? 'error' : null);
    c.appendChild(dl);
    return c;
  }

  function renderHealth(s) {
    var box = byId('health');
    clear(box);
    var db = s.database;
    box.appendChild(card('ZoneMinder database', db, [
      ['Schema', db.schema || 'not read yet'],
      ['Last poll', db.last_poll_at ? ago(db.last_poll_at) + ' (' + db.polls + ' polls)' : 'none yet'],
      ['Last event', db.last_event_id ? '#' + db.last_event_id : '–']
    ]));
    box.appendChild(card('MQTT', s.mqtt));
    box.appendChild(card('Push (FCM)', s.fcm));
    box.appendChild(card('ZoneMinder API', s.zoneminder_api));
  }

  function renderMonitors(s) {
    var rows = s.monitors.map(function (m) {
      var e = m.last_event;
      var name = el('td');
      name.appendChild(el('span', null, m.name));
      name.appendChild(el('span', 'sub', 'monitor ' + m.id + (m.notify ? '' : ' · not notified')));
      var cells = [name];
      if (pictures) {
        var pic = el('td');
        if (e) {
          var img = el('img', 'thumb');
          img.setAttribute('src', 'api/picture/' + encodeURIComponent(e.event_id));
          img.setAttribute('alt', 'event ' + e.event_id);
          img.setAttribute('loading', 'lazy');
          pic.appendChild(img);
        }
        cells.push(pic);
      }
      return row(cells.concat([
        e ? timeCell(e.started_at) : el('td', 'sub', 'no event since zmes started'),
        e ? el('td', 'num', '#' + e.event_id) : el('td', null, ''),
        el('td', 'wrap', e ? e.cause : ''),
        el('td', e && e.state === 'open' ? 'state-open' : null, e ? (e.state === 'open' ? 'running' : e.state) : '')
      ]));
    });
    var box = byId('monitors');
    clear(box);
    var heads = pictures ? ['Monitor', 'Picture', 'Last event', 'Event', 'Cause', 'State'] : ['Monitor', 'Last event', 'Event', 'Cause', 'State'];
    box.appendChild(table(heads, rows, 'No monitors loaded yet.'));
  }

  function renderEvents(s) {
    var firstTime = seenEvents === null;
    var seen = {};
    var rows = s.events.map(function (e) {
      var tr = row([
        timeCell(e.started_at),
        e.monitor_name + ' (' + e.monitor_id + ')',
        el('td', 'num', '#' + e.event_id),
        el('td', 'wrap', e.cause),
        el('td', e.state === 'open' ? 'state-open' : (e.state === 'ended' ? null : 'state-bad'),
          e.state === 'open' ? 'running' : e.state + (e.ended_at ? ' after ' + duration(Date.parse(e.ended_at) - Date.parse(e.started_at)) : ''))
      ]);
      tr.setAttribute('data-event-id', e.event_id);
      if (!firstTime && !seenEvents[e.event_id]) tr.className = 'fresh';
      seen[e.event_id] = true;
      return tr;
    });
    seenEvents = seen;
    var box = byId('events');
    clear(box);
    box.appendChild(table(['Started', 'Monitor', 'Event', 'Cause', 'State'], rows, 'No events since zmes started.'));
  }

  function renderClients(s) {
    byId('clients-count').textContent = s.clients_total > s.clients.length ? s.clients.length + ' of ' + s.clients_total : String(s.clients_total);
    var rows = s.clients.map(function (c) {
      var app = el('td');
      app.appendChild(el('span', null, c.app));
      if (c.app_version && c.app_version !== 'unknown') app.appendChild(el('span', 'sub', c.app_version));
      return row([c.user || '(' + c.state + ')', app, el('td', 'num', c.address), timeCell(c.since)]);
    });
    var box = byId('clients');
    clear(box);
    box.appendChild(table(['User', 'App', 'Address', 'Connected'], rows, 'No app is connected.'));
  }

  function lastPushCell(p) {
    var td = el('td', 'wrap');
    if (!p) { td.appendChild(el('span', 'sub', 'none since zmes started')); return td; }
    td.appendChild(el('span', p.status === 'ok' ? 'ok' : 'state-bad', (p.test ? 'test: ' : '') + (p.status === 'ok' ? 'delivered to FCM' : p.status)));
    td.appendChild(el('span', 'sub', ago(p.at) + (p.status === 'ok' ? '' : ' · ' + p.detail)));
    return td;
  }

  function sendTest(id) {
    pending[id] = true;
    results[id] = { text: 'sending…', ok: true };
    if (last) renderDevices(last);
    fetch('api/devices/' + encodeURIComponent(id) + '/test', {
      method: 'POST',
      headers: { 'X-Zmes-Csrf': csrf, 'Content-Type': 'application/json' },
      body: '{}',
      credentials: 'same-origin'
    }).then(function (r) {
      return r.json().catch(function () { return { result: 'failed', detail: 'HTTP ' + r.status }; });
    }).then(function (answer) {
      results[id] = { text: answer.result === 'sent' ? 'sent: ' + answer.detail : answer.result + ': ' + answer.detail, ok: answer.result === 'sent' || answer.result === 'pending' };
    }, function (err) {
      results[id] = { text: 'request failed: ' + err, ok: false };
    }).then(function () {
      delete pending[id];
      if (last) renderDevices(last);
    });
  }

  function renderDevices(s) {
    byId('devices-count').textContent = s.devices_total > s.devices.length ? s.devices.length + ' of ' + s.devices_total : String(s.devices_total);
    var rows = s.devices.map(function (d) {
      var device = el('td');
      device.appendChild(el('span', 'mono', d.token));
      device.appendChild(el('span', 'sub', d.platform + ' · ' + d.app));
      var action = el('td');
      var button = el('button', null, pending[d.id] ? 'Sending…' : 'Send test');
      button.type = 'button';
      button.setAttribute('data-device', d.id);
      button.disabled = !!pending[d.id] || d.push !== 'enabled' || s.fcm.state === 'off';
      if (d.push !== 'enabled') button.title = 'push is disabled in the app';
      button.addEventListener('click', function () { sendTest(d.id); });
      action.appendChild(button);
      var result = results[d.id];
      if (result) action.appendChild(el('span', 'result ' + (result.ok ? 'ok' : 'state-bad'), result.text));
      return row([device, d.user || '–', d.push, d.registered_at ? timeCell(d.registered_at) : el('td', 'sub', 'before zmes'), lastPushCell(d.last_push), action]);
    });
    var box = byId('devices');
    clear(box);
    var empty = s.fcm.state === 'off' ? 'Push is off (' + s.fcm.detail + ').' : 'No device has registered for push yet.';
    box.appendChild(table(['Device', 'User', 'Push', 'Registered', 'Last push', ''], rows, empty));
  }

  function renderErrors(s) {
    var rows = s.errors.map(function (e) {
      return row([timeCell(e.at), el('td', 'level-' + e.level, e.level), e.module || '', el('td', 'wrap', e.message)]);
    });
    var box = byId('errors');
    clear(box);
    box.appendChild(table(['Time', 'Level', 'Part', 'Message'], rows, 'No warnings or errors since zmes started.'));
  }

  function render(s) {
    last = s;
    byId('version').textContent = 'zmes ' + s.version;
    byId('uptime').textContent = duration(Date.now() - Date.parse(s.started_at));
    renderHealth(s);
    renderMonitors(s);
    renderEvents(s);
    renderClients(s);
    renderDevices(s);
    renderErrors(s);
  }

  function setLive(state, text) {
    var live = byId('live');
    live.className = 'live ' + state;
    live.textContent = text;
  }

  function poll() {
    return fetch('api/status', { cache: 'no-store', credentials: 'same-origin' })
      .then(function (r) { return r.json(); })
      .then(function (s) { lastMessageAt = Date.now(); render(s); });
  }

  function connect() {
    if (!window.EventSource) { setLive('wait', 'polling'); setInterval(poll, 5000); poll(); return; }
    var source = new EventSource('api/stream');
    source.addEventListener('open', function () { setLive('on', 'live'); });
    source.addEventListener('status', function (e) {
      lastMessageAt = Date.now();
      setLive('on', 'live');
      render(JSON.parse(e.data));
    });
    source.addEventListener('error', function () { setLive('wait', 'reconnecting…'); });
    // A proxy that buffers the stream: fall back to polling until messages flow again.
    setInterval(function () {
      if (Date.now() - lastMessageAt > 15000) { setLive('wait', 'polling'); poll().catch(function () { setLive('off', 'offline'); }); }
    }, 5000);
  }

  // Keeps "5 s ago" and the uptime current between updates.
  setInterval(function () { if (last) render(last); }, 10000);
  connect();
})();
`;
