// First-load progress: one bar per large file with bytes and percent.
//
// Progress comes from the service worker and the model worker some 30 times a second
// on a first visit. Every redraw is a frame (style, layout, paint, compositing) on the
// same cores that download, check and store the model, so the bars are redrawn at most
// every RENDER_INTERVAL_MS, with the latest numbers, and once more when loading is done
// (docs/architecture.md, "The first visit's progress bars").

import { formatNumber, localize, msg, onLanguageChange, t } from "../shared/i18n.js";

const LARGE_FILE = 1_000_000; // smaller files share one "other files" row
const OTHERS = "other files"; // the row's key; its label is translated
const RENDER_INTERVAL_MS = 250; // four redraws a second still read as a moving bar

/**
 * Human-readable size in the interface language: "12.3 MB", "12,3 Mo".
 * @param {number} bytes
 * @returns {string}
 */
export function formatBytes(bytes) {
  if (bytes < 1000) return `${formatNumber(bytes, 0)} ${t("unit.bytes")}`;
  if (bytes < 1e6) return `${formatNumber(bytes / 1e3, 1)} ${t("unit.kB")}`;
  if (bytes < 1e9) return `${formatNumber(bytes / 1e6, 1)} ${t("unit.MB")}`;
  return `${formatNumber(bytes / 1e9, 2)} ${t("unit.GB")}`;
}

/** Download progress: one row per large file, one for the small ones. */
export class ProgressView {
  /** @param {Document} doc */
  constructor(doc) {
    this.doc = doc;
    this.box = doc.getElementById("progress");
    this.list = doc.getElementById("progress-files");
    this.rows = new Map(); // label → {row, bar, amount, files: Map(file → {loaded, total})}
    /** @type {Set<object>} rows whose numbers changed since they were last drawn */
    this.stale = new Set();
    this.timer = null;
    this.drawnAt = -Infinity; // performance.now() of the last redraw
    onLanguageChange(() => {
      for (const entry of this.rows.values()) this.showAmount(entry);
    });
  }

  /**
   * Record a file's progress (from the service worker or the worker). A bar never
   * moves back: a file the service worker stored first and the worker then reads
   * from the cache, or a download resumed after a cut, continues where it was.
   * @param {{file: string, loaded: number, total: number}} p
   */
  update({ file, loaded, total }) {
    const name = file.split("/").pop();
    const label = total >= LARGE_FILE ? name : OTHERS;
    const entry = this.rows.get(label) ?? this.addRow(label);
    const before = entry.files.get(file);
    entry.files.set(file, { loaded: before?.total === total ? Math.max(before.loaded, loaded) : loaded, total });
    this.stale.add(entry);
    this.timer ??= setTimeout(() => this.draw(), Math.max(0, this.drawnAt + RENDER_INTERVAL_MS - performance.now()));
  }

  /** Redraw the rows whose numbers changed. */
  draw() {
    clearTimeout(this.timer);
    this.timer = null;
    this.drawnAt = performance.now();
    for (const entry of this.stale) this.showAmount(entry);
    this.stale.clear();
    this.box.hidden = false;
  }

  showAmount(entry) {
    let sumLoaded = 0;
    let sumTotal = 0;
    for (const f of entry.files.values()) {
      sumLoaded += f.loaded;
      sumTotal += f.total;
    }
    const percent = sumTotal ? Math.floor((100 * sumLoaded) / sumTotal) : 0;
    entry.bar.max = Math.max(sumTotal, 1);
    entry.bar.value = sumLoaded;
    const amount = { loaded: formatBytes(sumLoaded), total: formatBytes(sumTotal), percent };
    entry.amount.textContent = t("progress.amount", amount);
    entry.row.dataset.done = String(sumLoaded >= sumTotal);
  }

  addRow(label) {
    const row = this.doc.createElement("li");
    row.dataset.file = label;
    const name = this.doc.createElement("span");
    name.className = "file";
    const shown = label === OTHERS ? msg("progress.others") : label;
    localize(name, shown);
    const amount = this.doc.createElement("span");
    amount.className = "amount";
    const bar = this.doc.createElement("progress");
    const aria = label === OTHERS ? msg("progress.othersFile") : msg("progress.file", { file: label });
    bar.setAttribute("data-i18n-aria-label", aria.key);
    bar.setAttribute("data-i18n-params", JSON.stringify(aria.params));
    bar.setAttribute("aria-label", t(aria.key, aria.params));
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
    this.draw(); // the last numbers, should the bars show again (a WASM download after WebGPU failed)
    this.box.hidden = true;
  }
}
