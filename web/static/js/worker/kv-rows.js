// One past_key_values tensor of the CPU graph, kept on the JavaScript side.
//
// The CPU graph hands back each step's own keys and values (new_key_values.*) beside
// the whole present.* tensors (export/graphs/exact_ops.py). Fetching the presents meant
// a new array of the whole cache for every layer at every step: 4.7 MB a token at 256
// tokens of context, garbage that made the worker's garbage collector run a full
// collection every 20 or so tokens. A KvRows appends the step's rows to a buffer that
// grows by doubling and hands back a view of what the next step must see: every row on
// a global layer, the last `keep` rows on a sliding one, which are exactly the
// positions the graph's own present.* would hold.

export class KvRows {
  /**
   * @param {Uint16ArrayConstructor | Float32ArrayConstructor} Type the cache's element
   *   type in JavaScript (float16 as raw bits)
   * @param {number} rowLength numbers per position: the head dim (with one kv head, the
   *   only layout where one position's numbers lie together in (1, heads, seq, dim))
   * @param {number} keep positions the next step sees (Infinity: all of them)
   * @param {{rows: Uint16Array | Float32Array, count: number}} [from] a copy to start from
   */
  constructor(Type, rowLength, keep, from = null) {
    this.Type = Type;
    this.rowLength = rowLength;
    this.keep = keep;
    this.data = from ? from.rows : new Type(0);
    this.start = 0; // first row handed back, in rows of `data`
    this.end = from ? from.count : 0; // rows held
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
    if ((this.end + added) * this.rowLength > this.data.length) {
      // Always a new buffer: the old one may be a snapshot's copy (OrtRunner.restore
      // adopts it, exact-sized, so its first append lands here), which must stay as it is.
      const capacity = Math.max(64, 2 * (kept + added));
      const data = new this.Type(capacity * this.rowLength);
      data.set(this.data.subarray((this.end - kept) * this.rowLength, this.end * this.rowLength));
      this.data = data;
      this.start = 0;
      this.end = kept;
    }
    this.data.set(rows, this.end * this.rowLength);
    this.end += added;
    this.start = Math.max(this.start, this.end - this.keep);
  }

  /** @returns {Uint16Array | Float32Array} the rows the next step sees, a view */
  view() {
    return this.data.subarray(this.start * this.rowLength, this.end * this.rowLength);
  }

  /** @returns {{rows: Uint16Array | Float32Array, count: number}} a copy of what is seen now */
  copy() {
    return { rows: this.view().slice(), count: this.count };
  }
}
