// Where the service worker keeps the site's files, and how each is named there.
//
// sw.js stores a file only after its size and sha256 matched the build's, under a
// key that carries that sha256. The module worker reads the model's files from
// there itself (worker/model-files.js): the same 230 MB through the service worker's
// fetch handler took 1.8-2.0 s in headless Chromium on 2 cores, straight from the
// Cache API 0.45-0.53 s (docs/architecture.md). The key names the content, so a
// page always reads the bytes its own conteur.json lists, whatever version the
// service worker has moved on to.
//
// A classic script, like shared/sha256.js: sw.js loads it with importScripts, the
// module worker imports it for its effect. It defines one global, `storedFiles`.

(() => {
  /** @param {string | URL} scope the service worker's scope (the site root) */
  const cacheName = (scope) => `conteur:${new URL(scope).pathname}:files`;

  /** A file's entry in that cache: its URL and the sha256 it matched. */
  const keyOf = (url, sha256) => `${url}?sha256=${sha256}`;

  globalThis.storedFiles = { cacheName, keyOf };
})();
