// Supervisors' wallboard: whole snapshots over one WebSocket, redrawn whole; reconnects by itself
// (the server sends a fresh snapshot on every connect, so a reconnect heals whatever was missed).
// Every clock counts here, once a second, from the server's timestamps: the snapshot's `at` is
// the server's clock, so the wall ticks in server time whatever the screen's own clock says.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const board = $("wallboard");
  const MAX_ALERTS = 4; // and a count of the rest: the board never scrolls
  const MAX_CHIPS = 2;
  const STATE = {
    available: "Available", offered: "Offered", on_call: "On a call", wrap_up: "Wrap-up",
    break: "Break", away: "Away", offline: "Offline",
  };
  const KIND = { unacknowledged: "Nobody acknowledged", delivery_failed: "Delivery failed", urgent: "Urgent" };
  let skew = 0; // server clock minus this screen's clock, in ms
  let retry = 500;

  const pct = (x) => (x === null || x === undefined ? "—" : `${Math.round(x * 100)}%`);
  const secs = (x) => (x === null || x === undefined ? "—" : `${Math.round(x)}s`);
  const pad = (n) => String(n).padStart(2, "0");

  function elapsed(iso) {
    return Math.max(0, Math.floor((Date.now() + skew - Date.parse(iso)) / 1000));
  }

  // 0:45, 12:03, 1:02:09 — a clock, for states and waits.
  function clock(s) {
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    return h ? `${h}:${pad(m)}:${pad(r)}` : `${m}:${pad(r)}`;
  }

  // "just now", "4 min ago", "2 h 5 min ago" — an age, for alerts.
  function age(s) {
    if (s < 60) return "just now";
    const m = Math.floor(s / 60);
    return m < 60 ? `${m} min ago` : `${Math.floor(m / 60)} h ${m % 60} min ago`;
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function ticking(tag, cls, iso, format, threshold) {
    const e = el(tag, cls);
    if (iso) {
      e.dataset.since = iso;
      e.dataset.format = format;
      if (threshold) e.dataset.threshold = threshold;
    }
    return e;
  }

  function tick() {
    for (const e of board.querySelectorAll("[data-since]")) {
      const s = elapsed(e.dataset.since);
      e.textContent = e.dataset.format === "age" ? age(s) : clock(s);
      if (e.dataset.threshold) e.classList.toggle("late", s > Number(e.dataset.threshold));
    }
  }

  function renderAlerts(alerts) {
    $("alerts-card").hidden = !alerts.length;
    $("alerts-count").textContent = alerts.length ? String(alerts.length) : "";
    const items = alerts.slice(0, MAX_ALERTS).map((a) => {
      const li = el("li", "alert");
      li.dataset.kind = a.kind;
      li.dataset.client = a.client;
      li.append(el("span", "kind", KIND[a.kind] || a.kind), el("span", "client", a.client_name),
                el("span", "text", a.text), ticking("span", "age", a.at, "age"));
      return li;
    });
    if (alerts.length > MAX_ALERTS) items.push(el("li", "more", `+ ${alerts.length - MAX_ALERTS} more`));
    $("alerts").replaceChildren(...items);
  }

  function stateText(a) {
    const base = STATE[a.status] || a.status;
    if (!a.client) return a.status === "away" && a.reason ? `${base} — ${a.reason}` : base;
    return a.status === "on_call" ? `${base} for ${a.client}` : `${base} · ${a.client}`;
  }

  function renderAgents(agents, counts) {
    const working = agents.filter((a) => a.status !== "offline");
    const offline = agents.filter((a) => a.status === "offline");
    $("agents").replaceChildren(...working.map((a) => {
      const li = el("li", "agent");
      li.dataset.status = a.status;
      li.dataset.agent = a.agent;
      li.append(el("span", "name", a.name), el("span", "state", stateText(a)), ticking("span", "clock", a.since, "clock"));
      return li;
    }));
    if (!working.length) $("agents").append(el("li", "none", "No agent is signed in."));
    $("offline").hidden = !offline.length;
    $("offline").textContent = `Offline: ${offline.map((a) => a.name).join(", ")}`;
    const order = ["available", "offered", "on_call", "wrap_up", "break", "away"];
    $("agent-counts").textContent = order.filter((k) => counts[k])
      .map((k) => `${counts[k]} ${STATE[k].toLowerCase()}`).join(" · ");
  }

  function renderClients(clients) {
    $("clients").replaceChildren(...clients.map((c) => {
      const tr = el("tr");
      tr.dataset.client = c.client;
      if (c.risk) tr.dataset.risk = c.risk;
      const waiting = el("td", "num waiting", String(c.waiting));
      waiting.classList.toggle("zero", !c.waiting);
      const calls = el("td", "calls");
      if (c.waiting) {
        calls.append(ticking("span", "longest", c.oldest_queued_at, "clock", c.service_level_seconds));
        for (const call of c.calls.slice(0, MAX_CHIPS)) {
          const chip = el("span", "call");
          chip.dataset.priority = call.priority;
          chip.append(ticking("span", "wait", call.queued_at, "clock", c.service_level_seconds));
          const words = [call.priority ? call.priority_label : "", call.language_label,
                         call.offered_to ? `ringing ${call.offered_to}` : ""].filter(Boolean);
          chip.append(el("span", "what", words.join(" · ")));
          calls.append(chip);
        }
        if (c.calls.length > MAX_CHIPS) calls.append(el("span", "more", `+${c.calls.length - MAX_CHIPS}`));
      }
      const level = el("td", "num level");
      level.append(el("span", "sl", pct(c.service_level)),
                   el("span", "target", `target ${pct(c.service_level_target)} in ${c.service_level_seconds}s`),
                   el("span", "target", c.offered ? `of ${c.offered} offered` : "no calls yet today"));
      tr.append(el("td", "name", c.name), waiting, calls, level, el("td", "num", secs(c.average_speed_of_answer)),
                el("td", "num", pct(c.abandonment_rate)));
      return tr;
    }));
  }

  const MODE = { preview: "Preview", progressive: "Progressive", predictive: "Predictive" };
  const num = (x) => (x === null || x === undefined ? "—" : String(x));
  const ratio = (x) => (x === null || x === undefined ? "—" : `${(x * 100).toFixed(1)}%`);

  // Running campaigns, as the dialer's last tick left them; the panel hides when none runs.
  function renderCampaigns(campaigns) {
    $("campaigns-card").hidden = !campaigns.length;
    $("campaigns").replaceChildren(...campaigns.map((c) => {
      const tr = el("tr");
      tr.dataset.campaign = `${c.client}:${c.campaign}`;
      tr.dataset.risk = c.risk;
      if (c.dropped) tr.dataset.dropped = "true";
      const name = el("td", "name");
      name.append(el("span", "campaign", c.name), el("span", "client", c.client_name));
      const mode = el("td", "mode");
      mode.append(el("span", "now", MODE[c.mode] || c.mode));
      if (c.dropped) mode.append(el("span", "configured", `set to ${(MODE[c.configured_mode] || c.configured_mode).toLowerCase()}`));
      if (c.reason) mode.append(el("span", "reason", c.reason));
      const today = el("td", "num abandon today", ratio(c.abandon_rate_today));
      today.dataset.risk = c.risk_today;
      today.append(el("span", "target", c.live_today ? `${c.abandoned_today} of ${c.live_today}` : "no person yet"));
      const month = el("td", "num abandon month", ratio(c.abandon_rate_30d));
      month.dataset.risk = c.risk_30d;
      month.append(el("span", "target", c.live_30d ? `${c.abandoned_30d} of ${c.live_30d}` : "no person yet"));
      tr.append(name, mode, el("td", "num", c.lines_per_agent ? Number(c.lines_per_agent).toFixed(1) : "—"),
                el("td", "num", num(c.agents)), el("td", "num", num(c.contacts_left)),
                el("td", "num", num(c.attempts_today)), el("td", "num", pct(c.answer_rate)), today, month);
      return tr;
    }));
  }

  function render(s) {
    skew = Date.parse(s.at) - Date.now();
    renderAlerts(s.attention || []);
    renderAgents(s.agents || [], s.agent_counts || {});
    renderClients(s.clients || []);
    renderCampaigns(s.campaigns || []);
    tick();
  }

  function linkState(state, words) {
    board.dataset.link = state;
    $("link").textContent = words;
  }

  // Now and then the board asks for a whole snapshot (the day turns at midnight; a push can be
  // lost); a link that answers nothing for two rounds is dead even if the socket says open.
  const REFRESH_MS = 30000;
  let socket = null;
  let heard = Date.now();

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}${board.dataset.ws}`);
    socket.onopen = () => { retry = 500; heard = Date.now(); linkState("live", "Live"); };
    socket.onmessage = (e) => {
      heard = Date.now();
      const m = JSON.parse(e.data);
      if (m.type === "snapshot") render(m);
    };
    socket.onclose = () => {
      linkState("reconnecting", "Reconnecting… the board may be out of date");
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 8000);
    };
  }

  setInterval(() => {
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    if (Date.now() - heard > 2.5 * REFRESH_MS) { socket.close(); return; }
    socket.send(JSON.stringify({ action: "snapshot" }));
  }, REFRESH_MS);
  setInterval(tick, 1000);
  connect();
})();
