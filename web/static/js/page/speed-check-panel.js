// The speed check's controls under Advanced settings: the button, the result line
// (data-state idle|running|done|error, the measurement as one JSON line in data-json)
// and "Copy as JSON". The measurement itself runs in the worker (shared/speed-check.js).

import { errorText } from "../shared/errors.js";
import { decimal, localize, msg } from "../shared/i18n.js";
import { DECODE_TOKENS, PREFILL_TOKENS } from "../shared/speed-check.js";

/** The speed check's button, result line and copy button. */
export class SpeedCheckPanel {
  /**
   * @param {Document} doc
   * @param {{measure: () => Promise<{value?: object, error?: object}>,
   *          adapter: () => import("../shared/i18n.js").Message | string | null,
   *          onMeasured: (measured: object) => void,
   *          toast: (message: import("../shared/i18n.js").Message) => void}} hooks
   *   measure: the worker's speed-check request; adapter: the badge's description
   */
  constructor(doc, hooks) {
    this.button = doc.querySelector('[data-testid="speed-check"]');
    this.result = doc.querySelector('[data-testid="speed-result"]');
    this.copyButton = doc.querySelector('[data-testid="speed-copy"]');
    this.hooks = hooks;
    this.allowed = false; // the model is ready and no story runs
    this.running = false;
    this.button.addEventListener("click", () => this.run());
    this.copyButton.addEventListener("click", () => this.copy());
  }

  /** @param {boolean} allowed whether a check may start now (the page's state) */
  setAllowed(allowed) {
    this.allowed = allowed;
    this.button.disabled = !allowed || this.running;
  }

  async run() {
    if (!this.allowed || this.running) return;
    const { result } = this;
    this.running = true;
    this.setAllowed(this.allowed);
    this.copyButton.disabled = true;
    result.dataset.state = "running";
    localize(result, msg("speedCheck.running", { prompt: PREFILL_TOKENS, tokens: DECODE_TOKENS }));
    const reply = await this.hooks.measure();
    this.running = false;
    this.setAllowed(this.allowed);
    if (reply.error) {
      result.dataset.state = "error";
      localize(result, errorText(reply.error));
      return;
    }
    const measured = reply.value;
    this.hooks.onMeasured(measured);
    result.dataset.state = "done";
    result.dataset.json = JSON.stringify(measured);
    localize(result, msg("speedCheck.result", {
      backend: measured.backend,
      adapter: this.hooks.adapter() ?? measured.adapter, // as the badge shows it, in the interface language
      prefill: decimal(measured.prefill_tokens_per_second),
      decode: decimal(measured.decode_tokens_per_second),
    }));
    this.copyButton.disabled = false;
  }

  async copy() {
    const json = this.result.dataset.json;
    if (!json) return;
    try {
      await navigator.clipboard.writeText(json);
      this.hooks.toast(msg("speedCheck.copied"));
    } catch {
      this.hooks.toast(msg("speedCheck.copyBlocked", { json }));
    }
  }
}
