// Supervisors' wallboard: whole snapshots over one WebSocket; reconnects by itself.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const pct = (x) => (x === null ? "—" : `${Math.round(x * 100)}%`);
  const secs = (x) => (x === null ? "—" : `${Math.round(x)}s`);
  let retry = 500;

  function renderAlerts(alerts) {
    $("alerts-card").hidden = !alerts.length;
    $("alerts").replaceChildren(...alerts.map((a) => {
      const li = document.createElement("li");
      li.className = `alert ${a.kind}`;
      li.textContent = `${new Date(a.at).toLocaleTimeString()} — ${a.text}`;
      return li;
    }));
  }

  function render(s) {
    renderAlerts(s.alerts || []);
    const agents = Object.entries(s.agents);
    $("agents").textContent = agents.length ? agents.map(([k, n]) => `${k.replace("_", " ")}: ${n}`).join(" · ") : "No agents signed in.";
    $("clients").replaceChildren(...s.clients.map((c) => {
      const tr = document.createElement("tr");
      tr.dataset.client = c.client;
      for (const v of [c.name, c.waiting, `${c.longest_wait}s`, pct(c.service_level), secs(c.average_speed_of_answer),
                       pct(c.abandonment_rate), secs(c.average_handle_time), c.offered]) {
        const td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
      }
      return tr;
    }));
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}${$("wallboard").dataset.ws}`);
    socket.onopen = () => { retry = 500; $("link").textContent = ""; };
    socket.onmessage = (e) => { const m = JSON.parse(e.data); if (m.type === "snapshot") render(m); };
    socket.onclose = () => { $("link").textContent = "· reconnecting…"; setTimeout(connect, retry); retry = Math.min(retry * 2, 8000); };
  }
  connect();
})();
