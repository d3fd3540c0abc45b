// The story view: the opening the model continues, the streamed text, copy and download.
//
// Text only ever enters the page through textContent / Text nodes: whatever the
// reader types or the model writes is shown as text, never parsed as HTML.

import { msg, t } from "../shared/i18n.js";

/** The story (data-testid="story"): the opening, the streamed text, copy and download. */
export class StoryView {
  /** @param {Document} doc */
  constructor(doc) {
    this.doc = doc;
    this.element = doc.querySelector('[data-testid="story"]');
    this.copyButton = doc.getElementById("copy");
    this.downloadButton = doc.getElementById("download");
    this.opening = null;
    this.written = null;
    this.follow = undefined; // whether the view follows the text, until the next frame
    this.copyButton.addEventListener("click", () => this.copy());
    this.downloadButton.addEventListener("click", () => this.download());
  }

  /**
   * Clear the view for a new story.
   * @param {string} [language] the story's language, for screen readers and speech
   */
  begin(language) {
    if (language) this.element.lang = language;
    this.element.replaceChildren();
    this.opening = this.doc.createElement("span");
    this.opening.className = "opening";
    this.written = this.doc.createElement("span");
    this.written.className = "written";
    this.writtenText = this.doc.createTextNode("");
    this.written.append(this.writtenText);
    this.element.append(this.opening, this.written);
    this.element.setAttribute("aria-busy", "true");
    this.setActions(false);
  }

  /** @param {string} text the prompt's text, which the story continues */
  setOpening(text) {
    this.opening.textContent = text;
  }

  /**
   * Show the next piece. A kept sentence arrives as a burst of pieces: whether the
   * reader was at the bottom is read once, before the first piece of a frame (the
   * layout is clean then), and the view follows the text once, at the next frame, not
   * with a layout per piece.
   * @param {string} text the next piece of the story
   */
  append(text) {
    if (this.follow === undefined) {
      const box = this.element;
      this.follow = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
      requestAnimationFrame(() => {
        if (this.follow) box.scrollTop = box.scrollHeight;
        this.follow = undefined;
      });
    }
    this.writtenText.appendData(text);
  }

  /** The story is over (finished, stopped or failed). */
  end() {
    this.element.setAttribute("aria-busy", "false");
    this.setActions(this.text().trim().length > 0);
  }

  /** @returns {string} the whole story as shown */
  text() {
    return this.element.textContent ?? "";
  }

  setActions(enabled) {
    this.copyButton.disabled = !enabled;
    this.downloadButton.disabled = !enabled;
  }

  /** Copy the story to the clipboard; resolves to a message for the reader. */
  async copy() {
    const text = this.text();
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      const area = this.doc.createElement("textarea");
      area.value = text;
      this.doc.body.append(area);
      area.select();
      this.doc.execCommand("copy");
      area.remove();
    }
    this.element.dispatchEvent(new CustomEvent("story-action", { bubbles: true, detail: msg("story.copied") }));
  }

  /** Save the story as a .txt file, credited as AI-generated. */
  download() {
    const blob = new Blob([`${this.text().trim()}\n\n— ${t("story.credit")}\n`], { type: "text/plain;charset=utf-8" });
    const link = this.doc.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = `${t("story.fileName")}-${new Date().toISOString().slice(0, 16).replace(/[:T]/g, "-")}.txt`;
    this.doc.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  }
}
