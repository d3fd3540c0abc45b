// Conteur's service worker (a module: page/pwa.js registers it with type "module").
// It keeps the app, Pyodide, onnxruntime-web and the model on the device so the page
// works with the network off, downloads through dropped connections, stores only
// files whose sha256 matched, and lets a new version take over only when no page is
// loading or writing. Every response it builds carries the cross-origin isolation
// headers (COOP/COEP: wasm threads on any static host) and the site's CSP.
//
// web/build.py replaces the BUILD line with the site's version (a hash of every
// file's sha256), its file list (url, bytes, sha256, download group) and its CSP.
//
// Storage: one cache per version, `conteur:<scope>:<version>`, holding that version's
// files and its manifest (MANIFEST: the file list, when it was installed, when it
// took over). An entry is only ever stored after its bytes matched the build's
// sha256 (`verifier`), so a stored file is served with X-Conteur-Checked and the
// page does not hash it again. Install precaches the "core" group (the page,
// Pyodide, the tokenizer, the terms, conteur.json) and moves every unchanged file
// of any group out of older caches, one at a time (copy, then delete the old entry):
// an update needs room for one more file, not for two copies. A file missing from
// the cache (a backend's graph and runtime on first use, or a core file the browser
// dropped) is downloaded once when asked for, streamed to the page and, after its
// sha256 matched, stored; when the device has no room for it the page still gets it
// and is told (`storage-short`).
//
// Versions: a new version installs beside the running one and waits. It takes over
// when a page asks (the "reload" button of page/update-banner.js) and no other page
// is loading or writing, or when no page of the old version is left. A page's module
// worker carries its page's version in its URL (js/worker/main.js?build=<version>),
// so a worker that started under the old version keeps getting the old version's
// files after the switch; an old cache is deleted once no page or worker uses it.

import { resumableBody } from "./js/shared/resumable-download.js";
import { createSha256 } from "./js/shared/sha256.js";

const BUILD = { version: "dev", files: [] };

const SCOPE = new URL(self.registration.scope);
// Caches are per origin: the scope in the name keeps two sites on one origin apart.
const PREFIX = `conteur:${SCOPE.pathname}:`;
const CACHE = PREFIX + BUILD.version;
const INDEX = new URL("index.html", SCOPE).href;
const MANIFEST = new URL("__conteur__/build.json", SCOPE).href;
const VERSION_PARAM = "build"; // js/worker/main.js?build=<version>
const SHA_HEADER = "X-Conteur-Sha256";
const CHECKED_HEADER = "X-Conteur-Checked"; // the bytes matched SHA_HEADER when they were stored
const SERVED_HEADER = "X-Conteur-Served"; // the version whose file this is: the worker's resume is ours
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
const PARALLEL = 3;
const PROGRESS_INTERVAL_MS = 150;
const ASK_TIMEOUT_MS = 1500; // a page that has not answered by then is not loading or writing
const CLEAN_UP_DELAY_MS = 3000; // after a page came or went, before looking for unused caches
const ROOM_MARGIN_BYTES = 1 << 20; // the cache's own bookkeeping
const CORE = "core";
const groupOf = (file) => file.group ?? CORE;
const urlOf = (file) => new URL(file.url, SCOPE).href;
const BY_URL = new Map(BUILD.files.map((file) => [urlOf(file), file]));

const saving = new Map(); // URL → promise of a verified copy being stored now
const short = new Map(); // download group → {needed, available}: no room to keep it
const versions = new Map(); // client id → the version it runs
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
    const stored = await findStored(key, file.sha256, version);
    if (stored) return served(stored, file, version, true);
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
 * is room, stored once its sha256 matched. A second request while it downloads waits
 * for the stored copy instead of downloading it again.
 */
async function download(event, url, file, version) {
  const running = saving.get(url);
  if (running) {
    await running.catch(() => {});
    const stored = await findStored(url, file.sha256, version);
    if (stored) return served(stored, file, version, true);
  }
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok || !response.body) return isolate(response);
  const body = resumableBody(response, {
    url, size: file.bytes, onEvent: (e) => console.info(`[conteur] ${e.type} ${file.url} at byte ${e.at}`),
  });
  const keep = version === BUILD.version && (await caches.has(CACHE)) && (await roomFor(file));
  if (!keep) return served(new Response(body), file, version, false);
  const [toCache, toPage] = body.tee();
  const saved = keepVerified(toCache, url, file);
  saving.set(url, saved);
  // The page may stop reading early (a reload): the stored copy still completes.
  event.waitUntil(saved.catch(() => {}).finally(() => saving.delete(url)));
  return served(new Response(toPage), file, version, false);
}

/** `response`'s body as `file` of `version`, with its type, size, sha256 and our headers. */
function served(response, file, version, checked) {
  const headers = {
    "Content-Type": typeOf(file.url), "Content-Length": String(file.bytes), [SHA_HEADER]: file.sha256,
    [SERVED_HEADER]: version, ...ISOLATION, ...SECURITY,
  };
  if (checked) headers[CHECKED_HEADER] = "1";
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

/** Store `stream` as `file` once its size and sha256 matched; a shortage is reported. */
async function keepVerified(stream, url, file) {
  const verified = stream.pipeThrough(await verifier(file));
  try {
    await (await caches.open(CACHE)).put(url, new Response(verified, { headers: storedHeaders(file) }));
  } catch (error) {
    if (error?.name === "QuotaExceededError") await reportShortage(groupOf(file), true);
    throw error;
  }
}

/**
 * A pass-through stream that fails (so the cache keeps nothing) unless exactly
 * `file.bytes` bytes with `file.sha256` went through; `onProgress(loaded)` as they go.
 */
async function verifier(file, onProgress = () => {}) {
  const hasher = await createSha256();
  let loaded = 0;
  const wrong = (why) => new Error(`${file.url}: ${why}, not stored`);
  return new TransformStream({
    transform(chunk, controller) {
      loaded += chunk.length;
      if (loaded > file.bytes) return controller.error(wrong(`more than ${file.bytes} bytes`));
      hasher.update(chunk);
      onProgress(loaded);
      controller.enqueue(chunk);
    },
    flush(controller) {
      if (loaded !== file.bytes) controller.error(wrong(`${loaded} bytes, the build lists ${file.bytes}`));
      else if (hasher.hex() !== file.sha256) controller.error(wrong("its sha256 is not the build's"));
    },
  });
}

/** Headers of a stored copy: the type, the size, and the sha256 it matched. */
function storedHeaders(file) {
  return { "Content-Type": typeOf(file.url), "Content-Length": String(file.bytes), [SHA_HEADER]: file.sha256 };
}

/**
 * The stored copy of `url` with `sha256`: in `version`'s cache first, else in any
 * other version's (an update moves unchanged files into the new version's cache).
 */
async function findStored(url, sha256, version) {
  const own = PREFIX + version;
  const names = (await caches.keys()).filter((name) => name.startsWith(PREFIX));
  names.sort((a, b) => Number(b === own) - Number(a === own));
  for (const name of names) {
    const response = await (await caches.open(name)).match(url);
    if (response?.headers.get(SHA_HEADER) === sha256) return response;
    await response?.body?.cancel();
  }
  return null;
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
 * fit (or `failed`: a store just failed for lack of room), the pages are told.
 * @returns {Promise<{needed: number, available: number | null} | null>} null: it fits
 */
async function reportShortage(group, failed) {
  const shortage = await room(group);
  if (!failed && (shortage.available === null || shortage.needed <= shortage.available)) return null;
  short.set(group, shortage);
  await broadcast({ type: "storage-short", group, ...shortage });
  return shortage;
}

async function room(group) {
  let needed = 0;
  for (const file of BUILD.files) {
    if (groupOf(file) === group && !(await findStored(urlOf(file), file.sha256, BUILD.version))) needed += file.bytes;
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
    if (needed && !(await findStored(urlOf(file), file.sha256, version))) missing.push(file.url);
  }
  let shortage = short.get(group) ?? short.get(CORE) ?? null;
  if (missing.length && !shortage) {
    const { needed, available } = await room(group);
    if (available !== null && needed > available) shortage = { needed, available };
  }
  return { version, stored: missing.length === 0, missing, short: shortage };
}

// --- install ---------------------------------------------------------------------------

async function install() {
  const cache = await caches.open(CACHE);
  await writeManifest({ installedAt: Date.now(), activatedAt: null });
  const older = [];
  for (const name of await caches.keys()) {
    if (name.startsWith(PREFIX) && name !== CACHE) older.push(await caches.open(name));
  }
  for (const file of BUILD.files) await carryOver(cache, older, file); // one at a time
  const missing = [];
  for (const file of BUILD.files.filter((f) => groupOf(f) === CORE)) {
    if (await holds(cache, file)) report(file, file.bytes);
    else missing.push(file);
  }
  if (missing.length && (await reportShortage(CORE, false))) throw new Error("not enough storage for Conteur");
  const queue = missing.sort((a, b) => b.bytes - a.bytes); // big files start first
  const workers = Array.from({ length: PARALLEL }, async () => {
    for (let file = queue.shift(); file; file = queue.shift()) await precache(cache, file);
  });
  await Promise.all(workers);
  await broadcast({ type: "precache-done", version: BUILD.version });
}

async function holds(cache, file) {
  const response = await cache.match(urlOf(file));
  await response?.body?.cancel();
  return response?.headers.get(SHA_HEADER) === file.sha256;
}

/**
 * True when `cache` holds `file` (a resumed install) or now does, moved out of an older
 * version's cache: copied, then deleted there, so only one file is ever held twice.
 */
async function carryOver(cache, older, file) {
  if (await holds(cache, file)) return true;
  const url = urlOf(file);
  for (const old of older) {
    const previous = await old.match(url);
    if (previous?.headers.get(SHA_HEADER) === file.sha256) {
      await cache.put(url, previous);
      await old.delete(url);
      return true;
    }
    await previous?.body?.cancel();
  }
  return false;
}

/** Download one core file (resumed after network errors) and store it once it matched. */
async function precache(cache, file) {
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
  const body = resumableBody(response, { url, size: file.bytes }).pipeThrough(await verifier(file, progress));
  try {
    await cache.put(url, new Response(body, { headers: storedHeaders(file) }));
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
  if (!versions.has(id)) {
    const client = await self.clients.get(id);
    versions.set(id, (client && new URL(client.url).searchParams.get(VERSION_PARAM)) || BUILD.version);
  }
  return versions.get(id);
}

/** URL → file of `version`: this build's list, or an older version's manifest. */
async function filesOf(version) {
  if (version === BUILD.version) return BY_URL;
  if (!manifests.has(version)) {
    const manifest = await readManifest(PREFIX + version);
    manifests.set(version, manifest ? new Map(manifest.files.map((file) => [urlOf(file), file])) : null);
  }
  return manifests.get(version) ?? BY_URL; // its cache is gone: the best guess is this build
}

async function readManifest(name) {
  if (!(await caches.has(name))) return null;
  const response = await (await caches.open(name)).match(MANIFEST);
  return response ? response.json() : null;
}

/** Write (or update) this version's manifest: its files, when installed, when activated. */
async function writeManifest(fields) {
  const manifest = { version: BUILD.version, files: BUILD.files, ...(await readManifest(CACHE)), ...fields };
  const body = JSON.stringify(manifest);
  await (await caches.open(CACHE)).put(MANIFEST, new Response(body, { headers: { "Content-Type": "application/json" } }));
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
 * Delete the caches no page or worker uses: every older version nobody runs, and
 * installs abandoned before this version took over. A newer version installing or
 * waiting keeps its cache; a page that does not answer keeps everything for now.
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
  const current = await readManifest(CACHE);
  for (const name of await caches.keys()) {
    if (!name.startsWith(PREFIX) || inUse.has(name.slice(PREFIX.length))) continue;
    const manifest = await readManifest(name);
    const pending = manifest && !manifest.activatedAt && manifest.installedAt > (current?.activatedAt ?? 0);
    if (!pending) {
      await caches.delete(name);
      manifests.delete(name.slice(PREFIX.length));
    }
  }
  const alive = new Set((await self.clients.matchAll({ type: "all", includeUncontrolled: true })).map((c) => c.id));
  for (const id of versions.keys()) if (!alive.has(id)) versions.delete(id);
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
