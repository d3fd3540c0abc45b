// `alive` events for the long requests, so the page can tell a slow answer from none.
//
// The page's watchdog (page/watchdog.js) ends a request that hears nothing for too
// long. Loading the model, writing a story and the speed check have silent stretches
// (booting Python, opening the session, the WebGPU self-check, a long prompt): while
// one of them runs, the worker says every HEARTBEAT_MS that its event loop still runs.
// A worker stuck in a loop, or one that dropped the request, sends nothing.

import { EVENT, REQUEST } from "../shared/protocol.js";

/** How often a long request says it is still under way (ms). */
export const HEARTBEAT_MS = 5_000;

const LONG_REQUESTS = new Set([REQUEST.init, REQUEST.generate, REQUEST.speedCheck]);

/**
 * Send `alive` for `request` every HEARTBEAT_MS until the returned function is called;
 * nothing for the short requests, which answer at once.
 * @param {(message: object) => void} post
 * @param {{type: string, id: number}} request
 * @returns {() => void} stops the heartbeat
 */
export function keepAlive(post, request) {
  if (!LONG_REQUESTS.has(request.type)) return () => {};
  const timer = setInterval(() => post({ type: EVENT.alive, id: request.id }), HEARTBEAT_MS);
  return () => clearInterval(timer);
}
