// JSON-RPC over the node's own WebSocket (same origin, so the node's Origin rule lets it in):
// calls, batches and subscriptions that survive reconnects (docs/rpc.md).
"use strict";

class Rpc {
  constructor(url, onState) {
    this.url = url;
    this.onState = onState;        // (connected: bool) => void
    this.nextId = 1;
    this.pending = new Map();      // id -> {resolve, reject}
    this.subs = [];                // {topic, filter, fn, id}
    this.byId = new Map();         // subscription id -> sub
    this.backoff = 500;
    this.ready = null;
    this.connect();
  }

  connect() {
    this.ready = new Promise((resolve) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      ws.onopen = () => {
        this.backoff = 500;
        this.onState(true);
        resolve();
        // Subscriptions are per connection: make them again after a reconnect.
        this.byId.clear();
        for (const s of this.subs) this.sendSubscribe(s);
      };
      ws.onmessage = (ev) => this.onMessage(ev.data);
      ws.onclose = () => {
        this.onState(false);
        for (const [, p] of this.pending) p.reject(new Error("connection closed"));
        this.pending.clear();
        setTimeout(() => this.connect(), this.backoff);
        this.backoff = Math.min(this.backoff * 2, 10000);
      };
      ws.onerror = () => {};  // onclose follows and reconnects
    });
  }

  onMessage(text) {
    let msg;
    try { msg = JSON.parse(text); } catch { return; }
    const replies = Array.isArray(msg) ? msg : [msg];
    for (const m of replies) {
      if (m.method && m.params && m.params.subscription) {
        const s = this.byId.get(m.params.subscription);
        if (s) {
          try { s.fn(m.params.result); } catch (e) { console.warn("subscriber failed", e); }
        }
        continue;
      }
      const p = this.pending.get(m.id);
      if (!p) continue;
      this.pending.delete(m.id);
      p.resolve(m);
    }
  }

  send(obj) {
    return new Promise((resolve, reject) => {
      const ids = Array.isArray(obj) ? obj.map((o) => o.id) : [obj.id];
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return reject(new Error("not connected"));
      if (Array.isArray(obj)) {
        // A batch comes back as one array; collect the replies by id.
        const got = new Map();
        for (const id of ids) {
          this.pending.set(id, {
            resolve: (m) => { got.set(id, m); if (got.size === ids.length) resolve(ids.map((i) => got.get(i))); },
            reject,
          });
        }
      } else {
        this.pending.set(obj.id, { resolve, reject });
      }
      this.ws.send(JSON.stringify(obj));
    });
  }

  async call(method, params = []) {
    await this.ready;
    const m = await this.send({ jsonrpc: "2.0", id: this.nextId++, method, params });
    if (m.error) { const e = new Error(m.error.message); e.code = m.error.code; throw e; }
    return m.result;
  }

  // Calls many at once (one message); each result or null where that call failed.
  async batch(calls) {
    if (!calls.length) return [];
    await this.ready;
    const out = [];
    // The node takes at most 100 requests per batch (docs/rpc.md, Limits).
    for (let i = 0; i < calls.length; i += 100) {
      const msgs = calls.slice(i, i + 100).map(([method, params]) => ({ jsonrpc: "2.0", id: this.nextId++, method, params }));
      const replies = await this.send(msgs);
      for (const r of replies) out.push(r && !r.error ? r.result : null);
    }
    return out;
  }

  subscribe(topic, filter, fn) {
    const s = { topic, filter, fn, id: null };
    this.subs.push(s);
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.sendSubscribe(s);
  }

  sendSubscribe(s) {
    const params = s.filter ? [s.topic, s.filter] : [s.topic];
    this.send({ jsonrpc: "2.0", id: this.nextId++, method: "subscribe", params })
      .then((m) => { if (m.result) { s.id = m.result; this.byId.set(m.result, s); } })
      .catch(() => {});
  }
}
