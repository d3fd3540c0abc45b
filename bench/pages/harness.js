// The contract between a bench page and bench/browser.py.
//
// A page publishes one object, `window.bench`, with `generate(request)`, and
// reports once that the first story could start (`window.benchState.ready`)
// or why it cannot (`window.benchState.failed`). Times are performance.now()
// milliseconds, so load times count from the navigation's start.
//
// request: {ids: number[] (with BOS), text: string (the same prompt), maxNewTokens: number}
// result:  {promptTokens, tokens: number[] | null, text, startMs, tokenMs: number[], extra}
//          tokenMs[i] is when generated token i arrived (tokenMs[0] - startMs is the
//          time to first token).

window.benchState = { ready: false, failed: null };

/**
 * Install the page's implementation and time its loading.
 * @param {() => Promise<object>} load loads runtime and model; resolves to details for the report
 * @param {(request: object) => Promise<object>} generate greedy generation, see above
 */
export async function publish(load, generate) {
  window.bench = { generate };
  try {
    const detail = await load();
    window.benchState = {
      ready: true,
      failed: null,
      loadMs: performance.now(),
      detail: { ...detail, crossOriginIsolated: globalThis.crossOriginIsolated, cores: navigator.hardwareConcurrency },
    };
  } catch (error) {
    console.error(error);
    window.benchState = { ready: false, failed: String(error?.stack ?? error) };
  }
}

/** Threads every contender gets: all cores, as Conteur uses them (capped at 4). */
export function threads() {
  return globalThis.crossOriginIsolated ? Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 4)) : 1;
}

/** Fetch through the Cache API, as a page that works offline does (Conteur's service worker, transformers.js). */
export async function cachedBytes(url, cacheName) {
  const cache = await caches.open(cacheName);
  let response = await cache.match(url);
  if (!response) {
    response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    await cache.put(url, response.clone());
  }
  return new Uint8Array(await response.arrayBuffer());
}
