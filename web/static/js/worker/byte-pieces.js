// Reading a download's pieces into one reused buffer.
//
// A stream's plain reader hands out a new buffer for every piece: some 2,400 for the
// CPU graph's 156 MB data file. Each is garbage the moment it is copied on, and a
// first visit waited for the collector at its peak: read into one buffer, that peak
// is 57 MB lower (median of 7 pairs). A fetch body in Chromium is a byte stream, whose
// "BYOB" reader fills a buffer the reader brings, so one buffer serves every piece
// (docs/architecture.md, "A download read into one buffer").
//
// Only for downloads. In Chromium 156 the same reads of Cache API bodies inside the
// model worker stalled for good on 3 of 3 warm starts (a read that never resolved),
// so stored files keep the plain reader; their pieces were never at the peak.

const PIECE_BYTES = 1 << 20; // the buffer each piece is read into

/**
 * @typedef {{read: () => Promise<ReadableStreamReadResult<Uint8Array>>,
 *            cancel: () => Promise<void>, reused: boolean}} PieceReader
 * read: the next piece, valid only until the next read (it lives in the reused buffer);
 * reused: whether pieces share one buffer (false: a plain reader).
 */

/**
 * A reader of `body`'s pieces; a download's byte stream is read into one buffer.
 * @param {ReadableStream<Uint8Array>} body
 * @param {{download: boolean}} options download: the body comes from the network or
 *   the service worker, not from the Cache API
 * @returns {PieceReader}
 */
export function piecesOf(body, { download }) {
  const byob = download ? byobReader(body) : null;
  if (!byob) {
    const plain = body.getReader();
    return { read: () => plain.read(), cancel: () => plain.cancel(), reused: false };
  }
  let buffer = new ArrayBuffer(PIECE_BYTES);
  return {
    async read() {
      const result = await byob.read(new Uint8Array(buffer));
      if (result.value) buffer = result.value.buffer; // the same memory, handed back
      return result;
    },
    cancel: () => byob.cancel(),
    reused: true,
  };
}

/** A BYOB reader of `body`, or null where it is not a byte stream (one built in JavaScript). */
function byobReader(body) {
  try {
    return body.getReader({ mode: "byob" });
  } catch {
    return null;
  }
}
