// First-load progress: one bar per large file with bytes and percent.

const LARGE_FILE = 1_000_000; // smaller files share one "other files" row
const OTHERS = "other files";

/**
 * Human-readable size: "12.3 MB".
 * @param {number} bytes
 * @returns {string}
 */
export function formatBytes(bytes) {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} kB`;
  if (bytes < 1e9) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${(bytes / 1e9).toFixed(2)} GB`;
}

/** Download progress: one row per large file, one for the small ones. */
export class ProgressView {
  /** @param {Document} doc */
  constructor(doc) {
    this.doc = doc;
    this.box = doc.getElementById("progress");
    this.list = doc.getElementById("progress-files");
    this.rows = new Map(); // label → {row, bar, amount, files: Map(file → {loaded, total})}
  }

  /**
   * Record a file's progress (from the service worker or the engine).
   * @param {{file: string, loaded: number, total: number}} p
   */
  update({ file, loaded, total }) {
    const name = file.split("/").pop();
    const label = total >= LARGE_FILE ? name : OTHERS;
    const entry = this.rows.get(label) ?? this.addRow(label);
    entry.files.set(file, { loaded, total });
    let sumLoaded = 0;
    let sumTotal = 0;
    for (const f of entry.files.values()) {
      sumLoaded += f.loaded;
      sumTotal += f.total;
    }
    const percent = sumTotal ? Math.floor((100 * sumLoaded) / sumTotal) : 0;
    entry.bar.max = Math.max(sumTotal, 1);
    entry.bar.value = sumLoaded;
    entry.amount.textContent = `${formatBytes(sumLoaded)} / ${formatBytes(sumTotal)} (${percent} %)`;
    entry.row.dataset.done = String(sumLoaded >= sumTotal);
    this.box.hidden = false;
  }

  addRow(label) {
    const row = this.doc.createElement("li");
    row.dataset.file = label;
    const name = this.doc.createElement("span");
    name.className = "file";
    name.textContent = label;
    const amount = this.doc.createElement("span");
    amount.className = "amount";
    const bar = this.doc.createElement("progress");
    bar.setAttribute("aria-label", `Downloading ${label}`);
    row.append(name, amount, bar);
    // Keep the large files first, "other files" last.
    if (label === OTHERS) this.list.append(row);
    else this.list.insertBefore(row, this.rows.get(OTHERS)?.row ?? null);
    const entry = { row, bar, amount, files: new Map() };
    this.rows.set(label, entry);
    return entry;
  }

  /** Hide the bars once everything is loaded. */
  done() {
    this.box.hidden = true;
  }
}
