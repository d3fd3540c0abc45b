// The seed of each story is drawn here when the seed field is empty, not in pyshell.
//
// pyshell draws one the same way when it gets none, but then the page learns it only
// with the finished story. Drawn here, it is known from the first token: a story the
// worker writes again after a GPU loss keeps it (the same request and settings go out
// again), and a story cut short (the engine stopped answering) is kept with it.

/** @returns {string} a random seed in 0 … 2**64 − 1, as text (beyond JS's exact integers) */
export function drawSeed() {
  const [high, low] = crypto.getRandomValues(new Uint32Array(2));
  return ((BigInt(high) << 32n) | BigInt(low)).toString();
}

/**
 * The settings to send: as typed, with a drawn seed when the field is empty.
 * @param {Record<string, string>} settings the advanced settings as typed
 * @returns {Record<string, string>}
 */
export function withSeed(settings) {
  return settings.seed ? settings : { ...settings, seed: drawSeed() };
}
