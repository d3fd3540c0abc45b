// What the page says about keeping Conteur on this device: the footer's offline state
// (data-testid="offline-state") and the storage warning (data-testid="storage-warning").
//
// The footer claims offline use only once the service worker says every file this
// page needs is stored (page/pwa.js `stored`), never before: a download that did not
// fit, or a store the browser refused, leaves it at "online only". The warning says in
// plain words how much room is needed and how much is missing; the model still loads
// into memory and writes stories.

import { decimal, localize, msg } from "../shared/i18n.js";

/**
 * data-state of the offline state: checking (not known yet), yes (every file is kept),
 * no (no service worker, or a file is not kept), no-space (not kept: no room).
 */
export const OFFLINE_STATES = ["checking", "yes", "no", "no-space"];
const TEXTS = { checking: "offline.checking", yes: "offline.yes", no: "offline.no", "no-space": "offline.noSpace" };

/** The footer's offline state and the storage warning. */
export class StorageView {
  /** @param {Document} doc */
  constructor(doc) {
    this.state = doc.querySelector('[data-testid="offline-state"]');
    this.warning = doc.querySelector('[data-testid="storage-warning"]');
    this.progressTitle = doc.querySelector("#progress .progress-title");
    /** @type {{needed: number, available: number | null, refused: boolean} | null} the last shortage shown */
    this.shortage = null;
  }

  /** @param {"checking" | "yes" | "no" | "no-space"} state */
  setOffline(state) {
    this.state.dataset.state = state;
    localize(this.state, msg(TEXTS[state]));
  }

  /**
   * The device lacks room: say how much is needed and missing, and that stories still work.
   * @param {{needed: number, available: number | null, refused?: boolean}} shortage bytes;
   *   refused: the browser refused to store although its estimate left room, so what
   *   is missing is unknown
   */
  showShortage({ needed, available, refused = false }) {
    this.shortage = { needed, available, refused };
    const size = megabytes(needed);
    if (refused || available === null) {
      localize(this.warning, msg("storage.refused", { needed: size }));
      delete this.warning.dataset.missing;
    } else {
      const missing = Math.max(needed - available, 0);
      localize(this.warning, msg("storage.short", { needed: size, missing: megabytes(missing) }));
      this.warning.dataset.missing = String(missing);
    }
    this.warning.hidden = false;
    this.warning.dataset.needed = String(needed);
    localize(this.progressTitle, msg("progress.titleNotKept"));
    if (this.state.dataset.state === "yes") this.setOffline("no-space");
  }

  /**
   * Ask `pwa` whether this page's files are kept, and show the answer.
   * @param {import("./pwa.js").Pwa} pwa
   * @param {string} backend the download group the model loaded ("webgpu", "wasm")
   * @returns {Promise<boolean>} true: the page works offline
   */
  async confirm(pwa, backend) {
    const answer = await pwa.stored(backend);
    if (answer?.short) this.showShortage(answer.short);
    const state = answer?.stored ? "yes" : answer?.short || this.shortage ? "no-space" : "no";
    this.setOffline(state);
    if (answer && !answer.stored) console.warn(`[conteur] not kept for offline use: ${answer.missing.join(", ")}`);
    return state === "yes";
  }
}

/** Bytes as a megabyte count for the locales' "{needed} MB": 0 decimals from 10 MB on. */
function megabytes(bytes) {
  const mb = bytes / 1e6;
  return decimal(mb, mb >= 10 ? 0 : 1);
}
