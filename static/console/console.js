// The agent console: one WebSocket, whole snapshots, keyboard first. No build step.
// The screen shows exactly one state, the server's (with its reason); the clocks count here,
// every second, from the server's timestamps, corrected by the server's own clock.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  let socket = null, state = null, retry = 500, skew = 0, draftTimer = null, searchTimer = null;
  // The guided script of the current call: where the agent is, the steps behind them (for
  // Back), what the caller answered. Drafted on the server as the agent types.
  const END = "\u0000end";  // guide.shown when the end of the script is on the screen
  let guide = {call: null, step: null, trail: [], answers: {}, end: null, messageTaken: false, shown: null};

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

  // Other console scripts (the phone, static/console/phone.js) follow the server's state through
  // this event and speak to the server through window.switchboardConsole.send.
  function announce(message) {
    document.dispatchEvent(new CustomEvent("console:message", {detail: {message, state}}));
  }
  window.switchboardConsole = {send, state: () => state};

  const serverNow = () => Date.now() + skew;
  function syncClock(iso) { if (iso) skew = Date.parse(iso) - Date.now(); }
  const seconds = (iso) => Math.max(0, Math.floor((serverNow() - Date.parse(iso)) / 1000));
  const clock = (s) => `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;

  function handle(message) {
    if (message.type === "snapshot") { syncClock(message.now); state = message; render(); }
    else if (message.type === "offer") {
      // The offer is a change of the agent's state too: "offered", not "available".
      syncClock(message.now);
      state = Object.assign(state || {queues: []}, {offer: message, status: message.status, reason: message.reason,
                                          since: message.offered_at || (state && state.since)});
      renderStatus(); renderOffer();
    }
    else if (message.type === "error") { showErrors([message.message]); }
    else if (message.type === "script_next") { scriptAdvance(message); }
    else if (message.type === "step_errors") { stepErrors(message); }
    else if (message.type && message.type.startsWith("appointment_")) { appointmentMessage(message); }
    else if (message.type === "knowledge") { if (state && state.call && message.call === state.call.call) renderKnowledge(message.results); }
    else if (message.type === "queue" && state) {
      syncClock(message.now);
      const at = state.queues.findIndex((q) => q.client === message.client);
      if (at >= 0) { state.queues[at] = message; renderQueues(); }
    }
    else if (message.type === "message_errors") {
      showErrors(Object.entries(message.errors).map(([field, errs]) => `${labelOf(field)}: ${errs.join(" ")}`));
    }
    else if (message.type === "disposition_errors") { dispoErrors(message.errors); }
    else if (message.type === "disposed") { $("dispo-done").textContent = ""; }  // the snapshot next says what
    else if (message.type === "preview_error") {
      dialing = null; $("preview-status").textContent = message.message; $("preview-said").textContent = message.message;
    }
    else if (message.type === "preview_none") { dialing = null; $("preview-status").textContent = message.message; }
    else if (message.type === "preview_dialing") {
      dialing = message; $("preview-status").textContent = `Dialing ${message.number}…`;
    }
    else if (message.type === "message_taken") {
      guide.messageTaken = true; guide.end = guide.end || {action: "message"}; renderEnd(); renderNotice();
    }
    announce(message);
  }

  function render() {
    renderStatus(); renderModes(); renderOffer(); renderCall(); renderPreview(); renderQueues(); tick();
  }

  // --- Campaign work: the mode, the preview card, the outbound contact, the disposition ------
  const MODE_LABELS = {inbound: "Inbound calls", outbound: "Campaign calls", blended: "Blended (inbound first)"};
  let dialing = null, dispo = {call: null, code: null};

  function renderModes() {
    const modes = state.modes || ["inbound"];
    const select = $("mode");
    if (select.dataset.modes !== modes.join(",")) {
      select.replaceChildren(...modes.map((m) => {
        const opt = document.createElement("option"); opt.value = m; opt.textContent = MODE_LABELS[m] || m; return opt;
      }));
      select.dataset.modes = modes.join(",");
    }
    select.value = state.mode || modes[0];
    select.disabled = modes.length < 2;  // the profile allows one mode: shown, not chosen
    $("mode-hint").textContent = modes.length < 2 ? "(your profile's)" : "";
  }

  function fieldList(dl, contact) {
    const rows = [["Number", contact.number], ["State", contact.state], ["Email", contact.email],
                  ...Object.entries(contact.fields || {})].filter(([, v]) => v);
    dl.replaceChildren(...rows.flatMap(([k, v]) => {
      const dt = document.createElement("dt"), dd = document.createElement("dd");
      dt.textContent = k; dd.textContent = v; return [dt, dd];
    }));
  }

  function attemptList(ul, attempts) {
    ul.replaceChildren(...(attempts.length ? attempts : [null]).map((a) => {
      const li = document.createElement("li");
      if (!a) { li.textContent = "Not called before."; return li; }
      li.textContent = [a.when_local, a.outcome_label, a.disposition, a.amount, a.agent, a.notes || a.detail]
        .filter(Boolean).join(" — ");
      return li;
    }));
  }

  function renderPreview() {
    const card = state.preview, busy = !!(state.call || state.offer);
    const campaignWork = (state.mode === "outbound" || state.mode === "blended") && state.preview_campaigns;
    $("preview").hidden = !card || busy;
    $("preview-start").hidden = !!card || busy || !campaignWork;
    if (card) dialing = null;
    if (!card) return;
    $("preview-campaign").textContent = card.campaign.name;
    $("preview-client").textContent = card.client.name;
    $("preview-name").textContent = card.contact.name;
    $("preview-number").textContent = card.contact.number;
    $("preview-local").textContent = `${card.contact.local_time} (${card.contact.time_zone})`;
    $("preview-callback").hidden = !card.callback_for_you;
    $("preview-reason").hidden = !card.reason;
    $("preview-reason").textContent = card.reason ? `Why: ${card.reason}` : "";
    fieldList($("preview-fields"), card.contact);
    attemptList($("preview-attempts"), card.attempts);
    const script = card.script;
    $("preview-script").hidden = !script;
    if (script) {
      $("preview-script-name").textContent = script.name;
      $("preview-script-say").textContent = script.steps[script.first_step].say;
    }
    $("preview-dial").dataset.contact = card.contact.id;
    $("preview-dial").dataset.client = card.client.slug;
    if ($("preview-dial").dataset.shown !== String(card.contact.id)) {  // a new card: last card's words go
      $("preview-status").textContent = ""; $("preview-said").textContent = "";
      $("preview-dial").dataset.shown = String(card.contact.id);
    }
    if (!busy && document.activeElement !== $("preview-skip-reason")) $("preview-dial").focus();
  }

  function renderOutbound(call) {
    const ob = call.outbound;
    $("outbound").hidden = !ob;
    $("dispo").hidden = !ob;
    if (!ob) { dispo.call = null; return; }
    const contact = ob.contact || {};
    $("ob-campaign").textContent = ob.campaign ? ob.campaign.name : "";
    $("ob-name").textContent = contact.name || call.caller;
    $("ob-local").textContent = contact.local_time || "";
    $("ob-state").textContent = contact.time_zone ? `(${contact.time_zone})` : "";
    $("ob-reason").hidden = !ob.reason;
    $("ob-reason").textContent = ob.reason ? `Why: ${ob.reason}` : "";
    fieldList($("ob-fields"), contact);
    attemptList($("ob-attempts"), ob.attempts || []);
    if (dispo.call !== call.call) {  // a new call: a fresh form (a snapshot mid-typing keeps what is typed)
      dispo = {call: call.call, code: ob.disposed ? ob.disposed.code : null};
      $("dispo-amount").value = ob.disposed && ob.disposed.amount ? ob.disposed.amount : "";
      $("dispo-notes").value = ob.disposed ? ob.disposed.notes : "";
      $("dispo-callback-at").value = contactLocal(contact.time_zone, 1, "10:00");
      $("dispo-callback-at").min = contactLocal(contact.time_zone, 0);
      $("dispo-errors").replaceChildren();
      $("dispo-done").textContent = "";
      $("dispo-buttons").replaceChildren(...(ob.dispositions || []).map((d) => {
        const b = document.createElement("button");
        b.type = "button"; b.dataset.code = d.code; b.dataset.kind = d.kind; b.textContent = d.label;
        b.addEventListener("click", () => { dispo.code = d.code; renderDispo(); });
        return b;
      }));
    }
    renderDispo();
  }

  // The contact's wall clock as a datetime-local value: today (+days) at ``at``, or now.
  function contactLocal(zone, days, at) {
    const parts = new Intl.DateTimeFormat("en-CA", {timeZone: zone || undefined, year: "numeric", month: "2-digit",
      day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23"}).formatToParts(new Date(serverNow() + days * 86400000));
    const get = (type) => parts.find((p) => p.type === type).value;
    return `${get("year")}-${get("month")}-${get("day")}T${at || `${get("hour")}:${get("minute")}`}`;
  }

  function renderDispo() {
    const ob = state.call && state.call.outbound;
    if (!ob) return;
    const chosen = (ob.dispositions || []).find((d) => d.code === dispo.code);
    document.querySelectorAll("#dispo-buttons button").forEach((b) =>
      b.setAttribute("aria-pressed", String(b.dataset.code === dispo.code)));
    $("dispo-amount-wrap").hidden = !chosen || chosen.kind !== "sale";
    $("dispo-callback-wrap").hidden = !chosen || chosen.kind !== "callback";
    const zone = (ob.contact || {}).time_zone || "";
    const at = $("dispo-callback-at").value.split("T")[1] || "";
    $("dispo-zone").textContent = `${at} in the contact's time, ${zone}`;
    $("dispo-save").disabled = !chosen;
    $("dispo-save").textContent = ob.disposed ? "Change the disposition" : "Save the disposition";
    if (ob.disposed && !$("dispo-done").textContent) $("dispo-done").textContent = `Recorded: ${ob.disposed.label}.`;
  }

  function dispoErrors(errors) {
    document.querySelectorAll("#dispo .field-error").forEach((p) => { p.hidden = true; p.textContent = ""; });
    const loose = [];
    for (const [field, errs] of Object.entries(errors)) {
      const p = $(`err-dispo-${field}`);
      if (p) { p.textContent = errs.join(" "); p.hidden = false; } else loose.push(errs.join(" "));
    }
    $("dispo-errors").replaceChildren(...loose.map((e) => { const li = document.createElement("li"); li.textContent = e; return li; }));
    $("dispo-done").textContent = "";
  }

  $("mode").addEventListener("change", () => send({action: "mode", mode: $("mode").value}));
  $("dispo-callback-at").addEventListener("input", renderDispo);
  $("dispo-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const call = state.call;
    if (!call || !call.outbound || !dispo.code) return;
    const to = document.querySelector("#dispo-form input[name=callback_to]:checked");
    $("dispo-done").textContent = "Saving…";
    send({action: "disposition", call: call.call, code: dispo.code, amount: $("dispo-amount").value,
          notes: $("dispo-notes").value, callback_at: $("dispo-callback-at").value, callback_to: to ? to.value : "me",
          answers: guide.call === call.call ? guide.answers : {}, change: !!call.outbound.disposed});
  });
  $("preview-next").addEventListener("click", () => { $("preview-status").textContent = "Looking…"; send({action: "preview_next"}); });
  $("preview-dial").addEventListener("click", () => send({action: "preview_dial",
    contact: Number($("preview-dial").dataset.contact), client: $("preview-dial").dataset.client}));
  $("preview-skip").addEventListener("click", () => {
    send({action: "preview_skip", contact: Number($("preview-dial").dataset.contact),
          client: $("preview-dial").dataset.client, reason: $("preview-skip-reason").value});
    $("preview-skip-reason").value = "";
  });

  function renderStatus() {
    $("status").textContent = state.status.replace("_", " ");
    $("status").dataset.status = state.status;
    $("reason").textContent = state.reason || "";
    document.querySelectorAll(".keys [data-status]").forEach((button) => {
      const active = button.dataset.status === state.status;
      button.classList.toggle("active", active);
      button.setAttribute("aria-pressed", String(active));
    });
  }

  // Every clock on the screen, from timestamps: nothing waits for a push to move.
  function tick() {
    if (!state) return;
    $("since").textContent = clock(seconds(state.since));
    const offer = state.offer;
    if (offer) {
      $("offer-waited").textContent = clock(offer.queued_at ? seconds(offer.queued_at) : offer.waited);
      $("offer-countdown").textContent = offer.expires_at
        ? Math.max(0, Math.ceil((Date.parse(offer.expires_at) - serverNow()) / 1000)) : "";
    }
    const call = state.call;
    if (call) {
      let text = call.state.replace("_", " ");
      if (call.state === "wrap_up") {
        text = call.wrap_up_until
          ? `wrap-up · ${Math.max(0, Math.ceil((Date.parse(call.wrap_up_until) - serverNow()) / 1000))}s left`
          : "wrap-up · waits until you save";
      } else if (call.answered_at) {
        text += ` · ${clock(seconds(call.answered_at))}`;
      }
      $("call-state").textContent = text;
    }
    document.querySelectorAll("[data-since]").forEach((cell) => {
      cell.textContent = cell.dataset.since ? clock(seconds(cell.dataset.since)) : "0:00";
    });
  }

  function renderOffer() {
    const offer = state && state.offer;
    $("offer").hidden = !offer;
    if (!offer) return;
    $("offer-client").textContent = offer.client;
    $("offer-caller").textContent = offer.caller;
    $("offer-place").textContent = offer.caller_place ? ` (${offer.caller_place})` : "";
    $("offer-language").textContent = offer.language_name || offer.language;
    $("offer-priority").textContent = offer.priority;
    tick();
    if (!state.call) $("accept").focus();
  }

  function renderCall() {
    const call = state.call;
    $("call").hidden = !call;
    // A campaign call shows its contact in the call panel; the inbound side panels stay away.
    $("side-call").hidden = !call || !!call.outbound;
    $("idle").hidden = !!call || !!state.offer || (!!state.preview && !state.call);
    if (!call) { guide.call = null; $("outbound").hidden = true; $("dispo").hidden = true; return; }
    renderOutbound(call);
    $("call-client").textContent = call.client.name;
    // One greeting: the script's first step says it when there is a script.
    $("call-say").hidden = !call.greeting;
    $("call-greeting").textContent = call.greeting || "";
    $("call-caller").textContent = call.caller;
    $("call-place").textContent = call.caller_place || "";
    $("call-language").textContent = call.language_name || call.language;
    $("call-priority").textContent = call.priority;
    $("call-priority").hidden = call.priority === "Normal";
    $("call-choice").textContent = call.menu_label || "";
    $("history-zone").textContent = `times in ${call.client.time_zone} (${call.client.time_zone_label})`;
    $("call-history").replaceChildren(...(call.history.length ? call.history : [null]).map((h) => {
      const li = document.createElement("li");
      if (!h) { li.textContent = "First call from this number."; return li; }
      const parts = [h.when_local, h.outcome_label];
      if (h.menu_label) parts.push(h.menu_label);
      if (h.disposition) parts.push(h.disposition);
      if (h.caller_hung_up) parts.push("caller hung up");
      li.textContent = parts.join(" — ");
      return li;
    }));
    $("call-oncall").replaceChildren(...(call.on_call.length ? call.on_call : [null]).map((p) => {
      const li = document.createElement("li");
      if (!p) { li.textContent = "No on-call team for this client."; return li; }
      li.textContent = p.name ? `${p.team}: ${p.name}${p.phone ? " · " + p.phone : ""}${p.until ? " · until " + p.until : ""}`
        : `${p.team}: nobody on call now`;
      return li;
    }));
    if (guide.call !== call.call) { $("knowledge-q").value = ""; renderKnowledge(call.knowledge); }
    renderScript(call);
    renderNotice();
    // The caller hung up on the appointment step: ask again; the server frees the held slot and says so.
    if (call.caller_hung_up && appt.step && appt.step === guide.step && !appt.booked && appt.hungUp !== call.call) {
      appt.hungUp = call.call; askSlots();
    }
  }

  function renderKnowledge(facts) {
    $("call-knowledge").replaceChildren(...(facts.length ? facts : [null]).flatMap((k) => {
      const dt = document.createElement("dt"), dd = document.createElement("dd");
      if (!k) { dt.textContent = "Nothing found."; return [dt]; }
      dt.textContent = k.title; dd.textContent = k.body; return [dt, dd];
    }));
  }

  // What the caller hanging up means for the agent: said plainly, with the way on.
  function renderNotice() {
    const call = state && state.call;
    if (call && call.outbound) {
      $("call-notice").hidden = !call.caller_hung_up || !!call.outbound.disposed;
      $("call-notice-text").textContent = "The person hung up — choose the disposition; wrap-up waits until you do.";
      $("save-taken").hidden = true;
      return;
    }
    const owed = call && call.caller_hung_up && call.script && !guide.messageTaken && !call.message;
    $("call-notice").hidden = !(call && call.caller_hung_up);
    $("call-notice-text").textContent = owed
      ? "Caller hung up — finish and save the message. Wrap-up waits until you save."
      : "Caller hung up.";
    $("save-taken").hidden = !owed || !$("script-end").hidden;
  }

  function renderScript(call) {
    const script = call.script;
    $("script").hidden = !script;
    if (!script) { guide.call = call.call; return; }
    if (guide.call !== call.call) {
      const draft = call.draft || {};
      guide = {call: call.call, step: draft.step && script.steps[draft.step] ? draft.step : script.first_step,
               trail: (draft.trail || []).filter((s) => script.steps[s]), answers: Object.assign({}, draft.answers || {}),
               end: draft.end || null, messageTaken: !!call.message, shown: null};
    }
    guide.messageTaken = guide.messageTaken || !!call.message;
    $("script-name").textContent = script.name;
    // Drawn once: a later snapshot must not move the agent's focus off the disposition.
    if (guide.end || guide.messageTaken) { if (guide.shown !== END) renderEnd(); else renderNotice(); return; }
    // A snapshot mid-step (a queue change, the call's state) must not wipe what the agent typed.
    if (guide.shown !== guide.step) renderStep(script.steps[guide.step]);
  }

  function fieldSpec(name) {
    const script = state && state.call && state.call.script;
    if (!script) return null;
    for (const step of Object.values(script.steps)) {
      const found = step.fields.find((f) => f.name === name);
      if (found) return found;
    }
    return null;
  }
  const labelOf = (name) => (fieldSpec(name) || {label: name === "__all__" ? "Script" : name}).label;

  function renderStep(step) {
    guide.shown = step.key;
    $("script-form").hidden = false; $("script-end").hidden = true;
    $("script-back").disabled = guide.trail.length === 0;
    $("script-say").textContent = step.say;
    $("script-fields").replaceChildren(...step.fields.map((f) => {
      const label = document.createElement("label");
      label.textContent = f.label + (f.required ? " *" : "");
      label.htmlFor = `f-${f.name}`;
      let input;
      if (f.type === "yes_no" || f.type === "choice") {
        input = document.createElement("select");
        const options = f.type === "yes_no" ? [["", ""], ["yes", "Yes"], ["no", "No"]] : [["", ""], ...f.options.map((o) => [o, o])];
        options.forEach(([value, text]) => {
          const opt = document.createElement("option"); opt.value = value; opt.textContent = text; input.appendChild(opt);
        });
      } else {
        input = document.createElement("input");
        input.type = {phone: "tel", email: "email", number: "number", date: "date", datetime: "datetime-local"}[f.type] || "text";
      }
      input.id = `f-${f.name}`; input.name = f.name;
      if (f.required) input.setAttribute("aria-required", "true");
      if (guide.answers[f.name] !== undefined) input.value = guide.answers[f.name];
      const error = document.createElement("p");
      error.className = "field-error"; error.id = `err-${f.name}`; error.hidden = true;
      input.setAttribute("aria-describedby", error.id);
      const wrap = document.createElement("div"); wrap.className = "field"; wrap.append(label, input, error); return wrap;
    }));
    $("script-errors").replaceChildren();
    renderNotice();
    renderAppointment(step);
    const first = $("script-fields").querySelector("input, select");
    (first || $("script-next")).focus();
    // A resumed answer goes on where it stopped, not in front of what was typed.
    if (first && ["text", "tel", "search"].includes(first.type)) first.setSelectionRange(first.value.length, first.value.length);
  }

  function collect() {
    new FormData($("script-form")).forEach((value, name) => {
      if (value !== "") guide.answers[name] = value; else delete guide.answers[name];
    });
  }

  function draftSoon() {
    clearTimeout(draftTimer);
    draftTimer = setTimeout(saveDraft, 400);
  }
  function saveDraft() {
    clearTimeout(draftTimer);
    if (!guide.call || guide.messageTaken) return;
    send({action: "draft", call: guide.call, step: guide.step, trail: guide.trail, answers: guide.answers, end: guide.end});
  }

  // Instant word at the step, before the server's (which is the one that counts).
  function checkStep(step) {
    const errors = {};
    for (const f of step.fields) {
      const value = (guide.answers[f.name] || "").toString().trim();
      if (!value) { if (f.required) errors[f.name] = [`${f.label}: this answer is required.`]; continue; }
      if (f.type === "phone") {
        const digits = value.replace(/[\s().\-]/g, "");
        if (!/^\+?\d{7,15}$/.test(digits)) errors[f.name] = [`${f.label}: “${value}” is not a phone number.`];
      }
    }
    return errors;
  }

  function stepErrors(message) {
    if (message.step !== guide.step) return;
    let first = null;
    document.querySelectorAll("#script-fields .field-error").forEach((p) => { p.hidden = true; p.textContent = ""; });
    for (const [name, errs] of Object.entries(message.errors)) {
      const p = $(`err-${name}`), input = $(`f-${name}`);
      if (p) { p.textContent = errs.join(" "); p.hidden = false; }
      if (input) { input.setAttribute("aria-invalid", "true"); first = first || input; }
    }
    $("script-errors").replaceChildren(...Object.entries(message.errors).filter(([name]) => !$(`err-${name}`))
      .map(([name, errs]) => { const li = document.createElement("li"); li.textContent = `${labelOf(name)}: ${errs.join(" ")}`; return li; }));
    if (first) first.focus();
  }

  function scriptAdvance(message) {
    if (message.from !== guide.step) return;
    if (message.step) {
      guide.trail.push(message.from); guide.step = message.step;
      renderStep(state.call.script.steps[message.step]);
    } else { guide.end = message.end; renderEnd(); }
  }

  function back() {
    if (!guide.call || guide.messageTaken) return;
    if (guide.end) guide.end = null;
    else if (guide.trail.length) { collect(); guide.step = guide.trail.pop(); }
    else return;
    renderStep(state.call.script.steps[guide.step]);
    saveDraft();
  }

  const DISPOSITION_FOR_END = {message: "message_taken", dispatch: "dispatched", transfer: "transferred",
                               log: "information"};
  $("disposition").addEventListener("change", () => { guide.dispositionChosen = true; });

  function renderEnd() {
    guide.shown = END;
    $("script-form").hidden = true; $("script-end").hidden = false;
    if (state.call && state.call.outbound) {  // a campaign call ends with its disposition, below
      $("script-end-text").textContent = "End of the script: choose the disposition.";
      $("message-take").hidden = true; $("finish-form").hidden = true; $("end-back").hidden = false;
      const first = $("dispo-buttons").querySelector("button");
      if (first) first.focus();
      return;
    }
    const end = guide.end || {action: "log"};
    const text = {message: "Take the message.", dispatch: "Dispatch to the on-call person: save the details for them.",
                  transfer: `Transfer to ${end.transfer_to}.`, log: "Log the call."}[end.action];
    const savesDetails = end.action === "message" || end.action === "dispatch";
    $("script-end-text").textContent = guide.messageTaken
      ? "Saved. Choose a disposition and finish." : text + (end.urgency ? ` (${end.urgency})` : "");
    const owesMessage = savesDetails && !guide.messageTaken;
    $("message-take").hidden = !owesMessage;
    $("end-back").hidden = guide.messageTaken;
    $("finish-form").hidden = owesMessage;
    // The disposition the script's end implies, until the agent picks another.
    if (!guide.dispositionChosen && DISPOSITION_FOR_END[end.action]) $("disposition").value = DISPOSITION_FOR_END[end.action];
    renderNotice();
    (owesMessage ? $("message-take") : $("finish")).focus();
  }

  function showErrors(errors) {
    $("script-errors").replaceChildren(...errors.map((e) => { const li = document.createElement("li"); li.textContent = e; return li; }));
    $("script-errors").hidden = false;
    if (!$("script").hidden) $("script-errors").scrollIntoView({block: "nearest"});
    else $("reason").textContent = errors.join(" ");
  }


  // --- The appointment step: slots in the caller's terms, a hold, the intake, the booking -------
  // The server keeps the truth (the call's hold and booking); the intake is drafted with the
  // script's answers under "@<step>.<name>" keys, which no script field can be named.
  let appt = {step: null};
  const apptKey = (name) => `@${appt.step}.${name}`;

  function renderAppointment(step) {
    const box = $("appt");
    if (step.kind !== "appointment") {
      box.hidden = true; appt = {step: null}; $("appt-intake").replaceChildren(); return;
    }
    appt = {step: step.key, call: guide.call, types: [], type: guide.answers[`@${step.key}.type`] || "", slots: [],
            hold: null, booked: null, intakeFor: null, pages: [], hungUp: null};
    box.hidden = false;
    $("appt-types").replaceChildren(); $("appt-slots").replaceChildren(); $("appt-intake").replaceChildren();
    $("appt-errors").replaceChildren(); $("appt-taken").hidden = true; $("appt-booked").hidden = true;
    $("appt-book-wrap").hidden = true; $("appt-later").hidden = true; $("appt-soonest").hidden = true;
    $("appt-zone").textContent = ""; $("appt-held").textContent = "Looking for free slots…";
    askSlots();
  }

  function askSlots(after) {
    if (!appt.step) return;
    send({action: "appointment_slots", call: appt.call, step: appt.step, type: appt.type, after: after || null});
  }

  function appointmentMessage(message) {
    if (!appt.step || message.step !== appt.step || message.call !== appt.call) return;
    if (message.type === "appointment_slots") {
      appt.types = message.types; appt.type = message.chosen || appt.type; appt.booked = message.booked;
      appt.hold = message.hold; appt.slots = message.slots;
      $("appt-taken").hidden = true;
      renderTypes(); renderSlots(message.more); renderIntake(); renderHold(message.message);
      const focusFree = document.activeElement === document.body || document.activeElement === $("script-next");
      if (focusFree && !appt.booked) { const b = $("appt-slots").querySelector("button"); if (b) b.focus(); }
    } else if (message.type === "appointment_held") {
      appt.hold = message.hold;
      appt.slots.forEach((s) => { s.held = s.calendar === message.hold.calendar && s.start === message.hold.start; });
      renderSlots(!$("appt-later").hidden); renderHold("");
      const empty = [...$("appt-intake").querySelectorAll("[aria-required=true]")].find((i) => !i.value);
      (empty || $("appt-book")).focus();
    } else if (message.type === "appointment_taken") {
      // "Just taken — here are the next free slots": the alternatives, the first one focused.
      appt.slots = message.alternatives; appt.pages = [];
      $("appt-taken-text").textContent = message.message; $("appt-taken").hidden = false;
      renderSlots(false); renderHold("");
      const b = $("appt-slots").querySelector("button"); if (b) b.focus();
    } else if (message.type === "appointment_booked") {
      appt.booked = message.booked; appt.hold = null;
      renderSlots(false); renderIntake(); renderHold("");
      $("script-next").focus();
    } else if (message.type === "appointment_errors") {
      apptErrors(message.errors);
    } else if (message.type === "appointment_error") {
      apptErrors({__all__: [message.message]});
    }
  }

  function renderTypes() {
    const several = appt.types.length > 1;
    $("appt-types").hidden = !several || !!appt.booked;
    $("appt-types").replaceChildren(...appt.types.map((t) => {
      const b = document.createElement("button");
      b.type = "button"; b.dataset.type = t.name;
      b.textContent = `${t.name} (${t.duration_minutes} min)`;
      b.setAttribute("aria-pressed", String(t.name === appt.type));
      b.addEventListener("click", () => {
        if (t.name === appt.type) return;
        appt.type = t.name; appt.pages = []; guide.answers[apptKey("type")] = t.name; draftSoon();
        $("appt-held").textContent = "Looking for free slots…"; askSlots();
      });
      return b;
    }));
  }

  function renderSlots(more) {
    const open = !appt.booked;
    $("appt-slots").hidden = !open;
    const zones = [...new Set(appt.slots.map((s) => `${s.zone} (${s.zone_label})`))];
    $("appt-zone").textContent = open && zones.length
      ? `Times are the calendar's own: ${zones.join(", ")}. Say them as they are.` : "";
    $("appt-slots").replaceChildren(...appt.slots.map((s) => {
      const b = document.createElement("button");
      b.type = "button"; b.dataset.start = s.start; b.dataset.calendar = s.calendar;
      b.setAttribute("aria-pressed", String(!!s.held));
      b.append(`${s.day} · ${s.time} ${s.zone_label}`);
      const who = document.createElement("small"); who.textContent = s.calendar_name + (s.held ? " · held for this caller" : "");
      b.append(who);
      b.addEventListener("click", () => {
        $("appt-errors").replaceChildren(); $("appt-held").textContent = `Holding ${s.label}…`;
        send({action: "appointment_hold", call: appt.call, step: appt.step, type: appt.type, calendar: s.calendar,
              start: s.start});
      });
      return b;
    }));
    $("appt-later").hidden = !open || !more;
    $("appt-soonest").hidden = !open || !appt.pages.length;
  }

  function renderHold(note) {
    let text = note || "";
    if (appt.booked) text = "";
    else if (appt.hold) {
      const until = new Date(Date.parse(appt.hold.expires_at) - skew);
      const at = until.toLocaleTimeString([], {hour: "numeric", minute: "2-digit"});
      text = `Held for the caller: ${appt.hold.label} with ${appt.hold.calendar_name} (until ${at} your time). ` +
             "Take the details, then Book.";
    } else if (!text && appt.slots.length) text = "Choose a slot with the caller: it is held while you take the details.";
    $("appt-held").textContent = text;
    $("appt-book-wrap").hidden = !!appt.booked || !appt.hold;
    $("appt-booked").hidden = !appt.booked;
    if (appt.booked) {
      const b = appt.booked;
      $("appt-booked-text").textContent = `${b.type} with ${b.calendar_name}, ${b.label}.`;
      $("appt-booked-who").textContent = [b.name, b.phone, b.email].filter(Boolean).join(" · ");
    }
  }

  // The person and the type's intake; an answer the script already took (same name) fills it.
  function renderIntake() {
    const type = appt.types.find((t) => t.name === appt.type);
    if (appt.booked || !type) { $("appt-intake").replaceChildren(); appt.intakeFor = null; return; }
    if (appt.intakeFor === type.name) return;  // drawn: what the agent types stays
    appt.intakeFor = type.name;
    const call = state.call || {};
    const person = [
      {key: "name", label: "Name for the appointment", type: "text", required: true,
       value: guide.answers.caller_name || guide.answers.name || ""},
      {key: "phone", label: "Number for confirmations", type: "phone", required: true,
       value: guide.answers.callback_number || call.caller || ""},
      {key: "email", label: "Email", type: "email", required: false, value: guide.answers.email || ""},
    ];
    const intake = type.intake.map((f) => ({key: `answers.${f.name}`, label: f.label, type: f.type, required: f.required,
                                             options: f.options, value: guide.answers[f.name] || ""}));
    $("appt-intake").replaceChildren(...[...person, ...intake].map((f) => {
      const name = apptKey(f.key), id = `appt-f-${f.key.replace(/\W/g, "-")}`;
      const label = document.createElement("label");
      label.textContent = f.label + (f.required ? " *" : ""); label.htmlFor = id;
      let input;
      if (f.type === "yes_no" || f.type === "choice") {
        input = document.createElement("select");
        const options = f.type === "yes_no" ? [["", ""], ["yes", "Yes"], ["no", "No"]] : [["", ""], ...f.options.map((o) => [o, o])];
        options.forEach(([value, text]) => {
          const opt = document.createElement("option"); opt.value = value; opt.textContent = text; input.appendChild(opt);
        });
      } else {
        input = document.createElement("input");
        input.type = {phone: "tel", email: "email", number: "number", date: "date", datetime: "datetime-local"}[f.type] || "text";
      }
      input.id = id; input.name = name;
      if (f.required) input.setAttribute("aria-required", "true");
      input.value = guide.answers[name] !== undefined ? guide.answers[name] : f.value;
      const error = document.createElement("p");
      error.className = "field-error"; error.id = `err-${id}`; error.hidden = true; error.dataset.key = f.key;
      input.setAttribute("aria-describedby", error.id);
      const wrap = document.createElement("div"); wrap.className = "field"; wrap.append(label, input, error); return wrap;
    }));
    collect(); draftSoon();  // the filled-in defaults are answers too, drafted like typed ones
  }

  function book() {
    if (!appt.step || !appt.hold) { apptErrors({slot: ["Pick a slot first: it is held for the caller while you take the details."]}); return; }
    collect();
    const answers = {}, prefix = apptKey("answers.");
    for (const [name, value] of Object.entries(guide.answers)) if (name.startsWith(prefix)) answers[name.slice(prefix.length)] = value;
    $("appt-errors").replaceChildren();
    $("appt-held").textContent = "Booking…";
    send({action: "appointment_book", call: appt.call, step: appt.step, hold: appt.hold.id,
          name: guide.answers[apptKey("name")] || "", phone: guide.answers[apptKey("phone")] || "",
          email: guide.answers[apptKey("email")] || "", answers});
  }

  function apptErrors(errors) {
    $("appt-intake").querySelectorAll(".field-error").forEach((p) => { p.hidden = true; p.textContent = ""; });
    $("appt-intake").querySelectorAll("[aria-invalid]").forEach((i) => i.removeAttribute("aria-invalid"));
    const loose = [];
    let first = null;
    for (const [key, errs] of Object.entries(errors)) {
      const p = $("appt-intake").querySelector(`.field-error[data-key="${CSS.escape(key)}"]`);
      if (p) {
        p.textContent = errs.join(" "); p.hidden = false;
        const input = p.previousElementSibling; input.setAttribute("aria-invalid", "true"); first = first || input;
      } else loose.push(errs.join(" "));
    }
    $("appt-errors").replaceChildren(...loose.map((e) => { const li = document.createElement("li"); li.textContent = e; return li; }));
    renderHold("");
    if (first) first.focus();
  }

  $("appt-book").addEventListener("click", book);
  $("appt-later").addEventListener("click", () => {
    const last = appt.slots[appt.slots.length - 1];
    if (!last) return;
    appt.pages.push(last); $("appt-taken").hidden = true;
    askSlots({start: last.start, calendar: last.calendar});
  });
  $("appt-soonest").addEventListener("click", () => { appt.pages = []; askSlots(); });

  $("script-form").addEventListener("input", () => { collect(); draftSoon(); });
  $("script-form").addEventListener("submit", (event) => {
    event.preventDefault();
    collect();
    // Enter in the appointment's details books it; the Next button (or Enter elsewhere) goes on.
    if (appt.step === guide.step && !appt.booked && $("appt-intake").contains(document.activeElement)) { book(); return; }
    const step = state.call.script.steps[guide.step];
    const errors = checkStep(step);
    if (Object.keys(errors).length) { stepErrors({step: guide.step, errors}); return; }
    send({action: "script_next", call: guide.call, step: guide.step, trail: guide.trail, answers: guide.answers});
  });
  // Enter on a select moves on too (browsers only submit from text inputs); Alt+B goes back.
  $("script-form").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target.matches("select")) { event.preventDefault(); $("script-form").requestSubmit(); }
  });
  $("script-back").addEventListener("click", back);
  $("end-back").addEventListener("click", back);
  const take = () => { collect(); send({action: "message_take", call: guide.call, answers: guide.answers}); };
  $("message-take").addEventListener("click", take);
  $("save-taken").addEventListener("click", () => { if (!$("script-form").hidden) collect(); take(); });
  $("finish-form").addEventListener("submit", (event) => {
    event.preventDefault();
    send({action: "finish", call: guide.call, disposition: $("disposition").value, answers: guide.answers});
  });
  $("knowledge-q").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => state && state.call &&
      send({action: "knowledge_search", call: state.call.call, query: $("knowledge-q").value}), 250);
  });

  function renderQueues() {
    $("queues").replaceChildren(...state.queues.map((q) => {
      const tr = document.createElement("tr");
      const since = q.waiting && q.oldest_since ? q.oldest_since : "";
      for (const value of [q.name, q.waiting, null]) {
        const td = document.createElement("td");
        if (value === null) { td.dataset.since = since; td.className = "wait"; } else td.textContent = value;
        tr.appendChild(td);
      }
      return tr;
    }));
    tick();
  }

  document.querySelectorAll(".keys [data-status]").forEach((button) =>
    button.addEventListener("click", () => send({action: "status", status: button.dataset.status})));
  $("accept").addEventListener("click", () => state.offer && send({action: "accept", call: state.offer.call}));
  $("decline").addEventListener("click", () => state.offer && send({action: "decline", call: state.offer.call}));
  document.addEventListener("keydown", (event) => {
    if (event.altKey && event.key.toLowerCase() === "b") { event.preventDefault(); back(); return; }
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
    else if (key === "b") back();
    else if (key === "/" && state && state.call) { event.preventDefault(); $("knowledge-q").focus(); }
  });
  setInterval(tick, 1000);
  connect();
})();
