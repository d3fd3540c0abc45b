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
// exporter writes them without gaps and lists where tensors start, past every
// 1 MiB (conteur.json `data_chunks`, export/folder/data_files.py): the chunks start there.

export class ChunkedFile extends Uint8Array {
  /**
   * @param {number} size the file's length in bytes
   * @param {number[]} starts where chunks begin, 0 first, ascending (conteur.json
   *   `data_chunks` as shared/model-config.js checked them: tensor boundaries, so a
   *   chunk goes as soon as its tensors are copied)
   */
  constructor(size, starts) {
    super(0); // the bytes live in `chunks`; this array itself stays empty
    if (starts?.[0] !== 0) throw new RangeError("chunk starts must begin at 0");
    this.size = size;
    this.starts = [...starts];
    this.ends = [...this.starts.slice(1), size];
    this.chunks = this.starts.map((start, i) => new Uint8Array(this.ends[i] - start));
    this.unread = this.chunks.map((chunk) => chunk.length); // bytes not yet handed over
    this.finished = []; // chunks fully handed over, freed at the next call
    this.released = 0; // chunks freed so far (for tests)
    this.handedOver = false; // true once onnxruntime started copying out of it
  }

  get byteLength() {
    return this.size;
  }

  /** Store downloaded bytes at `offset` (a download arrives in order). */
  write(bytes, offset) {
    let done = 0;
    let index = this.chunkAt(offset);
    while (done < bytes.length) {
      const at = offset + done;
      while (at >= this.ends[index]) index += 1;
      const chunk = this.chunks[index];
      const count = Math.min(bytes.length - done, this.ends[index] - at);
      chunk.set(bytes.subarray(done, done + count), at - this.starts[index]);
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
    const first = this.chunkAt(start);
    const last = this.chunkAt(end - 1);
    let bytes;
    if (first === last) {
      bytes = this.chunk(first).subarray(start - this.starts[first], end - this.starts[first]);
    } else {
      bytes = new Uint8Array(end - start);
      for (let i = first; i <= last; i++) {
        const from = Math.max(start, this.starts[i]);
        const to = Math.min(end, this.ends[i]);
        bytes.set(this.chunk(i).subarray(from - this.starts[i], to - this.starts[i]), from - start);
      }
    }
    for (let i = first; i <= last; i++) {
      this.unread[i] -= Math.min(end, this.ends[i]) - Math.max(start, this.starts[i]);
      if (this.unread[i] <= 0) this.finished.push(i);
    }
    return bytes;
  }

  /** The index of the chunk holding byte `offset` (binary search). */
  chunkAt(offset) {
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.starts[middle] <= offset) low = middle;
      else high = middle - 1;
    }
    return low;
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
