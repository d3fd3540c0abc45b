// Conteur's service worker: the app, Pyodide, onnxruntime-web and the model in one
// versioned cache, so the page works with the network off; plus the cross-origin
// isolation headers (COOP/COEP) on everything it serves, so wasm threads work on
// any static host.
//
// web/build.py replaces the next line with the site's version (a hash of every
// file's sha256) and its file list; each file has a download group. Install
// precaches the "core" group (the page, Pyodide, the tokenizer, conteur.json).
// The "webgpu" and "wasm" groups (a backend's onnxruntime build and its graph's
// files, tens to hundreds of MB) are cached the first time the page fetches them,
// from that one download: each reader keeps only what their backend runs, and it
// then works offline. A new version installs beside the old one,
// copies unchanged files of every group from it instead of downloading them again,
// then takes over and deletes the old cache.
const BUILD = { version: "dev", files: [] };

const SCOPE = new URL(self.registration.scope);
// Caches are per origin: the scope in the name keeps two sites on one origin apart.
const PREFIX = `conteur:${SCOPE.pathname}:`;
const CACHE = PREFIX + BUILD.version;
const SHA_HEADER = "X-Conteur-Sha256";
const CHECKED_HEADER = "X-Conteur-Checked"; // on cached backend files: their sha256 was checked when stored
const ISOLATION = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
};
// Types the runtimes insist on, whatever the host sent (a wrong .wasm type hangs Pyodide).
const TYPES = {
  html: "text/html; charset=utf-8", js: "text/javascript", mjs: "text/javascript",
  css: "text/css; charset=utf-8", json: "application/json", wasm: "application/wasm",
  webmanifest: "application/manifest+json", png: "image/png", zip: "application/zip",
  whl: "application/zip",
};
const PARALLEL = 3;
const PROGRESS_INTERVAL_MS = 150;
const CORE = "core";
const isCore = (file) => (file.group ?? CORE) === CORE;
const BY_URL = new Map(BUILD.files.map((file) => [new URL(file.url, SCOPE).href, file]));
const caching = new Map(); // URL → promise of a first-use download being cached now

self.addEventListener("install", (event) => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith(PREFIX) && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== SCOPE.origin) return;
  if (!url.pathname.startsWith(SCOPE.pathname)) return;
  event.respondWith(respond(event, url));
});

self.addEventListener("message", (event) => {
  if (event.data?.type === "version") event.source?.postMessage({ type: "version", version: BUILD.version });
});

// --- serving ------------------------------------------------------------------------

async function respond(event, url) {
  const request = event.request;
  const isPage = request.mode === "navigate" || url.pathname === SCOPE.pathname;
  const key = isPage ? new URL("index.html", SCOPE).href : url.origin + url.pathname;
  // No cache: a newer version took over and deleted it; opening it would make an orphan.
  const cache = (await caches.has(CACHE)) ? await caches.open(CACHE) : null;
  const cached = await cache?.match(key, { ignoreSearch: true });
  const file = BY_URL.get(key);
  // A backend file is only ever cached from a download the page checked (sha256) or
  // copied from an older cache under the same sha256: say so, and the page skips
  // hashing ~220 MB on every start (js/worker/model-files.js).
  if (cached) return isolate(cached, file && !isCore(file) ? { [CHECKED_HEADER]: "1" } : {});
  try {
    if (cache && file && !isCore(file)) return await cacheOnFirstUse(event, cache, key, file);
    return isolate(await fetch(request));
  } catch (error) {
    if (isPage) {
      return new Response("Conteur is offline and not cached yet: connect once to install it.",
        { status: 503, headers: { "Content-Type": "text/plain; charset=utf-8", ...ISOLATION } });
    }
    throw error;
  }
}

/** A copy of `response` with the isolation headers (and a correct type), plus `extra`. */
function isolate(response, extra = {}) {
  if (response.type === "opaque" || response.type === "opaqueredirect" || response.status === 0) return response;
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries({ ...ISOLATION, ...extra })) headers.set(name, value);
  const noBody = [101, 204, 205, 304].includes(response.status);
  return new Response(noBody ? null : response.body, { status: response.status, statusText: response.statusText, headers });
}

/**
 * A backend's file the page asks for the first time: one download, streamed to the
 * page and into the cache at once, kept only when its size is the one BUILD lists
 * (the page checks model files' sha256 and drops a damaged entry). A second request
 * while it downloads waits for the cached copy instead of downloading it again.
 */
async function cacheOnFirstUse(event, cache, url, file) {
  const running = caching.get(url);
  if (running) {
    await running.catch(() => {});
    return isolate((await cache.match(url)) ?? (await fetch(url, { cache: "no-store" })));
  }
  const split = fetch(url, { cache: "no-store" }).then((response) => splitForCache(cache, url, file, response));
  const saved = split.then((parts) => parts.saved);
  caching.set(url, saved);
  // The page may stop reading early (a reload): the cache's copy still completes.
  event.waitUntil(saved.catch(() => {}).finally(() => caching.delete(url)));
  return isolate((await split).toPage);
}

/** The page's copy of `response`, and the promise of the cache's copy. */
function splitForCache(cache, url, file, response) {
  if (!response.ok || !response.body) return { toPage: response, saved: Promise.resolve() };
  const [toCache, toPage] = response.body.tee();
  const copy = new Response(toCache.pipeThrough(sizeCheck(file)), { headers: cachedHeaders(url, file) });
  const headers = new Headers(response.headers);
  headers.set("Content-Type", typeOf(url));
  const page = new Response(toPage, { status: response.status, statusText: response.statusText, headers });
  return { toPage: page, saved: cache.put(url, copy) };
}

/** A pass-through stream that fails (so the cache keeps nothing) unless `file.bytes` bytes went through. */
function sizeCheck(file) {
  let loaded = 0;
  const wrong = () => new Error(`${file.url}: ${loaded} bytes, expected ${file.bytes} (the site changed during the download)`);
  return new TransformStream({
    transform(chunk, controller) {
      loaded += chunk.length;
      if (loaded > file.bytes) controller.error(wrong());
      else controller.enqueue(chunk);
    },
    flush(controller) {
      if (loaded !== file.bytes) controller.error(wrong());
    },
  });
}

/** Headers of a cached copy: the right type, the size, and the sha256 a new version compares. */
function cachedHeaders(url, file) {
  return { "Content-Type": typeOf(url), "Content-Length": String(file.bytes), [SHA_HEADER]: file.sha256 };
}

function typeOf(url) {
  const name = new URL(url).pathname.split("/").pop();
  const ext = name.includes(".") ? name.split(".").pop() : "";
  return TYPES[ext] ?? "application/octet-stream";
}

// --- precaching ---------------------------------------------------------------------

async function precache() {
  const cache = await caches.open(CACHE);
  const older = [];
  for (const key of await caches.keys()) {
    if (key.startsWith(PREFIX) && key !== CACHE) older.push(await caches.open(key));
  }
  const queue = BUILD.files.filter(isCore).sort((a, b) => b.bytes - a.bytes); // big files start first
  const workers = Array.from({ length: PARALLEL }, async () => {
    for (let file = queue.shift(); file; file = queue.shift()) await store(cache, older, file);
  });
  await Promise.all(workers);
  // A backend's files the reader already has stay, without a download or progress.
  for (const file of BUILD.files.filter((f) => !isCore(f))) await carryOver(cache, older, file);
  await broadcast({ type: "precache-done", version: BUILD.version });
}

async function store(cache, older, file) {
  if (await carryOver(cache, older, file)) return report(file, file.bytes);
  const url = new URL(file.url, SCOPE).href;
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok) throw new Error(`${file.url}: HTTP ${response.status}`);
  const [toCache, toCount] = response.body.tee();
  const headers = cachedHeaders(url, file);
  const [, loaded] = await Promise.all([cache.put(url, new Response(toCache, { headers })), count(toCount, file)]);
  if (loaded !== file.bytes) {
    await cache.delete(url);
    throw new Error(`${file.url}: ${loaded} bytes, expected ${file.bytes} (the site changed during the download)`);
  }
}

/** True when `cache` has `file` (a resumed install) or now holds it, copied from an older version's cache. */
async function carryOver(cache, older, file) {
  const url = new URL(file.url, SCOPE).href;
  const have = await cache.match(url);
  if (have && have.headers.get(SHA_HEADER) === file.sha256) return true;
  for (const old of older) {
    const previous = await old.match(url);
    if (previous && previous.headers.get(SHA_HEADER) === file.sha256) {
      await cache.put(url, previous);
      return true;
    }
  }
  return false;
}

async function count(stream, file) {
  const reader = stream.getReader();
  let loaded = 0;
  let last = 0;
  report(file, 0);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    loaded += value.length;
    const now = Date.now();
    if (now - last > PROGRESS_INTERVAL_MS) {
      last = now;
      report(file, loaded);
    }
  }
  report(file, loaded);
  return loaded;
}

function report(file, loaded) {
  return broadcast({ type: "precache-progress", file: file.url, loaded, total: file.bytes });
}

async function broadcast(message) {
  for (const client of await self.clients.matchAll({ type: "window", includeUncontrolled: true })) {
    client.postMessage(message);
  }
}
