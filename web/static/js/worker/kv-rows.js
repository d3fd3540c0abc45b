// One past_key_values tensor of the CPU graph, kept on the JavaScript side.
//
// The CPU graph hands back only each step's own keys and values (new_key_values.*,
// export/graphs/exact_ops.py). Whole present.* tensors meant a new array of the whole
// cache for every layer at every step: 4.7 MB a token at 256 tokens of context, garbage
// that made the worker's garbage collector run a full collection every 20 or so tokens.
// A KvRows appends the step's rows to a buffer that grows by doubling and hands back a
// view of what the next step must see: every row on a global layer, the last `keep`
// rows on a sliding one (pyshell/onnx_runner.py `append_rows` does the same in CPython).
//
// Best-of goes back to where a sentence started (OrtRunner.snapshot / restore). Rows are
// only ever appended, never changed, so a snapshot is the buffer and the rows it held
// (`state()`), not a copy: the cache may go on appending past them in place. A cache
// restored from a state shares its buffer with whatever else was appended there since
// (another branch's rows, which another snapshot may hold), so its first append moves
// to a buffer of its own. Copying every snapshot had made some 9 MB of garbage three
// times a sentence at 512 tokens of context.

export class KvRows {
  /**
   * @param {Uint16ArrayConstructor | Float32ArrayConstructor} Type the cache's element
   *   type in JavaScript (float16 as raw bits)
   * @param {number} rowLength numbers per position: the head dim (with one kv head, the
   *   only layout where one position's numbers lie together in (1, heads, seq, dim))
   * @param {number} keep positions the next step sees (Infinity: all of them)
   * @param {{data: Uint16Array | Float32Array, start: number, end: number}} [from] a
   *   `state()` to start from: its buffer is read, never written
   */
  constructor(Type, rowLength, keep, from = null) {
    this.Type = Type;
    this.rowLength = rowLength;
    this.keep = keep;
    this.data = from ? from.data : new Type(0);
    this.start = from ? from.start : 0; // first row handed back, in rows of `data`
    this.end = from ? from.end : 0; // rows held
    this.shared = Boolean(from); // `data` past `end` may be another branch's: append elsewhere
  }

  /** Rows the next step sees. */
  get count() {
    return this.end - this.start;
  }

  /**
   * @param {ArrayBufferView} output a step's new rows, `rowLength` numbers each, read as
   *   this cache's type: onnxruntime-web hands float16 back as a Float16Array where the
   *   browser has one (Chromium does), whose numbers are values, not the bits kept here
   */
  append(output) {
    const rows = output instanceof this.Type ? output : new this.Type(output.buffer, output.byteOffset, output.byteLength / this.Type.BYTES_PER_ELEMENT);
    const added = rows.length / this.rowLength;
    if (!Number.isInteger(added)) throw new RangeError(`${rows.length} numbers are not whole rows of ${this.rowLength}`);
    const kept = Math.min(this.count, Math.max(0, this.keep - added)); // old rows still seen after
    if (this.shared || (this.end + added) * this.rowLength > this.data.length) {
      // A new buffer: the old one is full, or shared with a state (see the top).
      const capacity = Math.max(64, 2 * (kept + added));
      const data = new this.Type(capacity * this.rowLength);
      data.set(this.data.subarray((this.end - kept) * this.rowLength, this.end * this.rowLength));
      this.data = data;
      this.start = 0;
      this.end = kept;
      this.shared = false;
    }
    this.data.set(rows, this.end * this.rowLength);
    this.end += added;
    this.start = Math.max(this.start, this.end - this.keep);
  }

  /** @returns {Uint16Array | Float32Array} the rows the next step sees, a view */
  view() {
    return this.data.subarray(this.start * this.rowLength, this.end * this.rowLength);
  }

  /**
   * What is seen now, to come back to (`new KvRows(…, state)`): the buffer and its
   * rows, not a copy. Appends only ever write past `end`, so they never change it.
   * @returns {{data: Uint16Array | Float32Array, start: number, end: number}}
   */
  state() {
    return { data: this.data, start: this.start, end: this.end };
  }
}
