// Python's start, kept on the device: a memory snapshot of Pyodide right after its
// interpreter started, stored by the first visit and loaded by the next ones.
//
// Starting the interpreter (unpacking the standard library's first modules, site,
// the import system) is most of Pyodide's start: 2.2 s of 2.3 s under Node on this
// project's 2-core machine, and it runs beside the onnxruntime session on a warm start,
// so both wait on each other. Loaded from a snapshot the same start took 0.3 s
// (docs/architecture.md, "Python's start from a snapshot"). The snapshot is the
// interpreter's wasm memory (31 MB) taken before any of our code ran: pyshell is
// installed and imported afterwards in both cases, so a snapshot never holds our
// modules, the tokenizer or a reader's text.
//
// Kept in its own cache, `conteur-python:<scope>`, one entry at a time, under the
// site's build version: a new version (another Pyodide, another lock file) never
// reads an older snapshot, and storing a new one deletes the old. It is not one of
// the service worker's caches (`conteur:<scope>:…`, managed by version and listed
// in its manifests) because only this worker writes or reads it. A snapshot that
// cannot be stored (a full disk, a private window) costs the next visit the slow
// start and nothing else. It is stored only where it leaves ROOM_LEFT_BYTES free: it
// is written while the first visit downloads the model, and the model's files (and
// a new version's) must never lose their room to a convenience.

const CACHE_PREFIX = "conteur-python:";
const BYTES_HEADER = "X-Conteur-Bytes"; // the snapshot's length: a short read is not used
const ROOM_LEFT_BYTES = 512e6; // both backends' graphs of Gemma 3 270M, with room to spare

/** @param {URL} base the site's root URL */
export const snapshotCacheName = (base) => CACHE_PREFIX + base.pathname;

/** The snapshot's key for the site's build `version`. */
const keyOf = (base, version) => new URL(`__conteur__/python/${version}.snapshot`, base).href;

/**
 * The snapshot stored for `version`, or null (none yet, a short or unreadable entry,
 * no Cache API in this context).
 * @param {URL} base
 * @param {string} version the site's build version (js/worker/main.js?build=…)
 * @returns {Promise<Uint8Array | null>}
 */
export async function readSnapshot(base, version) {
  try {
    if (!globalThis.caches || !(await caches.has(snapshotCacheName(base)))) return null;
    const cache = await caches.open(snapshotCacheName(base));
    const response = await cache.match(keyOf(base, version));
    if (!response?.ok) return null;
    const bytes = new Uint8Array(await response.arrayBuffer());
    return String(bytes.length) === response.headers.get(BYTES_HEADER) ? bytes : null;
  } catch {
    return null;
  }
}

/**
 * Store `bytes` as `version`'s snapshot and delete every other version's.
 * Resolves to whether it was stored; never rejects.
 * @param {URL} base
 * @param {string} version
 * @param {Uint8Array} bytes what pyodide.makeMemorySnapshot() returned
 * @returns {Promise<boolean>}
 */
export async function storeSnapshot(base, version, bytes) {
  try {
    if (!globalThis.caches) return false;
    const estimate = await navigator.storage?.estimate?.().catch(() => null);
    if (estimate && estimate.quota - estimate.usage < bytes.length + ROOM_LEFT_BYTES) {
      const free = Math.round((estimate.quota - estimate.usage) / 1e6);
      console.info(`[conteur] Python's start is not kept: ${free} MB free, kept for the model's files`);
      return false;
    }
    const cache = await caches.open(snapshotCacheName(base));
    const key = keyOf(base, version);
    for (const request of await cache.keys()) if (request.url !== key) await cache.delete(request);
    const headers = { "Content-Type": "application/octet-stream", [BYTES_HEADER]: String(bytes.length) };
    await cache.put(key, new Response(bytes, { headers }));
    return true;
  } catch (error) {
    console.warn(`[conteur] Python's start was not kept for the next visit: ${error}`);
    return false;
  }
}

/**
 * Delete `version`'s snapshot (one Pyodide could not start from). Never rejects.
 * @param {URL} base
 * @param {string} version
 */
export async function dropSnapshot(base, version) {
  try {
    if (globalThis.caches) await (await caches.open(snapshotCacheName(base))).delete(keyOf(base, version));
  } catch {
    // Nothing stored, or no Cache API: nothing to drop.
  }
}
