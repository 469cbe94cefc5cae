/*
 * The editor's live preview: the draft answer as LINE (a Flex bubble with its two buttons),
 * Messenger (a button template, or text then a template when the answer is too long for one)
 * and the web chat (one bubble with the source line) would show it, with the quick replies each
 * adds. The rules mirror channels/line_messages.py, channels/facebook_messages.py and
 * app/conversations/replies.py; the limits come from those modules through the page.
 * Lengths count Unicode code points, as the channels do.
 */
import { $, T, el, format } from "./common.js";
import { bot, codePoints, entryTitle, limits } from "./kb-common.js";

const ELLIPSIS = "…";
const LEADING_VOWELS = "เแโใไ";
const MARK = /\p{M}/u;

// At most `limit` code points; a cut ends with "…" and keeps Thai marks (and, for LINE, a leading
// vowel) with their consonant.
export function shorten(text, limit, keepLeadingVowel) {
  var chars = Array.from(text);
  if (chars.length <= limit) return text;
  var cut = limit - 1;
  while (cut > 0 && MARK.test(chars[cut])) cut--;
  while (keepLeadingVowel && cut > 0 && LEADING_VOWELS.indexOf(chars[cut - 1]) >= 0) cut--;
  return chars.slice(0, cut).join("").replace(/\s+$/, "") + ELLIPSIS;
}

function splitText(text, limit) {
  var chunks = [];
  var rest = Array.from(text.trim());
  while (rest.length) {
    if (rest.length <= limit) {
      chunks.push(rest.join(""));
      break;
    }
    var window_ = rest.slice(0, limit).join("");
    var cut = Math.max(window_.lastIndexOf("\n"), window_.lastIndexOf(" "));
    cut = cut < limit / 2 ? limit : Array.from(window_.slice(0, cut)).length;
    chunks.push(rest.slice(0, cut).join("").replace(/\s+$/, ""));
    rest = Array.from(rest.slice(cut).join("").replace(/^\s+/, ""));
  }
  return chunks.filter(Boolean);
}

// ok: within the limit; "warn": the channel shortens it (allowed); otherwise over the limit
function limitItem(ok, text) {
  var kind = ok === true ? "ok" : ok === "warn" ? "warn" : "over";
  return el("li", { className: "limit-" + kind }, [el("span", { className: "limit-mark", text: ok === true ? "✓ " : "⚠ " }), text]);
}

function counter(n, max) {
  return format(T.codePoints, { n: n, max: max }) + (n > max ? " · " + format(T.overBy, { n: n - max }) : "");
}

function chips(options, className) {
  return el(
    "ul",
    { className: "chips " + className, "aria-label": T.quickReplies },
    options.map(function (option) {
      return el("li", { text: option });
    })
  );
}

function relatedTitles(draft) {
  return (draft.related || []).slice(0, limits.related_shown).map(entryTitle);
}

function sourceLine(draft) {
  return draft.source_label + ": " + (draft.source_url || "");
}

function renderLine(draft, answerLength) {
  var quick = relatedTitles(draft).concat([bot.human]);
  var altText = draft.answer.trim() + "\n" + sourceLine(draft);
  var altLength = codePoints(altText);
  $("preview-line").replaceChildren(
    el("div", { className: "line-bubble" }, [
      el("div", { className: "line-body" }, [
        el("p", { className: "line-title", text: draft.title || T.empty }),
        el("p", { className: "line-text", text: draft.answer || T.empty }),
      ]),
      el("div", { className: "line-footer" }, [
        el("span", { className: "line-link", text: shorten(bot.source, limits.line_button, true) }),
        el("span", { className: "line-primary", text: shorten(bot.human, limits.line_button, true) }),
      ]),
    ]),
    chips(
      quick.map(function (option) {
        return shorten(option, limits.line_quick_reply, true);
      }),
      "line-chips"
    )
  );
  var items = [
    limitItem(answerLength <= draft.answer_max, T.answerLimit + " " + counter(answerLength, draft.answer_max)),
    limitItem(altLength <= limits.line_alt_text, format(T.lineAltText, { n: altLength, max: limits.line_alt_text })),
  ];
  if (quick.some(function (option) { return codePoints(option) > limits.line_quick_reply; })) {
    items.push(limitItem("warn", format(T.lineQuick, { max: limits.line_quick_reply })));
  }
  $("limits-line").replaceChildren.apply($("limits-line"), items);
}

function messengerTemplate(text) {
  return el("div", { className: "fb-template" }, [
    el("p", { className: "fb-text", text: text }),
    el("span", { className: "fb-button", text: shorten(bot.source, limits.messenger_button) }),
    el("span", { className: "fb-button", text: shorten(bot.human, limits.messenger_button) }),
  ]);
}

function renderMessenger(draft) {
  // the adapter takes out the Thai source line only (its button carries the link); an English one stays
  var answer = draft.answer.trim() + (draft.english ? "\n" + sourceLine(draft) : "");
  var answerLength = codePoints(answer);
  var fits = answerLength <= limits.messenger_template;
  var parts = fits
    ? [messengerTemplate(answer || T.empty)]
    : splitText(answer, limits.messenger_text)
        .map(function (chunk) {
          return el("p", { className: "fb-bubble", text: chunk });
        })
        .concat([messengerTemplate(shorten(draft.title || T.empty, limits.messenger_template))]);
  var quick = relatedTitles(draft).map(function (option) {
    return shorten(option, limits.messenger_quick_reply);
  });
  $("preview-messenger").replaceChildren.apply($("preview-messenger"), parts.concat(quick.length ? [chips(quick, "fb-chips")] : []));
  var note = fits ? format(T.messengerFits, { n: answerLength, max: limits.messenger_template }) : format(T.messengerTemplate, { n: answerLength, max: limits.messenger_template });
  var items = [limitItem(fits || "warn", note)];
  if (quick.some(function (option) { return option.slice(-1) === ELLIPSIS; })) {
    items.push(limitItem("warn", format(T.lineQuick, { max: limits.messenger_quick_reply })));
  }
  $("limits-messenger").replaceChildren.apply($("limits-messenger"), items);
}

function renderWebchat(draft, answerLength) {
  var quick = relatedTitles(draft).concat([bot.human]);
  $("preview-webchat").replaceChildren(
    el("div", { className: "web-bubble" }, [
      el("p", { className: "web-text", text: draft.answer.trim() || T.empty }),
      el("p", { className: "web-text" }, [draft.source_label + ": ", el("span", { className: "web-link", text: draft.source_url || T.empty })]),
    ]),
    chips(quick, "web-chips")
  );
  $("limits-webchat").replaceChildren(
    limitItem(answerLength <= draft.answer_max, T.answerLimit + " " + counter(answerLength, draft.answer_max)),
    limitItem(true, T.webchatNote)
  );
}

// `english`: what a question written in English gets, when the entry has both English texts
// (app/conversations/replies.py); buttons and quick replies stay Thai, as the adapters send them.
export function renderPreview(draft, english) {
  var inEnglish = Boolean(english && draft.title_en && draft.answer_en);
  var shown = Object.assign({}, draft, {
    title: inEnglish ? draft.title_en : draft.title,
    answer: (inEnglish ? draft.answer_en : draft.answer) || "",
    english: inEnglish,
    source_label: inEnglish ? bot.source_en : bot.source,
    answer_max: inEnglish ? limits.answer_en : limits.answer,
  });
  var answerLength = codePoints(shown.answer.trim());
  renderLine(shown, answerLength);
  renderMessenger(shown);
  renderWebchat(shown, answerLength);
}

export function renderCounter(id, text, max) {
  var n = codePoints(text.trim());
  $(id).textContent = counter(n, max);
  $(id).classList.toggle("over", n > max);
}
