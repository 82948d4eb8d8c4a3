// The agent console: one WebSocket, whole snapshots, keyboard first. No build step.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  let socket = null, state = null, retry = 500, offerTimer = null, sinceTimer = null;

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}${$("console").dataset.ws}`);
    socket.onopen = () => { retry = 500; $("link").textContent = ""; };
    socket.onmessage = (event) => handle(JSON.parse(event.data));
    socket.onclose = () => {
      $("link").textContent = "· reconnecting…";
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 8000);
    };
  }

  function handle(message) {
    if (message.type === "snapshot") { state = message; render(); }
    else if (message.type === "offer") { state = Object.assign(state || {}, {offer: message}); renderOffer(); }
    else if (message.type === "error") { alert(message.message); }
  }

  function render() {
    $("status").textContent = state.status.replace("_", " ");
    $("status").dataset.status = state.status;
    clearInterval(sinceTimer);
    const since = new Date(state.since);
    const tick = () => {
      const s = Math.max(0, Math.round((Date.now() - since) / 1000));
      $("since").textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
    };
    tick(); sinceTimer = setInterval(tick, 1000);
    renderOffer(); renderCall(); renderQueues();
  }

  function renderOffer() {
    const offer = state && state.offer;
    $("offer").hidden = !offer;
    clearInterval(offerTimer);
    if (!offer) return;
    $("offer-client").textContent = offer.client;
    $("offer-caller").textContent = offer.caller;
    $("offer-language").textContent = offer.language;
    $("offer-priority").textContent = offer.priority;
    $("offer-waited").textContent = offer.waited;
    const expires = new Date(offer.expires_at);
    const tick = () => { $("offer-countdown").textContent = Math.max(0, Math.ceil((expires - Date.now()) / 1000)); };
    tick(); offerTimer = setInterval(tick, 250);
    $("accept").focus();
  }

  function renderCall() {
    const call = state.call;
    $("call").hidden = !call;
    if (!call) return;
    $("call-client").textContent = call.client.name;
    $("call-greeting").textContent = call.greeting;
    $("call-caller").textContent = call.caller;
    $("call-language").textContent = call.language;
    $("call-state").textContent = call.state.replace("_", " ");
    $("call-choice").textContent = call.menu_choice;
    $("call-history").replaceChildren(...(call.history.length ? call.history : [{when: "", outcome: "none"}]).map((h) => {
      const li = document.createElement("li");
      li.textContent = h.when ? `${new Date(h.when).toLocaleString()} — ${h.outcome}` : "First call from this number.";
      return li;
    }));
    $("call-knowledge").replaceChildren(...call.knowledge.flatMap((k) => {
      const dt = document.createElement("dt"), dd = document.createElement("dd");
      dt.textContent = k.title; dd.textContent = k.body; return [dt, dd];
    }));
  }

  function renderQueues() {
    $("queues").replaceChildren(...state.queues.map((q) => {
      const tr = document.createElement("tr");
      for (const value of [q.name, q.waiting, `${q.longest_wait}s`]) {
        const td = document.createElement("td"); td.textContent = value; tr.appendChild(td);
      }
      return tr;
    }));
  }

  document.querySelectorAll("[data-status]").forEach((button) =>
    button.addEventListener("click", () => send({action: "status", status: button.dataset.status})));
  $("accept").addEventListener("click", () => state.offer && send({action: "accept", call: state.offer.call}));
  $("decline").addEventListener("click", () => state.offer && send({action: "decline", call: state.offer.call}));
  document.addEventListener("keydown", (event) => {
    if (event.target.matches("input, textarea, select")) return;
    const key = event.key.toLowerCase();
    if (key === "1") send({action: "status", status: "available"});
    else if (key === "2") send({action: "status", status: "break"});
    else if (key === "0") send({action: "status", status: "offline"});
    else if (key === "a" && state && state.offer) send({action: "accept", call: state.offer.call});
    else if (key === "d" && state && state.offer) send({action: "decline", call: state.offer.call});
  });
  connect();
})();
