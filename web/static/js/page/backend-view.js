// Where the model runs, as the page shows it: the backend badge (through the status
// view) and the footer's output head ("Output vocabulary: …").
//
// The worker says where the model runs in `backend` events (shared/protocol.js),
// again after a fallback to WASM; each replaces what the page shows.

import { localize, msg } from "../shared/i18n.js";
import { headRuleName } from "../shared/model-config.js";

const HEAD_RULES = { "story shortlist": "head.rule.storyShortlist" }; // conteur.json rule → locale key

/** The backend badge and the output head, from the worker's `backend` events. */
export class BackendView {
  /**
   * @param {Document} doc
   * @param {import("./status-view.js").StatusView} status holds the badge
   */
  constructor(doc, status) {
    this.status = status;
    this.headElement = doc.querySelector('[data-testid="model-head"]');
    /** @type {import("../shared/i18n.js").Message | string | null} the badge's description */
    this.described = null;
    /** @type {import("../shared/i18n.js").Message | string} why the backend is not the expected one ("" when it is) */
    this.notice = "";
  }

  /**
   * Show a `backend` event.
   * @param {import("../shared/protocol.js").BackendEvent} event
   */
  show(event) {
    // detailMessage / noticeMessage: the same texts as keys, for the interface language.
    this.described = event.detailMessage ?? event.detail;
    this.notice = event.noticeMessage ?? event.notice ?? "";
    // Why WASM runs, in two words: no usable WebGPU, or only a software adapter (skipped).
    const softwareOnly = event.noticeMessage?.key === "notice.softwareOnly";
    const why = softwareOnly ? "backend.softwareSkipped" : "backend.withoutWebgpu";
    const shown = event.notice && event.name === "wasm" ? msg(why, { detail: this.described }) : this.described;
    this.status.setBackend(event.name, shown, event.check);
    this.showHead(event.head);
  }

  /** What the output head keeps on this backend: the CPU graph writes from a shortlist. */
  showHead(head) {
    const element = this.headElement;
    element.dataset.kept = String(head.kept);
    element.dataset.of = String(head.of);
    element.hidden = false;
    localize(element, headMessage(head));
  }
}

function headMessage(head) {
  const rule = headRuleName(head);
  if (rule === "full") return msg("head.full", { of: head.of });
  // A rule the locales know is translated; another exporter's rule shows as written.
  const named = HEAD_RULES[rule] ? msg(HEAD_RULES[rule]) : rule;
  return msg("head.kept", { kept: head.kept, of: head.of, rule: named });
}
