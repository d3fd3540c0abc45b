// The story form: reading it, showing field errors, "surprise me", remembered settings.
//
// Values go to Python as typed (strings): pyshell checks every range and names
// the field at fault, so the rules live in one place (pyshell.prompts,
// pyshell.sampler, pyshell.browser.parse_settings).

const STORY_FIELDS = ["character", "setting", "theme", "tone", "text"];
const SETTING_FIELDS = ["temperature", "top_p", "repetition_penalty", "max_new_tokens", "seed"];
const SAVED_KEY = "conteur-settings";
const TEXT_LIMIT = 4000; // pyshell.prompts.MAX_TEXT_CHARS
const LABELS = {
  character: "Character", setting: "Setting", theme: "Theme", tone: "Tone", text: "Your own words",
  length: "Length", language: "Language", temperature: "Temperature", top_p: "Top-p",
  repetition_penalty: "Repetition penalty", max_new_tokens: "Max length", seed: "Seed",
};

/** The story form and the advanced settings. */
export class StoryForm {
  /** @param {Document} doc */
  constructor(doc) {
    this.doc = doc;
    this.form = doc.getElementById("story-form");
    this.advanced = doc.getElementById("advanced");
    this.backendChoice = doc.getElementById("backend-choice");
    this.counter = doc.getElementById("text-count");
    this.text = doc.getElementById("text");
    this.text.addEventListener("input", () => this.updateCounter());
    for (const name of [...STORY_FIELDS, ...SETTING_FIELDS, "language"]) {
      this.input(name).addEventListener("input", () => this.clearError(name));
    }
    doc.getElementById("reset-settings").addEventListener("click", () => this.resetSettings());
    this.restoreSettings();
    this.updateCounter();
  }

  input(name) {
    return this.doc.getElementById(name);
  }

  /** @returns {{request: object, settings: object}} the form as typed */
  read() {
    const request = {};
    for (const name of STORY_FIELDS) request[name] = this.input(name).value;
    request.length = this.length();
    request.language = this.input("language").value;
    const settings = {};
    for (const name of SETTING_FIELDS) settings[name] = this.input(name).value.trim();
    return { request, settings };
  }

  /** The chosen story length (short, medium or long). */
  length() {
    // Not form.elements.length: that is the number of controls.
    return this.form.querySelector('input[name="length"]:checked')?.value ?? "medium";
  }

  /** Fill character, setting, theme and tone (from pyshell.prompts.surprise). */
  fill(idea) {
    for (const name of ["character", "setting", "theme", "tone"]) {
      if (typeof idea[name] === "string") {
        this.input(name).value = idea[name];
        this.clearError(name);
      }
    }
  }

  /**
   * Show `message` next to `field` (or at the free text when the field is unknown).
   * @param {string} field @param {string} message
   * @returns {string} the message, prefixed with the field's label, for the status line
   */
  showError(field, message) {
    this.clearErrors();
    const name = field in LABELS ? field : "text";
    const label = LABELS[name];
    const box = this.doc.getElementById(`${name}-error`);
    if (SETTING_FIELDS.includes(name)) this.advanced.open = true;
    const input = name === "length" ? this.form.querySelector('input[name="length"]') : this.input(name);
    input?.setAttribute("aria-invalid", "true");
    input?.setAttribute("aria-describedby", `${name}-error`);
    const sentence = message.charAt(0).toUpperCase() + message.slice(1);
    if (box) {
      box.textContent = sentence;
      box.hidden = false;
    }
    input?.focus();
    // "Temperature must be…" names its field already; "text is 50,000 characters…" does not.
    const lower = message.toLowerCase();
    const named = [label.toLowerCase(), name.replace(/_/g, " "), name.replace(/_/g, "-")].some((n) => lower.startsWith(n));
    return named ? sentence : `${label}: ${sentence}`;
  }

  clearError(name) {
    const box = this.doc.getElementById(`${name}-error`);
    if (box) box.hidden = true;
    const input = this.input(name);
    input?.removeAttribute("aria-invalid");
    if (name === "text") input?.setAttribute("aria-describedby", "text-count");
    else input?.removeAttribute("aria-describedby");
  }

  clearErrors() {
    for (const name of Object.keys(LABELS)) {
      if (name === "length") continue;
      this.clearError(name);
    }
  }

  updateCounter() {
    const n = this.text.value.length;
    this.counter.textContent = n ? `${n.toLocaleString("en")} / ${TEXT_LIMIT.toLocaleString("en")} characters` : "";
    this.counter.classList.toggle("over", n > TEXT_LIMIT);
  }

  /** @param {boolean} busy disable the inputs that cannot change mid-story */
  setBusy(busy) {
    this.form.setAttribute("aria-busy", String(busy));
  }

  /** Remember settings that gave a story (invalid ones are never saved). */
  saveSettings(settings) {
    try {
      localStorage.setItem(SAVED_KEY, JSON.stringify(settings));
    } catch {
      // Storage blocked: settings last for this page only.
    }
  }

  restoreSettings() {
    let saved = {};
    try {
      saved = JSON.parse(localStorage.getItem(SAVED_KEY) ?? "{}") ?? {};
    } catch {
      saved = {};
    }
    for (const name of SETTING_FIELDS) {
      if (typeof saved[name] === "string") this.input(name).value = saved[name];
    }
  }

  resetSettings() {
    for (const name of SETTING_FIELDS) {
      this.input(name).value = "";
      this.clearError(name);
    }
    this.saveSettings({});
  }
}
