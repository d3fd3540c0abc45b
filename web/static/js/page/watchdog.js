// The page never waits for the worker for ever: a silence limit per open request.
//
// Every request to the worker (shared/protocol.js) must end with one terminal reply.
// A worker that hangs (stuck in a loop, a driver that never returns, a reply lost),
// or crashes without an error event, would otherwise leave the page on "Writing…" or
// "Stopping…" for good. The watchdog gives each open request a limit of silence: any
// message with its id (an event, `alive` from worker/heartbeat.js, the reply) starts
// the count again; when the limit passes first, `onSilent` is called and the client
// ends the request with an EngineStalledError (page/worker-client.js), which offers a
// reload. After Stop, the story must end within STOP_LIMIT_MS whatever it sends.

import { REQUEST } from "../shared/protocol.js";

/**
 * Most silence each request may keep (ms). Long requests hear `alive` every 5 s while
 * the worker's event loop runs, so their limit only has to cover the longest stretch
 * the worker spends in one synchronous call: opening the WASM session or a long prompt
 * on a slow phone (seconds to tens of seconds). Loading gets more: its synchronous
 * stretches (Python's standard library, a session of 230 MB) were never measured on a
 * slow phone. The short ones answer at once unless the worker is inside such a call.
 */
export const SILENCE_LIMIT_MS = Object.freeze({
  [REQUEST.init]: 300_000,
  [REQUEST.generate]: 120_000,
  [REQUEST.speedCheck]: 120_000,
  [REQUEST.stop]: 60_000,
  [REQUEST.surprise]: 60_000,
  [REQUEST.memory]: 60_000,
});

/**
 * After Stop, the story ends within one model step (a fraction of a second, or one
 * long prompt run): past this it is not coming, whatever else the worker says (ms).
 */
export const STOP_LIMIT_MS = 60_000;

/** What the reader is told the engine was doing when it fell silent (locale keys). */
export const STALLED_TASK = Object.freeze({
  [REQUEST.init]: "stalled.init",
  [REQUEST.generate]: "stalled.generate",
  [REQUEST.speedCheck]: "stalled.speedCheck",
  [REQUEST.stop]: "stalled.stop",
  [REQUEST.surprise]: "stalled.surprise",
  [REQUEST.memory]: "stalled.memory",
});

/** One timer per open request; `onSilent(id, type, seconds)` when one runs out. */
export class Watchdog {
  /**
   * @param {(id: number, type: string, seconds: number) => void} onSilent
   * @param {Record<string, number>} [limits] silence limit per request type (ms)
   */
  constructor(onSilent, limits = SILENCE_LIMIT_MS) {
    this.onSilent = onSilent;
    this.limits = limits;
    /** @type {Map<number, {type: string, timer: number, deadline: number}>} */
    this.watched = new Map();
  }

  /**
   * Start watching a request just sent.
   * @param {number} id @param {string} type a REQUEST name
   */
  watch(id, type) {
    this.watched.set(id, { type, timer: 0, deadline: 0 });
    this.heard(id);
  }

  /**
   * A message of request `id` arrived: its silence starts again.
   * @param {number} id
   */
  heard(id) {
    const entry = this.watched.get(id);
    if (!entry || entry.deadline) return; // a deadline is not pushed back by messages
    this.arm(id, entry, this.limits[entry.type] ?? this.limits[REQUEST.init]);
  }

  /**
   * Request `id` must end within `ms`, whatever it sends meanwhile (a stopped story).
   * @param {number} id @param {number} ms
   */
  deadline(id, ms) {
    const entry = this.watched.get(id);
    if (!entry) return;
    entry.deadline = ms;
    this.arm(id, entry, ms);
  }

  /** @param {number} id the request ended */
  forget(id) {
    const entry = this.watched.get(id);
    if (entry) clearTimeout(entry.timer);
    this.watched.delete(id);
  }

  /** Stop watching everything (the worker is gone). */
  clear() {
    for (const id of [...this.watched.keys()]) this.forget(id);
  }

  arm(id, entry, ms) {
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => {
      if (this.watched.get(id) !== entry) return;
      this.forget(id);
      this.onSilent(id, entry.type, Math.round(ms / 1000));
    }, ms);
  }
}
