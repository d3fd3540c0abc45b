// Conteur's service worker. It keeps the app, Pyodide, onnxruntime-web and the model on the device so the page
// works with the network off, downloads through dropped connections, stores only
// files whose sha256 matched, and lets a new version take over only when no page is
// loading or writing. Every response it builds carries the cross-origin isolation
// headers (COOP/COEP: wasm threads on any static host) and the site's CSP; a stored
// wasm module goes out as it was stored (`COMPILED`), for the browser's code cache.
//
// web/build.py replaces the BUILD line with the site's version (a hash of every
// file's sha256), its file list (url, bytes, sha256, download group) and its CSP.
//
// Storage: two caches per site. `conteur:<scope>:files` holds every kept file of
// every version in use, keyed by its URL and sha256 (`keyOf`), so a file that did
// not change between versions is kept once and an update copies nothing: it needs
// room only for what changed. `conteur:<scope>:versions` holds each version's
// manifest (its file list, when it was installed, when it took over). An entry is
// only ever stored after its bytes matched the build's sha256 (`verifier`), so a
// stored file is served with X-Conteur-Checked and the page does not hash it again.
// Install keeps the "core" group (the page, Pyodide and its snapshot, the terms,
// conteur.json) that is not kept yet. A file missing from the store (a backend's
// graph and runtime on first use, or a core file the browser dropped) is downloaded
// once when asked for, streamed to the page and, after its sha256 matched, stored;
// when the device has no room for it the page still gets it and is told
// (`storage-short`).
//
// Versions: a new version installs beside the running one and waits. It takes over
// when a page asks (the "reload" button of page/update-banner.js) and no other page
// is loading or writing, or when no page of the old version is left. A page's module
// worker carries its page's version in its URL (js/worker/main.js?build=<version>),
// so a worker that started under the old version keeps getting the old version's
// files after the switch; an old version's manifest and the files only it lists are
// deleted once no page or worker uses it.

// A classic worker (every browser runs one, and registrations made by earlier versions
// keep updating): the code it shares with the model worker, and lockstep-tee.js and
// block-sha256.js that Node tests alone, come in by importScripts, each script defining
// one global (createSha256, blockSha256, resumableBody, storedFiles, lockstepTee).
importScripts(
  "vendor/hash-wasm/sha256.umd.min.js", "js/shared/sha256.js", "js/shared/block-sha256.js",
  "js/shared/resumable-download.js", "js/shared/stored-files.js", "js/shared/lockstep-tee.js",
);

const BUILD = { version: "dev", files: [], blockBytes: 0 };

const SCOPE = new URL(self.registration.scope);
// Caches are per origin: the scope in the name keeps two sites on one origin apart.
const PREFIX = `conteur:${SCOPE.pathname}:`;
const FILES = storedFiles.cacheName(SCOPE); // the kept files of every version in use (PREFIX + "files")
const VERSIONS = PREFIX + "versions"; // each version's manifest
const INDEX = new URL("index.html", SCOPE).href;
const VERSION_PARAM = "build"; // js/worker/main.js?build=<version>
const SHA_HEADER = "X-Conteur-Sha256";
const CHECKED_HEADER = "X-Conteur-Checked"; // the bytes matched SHA_HEADER when they were stored
const SERVED_HEADER = "X-Conteur-Served"; // the version whose file this is: the worker's resume is ours
const VERIFYING_HEADER = "X-Conteur-Verifying"; // the body ends short unless it matched SHA_HEADER
const ISOLATION = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
};
const SECURITY = BUILD.csp ? { "Content-Security-Policy": BUILD.csp } : {};
// Types the runtimes insist on, whatever the host sent (a wrong .wasm type hangs Pyodide).
const TYPES = {
  html: "text/html; charset=utf-8", js: "text/javascript", mjs: "text/javascript",
  css: "text/css; charset=utf-8", json: "application/json", wasm: "application/wasm",
  webmanifest: "application/manifest+json", png: "image/png", zip: "application/zip",
  whl: "application/zip", "": "text/plain; charset=utf-8", // NOTICE
};
// A stored wasm module goes out as the cache's own response, not a copy with our
// headers: Chromium then keeps the code it compiled from it beside the entry, so a
// later start skips compiling Pyodide and onnxruntime. Warm starts of Gemma's page,
// 3 alternated pairs: second visit 2.85 s against 3.26 s, third 2.24 s against 3.24 s
// (docs/architecture.md). A module not stored yet (onnxruntime's, on a backend's first
// use) is stored whole first and then goes out the same way, so that the first visit's
// compiled code is kept too. A module is a same-origin subresource, not a document or a
// worker: the isolation headers and the CSP are not its to carry.
const COMPILED = /\.wasm$/;
const PARALLEL = 3;
const PROGRESS_INTERVAL_MS = 150;
const ASK_TIMEOUT_MS = 1500; // a page that has not answered by then is not loading or writing
const CLEAN_UP_DELAY_MS = 3000; // after a page came or went, before looking for unused caches
const ROOM_MARGIN_BYTES = 1 << 20; // the cache's own bookkeeping
const CORE = "core";
const groupOf = (file) => file.group ?? CORE;
const urlOf = (file) => new URL(file.url, SCOPE).href;
const { keyOf } = storedFiles; // a file's entry in FILES
const manifestKey = (version) => new URL(`__conteur__/versions/${version}.json`, SCOPE).href;
/** How a served file's body was checked against the build's sha256. */
const VERIFIED = {
  stored: "stored", // it matched when it was stored (CHECKED_HEADER)
  atTheEnd: "at the end", // it is hashed as it streams and ends short otherwise (VERIFYING_HEADER)
};
const BY_URL = new Map(BUILD.files.map((file) => [urlOf(file), file]));

const saving = new Map(); // keyOf(url, sha256) → promise of a verified copy being stored now
const short = new Map(); // download group → {needed, available}: no room to keep it
const versionsOfClients = new Map(); // client id → the version it runs
const manifests = new Map(); // version → its file list, read from its cache

self.addEventListener("install", (event) => event.waitUntil(install()));

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    await writeManifest({ activatedAt: Date.now() });
    await self.clients.claim();
    await cleanUp();
  })());
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== SCOPE.origin) return;
  if (!url.pathname.startsWith(SCOPE.pathname) || event.request.headers.has("Range")) return;
  event.respondWith(respond(event, url));
  if (event.request.mode === "navigate") event.waitUntil(later(cleanUp)); // a page came or went
});

self.addEventListener("message", (event) => {
  const { data, ports, source } = event;
  const reply = (value) => ports[0]?.postMessage(value);
  if (data?.type === "version") source?.postMessage({ type: "version", version: BUILD.version });
  else if (data?.type === "stored?") event.waitUntil(whatIsStored(data.group, data.version).then(reply));
  else if (data?.type === "activate") event.waitUntil(activateIfIdle(source).then(reply));
  else if (data?.type === "bye") event.waitUntil(later(cleanUp)); // a page is leaving
});

// --- serving ------------------------------------------------------------------------

async function respond(event, url) {
  const request = event.request;
  const isPage = url.pathname === SCOPE.pathname || url.origin + url.pathname === INDEX;
  const key = isPage ? INDEX : url.origin + url.pathname;
  try {
    const version = await versionOf(event, url);
    const file = (await filesOf(version)).get(key);
    // Not one of the site's files (or not yet built): the network's answer, isolated.
    if (!file) return isolate(await fetch(request));
    const stored = await findStored(key, file.sha256);
    if (stored) return fromStore(stored, key, file, version);
    return await download(event, key, file, version);
  } catch (error) {
    if (isPage || request.mode === "navigate") {
      return new Response("Conteur is offline and not cached yet: connect once to install it.",
        { status: 503, headers: { "Content-Type": "text/plain; charset=utf-8", ...ISOLATION, ...SECURITY } });
    }
    throw error;
  }
}

/**
 * A file not stored yet (a backend's file on first use, a core file that fell out):
 * one download, resumed after network errors, streamed to the page and, when there
 * is room, stored once its sha256 matched (a wasm module: stored whole first, then
 * served as stored). A second request while it downloads waits for the stored copy
 * instead of downloading it again.
 */
async function download(event, url, file, version, { keepFirst = COMPILED.test(url) } = {}) {
  const key = keyOf(url, file.sha256);
  const running = saving.get(key);
  if (running) {
    await running.catch(() => {});
    const stored = await findStored(url, file.sha256);
    if (stored) return fromStore(stored, url, file, version);
  }
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok || !response.body) return isolate(response);
  const body = resumableBody(response, {
    url, size: file.bytes, onEvent: (e) => console.info(`[conteur] ${e.type} ${file.url} at byte ${e.at}`),
  });
  // One hash for the store and the page: both read a stream that holds its last piece
  // back until size and sha256 matched, and ends without it otherwise. The page then
  // has too few bytes (a damaged file, it says); the store refuses anything short.
  const verified = body.pipeThrough(await verifier(file, { withholdLast: true }));
  const keep = await roomFor(file);
  if (!keep) return served(new Response(verified), file, version, VERIFIED.atTheEnd);
  if (keepFirst) {
    // A wasm module is kept whole, then goes out as the stored entry (`COMPILED`), so
    // the code the browser compiles from it on this first use is kept for the next
    // visit. Not kept (no room, a damaged download): downloaded again and streamed.
    const stored = await keepWhole(verified, url, file, key);
    return stored ?? download(event, url, file, version, { keepFirst: false });
  }
  // The page and the store read in step (shared/lockstep-tee.js): neither gets ahead of
  // the other by more than a chunk, so the service worker never queues the file.
  const split = lockstepTee(verified);
  const [toCache, toPage] = split.branches;
  const saved = storeVerified(toCache.pipeThrough(sizeCheck(file)), url, file);
  saving.set(key, saved);
  // The page may stop reading early (a reload): the stored copy still completes. A
  // store that fails no longer holds the page's reading back.
  event.waitUntil(saved.catch(() => split.letGo(0)).finally(() => saving.delete(key)));
  return served(new Response(toPage), file, version, VERIFIED.atTheEnd);
}

/** A stored copy as it goes out: a wasm module as the cache's own entry (`COMPILED`), any other file as our copy. */
function fromStore(stored, url, file, version) {
  return COMPILED.test(url) ? stored : served(stored, file, version, VERIFIED.stored);
}

/** `response`'s body as `file` of `version`, with its type, size, sha256 and our headers. */
function served(response, file, version, verified) {
  const headers = {
    "Content-Type": typeOf(file.url), "Content-Length": String(file.bytes), [SHA_HEADER]: file.sha256,
    [SERVED_HEADER]: version, ...ISOLATION, ...SECURITY,
  };
  if (verified === VERIFIED.stored) headers[CHECKED_HEADER] = "1";
  if (verified === VERIFIED.atTheEnd) headers[VERIFYING_HEADER] = "1";
  return new Response(response.body, { status: 200, headers });
}

/** A copy of a network `response` with the isolation headers and the CSP. */
function isolate(response) {
  if (response.type === "opaque" || response.type === "opaqueredirect" || response.status === 0) return response;
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries({ ...ISOLATION, ...SECURITY })) headers.set(name, value);
  const noBody = [101, 204, 205, 304].includes(response.status);
  return new Response(noBody ? null : response.body, { status: response.status, statusText: response.statusText, headers });
}

function typeOf(path) {
  const name = path.split("/").pop();
  const ext = name.includes(".") ? name.split(".").pop() : "";
  return TYPES[ext] ?? "application/octet-stream";
}

// --- storing only what matched --------------------------------------------------------

/** Store `verified` as `file`, then its stored entry; null when it was not stored. */
async function keepWhole(verified, url, file, key) {
  const saved = storeVerified(verified.pipeThrough(sizeCheck(file)), url, file);
  saving.set(key, saved);
  try {
    await saved;
  } catch {
    return null;
  } finally {
    saving.delete(key);
  }
  return findStored(url, file.sha256);
}

/**
 * Store `verified` as `file`: a stream that fails unless size and sha256 matched (so
 * the cache then keeps nothing); a shortage is reported.
 */
async function storeVerified(verified, url, file) {
  try {
    await (await caches.open(FILES)).put(keyOf(url, file.sha256), new Response(verified, { headers: storedHeaders(file) }));
  } catch (error) {
    if (error?.name === "QuotaExceededError") await reportShortage(groupOf(file), true);
    throw error;
  }
}

/**
 * A pass-through stream that fails (so the cache keeps nothing) unless exactly
 * `file.bytes` bytes with `file.sha256` went through; `onProgress(loaded)` as they go.
 * `withholdLast`: instead of failing, end without the last piece, held back until
 * then: a reader gets a short file, which it can tell from a network error.
 */
async function verifier(file, { onProgress = () => {}, withholdLast = false } = {}) {
  const hasher = await checkerOf(file);
  let loaded = 0;
  let held = null;
  const wrong = (why) => new Error(`${file.url}: ${why}, not stored`);
  return new TransformStream({
    transform(chunk, controller) {
      loaded += chunk.length;
      if (loaded > file.bytes) return controller.error(wrong(`more than ${file.bytes} bytes`));
      hasher.update(chunk);
      onProgress(loaded);
      if (!withholdLast) return controller.enqueue(chunk);
      if (held) controller.enqueue(held);
      held = chunk;
    },
    async flush(controller) {
      const why = loaded !== file.bytes ? `${loaded} bytes, the build lists ${file.bytes}`
        : !(await hasher.matches()) ? "its sha256 is not the build's" : null;
      if (why && !withholdLast) controller.error(wrong(why));
      else if (!why && held) controller.enqueue(held);
    },
  });
}

/**
 * How `file`'s bytes are checked: block by block with the browser's own SHA-256 when
 * the build listed its blocks' sha256s (a large file: shared/block-sha256.js), else
 * whole, incrementally (shared/sha256.js).
 * @returns {Promise<{update: (bytes: Uint8Array) => void, matches: () => Promise<boolean>}>}
 */
async function checkerOf(file) {
  if (file.blocks && BUILD.blockBytes > 0 && globalThis.crypto?.subtle) {
    return blockSha256(BUILD.blockBytes, file.blocks);
  }
  const hasher = await createSha256();
  return { update: (bytes) => hasher.update(bytes), matches: async () => hasher.hex() === file.sha256 };
}

/** A pass-through stream that fails unless exactly `file.bytes` bytes went through. */
function sizeCheck(file) {
  let loaded = 0;
  return new TransformStream({
    transform(chunk, controller) {
      loaded += chunk.length;
      controller.enqueue(chunk);
    },
    flush(controller) {
      if (loaded !== file.bytes) controller.error(new Error(`${file.url}: ${loaded} bytes, not stored`));
    },
  });
}

/** Headers of a stored copy: the type, the size, and the sha256 it matched. */
function storedHeaders(file) {
  return { "Content-Type": typeOf(file.url), "Content-Length": String(file.bytes), [SHA_HEADER]: file.sha256 };
}

/** The stored copy of `url` with `sha256`, or null. */
async function findStored(url, sha256) {
  return (await (await caches.open(FILES)).match(keyOf(url, sha256))) ?? null;
}

async function isStored(file) {
  const response = await findStored(urlOf(file), file.sha256);
  await response?.body?.cancel();
  return Boolean(response);
}

// --- room on the device ----------------------------------------------------------------

/** Whether `file`'s group fits in the storage left; told to the pages when it does not. */
async function roomFor(file) {
  const group = groupOf(file);
  if (short.has(group)) return false;
  return !(await reportShortage(group, false));
}

/**
 * The bytes `group` still needs stored and those the browser grants; when they do not
 * fit, or `failed` (the browser just refused to store a file for lack of room), the
 * pages are told. `refused`: the estimate said it fits, yet the browser refused, so
 * how much is missing is unknown (Chromium's estimate() reports the usage plus up to
 * 10 GiB whatever the real limit: docs/architecture.md).
 * @returns {Promise<{needed: number, available: number | null, refused: boolean} | null>} null: it fits
 */
async function reportShortage(group, failed) {
  const { needed, available } = await room(group);
  const fits = available === null || needed <= available;
  if (fits && !failed) return null;
  const shortage = { needed, available, refused: fits };
  short.set(group, shortage);
  await broadcast({ type: "storage-short", group, ...shortage });
  return shortage;
}

async function room(group) {
  let needed = 0;
  for (const file of BUILD.files) {
    if (groupOf(file) === group && !(await isStored(file))) needed += file.bytes;
  }
  if (needed) needed += ROOM_MARGIN_BYTES;
  const estimate = await self.navigator.storage?.estimate?.().catch(() => null);
  const available = estimate ? Math.max(0, estimate.quota - estimate.usage) : null;
  return { needed, available };
}

/** Whether every file a page of `version` on `group` needs is stored (and if not, why). */
async function whatIsStored(group, version = BUILD.version) {
  await Promise.allSettled([...saving.values()]);
  const missing = [];
  for (const file of (await filesOf(version)).values()) {
    const needed = groupOf(file) === CORE || groupOf(file) === group;
    if (needed && !(await isStored(file))) missing.push(file.url);
  }
  let shortage = short.get(group) ?? short.get(CORE) ?? null;
  if (missing.length && !shortage) {
    const { needed, available } = await room(group);
    if (available !== null && needed > available) shortage = { needed, available, refused: false };
  }
  return { version, stored: missing.length === 0, missing, short: shortage };
}

// --- install ---------------------------------------------------------------------------

async function install() {
  await writeManifest({ installedAt: Date.now(), activatedAt: null });
  const store = await caches.open(FILES);
  const missing = [];
  for (const file of BUILD.files) {
    // Kept already (an unchanged file, or a resumed install), or moved over from the
    // older one-cache-per-version layout: nothing to download.
    const kept = (await isStored(file)) || (await moveFromOlderLayout(store, file));
    if (groupOf(file) !== CORE) continue;
    if (kept) report(file, file.bytes);
    else missing.push(file);
  }
  if (missing.length && (await reportShortage(CORE, false))) throw new Error("not enough storage for Conteur");
  const queue = missing.sort((a, b) => b.bytes - a.bytes); // big files start first
  const workers = Array.from({ length: PARALLEL }, async () => {
    for (let file = queue.shift(); file; file = queue.shift()) await precache(store, file);
  });
  await Promise.all(workers);
  await broadcast({ type: "precache-done", version: BUILD.version });
}

/**
 * Earlier versions kept one cache per version (`conteur:<scope>:<version>`, files under
 * their URL): take `file` from there when its sha256 matches, copied then deleted.
 */
async function moveFromOlderLayout(store, file) {
  const url = urlOf(file);
  for (const name of await caches.keys()) {
    if (!name.startsWith(PREFIX) || name === FILES || name === VERSIONS) continue;
    const old = await caches.open(name);
    const previous = await old.match(url);
    if (previous?.headers.get(SHA_HEADER) === file.sha256) {
      await store.put(keyOf(url, file.sha256), previous);
      await old.delete(url);
      return true;
    }
    await previous?.body?.cancel();
  }
  return false;
}

/** Download one core file (resumed after network errors) and store it once it matched. */
async function precache(store, file) {
  const url = urlOf(file);
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok || !response.body) throw new Error(`${file.url}: HTTP ${response.status}`);
  let last = 0;
  const progress = (loaded) => {
    const now = Date.now();
    if (now - last > PROGRESS_INTERVAL_MS || loaded === file.bytes) {
      last = now;
      report(file, loaded);
    }
  };
  report(file, 0);
  const body = resumableBody(response, { url, size: file.bytes }).pipeThrough(await verifier(file, { onProgress: progress }));
  try {
    await store.put(keyOf(url, file.sha256), new Response(body, { headers: storedHeaders(file) }));
  } catch (error) {
    if (error?.name === "QuotaExceededError") await reportShortage(CORE, true);
    throw error;
  }
}

function report(file, loaded) {
  return broadcast({ type: "precache-progress", file: file.url, loaded, total: file.bytes });
}

// --- versions ----------------------------------------------------------------------------

/**
 * The version a request belongs to: a worker's script names it (?build=), a worker's
 * requests come from a client whose URL does; anything else runs the current version.
 */
async function versionOf(event, url) {
  const named = url.searchParams.get(VERSION_PARAM);
  if (named) return named;
  const id = event.clientId;
  if (!id) return BUILD.version;
  if (!versionsOfClients.has(id)) {
    const client = await self.clients.get(id);
    versionsOfClients.set(id, (client && new URL(client.url).searchParams.get(VERSION_PARAM)) || BUILD.version);
  }
  return versionsOfClients.get(id);
}

/** URL → file of `version`: this build's list, or an older version's manifest. */
async function filesOf(version) {
  if (version === BUILD.version) return BY_URL;
  if (!manifests.has(version)) {
    const manifest = await readManifest(version);
    manifests.set(version, manifest ? new Map(manifest.files.map((file) => [urlOf(file), file])) : null);
  }
  return manifests.get(version) ?? BY_URL; // its manifest is gone: the best guess is this build
}

async function readManifest(version) {
  const response = await (await caches.open(VERSIONS)).match(manifestKey(version));
  return response ? response.json() : null;
}

/** Write (or update) this version's manifest: its files, when installed, when activated. */
async function writeManifest(fields) {
  const manifest = { version: BUILD.version, files: BUILD.files, ...(await readManifest(BUILD.version)), ...fields };
  const headers = { "Content-Type": "application/json" };
  await (await caches.open(VERSIONS)).put(manifestKey(BUILD.version), new Response(JSON.stringify(manifest), { headers }));
}

// --- the pages ---------------------------------------------------------------------------

/**
 * Take over now if no other page is loading or writing (asked by `requester`, a page
 * whose reader pressed "reload"); otherwise say how many pages are busy.
 */
async function activateIfIdle(requester) {
  const busy = (await askPages()).filter(({ client, answer }) => client.id !== requester?.id && answer?.busy);
  if (busy.length) return { activated: false, busy: busy.length };
  await self.skipWaiting();
  return { activated: true, busy: 0 };
}

/**
 * Ask every open page of this site what it is doing: [{client, answer}], answer
 * {busy, version} or null (no answer in time: a page still starting, or frozen).
 */
async function askPages() {
  const pages = (await windows()).filter((client) => {
    const url = new URL(client.url);
    return url.pathname === SCOPE.pathname || url.origin + url.pathname === INDEX;
  });
  return Promise.all(pages.map((client) => new Promise((resolve) => {
    const channel = new MessageChannel();
    const timer = setTimeout(() => resolve({ client, answer: null }), ASK_TIMEOUT_MS);
    channel.port1.onmessage = ({ data }) => {
      clearTimeout(timer);
      resolve({ client, answer: data });
    };
    client.postMessage({ type: "state?" }, [channel.port2]);
  })));
}

/**
 * Forget the versions no page or worker runs, and delete the files only they listed.
 * A newer version installing or waiting keeps its files; an install abandoned before
 * this version took over does not; a page that does not answer keeps everything for now.
 */
async function cleanUp() {
  const inUse = new Set([BUILD.version]);
  const workers = await self.clients.matchAll({ type: "worker", includeUncontrolled: true });
  for (const client of workers) {
    const version = new URL(client.url).searchParams.get(VERSION_PARAM);
    if (version && client.url.startsWith(SCOPE.href)) inUse.add(version);
  }
  for (const { answer } of await askPages()) {
    if (!answer) return;
    inUse.add(answer.version);
  }
  const current = await readManifest(BUILD.version);
  const versions = await caches.open(VERSIONS);
  const wanted = new Set();
  for (const request of await versions.keys()) {
    const manifest = await (await versions.match(request)).json();
    const pending = !manifest.activatedAt && manifest.installedAt > (current?.activatedAt ?? 0);
    if (inUse.has(manifest.version) || pending) {
      for (const file of manifest.files) wanted.add(keyOf(urlOf(file), file.sha256));
    } else {
      await versions.delete(request);
      manifests.delete(manifest.version);
    }
  }
  const store = await caches.open(FILES);
  for (const request of await store.keys()) if (!wanted.has(request.url)) await store.delete(request);
  for (const name of await caches.keys()) {
    if (name.startsWith(PREFIX) && name !== FILES && name !== VERSIONS) await caches.delete(name); // older layout
  }
  const alive = new Set((await self.clients.matchAll({ type: "all", includeUncontrolled: true })).map((c) => c.id));
  for (const id of [...versionsOfClients.keys()]) if (!alive.has(id)) versionsOfClients.delete(id);
}

async function broadcast(message) {
  for (const client of await windows()) client.postMessage(message);
}

/** Open windows of this site (other sites on the same origin have their own scope). */
async function windows() {
  const all = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  return all.filter((client) => client.url.startsWith(SCOPE.href));
}

function later(task) {
  return new Promise((resolve) => setTimeout(resolve, CLEAN_UP_DELAY_MS)).then(task).catch((error) => {
    console.warn(`[conteur] ${error}`);
  });
}
