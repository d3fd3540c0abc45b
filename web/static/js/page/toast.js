// Short notes for the reader (#toast): a backend notice, "copied", an update; gone after a while.

import { render } from "../shared/i18n.js";

const SHOWN_MS = 6000;

/** The toast line: one note at a time, the newest wins. */
export class Toast {
  /** @param {Document} doc */
  constructor(doc) {
    this.element = doc.getElementById("toast");
    this.timer = 0;
  }

  /** @param {import("../shared/i18n.js").Message | string} message */
  show(message) {
    this.element.textContent = render(message);
    this.element.hidden = false;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { this.element.hidden = true; }, SHOWN_MS);
  }
}
