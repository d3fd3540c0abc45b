// Conteur's service worker: the whole app, Pyodide, onnxruntime-web and the model in one
// versioned cache, so the page works with the network off; plus the cross-origin
// isolation headers (COOP/COEP) on everything it serves, so wasm threads work on
// any static host.
//
// web/build.py replaces the next line with the site's version (a hash of every
// file's sha256) and its file list. A new version installs beside the old one,
// copies unchanged files from it instead of downloading them again, then takes
// over and deletes the old cache.
const BUILD = { version: "dev", files: [] };

const SCOPE = new URL(self.registration.scope);
// Caches are per origin: the scope in the name keeps two sites on one origin apart.
const PREFIX = `conteur:${SCOPE.pathname}:`;
const CACHE = PREFIX + BUILD.version;
const SHA_HEADER = "X-Conteur-Sha256";
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
  event.respondWith(respond(event.request, url));
});

self.addEventListener("message", (event) => {
  if (event.data?.type === "version") event.source?.postMessage({ type: "version", version: BUILD.version });
});

// --- serving ------------------------------------------------------------------------

async function respond(request, url) {
  const isPage = request.mode === "navigate" || url.pathname === SCOPE.pathname;
  const key = isPage ? new URL("index.html", SCOPE).href : url.href;
  const cache = await caches.open(CACHE);
  const cached = await cache.match(key, { ignoreSearch: true });
  if (cached) return isolate(cached);
  try {
    return isolate(await fetch(request));
  } catch (error) {
    if (isPage) {
      return new Response("Conteur is offline and not cached yet: connect once to install it.",
        { status: 503, headers: { "Content-Type": "text/plain; charset=utf-8", ...ISOLATION } });
    }
    throw error;
  }
}

/** A copy of `response` with the isolation headers (and a correct type). */
function isolate(response) {
  if (response.type === "opaque" || response.type === "opaqueredirect" || response.status === 0) return response;
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(ISOLATION)) headers.set(name, value);
  const noBody = [101, 204, 205, 304].includes(response.status);
  return new Response(noBody ? null : response.body, { status: response.status, statusText: response.statusText, headers });
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
  const queue = [...BUILD.files].sort((a, b) => b.bytes - a.bytes); // big files start first
  const workers = Array.from({ length: PARALLEL }, async () => {
    for (let file = queue.shift(); file; file = queue.shift()) await store(cache, older, file);
  });
  await Promise.all(workers);
  await broadcast({ type: "precache-done", version: BUILD.version });
}

async function store(cache, older, file) {
  const url = new URL(file.url, SCOPE).href;
  const have = await cache.match(url);
  if (have && have.headers.get(SHA_HEADER) === file.sha256) return report(file, file.bytes); // resumed install
  for (const old of older) {
    const previous = await old.match(url);
    if (previous && previous.headers.get(SHA_HEADER) === file.sha256) {
      await cache.put(url, previous);
      return report(file, file.bytes);
    }
  }
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok) throw new Error(`${file.url}: HTTP ${response.status}`);
  const [toCache, toCount] = response.body.tee();
  const headers = { "Content-Type": typeOf(url), "Content-Length": String(file.bytes), [SHA_HEADER]: file.sha256 };
  const [, loaded] = await Promise.all([cache.put(url, new Response(toCache, { headers })), count(toCount, file)]);
  if (loaded !== file.bytes) {
    await cache.delete(url);
    throw new Error(`${file.url}: ${loaded} bytes, expected ${file.bytes} (the site changed during the download)`);
  }
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
