// A downloaded graph data file, held as chunks that are freed while onnxruntime
// copies them into its heap.
//
// onnxruntime-web takes external data as one Uint8Array and, while the session
// opens, copies each tensor out of it with `subarray(offset, offset + length)`
// (ort-wasm-simd-threaded.mjs, onnxruntime-web 1.30, pinned in package.json).
// Holding the whole file meant the 220 MB download and the 270 MB heap filling
// from it were both in memory at the peak. A ChunkedFile answers the same two
// calls, `byteLength` and `subarray`, from its chunks and drops each chunk once
// every byte in it has been handed over, so the download shrinks as the heap
// grows. That needs a data file whose every byte belongs to a tensor: the
// exporter writes them without gaps (export/data_files.py, tested there).

const CHUNK_BYTES = 4 * 1024 * 1024; // big enough to be freed at once (1 MiB chunks lingered in the allocator)

export class ChunkedFile extends Uint8Array {
  /** @param {number} size the file's length in bytes */
  constructor(size) {
    super(0); // the bytes live in `chunks`; this array itself stays empty
    const count = Math.max(1, Math.ceil(size / CHUNK_BYTES));
    this.size = size;
    this.chunks = Array.from({ length: count }, (_, i) => new Uint8Array(Math.min(CHUNK_BYTES, size - i * CHUNK_BYTES)));
    this.unread = this.chunks.map((chunk) => chunk.length); // bytes not yet handed over
    this.finished = []; // chunks fully handed over, freed at the next call
    this.released = 0; // chunks freed so far (for tests)
    this.handedOver = false; // true once onnxruntime started copying: no second session can read it
  }

  get byteLength() {
    return this.size;
  }

  /** Store downloaded bytes at `offset` (a download arrives in order). */
  write(bytes, offset) {
    let done = 0;
    while (done < bytes.length) {
      const at = offset + done;
      const chunk = this.chunks[Math.floor(at / CHUNK_BYTES)];
      const inside = at % CHUNK_BYTES;
      const count = Math.min(bytes.length - done, chunk.length - inside);
      chunk.set(bytes.subarray(done, done + count), inside);
      done += count;
    }
  }

  /**
   * The bytes [start, end), as onnxruntime asks for one tensor. A view when they lie
   * in one chunk, else a copy; either way the chunks give those bytes up.
   */
  subarray(start = 0, end = this.size) {
    if (start < 0 || end > this.size || start > end) throw new RangeError(`bytes ${start}–${end} of ${this.size}`);
    this.releaseFinished(); // onnxruntime has copied the views it got before
    this.handedOver = true;
    if (start === end) return new Uint8Array(0);
    const first = Math.floor(start / CHUNK_BYTES);
    const last = Math.floor(Math.max(start, end - 1) / CHUNK_BYTES);
    let bytes;
    if (first === last) {
      bytes = this.chunk(first).subarray(start - first * CHUNK_BYTES, end - first * CHUNK_BYTES);
    } else {
      bytes = new Uint8Array(end - start);
      for (let i = first; i <= last; i++) {
        const from = Math.max(start, i * CHUNK_BYTES);
        const to = Math.min(end, (i + 1) * CHUNK_BYTES);
        bytes.set(this.chunk(i).subarray(from - i * CHUNK_BYTES, to - i * CHUNK_BYTES), from - start);
      }
    }
    for (let i = first; i <= last; i++) {
      const handed = Math.min(end, (i + 1) * CHUNK_BYTES) - Math.max(start, i * CHUNK_BYTES);
      this.unread[i] -= handed;
      if (this.unread[i] <= 0) this.finished.push(i);
    }
    return bytes;
  }

  chunk(index) {
    const chunk = this.chunks[index];
    if (!chunk) throw new Error(`bytes of chunk ${index} were asked for twice`);
    return chunk;
  }

  /**
   * Free the chunks handed over completely. onnxruntime copies each view
   * synchronously before it asks for the next tensor, so by now nothing reads them.
   */
  releaseFinished() {
    for (const index of this.finished) {
      release(this.chunks[index]);
      this.chunks[index] = null;
      this.released += 1;
    }
    this.finished = [];
  }

  /** Free every chunk (the file is no longer needed). */
  releaseAll() {
    for (let i = 0; i < this.chunks.length; i++) {
      if (this.chunks[i]) release(this.chunks[i]);
      this.chunks[i] = null;
    }
  }
}

/** Free a downloaded file's memory now, whichever way it is held. */
export function releaseFile(bytes) {
  if (bytes instanceof ChunkedFile) bytes.releaseAll();
  else release(bytes);
}

/** Detach `bytes`' buffer: its memory goes now, not at the next garbage collection. */
export function release(bytes) {
  if (bytes?.buffer?.transfer && !bytes.buffer.detached) bytes.buffer.transfer(0);
}
