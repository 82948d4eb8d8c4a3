// The simulated browser phone (TWILIO_MODE=simulate): the same surface phone.js uses of
// Twilio.Device and Twilio.Call — register, incoming, accept, mute, disconnect, errors — with
// the agent's socket as its signalling. It tells the server it is registered (the call
// simulator rings only a registered phone), hears the simulator ring it (a "phone_ringing"
// push), and answers by telling the server (answering/acd/services/controls.py: phone_answer).
(function () {
  "use strict";

  class Emitter {
    constructor() { this.handlers = {}; }
    on(name, fn) { (this.handlers[name] = this.handlers[name] || []).push(fn); return this; }
    emit(name, ...args) { (this.handlers[name] || []).forEach((fn) => fn(...args)); }
  }

  class SimCall extends Emitter {
    constructor(device, message) {
      super();
      this.device = device;
      this.leg = message.leg;
      this.parameters = {CallSid: message.leg, From: message.from || ""};
      this.status = () => this.state;
      this.state = "pending";
      this.muted = false;
    }
    accept() {
      if (this.state !== "pending") return;
      this.state = "open";
      this.device.send({action: "phone_answer", leg: this.leg});
      this.emit("accept", this);
    }
    reject() { this.state = "closed"; this.emit("reject"); }
    disconnect() { if (this.state !== "closed") { this.state = "closed"; this.emit("disconnect", this); } }
    mute(on) { this.muted = on !== false; this.emit("mute", this.muted, this); }
    isMuted() { return this.muted; }
  }

  class SimDevice extends Emitter {
    constructor(token, options) {
      super();
      this.token = token;
      this.options = options || {};
      this.state = "unregistered";
      this.keepAlive = null;
      this.calls = [];
      document.addEventListener("console:message", (event) => {
        const message = event.detail.message;
        if (message.type === "phone_ringing" && this.state === "registered") {
          const call = new SimCall(this, message);
          this.calls.push(call);
          this.emit("incoming", call);
        }
      });
    }
    send(message) { if (window.switchboardConsole) window.switchboardConsole.send(message); }
    register() {
      // The registration lives 90 s on the server: renewed every 30 s while registered.
      this.send({action: "phone_register"});
      clearInterval(this.keepAlive);
      this.keepAlive = setInterval(() => this.send({action: "phone_register"}), 30000);
      this.state = "registered";
      this.emit("registered");
      return Promise.resolve();
    }
    unregister() {
      clearInterval(this.keepAlive);
      this.send({action: "phone_unregister"});
      this.state = "unregistered";
      this.emit("unregistered");
      return Promise.resolve();
    }
    updateToken(token) { this.token = token; }
    disconnectAll() { this.calls.forEach((call) => call.disconnect()); this.calls = []; }
    destroy() { this.unregister(); }
  }

  window.SwitchboardSimDevice = SimDevice;
})();
