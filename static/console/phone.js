// The browser phone and call controls (see docs/console.md, "The phone and call controls").
// Built on console.js's contract only: the "console:message" event (every server message,
// with the console's state) and window.switchboardConsole.send. The phone is Twilio's Voice
// SDK (static/vendor/twilio-voice-sdk/) — or, in simulate mode, phone_sim.js, which behaves
// the same — registered while the agent works, answering the call the agent accepted.
(function () {
  "use strict";
  const root = document.getElementById("phone");
  const panel = document.getElementById("call-controls");
  if (!root || !panel) return;
  const here = document.currentScript.src.replace(/[^/]*$/, "");  // .../static/console/
  const WORKING = ["available", "offered", "on_call", "wrap_up"];
  const send = (message) => window.switchboardConsole && window.switchboardConsole.send(message);

  let device = null, loading = null, identity = "", refreshTimer = null, wanted = false, failedAt = 0;
  let activeCall = null, pendingIncoming = null, muted = false;
  let call = null, controls = null, onCall = [], colleagues = [];
  let transfer = null;  // a colleague transferring a caller to this agent: {leg, from_agent, client, caller}
  let ringingFor = null, ring = null, audio = null;

  // --- What the phone shows ------------------------------------------------------------------
  const line = el("span", "phone-state");
  const problem = el("span", "phone-error");
  problem.setAttribute("role", "alert");
  root.append(line, problem);
  root.dataset.phone = "off";
  root.dataset.ringing = "0";

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function showState(phone, text) { root.dataset.phone = phone; line.textContent = text; }
  function showError(text) { problem.textContent = text || ""; problem.hidden = !text; }
  showState("off", "Phone off");
  showError("");

  // Words for the errors an agent can act on (Twilio's codes: 31xxx media, 20xxx token).
  function explain(error) {
    const code = error && (error.code || (error.twilioError && error.twilioError.code));
    const name = error && error.name;
    if (name === "NotAllowedError" || code === 31401 || code === 31208)
      return "Microphone blocked: allow the microphone for this site (the lock in the address bar), then reload.";
    if (name === "NotFoundError" || code === 31201)
      return "No microphone found: plug in a headset, then reload.";
    if (name === "NotReadableError") return "The microphone is in use by another program.";
    if (code === 20101 || code === 20104 || code === 31204 || code === 31205)
      return "The phone's token was refused or ran out: getting a new one…";
    if (code === 31005 || code === 31009 || code === 53000) return "The phone lost its connection to Twilio: retrying…";
    return "Phone error: " + ((error && (error.message || error.explanation)) || String(error));
  }

  // --- The token and the device ------------------------------------------------------------------
  async function token() {
    const reply = await fetch("/agent/voice-token", {credentials: "same-origin", headers: {Accept: "application/json"}});
    const body = await reply.json().catch(() => ({}));
    if (!reply.ok) throw new Error(body.error || `the voice token was refused (${reply.status})`);
    identity = body.identity;
    // Well before it runs out (a fifth of its life left): a new one, handed to the device.
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, Math.max(30, (body.ttl || 3600) * 0.8) * 1000);
    return body;
  }

  async function refresh() {
    try {
      const body = await token();
      if (device) device.updateToken(body.token);
      root.dataset.tokenRefreshed = String(Date.now());
    } catch (error) {
      showError("The phone could not renew its token: " + error.message + " Retrying in a minute.");
      refreshTimer = setTimeout(refresh, 60000);
    }
  }

  function load(src) {
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = () => reject(new Error(`could not load ${src}`));
      document.head.append(script);
    });
  }

  async function start() {
    const body = await token();
    let Device;
    if (body.simulated) {
      if (!window.SwitchboardSimDevice) await load(here + "phone_sim.js");
      Device = window.SwitchboardSimDevice;
      root.dataset.simulated = "1";
    } else {
      if (!window.Twilio || !window.Twilio.Device) await load(here + "../vendor/twilio-voice-sdk/twilio.min.js");
      Device = window.Twilio.Device;
      // Ask for the microphone now, so a blocked or missing one is said before a caller waits.
      await navigator.mediaDevices.getUserMedia({audio: true}).then((stream) => stream.getTracks().forEach((t) => t.stop()));
    }
    const made = new Device(body.token, {closeProtection: "A call is connected: leave the console anyway?",
                                         codecPreferences: ["opus", "pcmu"]});
    // The SDK's own sounds load from sdk.twilio.com, which the page's policy refuses: the
    // console rings by itself (ring()), so they are turned off.
    if (made.audio) { made.audio.incoming(false); made.audio.outgoing(false); made.audio.disconnect(false); }
    made.on("registered", () => { showState("ready", "Phone ready"); showError(""); });
    made.on("unregistered", () => showState("off", "Phone off"));
    made.on("error", (error) => {
      showError(explain(error));
      const code = error && error.code;
      if (code === 20101 || code === 20104 || code === 31204 || code === 31205) refresh();
    });
    made.on("tokenWillExpire", refresh);
    made.on("incoming", incoming);
    if (made.audio && made.audio.on) {
      made.audio.on("deviceChange", () => {
        if (made.audio.availableInputDevices && made.audio.availableInputDevices.size === 0)
          showError("No microphone found: plug in a headset.");
      });
    }
    device = made;
    return made;
  }

  async function register(on) {
    wanted = on;
    try {
      if (on) {
        if (!device) { loading = loading || start(); await loading; }
        if (wanted && device.state !== "registered") { showState("registering", "Phone connecting…"); await device.register(); }
      } else if (device && device.state === "registered") {
        await device.unregister();
      }
    } catch (error) {
      loading = null;
      failedAt = Date.now();
      showState("error", "Phone off");
      showError(explain(error) + " (trying again in a minute)");
    }
  }

  // --- The agent's leg: answered in the browser when it is the call the agent accepted --------
  function incoming(leg) {
    pendingIncoming = leg;
    leg.on("cancel", () => { if (pendingIncoming === leg) pendingIncoming = null; });
    answerIfAccepted();
  }

  function answerIfAccepted() {
    const leg = pendingIncoming;
    if (!leg) return;
    if (transfer && !call && (!leg.parameters.CallSid || leg.parameters.CallSid === transfer.leg)) {
      renderTransfer();  // a colleague's transfer: the agent answers it (or not) themselves
      return;
    }
    if (call && call.state === "connected") {
      pendingIncoming = null;
      activeCall = leg;
      muted = false;
      leg.on("accept", () => { showState("in-call", "On the phone"); renderControls(); });
      leg.on("disconnect", () => {
        if (activeCall !== leg && activeCall) return;  // an earlier leg: the current one goes on
        activeCall = null; muted = false;
        showState(device && device.state === "registered" ? "ready" : "off", device && device.state === "registered" ? "Phone ready" : "Phone off");
        renderControls();
      });
      leg.on("error", (error) => showError(explain(error)));
      leg.accept();
      root.dataset.answered = leg.parameters.CallSid || "1";
    } else {
      // Rung before the console shows the accepted call: give the snapshot a moment.
      setTimeout(() => { if (pendingIncoming === leg && !transfer) { pendingIncoming = null; leg.reject(); } }, 4000);
    }
  }

  // --- The ring: an offer announces itself (sound; a notification when looking elsewhere) ----
  function ringStart(offer) {
    ringingFor = offer.call;
    root.dataset.ringing = "1";
    try {
      const Context = window.AudioContext || window.webkitAudioContext;
      audio = audio || (Context ? new Context() : null);
    } catch (error) { audio = null; }
    const burst = () => {
      if (!audio) return;
      // A telephone's ring: 440 Hz + 480 Hz, two short bursts, made here (no file to fetch).
      [0, 0.5].forEach((offset) => [440, 480].forEach((hz) => {
        const osc = audio.createOscillator(), gain = audio.createGain();
        osc.frequency.value = hz;
        gain.gain.value = 0.08;
        osc.connect(gain).connect(audio.destination);
        const t = audio.currentTime + offset;
        osc.start(t); osc.stop(t + 0.4);
      }));
    };
    burst();
    ring = setInterval(burst, 3000);
    if (document.hidden && window.Notification && Notification.permission === "granted") {
      try {
        const note = new Notification(`Incoming call · ${offer.client || ""}`,
                                      {body: `${offer.caller || ""} — answer in the console`, tag: "switchboard-offer"});
        note.onclick = () => { window.focus(); note.close(); };
        ring.note = note;
      } catch (error) { /* some browsers only notify from a service worker: the sound still rings */ }
      root.dataset.notified = String(offer.call);
    }
  }

  function ringStop() {
    if (ring) { if (ring.note) ring.note.close(); clearInterval(ring); }
    ring = null;
    ringingFor = null;
    root.dataset.ringing = "0";
  }

  // The browser lets a page make sound and ask to notify only after the person acts: the
  // agent's first click (going available) does both.
  document.addEventListener("click", () => {
    if (window.Notification && Notification.permission === "default") Notification.requestPermission();
    try {
      const Context = window.AudioContext || window.webkitAudioContext;
      audio = audio || (Context ? new Context() : null);
      if (audio && audio.state === "suspended") audio.resume();
    } catch (error) { audio = null; }
  }, {once: true});

  // --- The call controls ---------------------------------------------------------------------
  function button(text, action, extra, cls) {
    const b = el("button", cls || "secondary", text);
    b.type = "button";
    b.dataset.control = action;
    b.addEventListener("click", () => {
      if (action === "mute") return toggleMute();
      if (action === "hangup" && activeCall) setTimeout(() => activeCall && activeCall.disconnect(), 1500);
      send(Object.assign({action, call: call.call}, extra || {}));
    });
    return b;
  }

  function toggleMute() {
    if (!activeCall) return;
    muted = !muted;
    activeCall.mute(muted);
    renderControls();
  }

  function renderControls() {
    // A re-render (pushes, the 5 s refresh) keeps a number being typed, and its focus.
    const typing = document.getElementById("transfer-to");
    const kept = typing ? {value: typing.value, focused: document.activeElement === typing} : null;
    panel.replaceChildren();
    try { build(); } finally {
      const again = document.getElementById("transfer-to");
      if (kept && again) { again.value = kept.value; if (kept.focused) again.focus(); }
    }
  }

  function build() {
    if (!call || call.state !== "connected") { panel.hidden = true; return; }
    panel.hidden = false;
    const c = controls && controls.call === call.call ? controls : null;
    const third = c && c.third;
    const row = el("p", "controls-row");
    const hold = c && c.held ? button("Resume", "resume") : button("Hold", "hold");
    hold.disabled = !(c && c.ready);
    const mute = button(muted ? "Unmute" : "Mute", "mute");
    mute.setAttribute("aria-pressed", String(muted));
    mute.classList.toggle("active", muted);
    mute.disabled = !activeCall;
    row.append(hold, mute, button("Hang up", "hangup", null, "danger"));
    if (c && c.held) row.append(el("span", "pill held", "caller on hold"));
    if (muted) row.append(el("span", "pill muted", "muted"));
    panel.append(row);

    if (third) {
      const status = {dialing: "calling…", ringing: "ringing…", talking: "on the line", joined: "with the caller"}[third.state] || third.state;
      const p = el("p", "controls-third", `${third.kind === "patch" ? "Patch" : "Transfer"} to ${third.name} (${third.to}): ${status}`);
      p.dataset.third = third.state;
      if (third.warm && third.state === "talking") p.append(" ", button("Join the caller to them", "transfer_complete", null, ""));
      if (["dialing", "ringing", "talking"].includes(third.state)) p.append(" ", button("Cancel", "transfer_cancel"));
      panel.append(p);
      return;
    }
    // Who is on call now for this client: patch the caller to them (warm announces first).
    const ready = !!(c && c.ready);
    if (onCall.length) {
      const list = el("ul", "on-call");
      onCall.forEach((person) => {
        const item = el("li", "", `${person.team}: `);
        item.append(el("strong", "", person.name), ` ${person.number || "(no number)"} `);
        const warm = button("Patch (announce first)", "transfer", {person: person.person, warm: true});
        const blind = button("Patch now", "transfer", {person: person.person, warm: false});
        warm.disabled = blind.disabled = !ready || !person.number;
        item.append(warm, " ", blind);
        list.append(item);
      });
      panel.append(el("h3", "", "On call now"), list);
    } else {
      panel.append(el("p", "muted", "Nobody is on call now for this client."));
    }
    if (colleagues.length) {
      const list = el("ul", "on-call colleagues");
      colleagues.forEach((colleague) => {
        const item = el("li", "", "Agent ");
        item.append(el("strong", "", colleague.name), " ");
        const warm = button("Transfer (announce first)", "transfer", {agent: colleague.agent, warm: true});
        const blind = button("Transfer now", "transfer", {agent: colleague.agent, warm: false});
        warm.disabled = blind.disabled = !ready;
        item.append(warm, " ", blind);
        list.append(item);
      });
      panel.append(el("h3", "", "Agents available"), list);
    }
    const form = el("form", "transfer-form");
    const number = el("input");
    number.type = "tel"; number.id = "transfer-to"; number.placeholder = "+1 212 555 0100";
    number.setAttribute("aria-label", "Transfer to number");
    const label = el("label", "", "Transfer to ");
    label.htmlFor = "transfer-to";
    const blind = el("button", "secondary", "Transfer"); blind.type = "submit"; blind.dataset.control = "transfer-blind";
    const warm = el("button", "secondary", "Announce, then transfer"); warm.type = "button"; warm.dataset.control = "transfer-warm";
    blind.disabled = warm.disabled = !ready;
    form.addEventListener("submit", (event) => { event.preventDefault(); send({action: "transfer", call: call.call, to: number.value, warm: false}); });
    warm.addEventListener("click", () => send({action: "transfer", call: call.call, to: number.value, warm: true}));
    form.append(label, number, " ", blind, " ", warm);
    panel.append(form);
  }

  // A colleague's transfer rings here: who, for which client, and Answer / Decline.
  const transferBox = el("span", "phone-transfer");
  root.append(transferBox);
  function renderTransfer() {
    transferBox.replaceChildren();
    root.dataset.transfer = transfer ? (activeCall && activeCall.transfer ? "talking" : "ringing") : "";
    if (!transfer) { if (ringingFor === "transfer") ringStop(); return; }
    transferBox.append(`Transfer from ${transfer.from_agent} · ${transfer.client} · ${transfer.caller} `);
    if (activeCall && activeCall.transfer) { transferBox.append(el("em", "", "on the line: they will join you to the caller")); return; }
    if (ringingFor !== "transfer") { ringStop(); ringStart({call: "transfer", client: transfer.client, caller: transfer.caller}); }
    const answer = el("button", "", "Answer");
    answer.type = "button"; answer.dataset.control = "transfer-answer";
    answer.disabled = !pendingIncoming;
    answer.addEventListener("click", () => {
      const leg = pendingIncoming;
      if (!leg) return;
      pendingIncoming = null;
      activeCall = leg; leg.transfer = true; muted = false;
      leg.on("disconnect", () => { if (activeCall === leg) { activeCall = null; transfer = null; renderTransfer(); } });
      leg.accept();
      root.dataset.answered = leg.parameters.CallSid || "1";
      showState("in-call", "On the phone");
      ringStop();
      renderTransfer();
    });
    const decline = el("button", "secondary", "Decline");
    decline.type = "button";
    decline.addEventListener("click", () => {
      if (pendingIncoming) { pendingIncoming.reject(); pendingIncoming = null; }
      transfer = null; renderTransfer();
    });
    transferBox.append(answer, " ", decline);
  }

  // Who is on call and which colleagues are free change during a call: asked again every 5 s.
  setInterval(() => {
    if (call && call.state === "connected" && !(controls && controls.third)) send({action: "controls", call: call.call});
  }, 5000);

  // --- Following the server -----------------------------------------------------------------
  document.addEventListener("console:message", (event) => {
    const {message, state} = event.detail;
    if (message.type === "controls") {
      controls = message;
      if (message.on_call) onCall = message.on_call;
      if (message.agents) colleagues = message.agents;
      renderControls();
      return;
    }
    if (message.type === "transfer_ringing") { transfer = message; renderTransfer(); answerIfAccepted(); return; }
    if (message.type === "transfer_ended") {
      if (transfer && transfer.leg === message.leg) {
        transfer = null;
        if (activeCall && activeCall.transfer) { const leg = activeCall; activeCall = null; leg.disconnect(); }
        if (pendingIncoming) { const leg = pendingIncoming; pendingIncoming = null; leg.reject(); }
        renderTransfer();
      }
      return;
    }
    if (message.type === "error" && /phone|ringing/i.test(message.message || "")) showError(message.message);
    if (!state) return;
    const status = state.status;
    if (message.type === "snapshot" || message.type === "agent") {
      const working = WORKING.includes(status);
      // A phone that failed to start is tried again after a minute, not on every snapshot.
      if (working !== wanted || (working && !device && !loading && Date.now() - failedAt > 60000)) register(working);
    }
    const offer = state.offer;
    if (offer && offer.call !== ringingFor) { ringStop(); ringStart(offer); }
    if (!offer && ringingFor !== null && ringingFor !== "transfer") ringStop();
    if (message.type === "snapshot") {
      const before = call && call.call;
      call = state.call || null;
      if (call && call.state === "connected" && call.call !== before) {
        controls = null; onCall = [];
        send({action: "controls", call: call.call});
      }
      if (call && call.state === "connected" && transfer && activeCall && activeCall.transfer) {
        transfer = null; activeCall.transfer = false; renderTransfer();  // the call is this agent's now
      }
      if ((!call || call.state !== "connected") && !(activeCall && activeCall.transfer)) {
        if (activeCall) { const leg = activeCall; activeCall = null; leg.disconnect(); }
        muted = false;
      }
      answerIfAccepted();
      renderControls();
    }
  });
})();
