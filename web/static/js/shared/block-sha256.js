// A large file checked block by block with the browser's own SHA-256, as it streams.
//
// The service worker checks every file it stores against the build's sha256 (sw.js
// `verifier`). An incremental hasher in wasm (hash-wasm, shared/sha256.js) is the only
// way to hash a whole file piece by piece, and on a first visit it hashed the 290 MB
// the service worker stores at about 445 MB/s here: 0.65 s of a core. The browser's
// own digest runs at about 1,100 MB/s (copy included) but only on whole buffers. So
// the build also lists the sha256 of each `blockBytes` block of a large file
// (web/build.py `blocks`), and this checker hashes each block natively once its bytes
// are in. The blocks cover the whole file, so a file whose size and every block
// matched is the file the build hashed: the same bytes as its whole-file sha256.
//
// A classic script, like shared/lockstep-tee.js: sw.js loads it with importScripts,
// and Node tests it alone (tests/test_block_sha256.py). It defines one global,
// `blockSha256`.

(() => {
  /**
   * @typedef {{update: (bytes: Uint8Array) => void, matches: () => Promise<boolean>}} BlockChecker
   * update: add the next bytes of the file; matches: once every byte was added, whether
   * each block hashed to the listed sha256 (and no block was missing or left over).
   */

  /**
   * A checker for one file whose `blockBytes` blocks have the sha256s `expected`.
   * @param {number} blockBytes every block but the last has this size
   * @param {string[]} expected the blocks' sha256s, lowercase hex, in file order
   * @returns {BlockChecker}
   */
  function blockSha256(blockBytes, expected) {
    // One buffer, reused: digest() copies its input before it returns the promise.
    const block = new Uint8Array(blockBytes);
    let filled = 0;
    let index = 0;
    const verdicts = [];

    function hashBlock(bytes) {
      const want = expected[index];
      index += 1;
      if (want === undefined) verdicts.push(Promise.resolve(false)); // more blocks than listed
      else verdicts.push(crypto.subtle.digest("SHA-256", bytes).then((digest) => hex(digest) === want));
    }

    return {
      update(bytes) {
        let done = 0;
        while (done < bytes.length) {
          const count = Math.min(bytes.length - done, blockBytes - filled);
          block.set(bytes.subarray(done, done + count), filled);
          filled += count;
          done += count;
          if (filled === blockBytes) {
            hashBlock(block);
            filled = 0;
          }
        }
      },
      async matches() {
        if (filled > 0) hashBlock(block.subarray(0, filled));
        filled = 0;
        const results = await Promise.all(verdicts);
        return index === expected.length && results.every(Boolean);
      },
    };
  }

  function hex(digest) {
    return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
  }

  globalThis.blockSha256 = blockSha256;
})();
