// A yes/no question asked in place, next to what it is about (no window.confirm, which
// blocks the page while a story streams and which browsers may suppress).

import { localize } from "../shared/i18n.js";

/**
 * Show `box` with `question` and resolve with the reader's answer (true: yes). The box
 * holds a `.confirm-question` and two buttons with data-answer="yes" / "no". Asking
 * again before an answer answers the earlier question "no".
 * @param {HTMLElement} box
 * @param {{question: import("../shared/i18n.js").Message, yes: import("../shared/i18n.js").Message,
 *          no: import("../shared/i18n.js").Message}} texts
 * @returns {Promise<boolean>}
 */
export function askInline(box, { question, yes, no }) {
  box.pending?.(false);
  localize(box.querySelector(".confirm-question"), question);
  const yesButton = box.querySelector('[data-answer="yes"]');
  const noButton = box.querySelector('[data-answer="no"]');
  localize(yesButton, yes);
  localize(noButton, no);
  box.hidden = false;
  return new Promise((resolve) => {
    const answer = (value) => {
      box.pending = null;
      box.hidden = true;
      yesButton.onclick = null;
      noButton.onclick = null;
      resolve(value);
    };
    box.pending = answer;
    yesButton.onclick = () => answer(true);
    noButton.onclick = () => answer(false);
    noButton.focus();
  });
}
