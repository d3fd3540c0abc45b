// "A new version is ready — reload" (data-testid="update-ready"), with its button
// (data-testid="update-reload").
//
// A new version of the site never replaces the one a page runs: the page keeps its
// files and finishes what it does, and this banner offers the switch. Its button asks
// the waiting version to take over (page/pwa.js `takeUpdate`) and reloads; while
// another tab is loading or writing the new version waits, the banner says so and
// asks again every few seconds. data-state: hidden, ready, waiting, reloading.

import { localize, msg } from "../shared/i18n.js";

const RETRY_MS = 2000;

/** The update banner. */
export class UpdateBanner {
  /**
   * @param {Document} doc
   * @param {() => Promise<{activated: boolean, busy: number}>} takeUpdate
   */
  constructor(doc, takeUpdate) {
    this.element = doc.querySelector('[data-testid="update-ready"]');
    this.text = this.element.querySelector(".message");
    this.button = doc.querySelector('[data-testid="update-reload"]');
    this.takeUpdate = takeUpdate;
    this.button.addEventListener("click", () => this.reload());
  }

  /** A new version is ready: say so (once). */
  show() {
    if (this.element.dataset.state !== "hidden") return;
    this.set("ready", msg("update.ready"));
  }

  async reload() {
    this.button.disabled = true;
    this.set("reloading", msg("update.ready"));
    const answer = await this.takeUpdate(); // reloads the page when the new version took over
    if (answer.activated) return;
    this.set("waiting", msg("update.waiting"));
    setTimeout(() => this.reload(), RETRY_MS);
  }

  set(state, message) {
    this.element.dataset.state = state;
    this.element.hidden = false;
    localize(this.text, message);
  }
}
