// The agent console: one WebSocket, whole snapshots, keyboard first. No build step.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  let socket = null, state = null, retry = 500, offerTimer = null, sinceTimer = null;
  // The guided script of the current call: where the agent is, what the caller answered.
  let guide = {call: null, step: null, answers: {}, end: null, messageTaken: false};

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
    else if (message.type === "error") { showErrors([message.message]); }
    else if (message.type === "script_next") { scriptAdvance(message); }
    else if (message.type === "queue" && state) {
      const at = state.queues.findIndex((q) => q.client === message.client);
      if (at >= 0) { state.queues[at] = message; renderQueues(); }
    }
    else if (message.type === "message_errors") {
      showErrors(Object.entries(message.errors).map(([field, errs]) => `${field}: ${errs.join(" ")}`));
    }
    else if (message.type === "message_taken") { guide.messageTaken = true; renderEnd(); }
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
    $("call-state").textContent = call.state === "wrap_up" && call.wrap_up_until
      ? `wrap-up · ${Math.max(0, Math.ceil((new Date(call.wrap_up_until) - Date.now()) / 1000))}s left`
      : call.state.replace("_", " ");
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
    renderScript(call);
  }

  function renderScript(call) {
    const script = call.script;
    $("script").hidden = !script;
    if (!script) return;
    if (guide.call !== call.call) {
      guide = {call: call.call, step: script.first_step, answers: {}, end: null, messageTaken: !!call.message,
               shown: null};
    }
    guide.messageTaken = guide.messageTaken || !!call.message;
    $("script-name").textContent = script.name;
    if (guide.end) { renderEnd(); return; }
    // A snapshot mid-step (a queue change, the call's state) must not wipe what the agent typed.
    if (guide.shown !== guide.step) renderStep(script.steps[guide.step]);
  }

  function renderStep(step) {
    guide.shown = step.key;
    $("script-form").hidden = false; $("script-end").hidden = true;
    $("script-say").textContent = step.say;
    $("script-fields").replaceChildren(...step.fields.map((f) => {
      const label = document.createElement("label");
      label.textContent = f.label + (f.required ? " *" : "");
      label.htmlFor = `f-${f.name}`;
      let input;
      if (f.type === "yes_no" || f.type === "choice") {
        input = document.createElement("select");
        const options = f.type === "yes_no" ? ["", "yes", "no"] : ["", ...f.options];
        options.forEach((o) => { const opt = document.createElement("option"); opt.value = o; opt.textContent = o; input.appendChild(opt); });
      } else {
        input = document.createElement("input");
        input.type = {phone: "tel", email: "email", number: "number", date: "date", datetime: "datetime-local"}[f.type] || "text";
      }
      input.id = `f-${f.name}`; input.name = f.name;
      if (guide.answers[f.name] !== undefined) input.value = guide.answers[f.name];
      const wrap = document.createElement("div"); wrap.append(label, input); return wrap;
    }));
    const first = $("script-fields").querySelector("input, select");
    (first || $("script-next")).focus();
  }

  function scriptAdvance(message) {
    if (message.step) { guide.step = message.step; renderStep(state.call.script.steps[message.step]); }
    else { guide.end = message.end; renderEnd(); }
  }

  function renderEnd() {
    $("script-form").hidden = true; $("script-end").hidden = false;
    const end = guide.end || {action: "log"};
    const text = {message: "Take the message.", dispatch: "Dispatch to the on-call person: save the details for them.",
                  transfer: `Transfer to ${end.transfer_to}.`, log: "Log the call."}[end.action];
    const savesDetails = end.action === "message" || end.action === "dispatch";
    $("script-end-text").textContent = guide.messageTaken && savesDetails
      ? "Saved. Choose a disposition and finish." : text + (end.urgency ? ` (${end.urgency})` : "");
    const owesMessage = savesDetails && !guide.messageTaken;
    $("message-take").hidden = !owesMessage;
    $("finish-form").hidden = owesMessage;
    (owesMessage ? $("message-take") : $("finish")).focus();
  }

  function showErrors(errors) {
    $("script-errors").replaceChildren(...errors.map((e) => { const li = document.createElement("li"); li.textContent = e; return li; }));
    if ($("script-end").hidden) alert(errors.join("\n"));
  }

  $("script-form").addEventListener("submit", (event) => {
    event.preventDefault();
    new FormData($("script-form")).forEach((value, name) => { if (value !== "") guide.answers[name] = value; });
    send({action: "script_next", call: guide.call, step: guide.step, answers: guide.answers});
  });
  // Enter on a select moves on too (browsers only submit from text inputs).
  $("script-form").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target.matches("select")) { event.preventDefault(); $("script-form").requestSubmit(); }
  });
  $("message-take").addEventListener("click", () => send({action: "message_take", call: guide.call, answers: guide.answers}));
  $("finish-form").addEventListener("submit", (event) => {
    event.preventDefault();
    send({action: "finish", call: guide.call, disposition: $("disposition").value, answers: guide.answers});
  });

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
    if (event.key.toLowerCase() === "f" && !$("finish-form").hidden && !$("script-end").hidden) {
      $("finish-form").requestSubmit(); return;
    }
    const key = event.key.toLowerCase();
    if (key === "1") send({action: "status", status: "available"});
    else if (key === "2") send({action: "status", status: "break"});
    else if (key === "0") send({action: "status", status: "offline"});
    else if (key === "a" && state && state.offer) send({action: "accept", call: state.offer.call});
    else if (key === "d" && state && state.offer) send({action: "decline", call: state.offer.call});
  });
  connect();
})();
