// `window.conteur`: a read-only view of the page for end-to-end tests and the bench
// (docs/architecture.md). The page writes it; nothing reads it back.

/**
 * @typedef {object} TestHook
 * @property {string} state loading | ready | generating | stopped | error
 * @property {{name: string, detail: string, notice: string, check: string,
 *             head: {kept: number, of: number, rule: string}} | null} backend
 *   where the model runs (English detail and notice), the self-check's state, and
 *   what its output head keeps (conteur.json's `head`)
 * @property {object | null} model pyshell.browser.init's description of the model
 * @property {object | null} timings the worker's load timings, plus page_s (since navigation)
 * @property {boolean | null} offline every file this page needs is kept on the device
 *   (the service worker's answer once the model is ready; null until then)
 * @property {{needed: number, available: number | null, refused: boolean} | null} storage
 *   the storage shortage the page reported (bytes needed, bytes the browser grants,
 *   whether the browser refused a store its estimate had room for), if any
 * @property {object | null} last the last finished story's result (ids, prompt ids,
 *   first-step candidates, sampling, stats…)
 * @property {object | null} selfCheck the WebGPU self-check's verdict: {status, problems, seconds, steps, key}
 * @property {object | null} speed the last speed check's result
 * @property {string} language the interface language: en or fr
 * @property {object | null} reading read aloud: {state, language, voice}
 * @property {number} streamed tokens shown so far in the current story
 * @property {number} stories stories finished since the page loaded
 * @property {string[]} errors every error the status line showed, as shown
 * @property {number | null} saved stories kept under "My stories" (null: IndexedDB is
 *   unavailable, or not read yet)
 * @property {number} restarts stories written again from the start on WASM after the
 *   GPU failed mid-story
 * @property {{device_gb: number, needed_gb: number} | null} lowMemory what the device
 *   reported when the page asked before loading (null: it did not ask)
 * @property {() => Promise<object>} memory memory now: the page's JS heap, the
 *   agent's (when measurable) and the worker's Python heap and KV-cache length
 */

/**
 * Create `window.conteur`.
 * @param {{language: string, memory: () => Promise<object>}} start
 * @returns {TestHook}
 */
export function createTestHook({ language, memory }) {
  const hook = {
    state: "loading",
    backend: null,
    model: null,
    timings: null,
    offline: null,
    storage: null,
    last: null,
    selfCheck: null,
    speed: null,
    language,
    reading: null,
    streamed: 0,
    stories: 0,
    errors: [],
    saved: null,
    restarts: 0,
    lowMemory: null,
    memory,
  };
  window.conteur = hook;
  return hook;
}

/**
 * Memory now: this page's JS heap, the browser agent's when it can be measured, and
 * what `worker` reports (its Python heap and KV-cache tokens).
 * @param {import("./worker-client.js").WorkerClient | null} worker
 * @returns {Promise<object>}
 */
export async function measureMemory(worker) {
  const result = { js_heap_bytes: performance.memory?.usedJSHeapSize ?? null, agent_bytes: null };
  if (globalThis.crossOriginIsolated && performance.measureUserAgentSpecificMemory) {
    try {
      result.agent_bytes = (await performance.measureUserAgentSpecificMemory()).bytes;
    } catch {
      // Not allowed here: the other figures remain.
    }
  }
  if (worker) Object.assign(result, (await worker.memory()).value ?? {});
  return result;
}
