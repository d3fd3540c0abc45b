// SHA-256 fed piece by piece as a file streams in, from hash-wasm (its sha256 build,
// vendored from npm by web/build.py into vendor/hash-wasm/, loaded first).
//
// Every stored or loaded file is checked against the sha256 the build (sw.js) or the
// export (conteur.json) lists. crypto.subtle.digest wants the whole file and copies it
// first: for the 220 MB graph data that copy stayed in the page for seconds after
// start-up. An incremental hasher needs no copy and no secure context. hash-wasm was
// measured against the hand-written hasher it replaced and @noble/hashes, 200 MB in
// 64 KiB pieces in headless Chromium (docs/architecture.md): the fastest of the three.
// Where the build lists a large file's block sha256s, the service worker checks it
// with the browser's digest block by block instead (shared/block-sha256.js).
//
// A classic script, like shared/resumable-download.js: the service worker loads it
// with importScripts after vendor/hash-wasm/sha256.umd.min.js, the module worker
// imports both for their effect. It defines one global, `createSha256`.

(() => {
  /**
   * @typedef {{update: (bytes: Uint8Array) => void, hex: () => string}} Sha256
   * update: add the next bytes; hex: the digest as lowercase hex (the hasher is done).
   */

  /**
   * A fresh incremental SHA-256 (hash-wasm compiles its WebAssembly once per worker).
   * @returns {Promise<Sha256>}
   */
  async function createSha256() {
    const hasher = await globalThis.hashwasm.createSHA256();
    hasher.init();
    return {
      update: (bytes) => {
        hasher.update(bytes);
      },
      hex: () => hasher.digest("hex"),
    };
  }

  globalThis.createSha256 = createSha256;
})();
