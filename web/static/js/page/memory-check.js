// Before the model loads: does the device say it has enough memory?
//
// Loading Gemma 3 270M peaks at about 1.4 GB in the browser (shared/memory-needs.js,
// measured by the bench). Where navigator.deviceMemory (Chromium) reports less than
// MIN_DEVICE_MEMORY_GB, the page says what is needed and what to close, and loads only
// when the reader asks: a tab killed mid-load tells the reader nothing. The answer is
// remembered for the browsing session. Browsers without deviceMemory load at once; an
// allocation that fails later is reported by the worker (OutOfMemoryError).

import { MIN_DEVICE_MEMORY_GB, PEAK_MEMORY_GB } from "../shared/memory-needs.js";

const ACCEPTED_KEY = "conteur-low-memory-accepted";

/**
 * How short the device says it is, or null when it says nothing or enough.
 * @param {number | undefined} [reported] navigator.deviceMemory (GB)
 * @returns {{deviceGb: number, neededGb: number} | null}
 */
export function memoryShortfall(reported = globalThis.navigator?.deviceMemory) {
  if (typeof reported !== "number" || !(reported < MIN_DEVICE_MEMORY_GB)) return null;
  return { deviceGb: reported, neededGb: PEAK_MEMORY_GB };
}

/** @returns {boolean} the reader already chose to load anyway in this browsing session */
export function lowMemoryAccepted() {
  try {
    return sessionStorage.getItem(ACCEPTED_KEY) === "1";
  } catch {
    return false;
  }
}

/** Remember, for this browsing session, that the reader chose to load anyway. */
export function acceptLowMemory() {
  try {
    sessionStorage.setItem(ACCEPTED_KEY, "1");
  } catch {
    // Storage blocked: a reload asks again.
  }
}
