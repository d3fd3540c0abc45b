// One file's bytes from the network, in order, through dropped connections.
//
// A download that breaks off (a network error, or a body that ends short) asks again
// for the rest with `Range: bytes=N-`, N being the first byte it does not hold yet
// (web/serve.py and static hosts answer 206), after a wait that doubles with each
// failed try: 0.5, 1, 2, 4, 8 s, then it gives up. A byte arriving resets the count,
// so a long download survives any number of separate cuts. `If-Range` carries the
// first answer's ETag: a file that changed on the server meanwhile is never spliced.
// A server that ignores Range answers 200 with the whole file: the download then
// reads it again from byte 0 and drops what it already handed on, so the consumer
// (a hasher, a progress bar, a cache entry) never sees the stream move back; the
// sha256 checked at the end covers every byte.
//
// The service worker downloads through this (sw.js); so does the model worker when
// no service worker serves its request (worker/model-files.js). When the service
// worker serves it, the worker reads the service worker's stream as it is: the
// resume happens in one place per download.
//
// A classic script, so that the service worker (a classic worker: every browser runs
// it, and registrations made by earlier versions of the site keep updating) loads it
// with importScripts; the module worker imports it for its effect. Either way it
// defines one global, `resumableBody`.

(() => {
  const RETRIES = 5; // failed tries in a row before the download fails
  const FIRST_WAIT_MS = 500; // before the first retry; doubles with each failed try
  const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]); // worth asking again

  /**
   * @typedef {{type: "resume" | "restart", url: string, at: number, attempt: number}} DownloadEvent
   * resume: the server sent the rest (206); restart: it ignored Range and sends the file
   * again from byte 0 (the first `at` bytes are dropped as they arrive).
   *
   * @typedef {object} ResumeOptions
   * @property {string} url what to ask for again
   * @property {number} size the file's length in bytes (the build or conteur.json lists it)
   * @property {typeof fetch} [fetch] the fetch to ask with (the global one by default)
   * @property {number} [retries] failed tries in a row before giving up
   * @property {number} [firstWaitMs] the wait before the first retry (doubles each time)
   * @property {(event: DownloadEvent) => void} [onEvent] told of each resume and restart
   */

  /**
   * The body of `response` (a 200 for the whole file) as a stream of exactly `size`
   * bytes that resumes after network errors. The stream fails when the file changed on
   * the server, is longer than `size`, or the retries run out.
   * @param {Response} response
   * @param {ResumeOptions} options
   * @returns {ReadableStream<Uint8Array>}
   */
  function resumableBody(response, options) {
    const { url, size, retries = RETRIES, firstWaitMs = FIRST_WAIT_MS, onEvent = () => {} } = options;
    const fetchFile = options.fetch ?? ((...args) => globalThis.fetch(...args));
    const validator = strongValidator(response);
    let reader = response.body.getReader();
    let delivered = 0; // bytes handed on
    let skip = 0; // bytes of the current answer handed on already (after a restart)
    let failures = 0; // failed tries since the last byte arrived
    let cancelled = false;

    /** Ask for the rest until an answer fits, or give up (throws). */
    async function reconnect(cause) {
      for (;;) {
        failures += 1;
        if (failures > retries) {
          throw new Error(`${url}: the connection failed ${retries} times in a row at byte ${delivered} of ${size} (${cause})`);
        }
        await wait(firstWaitMs * 2 ** (failures - 1));
        if (cancelled) throw new Error(`${url}: cancelled`);
        const headers = { Range: `bytes=${delivered}-` };
        if (validator) headers["If-Range"] = validator;
        let answer;
        try {
          answer = await fetchFile(url, { headers, cache: "no-store" });
        } catch (error) {
          cause = String(error);
          continue;
        }
        const start = answerStart(answer, url, delivered, size, validator);
        if (start === null) {
          cause = `HTTP ${answer.status}`;
          await answer.body?.cancel().catch(() => {});
          continue;
        }
        reader = answer.body.getReader();
        skip = delivered - start;
        onEvent({ type: start === 0 && delivered > 0 ? "restart" : "resume", url, at: delivered, attempt: failures });
        return;
      }
    }

    return new ReadableStream({
      async pull(controller) {
        for (;;) {
          let chunk;
          try {
            const { done, value } = await reader.read();
            if (done && delivered === size) {
              controller.close();
              return;
            }
            if (done) throw new Error(`the body ended at byte ${delivered} of ${size}`); // cut short
            chunk = value;
          } catch (error) {
            await reconnect(String(error?.message ?? error)); // throws when it gives up
            continue;
          }
          if (skip > 0) {
            const dropped = Math.min(skip, chunk.length);
            skip -= dropped;
            chunk = chunk.subarray(dropped);
            if (!chunk.length) continue;
          }
          if (delivered + chunk.length > size) {
            await reader.cancel().catch(() => {});
            throw new Error(`${url}: the server sent more than the ${size} bytes listed`);
          }
          delivered += chunk.length;
          failures = 0;
          controller.enqueue(chunk);
          return;
        }
      },
      cancel(reason) {
        cancelled = true;
        return reader.cancel(reason);
      },
    });
  }

  /**
   * Where `answer` starts: the byte a fitting 206 begins at (≤ `delivered`: the overlap
   * is dropped), 0 for a 200, null for a status worth retrying. Throws when the file
   * changed on the server or is gone.
   */
  function answerStart(answer, url, delivered, size, validator) {
    if (answer.status === 206) {
      const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(answer.headers.get("Content-Range") ?? "");
      if (range && range[3] !== "*" && Number(range[3]) !== size) throw changed(url);
      if (!range || Number(range[1]) > delivered) {
        throw new Error(`${url}: asked from byte ${delivered}, the server sent ${answer.headers.get("Content-Range")}`);
      }
      return Number(range[1]);
    }
    if (answer.status === 200) {
      const tag = strongValidator(answer);
      if (validator && tag && tag !== validator) throw changed(url);
      return 0;
    }
    if (RETRY_STATUSES.has(answer.status)) return null;
    throw new Error(`${url}: HTTP ${answer.status} when resuming the download`);
  }

  function changed(url) {
    return new Error(`${url}: the file changed on the server during the download (the site was updated); reload`);
  }

  /** The ETag to resume against, when it is a strong one (If-Range takes no weak ETag). */
  function strongValidator(response) {
    const tag = response.headers.get("ETag");
    return tag && !tag.startsWith("W/") ? tag : null;
  }

  function wait(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  globalThis.resumableBody = resumableBody;
})();
