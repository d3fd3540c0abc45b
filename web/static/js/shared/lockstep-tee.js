// One download, two readers that keep step: the service worker streams a file it has
// not stored yet to the page and to the Cache API at once (sw.js `download`).
//
// ReadableStream.tee() reads the source as fast as the faster branch asks and queues
// every chunk for the slower one, without limit. On a first visit the model worker is
// busy starting Python while the 230 MB data file streams in, so one branch fell
// behind and the service worker (in the page's renderer process) held the difference.
// This split reads the source only when neither open branch holds an unread chunk: the
// faster reader waits for the slower one. Cold visits, 4 alternated pairs: peak PSS
// 1,085-1,128 MB against 1,133-1,153 MB with tee(), Python ready 3.5-4.0 s against
// 5.8-6.9 s, the page ready no later (docs/architecture.md, "Only verified bytes").
// A branch that is cancelled, or let go with `letGo` (the cache refused the file),
// stops counting: the other one goes on alone.
//
// A classic script, like shared/stored-files.js: sw.js loads it with importScripts,
// and Node tests it alone (tests/test_lockstep_tee.py). It defines one global,
// `lockstepTee`.

(() => {
  /**
   * @typedef {{branches: [ReadableStream<Uint8Array>, ReadableStream<Uint8Array>],
   *            letGo: (index: 0 | 1) => void}} LockstepSplit
   * branches: the two readers' streams; letGo(i): stop waiting for branch i (its reader
   * gave up without cancelling it); once both are let go or cancelled, so is the source.
   */

  /**
   * Split `stream` in two; its next chunk is read only once both open branches took
   * every chunk before it.
   * @param {ReadableStream<Uint8Array>} stream
   * @returns {LockstepSplit}
   */
  function lockstepTee(stream) {
    const reader = stream.getReader();
    const sides = [{ queue: [], open: true }, { queue: [], open: true }];
    let ended = false;
    let failure = null;
    let reading = null; // the source read in progress, shared by both branches
    let wake = () => {};
    let changed = nextChange();

    function nextChange() {
      return new Promise((resolve) => {
        wake = resolve;
      });
    }

    /** Something changed (a chunk arrived or was taken, a branch left): waiters look again. */
    function notify() {
      const resolve = wake;
      changed = nextChange();
      resolve();
    }

    function readSource() {
      reading ??= reader.read().then(({ value, done }) => {
        if (done) ended = true;
        else for (const side of sides) if (side.open) side.queue.push(value);
      }, (error) => {
        failure = error;
      }).finally(() => {
        reading = null;
        notify();
      });
    }

    /** The next chunk for `own`, null at the end; waits while `other` is behind. */
    async function next(own, other) {
      for (;;) {
        if (!own.open) return null;
        if (own.queue.length) return own.queue.shift();
        if (failure) throw failure;
        if (ended) return null;
        if (!(other.open && other.queue.length)) readSource();
        await changed;
      }
    }

    function leave(index, reason) {
      const side = sides[index];
      if (!side.open) return undefined;
      side.open = false;
      side.queue.length = 0;
      notify();
      return sides.some((s) => s.open) ? undefined : reader.cancel(reason);
    }

    const branch = (index) => new ReadableStream({
      async pull(controller) {
        const chunk = await next(sides[index], sides[1 - index]);
        if (chunk === null) controller.close();
        else controller.enqueue(chunk);
        notify(); // the other branch may be waiting for this one to catch up
      },
      cancel: (reason) => leave(index, reason),
    }, { highWaterMark: 0 });

    return {
      branches: [branch(0), branch(1)],
      letGo: (index) => {
        leave(index, new Error("its reader let it go"))?.catch(() => {});
      },
    };
  }

  globalThis.lockstepTee = lockstepTee;
})();
