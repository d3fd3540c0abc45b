// A stand-in for the Web Speech API's speechSynthesis, installed before the page's
// scripts (Playwright add_init_script): headless Chromium has no voices.
//
// window.__speech.spoken records every utterance ({text, lang, voice}); voices are
// set with setVoices([...]) (which fires "voiceschanged", as Chrome does when its
// list arrives); utterances end only when the test calls finishAll(), so a reading
// stays "speaking" until then; cancel() counts in state.cancels and fails the
// queued utterances with "interrupted", as Chrome does.
(() => {
  const state = { voices: [], queue: [], cancels: 0 };
  const spoken = [];
  const listeners = new Set();

  class SpeechSynthesisUtterance {
    constructor(text = "") {
      this.text = text;
      this.lang = "";
      this.voice = null;
      this.rate = 1;
      this.pitch = 1;
      this.volume = 1;
      this.onend = null;
      this.onerror = null;
      this.onstart = null;
    }
  }

  const synth = {
    get speaking() {
      return state.queue.length > 0;
    },
    pending: false,
    paused: false,
    getVoices: () => state.voices.slice(),
    speak(utterance) {
      spoken.push({ text: utterance.text, lang: utterance.lang, voice: utterance.voice ? utterance.voice.name : null });
      state.queue.push(utterance);
    },
    cancel() {
      state.cancels += 1;
      for (const utterance of state.queue.splice(0)) utterance.onerror?.({ error: "interrupted" });
    },
    pause() {},
    resume() {},
    addEventListener(type, listener) {
      if (type === "voiceschanged") listeners.add(listener);
    },
    removeEventListener(type, listener) {
      listeners.delete(listener);
    },
  };

  Object.defineProperty(window, "speechSynthesis", { value: synth, configurable: true });
  Object.defineProperty(window, "SpeechSynthesisUtterance", { value: SpeechSynthesisUtterance, configurable: true, writable: true });
  window.__speech = {
    spoken,
    state,
    setVoices(voices) {
      state.voices = voices.map((v) => ({ voiceURI: v.name, default: false, localService: false, ...v }));
      for (const listener of listeners) listener(new Event("voiceschanged"));
    },
    finishAll() {
      while (state.queue.length) state.queue.shift().onend?.({});
    },
  };
})();
