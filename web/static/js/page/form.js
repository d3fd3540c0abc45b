// The story form: reading it, showing field errors, "surprise me", remembered settings.
//
// Values go to Python as typed (strings): pyshell checks every range and names
// the field at fault with a code, so the rules live in one place (pyshell.settings,
// pyshell.prompts); shared/pyshell-codes.js shows its codes in the interface language. The
// numbers the form shows (the text limit, tone suggestions, ranges and defaults)
// come from pyshell too, through js/shared/pyshell-settings.js, which web/build.py writes.
//
// The story's language is its own field: it starts as the interface language and
// follows it until the reader picks one.

import { language, localize, msg, onLanguageChange, render } from "../shared/i18n.js";
import { fieldError, fieldReason } from "../shared/pyshell-codes.js";
import { SETTINGS } from "../shared/pyshell-settings.js";

const STORY_FIELDS = ["character", "setting", "theme", "tone", "text"];
// The advanced settings' inputs; each one's range and default is in SETTINGS.settings.
const SETTING_FIELDS = ["temperature", "top_p", "repetition_penalty", "max_new_tokens", "seed"];
// On/off settings (checkboxes); each one's default is in SETTINGS.switches.
const SWITCH_FIELDS = ["family_safe"];
const FIELDS = [...STORY_FIELDS, "length", "language", ...SETTING_FIELDS, ...SWITCH_FIELDS];
const SAVED_KEY = "conteur-settings";
const TEXT_LIMIT = SETTINGS.story.max_text_chars; // pyshell.prompts.MAX_TEXT_CHARS
const TONES = SETTINGS.story.tones; // suggestions per story language (pyshell.prompts.TONES)

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
    this.tones = doc.getElementById("tones");
    this.error = null; // {field, report}: the refused field, shown again on a language switch
    this.languageChosen = false; // the reader picked the story's language
    this.text.addEventListener("input", () => this.updateCounter());
    for (const name of [...STORY_FIELDS, ...SETTING_FIELDS, "language"]) {
      this.input(name).addEventListener("input", () => this.clearError(name));
    }
    this.input("language").addEventListener("change", () => {
      this.languageChosen = true;
      this.updateTones();
    });
    for (const name of SWITCH_FIELDS) {
      this.input(name).addEventListener("change", () => this.rememberSwitch(name));
    }
    doc.getElementById("reset-settings").addEventListener("click", () => this.resetSettings());
    this.showRanges();
    onLanguageChange(() => this.followInterface());
    this.restoreSettings();
    this.followInterface();
  }

  /** After a language switch: the story language follows (unless chosen), texts re-render. */
  followInterface() {
    if (!this.languageChosen) this.input("language").value = language();
    this.updateTones();
    this.updateCounter();
    if (this.error) this.renderError(this.error.field, this.error.report);
  }

  /** Each setting's default as its placeholder, and its range in its hint (pyshell.settings). */
  showRanges() {
    for (const name of SETTING_FIELDS) {
      const setting = SETTINGS.settings[name];
      if (typeof setting.default === "number") this.input(name).placeholder = String(setting.default);
      const hint = this.form.querySelector(`label[for="${name}"] .hint`);
      if (hint) localize(hint, msg(`field.${name}.hint`, { min: setting.min, max: setting.max }));
    }
  }

  /** Tone suggestions in the story's language. */
  updateTones() {
    const tones = TONES[this.input("language").value] ?? TONES.en;
    this.tones.replaceChildren(...tones.map((tone) => Object.assign(this.doc.createElement("option"), { value: tone })));
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
    for (const name of SWITCH_FIELDS) settings[name] = this.input(name).checked;
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
   * Show pyshell's report next to `field` (or at the free text when the field is unknown).
   * @param {string} field
   * @param {import("../shared/pyshell-codes.js").PyshellReport} report pyshell's {code, params, message}
   * @returns {import("../shared/i18n.js").Message} the message with the field's label, for the status line
   */
  showError(field, report) {
    this.clearErrors();
    const name = FIELDS.includes(field) ? field : "text";
    if (SETTING_FIELDS.includes(name) || SWITCH_FIELDS.includes(name)) this.advanced.open = true;
    const input = name === "length" ? this.form.querySelector('input[name="length"]') : this.input(name);
    input?.setAttribute("aria-invalid", "true");
    input?.setAttribute("aria-describedby", `${name}-error`);
    this.error = { field: name, report };
    this.renderError(name, report);
    input?.focus();
    return fieldError(name, report);
  }

  /** The refused field's reason, in the interface language, capitalised as a sentence. */
  renderError(name, report) {
    const box = this.doc.getElementById(`${name}-error`);
    if (!box) return;
    const reason = render(fieldReason(report));
    localize(box, reason.charAt(0).toUpperCase() + reason.slice(1));
    box.hidden = false;
  }

  clearError(name) {
    if (this.error?.field === name) this.error = null;
    const box = this.doc.getElementById(`${name}-error`);
    if (box) box.hidden = true;
    const input = this.input(name);
    input?.removeAttribute("aria-invalid");
    if (name === "text") input?.setAttribute("aria-describedby", "text-count");
    else input?.removeAttribute("aria-describedby");
  }

  clearErrors() {
    this.error = null;
    for (const name of FIELDS) {
      if (name === "length") continue;
      this.clearError(name);
    }
  }

  updateCounter() {
    const n = this.text.value.length;
    localize(this.counter, n ? msg("field.text.counter", { count: n, limit: TEXT_LIMIT }) : "");
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

  /** The settings saved by saveSettings ({} when none or unreadable). */
  savedSettings() {
    try {
      const saved = JSON.parse(localStorage.getItem(SAVED_KEY) ?? "{}");
      return saved && typeof saved === "object" ? saved : {};
    } catch {
      return {};
    }
  }

  /** A switch is remembered as soon as it changes: it is a choice, not a typed value. */
  rememberSwitch(name) {
    this.clearError(name);
    // "…family-safe stories leave out": the advice was followed, the error no longer holds
    if (this.error?.report?.code === "unsuitable_words") this.clearError(this.error.field);
    this.saveSettings({ ...this.savedSettings(), [name]: this.input(name).checked });
  }

  restoreSettings() {
    const saved = this.savedSettings();
    for (const name of SETTING_FIELDS) {
      if (typeof saved[name] === "string") this.input(name).value = saved[name];
    }
    for (const name of SWITCH_FIELDS) {
      const on = saved[name];
      this.input(name).checked = typeof on === "boolean" ? on : SETTINGS.switches[name].default;
    }
  }

  resetSettings() {
    for (const name of SETTING_FIELDS) {
      this.input(name).value = "";
      this.clearError(name);
    }
    for (const name of SWITCH_FIELDS) this.input(name).checked = SETTINGS.switches[name].default;
    this.saveSettings({});
  }
}
