// The page's state line, backend badge and speed line.
//
// States (data-state and the first word of the status text): loading, ready,
// generating, stopped, error. Tests and assistive technology read the same text.

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
    this.state = "loading";
  }

  /**
   * @param {"loading" | "ready" | "generating" | "stopped" | "error"} state
   * @param {string} message
   * @param {{fatal?: boolean}} [options] fatal errors keep Generate disabled
   */
  set(state, message, { fatal = false } = {}) {
    if (!STATES.includes(state)) throw new Error(`unknown state ${state}`);
    this.state = state;
    this.element.dataset.state = state;
    this.element.dataset.fatal = String(state === "error" && fatal);
    this.stateElement.textContent = state;
    this.messageElement.textContent = message;
  }

  /**
   * @param {"webgpu" | "wasm"} name
   * @param {string} detail adapter name, or thread count
   */
  setBackend(name, detail) {
    this.backendElement.dataset.backend = name;
    this.backendElement.querySelector(".backend-name").textContent = name;
    this.backendElement.querySelector(".backend-detail").textContent = detail;
    this.backendElement.title = name === "webgpu"
      ? `The model runs on the graphics card (WebGPU): ${detail}`
      : `The model runs on the CPU (WebAssembly): ${detail}`;
  }

  /** @param {string} text */
  setSpeed(text) {
    this.speedElement.textContent = text;
  }
}
