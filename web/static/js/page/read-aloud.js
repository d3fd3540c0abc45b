// Read aloud: the finished story, spoken by the browser's speechSynthesis.
//
// The voice is one of the story's language, local voices first (they work offline
// and never send the story to a speech server). Chrome lists voices late (after
// "voiceschanged") and may cut a long utterance short with some voices (around
// 15 s), so the text is spoken as a queue of sentence groups. Without speechSynthesis,
// or without a voice of the story's language, the button stays disabled and a hint
// says why.
//
// Button states (data-state): empty (no finished story), ready, speaking,
// no-voice, unsupported.

import { localize, msg, onLanguageChange, render } from "../shared/i18n.js";

const CHUNK_CHARS = 220; // one utterance: a few sentences, well under Chrome's cut-off

/**
 * The best voice for `language` ("en", "fr"): local first, then the browser's
 * region (fr-CA for a Canadian reader), then the system default; null if none.
 * @param {SpeechSynthesisVoice[]} voices
 * @param {string} language a primary language subtag
 * @param {string} [preferredTag] e.g. navigator.language
 * @returns {SpeechSynthesisVoice | null}
 */
export function pickVoice(voices, language, preferredTag = "") {
  const tag = (lang) => String(lang ?? "").toLowerCase().replace(/_/g, "-");
  const wanted = language.toLowerCase();
  const region = tag(preferredTag);
  const matching = voices.filter((v) => tag(v.lang).split("-")[0] === wanted);
  const score = (v) => (v.localService ? 4 : 0) + (region && tag(v.lang) === region ? 2 : 0) + (v.default ? 1 : 0);
  return matching.reduce((best, v) => (best === null || score(v) > score(best) ? v : best), null);
}

/**
 * Split `text` into utterance-sized pieces at sentence ends (else at spaces).
 * Joined with single spaces, the pieces give the text with its whitespace collapsed.
 * @param {string} text
 * @param {number} [limit] characters per piece
 * @returns {string[]}
 */
export function splitForSpeech(text, limit = CHUNK_CHARS) {
  const sentences = text.replace(/\s+/g, " ").trim().match(/[^.!?…]+(?:[.!?…]+["»”’)]*|$)\s*/g) ?? [];
  const pieces = [];
  let piece = "";
  const push = () => {
    if (piece.trim()) pieces.push(piece.trim());
    piece = "";
  };
  for (const sentence of sentences) {
    if (piece && piece.length + sentence.length > limit) push();
    if (sentence.length <= limit) {
      piece += sentence;
      continue;
    }
    for (const word of sentence.split(" ")) {
      if (piece && piece.length + word.length + 1 > limit) push();
      piece += `${word} `;
    }
  }
  push();
  return pieces;
}

/** The read-aloud button (data-testid="read-aloud") and its hint. */
export class ReadAloud extends EventTarget {
  /**
   * @param {Document} doc
   * @param {{synth?: SpeechSynthesis, Utterance?: typeof SpeechSynthesisUtterance}} [speech]
   *   the browser's by default (tests replace them before the page loads)
   */
  constructor(doc, { synth = globalThis.speechSynthesis, Utterance = globalThis.SpeechSynthesisUtterance } = {}) {
    super();
    this.button = doc.querySelector('[data-testid="read-aloud"]');
    this.hint = doc.getElementById("read-aloud-hint");
    this.synth = synth && Utterance ? synth : null;
    this.Utterance = Utterance;
    this.text = "";
    this.language = "en";
    this.voice = null;
    this.session = null; // the reading under way: {voice, pieces, utterances, spoken}
    this.button.addEventListener("click", () => (this.speaking ? this.stop() : this.speak()));
    if (this.synth) {
      const refresh = () => this.update();
      if (this.synth.addEventListener) this.synth.addEventListener("voiceschanged", refresh);
      else this.synth.onvoiceschanged = refresh;
    }
    onLanguageChange(() => this.update());
    this.update();
  }

  /** @returns {boolean} true while the story is being read */
  get speaking() {
    return this.session !== null;
  }

  /** @returns {string} empty, ready, speaking, no-voice or unsupported */
  get state() {
    if (!this.synth) return "unsupported";
    if (this.speaking) return "speaking";
    if (!this.text.trim()) return "empty";
    return this.voice ? "ready" : "no-voice";
  }

  /**
   * A finished story to offer for reading.
   * @param {string} text the whole story as shown (opening included)
   * @param {string} language the story's language ("en", "fr")
   */
  setStory(text, language) {
    this.stop();
    this.text = text;
    this.language = language;
    this.update();
  }

  /** Nothing to read any more (a new story begins): stop and disable. */
  clear() {
    this.setStory("", this.language);
  }

  /** Read the story from its start. */
  speak() {
    this.update();
    if (this.state !== "ready") return;
    this.synth.cancel(); // anything another page queued
    const voice = this.voice;
    // Chrome may collect an utterance that nothing references before its "end" fires:
    // the session keeps them all.
    const session = { voice, pieces: splitForSpeech(this.text), utterances: [], spoken: 0 };
    this.session = session;
    for (const piece of session.pieces) {
      const utterance = new this.Utterance(piece);
      session.utterances.push(utterance);
      utterance.lang = (voice.lang || this.language).replace(/_/g, "-"); // Android says fr_FR
      utterance.voice = voice;
      utterance.onend = () => this.spoken(session);
      utterance.onerror = (event) => this.failed(session, event?.error ?? "");
      this.synth.speak(utterance);
    }
    this.update();
  }

  /** Stop reading (the Stop button, Escape, a new story, leaving the page). */
  stop() {
    if (!this.session) return;
    this.session = null;
    this.synth.cancel();
    this.update();
  }

  spoken(session) {
    if (this.session !== session) return; // a reading that was stopped
    session.spoken += 1;
    if (session.spoken < session.pieces.length) return;
    this.session = null;
    this.update();
  }

  failed(session, error) {
    if (this.session !== session) return;
    this.session = null;
    this.update();
    if (error !== "interrupted" && error !== "canceled") {
      this.dispatchEvent(new CustomEvent("error", { detail: msg("readAloud.failed", { error }) }));
    }
  }

  /** Choose the voice again and show the button's state, label and reason. */
  update() {
    const voices = this.synth?.getVoices() ?? [];
    this.voice = this.synth ? pickVoice(voices, this.language, globalThis.navigator?.language) : null;
    const state = this.state;
    this.button.dataset.state = state;
    this.button.disabled = !["ready", "speaking"].includes(state);
    this.button.setAttribute("aria-pressed", String(state === "speaking"));
    localize(this.button, msg(state === "speaking" ? "readAloud.stop" : "readAloud.read"));
    const reason = this.reason(state);
    const hint = state === "unsupported" || (state === "no-voice" && this.text.trim()) ? reason : "";
    this.button.title = render(reason ?? msg("readAloud.withVoice", { voice: this.voice?.name ?? "" }));
    if (this.hint) {
      localize(this.hint, hint || "");
      this.hint.hidden = !hint;
    }
    this.dispatchEvent(new CustomEvent("change", { detail: this.describe() }));
  }

  /** Why the button is disabled, as a message; null when it is not. */
  reason(state) {
    if (state === "unsupported") return msg("readAloud.unsupported");
    if (state === "no-voice") return msg("readAloud.noVoice", { language: msg(`readAloud.voiceOf.${this.language}`) });
    if (state === "empty") return msg("readAloud.nothing");
    return null;
  }

  /** @returns {{state: string, language: string, voice: string | null}} for the test hook */
  describe() {
    return { state: this.state, language: this.language, voice: this.voice?.name ?? null };
  }
}
