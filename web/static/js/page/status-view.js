// The page's state line, backend badge and speed line.
//
// States (data-state and the first word of the status text): loading, ready,
// generating, stopped, error. Tests and assistive technology read the same text;
// data-state stays English, the shown state word and message follow the interface
// language (i18n.js), and a language switch re-renders them. A fatal error shows a
// "Reload the page" button beside the line (data-testid="engine-reload"): the way on
// when the engine crashed, stopped answering or could not load.

import { localize, msg, render } from "../shared/i18n.js";

export const STATES = ["loading", "ready", "generating", "stopped", "error"];

/** The status line (data-testid="status"), the backend badge and the speed line. */
export class StatusView {
  /** @param {Document} doc */
  constructor(doc) {
    this.element = doc.querySelector('[data-testid="status"]');
    this.stateElement = this.element.querySelector(".state");
    this.messageElement = this.element.querySelector(".message");
    this.backendElement = doc.querySelector('[data-testid="backend"]');
    this.speedElement = doc.getElementById("speed");
    this.reloadButton = doc.getElementById("engine-reload");
    this.reloadButton.addEventListener("click", () => location.reload());
    this.state = "loading";
  }

  /**
   * @param {"loading" | "ready" | "generating" | "stopped" | "error"} state
   * @param {import("../shared/i18n.js").Message | string} message
   * @param {{fatal?: boolean}} [options] fatal errors keep Generate disabled
   */
  set(state, message, { fatal = false } = {}) {
    if (!STATES.includes(state)) throw new Error(`unknown state ${state}`);
    this.state = state;
    this.element.dataset.state = state;
    this.element.dataset.fatal = String(state === "error" && fatal);
    this.reloadButton.hidden = !(state === "error" && fatal);
    localize(this.stateElement, msg(`state.${state}`));
    localize(this.messageElement, message);
  }

  /**
   * @param {"webgpu" | "wasm"} name
   * @param {import("../shared/i18n.js").Message | string} detail adapter name, or thread count
   * @param {string} [check] the WebGPU self-check: passed, failed, skipped ("" while it runs)
   */
  setBackend(name, detail, check = "") {
    this.backendElement.dataset.backend = name;
    this.backendElement.dataset.check = check;
    this.backendElement.querySelector(".backend-name").textContent = name;
    localize(this.backendElement.querySelector(".backend-detail"), detail);
    const title = name === "webgpu" ? "backend.onWebgpu" : "backend.onWasm";
    const params = { detail };
    this.backendElement.setAttribute("data-i18n-title", title);
    this.backendElement.setAttribute("data-i18n-params", JSON.stringify(params));
    this.backendElement.title = render(msg(title, params));
  }

  /** @param {import("../shared/i18n.js").Message | string} text */
  setSpeed(text) {
    localize(this.speedElement, text);
  }
}
