/*
 * Drawing the console: the queue, the held conversations and the open conversation.
 * Text is always set as text (never as HTML); only web addresses become links.
 */
import { $, L, T, ApiError, clock, departmentName, el, explain, faqTitle, format, hooks, label, state, waited } from "./common.js";
import { renderAssign, renderMoved } from "./panels.js";

// The topic and question come with newer hubs; older rows fall back to the reason and last message.
export function subjectOf(c) {
  var topic = c.topic && c.topic.title ? c.topic.title : null;
  var question = c.question || c.last_message || null;
  return { topic: topic, question: question, last: c.last_message && c.last_message !== question ? c.last_message : null };
}

export function renderQueue() {
  var body = $("queue-body");
  body.replaceChildren();
  state.queue.forEach(function (c) {
    var wait = waited(c.waiting_since);
    var over = wait.seconds > c.target_wait_minutes * 60;
    var names = { channel: label("channels", c.channel), department: departmentName(c.department) };
    var subject = subjectOf(c);
    var row = el("tr", { className: over ? "over-target" : "", "data-conversation": c.id }, [
      el("td", { "data-label": T.colChannel }, [el("span", { className: "channel", text: names.channel }), el("br"), el("span", { text: names.department })]),
      el("td", { className: "subject", "data-label": T.colSubject }, [
        // without a topic (an older hub, or none known) the reason heads the cell: it is the best summary left
        el("strong", { className: "topic", text: subject.topic || label("reasons", c.reason) }),
        subject.question ? el("span", { className: "question", text: format(T.question, { text: subject.question }) }) : null,
        subject.last ? el("span", { className: "last", text: format(T.lastMessage, { text: subject.last }) }) : null,
        subject.topic ? el("span", { className: "badge reason", text: label("reasons", c.reason) }) : null,
      ]),
      el("td", { "data-label": T.colWaited }, [
        el("span", { className: "waited", text: wait.text }),
        el("br"),
        el("span", {
          className: over ? "badge breach" : "badge",
          text: format(over ? T.overTarget : T.withinTarget, { target: c.target_wait_minutes }),
        }),
      ]),
      el("td", { className: "row-actions" }, [
        el("button", { type: "button", className: "secondary", "aria-label": format(T.openLabel, names), text: T.open, onclick: function () { hooks.openConversation(c.id); } }),
        el("button", { type: "button", "aria-label": format(T.claimLabel, names), text: T.claim, onclick: function () { hooks.claim(c.id); } }),
      ]),
    ]);
    body.append(row);
  });
  $("queue-empty").hidden = state.queue.length > 0;
  $("queue-table").hidden = state.queue.length === 0;
  $("queue-count").textContent = format(T.queueCount, { n: state.queue.length });
}

export function heldItem(c, showHolder) {
  var unread = state.unread.has(c.id);
  var subject = subjectOf(c);
  var text = label("channels", c.channel) + " · " + departmentName(c.department) + (showHolder ? " · " + format(T.heldBy, { name: c.assigned_username || T.unknown }) : "");
  var button = el("button", { type: "button", className: "link", "aria-current": state.current && state.current.id === c.id ? "true" : null, onclick: function () { hooks.openConversation(c.id); } }, [
    el("span", { text: text }),
    unread ? el("span", { className: "badge unread", text: T.unread }) : null,
    subject.topic ? el("strong", { className: "topic", text: subject.topic }) : null,
    c.last_message ? el("span", { className: "last", text: c.last_message }) : null,
  ]);
  return el("li", { "data-conversation": c.id }, [button]);
}

export function renderHeld() {
  var mine = $("mine-list");
  mine.replaceChildren();
  state.mine.forEach(function (c) {
    mine.append(heldItem(c, false));
  });
  if (!state.mine.length) mine.append(el("li", { className: "empty", text: T.noneHeld }));
  var everyone = $("everyone-list");
  everyone.replaceChildren();
  state.everyone.forEach(function (c) {
    everyone.append(heldItem(c, true));
  });
  if (!state.everyone.length) everyone.append(el("li", { className: "empty", text: T.noneHeld }));
}

// A reload answered before an event arrived must not undo what the event showed.
export function merged(fresh, shown) {
  var known = new Set(fresh.messages.map(function (m) {
    return m.id;
  }));
  var last = fresh.messages.length ? Number(fresh.messages[fresh.messages.length - 1].id) : 0;
  shown.messages.forEach(function (m) {
    if (!known.has(m.id) && Number(m.id) > last) fresh.messages.push(m);
  });
  fresh.messages.forEach(function (m) {
    if (m.delivery_status === "pending" && state.delivered[m.id]) m.delivery_status = state.delivered[m.id];
  });
  return fresh;
}

export function holdsIt(detail) {
  return detail.state === "with_officer" && detail.assigned_to === state.me.id;
}

export function renderConversation() {
  var c = state.current;
  $("conversation").hidden = false;
  $("conversation-title").textContent = format(T.conversationOf, { channel: label("channels", c.channel), department: departmentName(c.department) });
  $("fact-state").textContent = label("states", c.state);
  $("fact-holder").textContent = c.assigned_to ? (c.assigned_to === state.me.id ? T.me : c.assigned_username || T.unknown) : T.nobody;
  $("fact-reason").textContent = c.reason ? label("reasons", c.reason) : "–";
  $("fact-waited").textContent = c.state === "waiting" ? waited(c.waiting_since).text : "–";
  var mine = holdsIt(c);
  var heldByOther = c.state === "with_officer" && !mine;
  $("claim").hidden = c.state !== "waiting";
  $("resolve").hidden = c.state === "bot" || (heldByOther && !state.me.can_overrule);
  $("transfer").hidden = c.state === "bot" || (heldByOther && !state.me.can_overrule);
  var canReply = (c.state === "waiting" || mine) && !c.reply_refusal;
  // replying to a waiting conversation claims it: the button and a hint say so beforehand
  var claims = c.state === "waiting" && canReply;
  $("reply-claims").hidden = !claims;
  $("reply-send").textContent = claims ? T.sendAndClaim : T.send;
  $("reply-form").hidden = c.state === "bot" || heldByOther;
  $("reply-text").disabled = !canReply;
  $("reply-send").disabled = !canReply;
  $("canned").disabled = !canReply;
  $("reply-refusal").hidden = !c.reply_refusal;
  $("reply-refusal").textContent = c.reply_refusal ? format(T.replyBlocked, { reason: c.reply_refusal }) : "";
  $("action-error").textContent = "";
  var transcript = $("transcript");
  transcript.replaceChildren();
  c.messages.forEach(function (m) {
    transcript.append(messageItem(m));
  });
  transcript.scrollTop = transcript.scrollHeight;
  renderAttachments(c.attachments);
  renderComplaints(c.complaints);
  renderNotes(c.notes);
  renderAssign(c);
  renderMoved();
}

export function messageItem(m) {
  var who = label("senders", m.sender);
  var meta = [el("span", { text: who }), el("span", { text: " · " + clock(m.created_at) })];
  if (m.direction === "out" && m.delivery_status) {
    meta.push(el("span", { className: "delivery delivery-" + m.delivery_status, text: " · " + label("delivery", m.delivery_status) }));
  }
  var item = el("li", { className: "msg msg-" + m.sender, "data-id": m.id }, [
    el("p", { className: "meta" }, meta),
    el("p", { className: "text", text: m.text || "" }),
  ]);
  if (m.nlu && m.nlu.intent) {
    // what the bot understood, in words: helps the officer see why the conversation came to them
    item.append(understood(m.nlu));
  }
  if (m.direction === "out" && m.delivery_status === "failed") {
    item.append(el("button", { type: "button", className: "secondary", "aria-label": T.resendLabel, text: T.resend, onclick: function () { hooks.resend(m.id); } }));
  }
  return item;
}

export function confidenceWord(confidence) {
  if (confidence >= 0.8) return L.confidence.high;
  if (confidence >= 0.5) return L.confidence.medium;
  return L.confidence.low;
}

export function understood(nlu) {
  var confidence = typeof nlu.confidence === "number" ? nlu.confidence : 0;
  var topic = nlu.intent === "faq" && nlu.faq_id ? faqTitle(nlu.faq_id) : label("intents", nlu.intent);
  var text = format(T.understood, { topic: topic, confidence: confidenceWord(confidence), action: label("actions", nlu.action) });
  return el("p", { className: "meta nlu", title: format(T.confidenceTitle, { percent: Math.round(confidence * 100) }), text: text });
}

export function upsertMessage(message) {
  var c = state.current;
  if (message.delivery_status === "pending" && state.delivered[message.id]) {
    message = Object.assign({}, message, { delivery_status: state.delivered[message.id] });
  }
  var index = c.messages.findIndex(function (m) {
    return m.id === message.id;
  });
  if (index >= 0) c.messages[index] = Object.assign({}, c.messages[index], message);
  else c.messages.push(message);
  var transcript = $("transcript");
  var existing = transcript.querySelector('[data-id="' + CSS.escape(message.id) + '"]');
  var item = messageItem(index >= 0 ? c.messages[index] : message);
  if (existing) existing.replaceWith(item);
  else transcript.append(item);
  transcript.scrollTop = transcript.scrollHeight;
}

export function renderAttachments(attachments) {
  var list = $("attachments");
  list.replaceChildren();
  (attachments || []).forEach(function (a) {
    var name = label("attachmentKinds", a.kind) + (a.filename ? " " + a.filename : "") + " · " + clock(a.created_at);
    // only web addresses are links; anything else is shown as text
    var safe = a.url && /^https?:\/\//i.test(a.url);
    var item = el("li", {}, [safe ? el("a", { href: a.url, rel: "noopener noreferrer", target: "_blank", text: name }) : el("span", { text: name })]);
    if (a.download) {
      item.append(" ", el("button", { type: "button", className: "secondary", "aria-label": format(T.downloadLabel, { name: name }), text: T.download, onclick: function () { download(a.download, a.filename || "attachment"); } }));
    }
    list.append(item);
  });
  $("attachments-section").hidden = !(attachments && attachments.length);
}

// the file needs the officer's token, so it is fetched here and handed over as a blob
export function download(path, filename) {
  fetch(path, { headers: { Authorization: "Bearer " + state.token } }).then(function (response) {
    if (!response.ok) throw new ApiError(response.status, "");
    return response.blob();
  }).then(function (blob) {
    var link = el("a", { href: URL.createObjectURL(blob), download: filename });
    document.body.append(link);
    link.click();
    link.remove();
    window.setTimeout(function () {
      URL.revokeObjectURL(link.href);
    }, 60000);
  }, function (error) {
    $("action-error").textContent = explain(error);
  });
}

export function renderComplaints(cases) {
  var list = $("complaints");
  list.replaceChildren();
  (cases || []).forEach(function (c) {
    list.append(el("li", {}, [el("strong", { text: c.number }), el("span", { text: " · " + label("caseStatuses", c.status) }), el("p", { text: c.description || "" })]));
  });
  $("complaints-section").hidden = !(cases && cases.length);
}

export function renderNotes(notes) {
  var list = $("notes");
  list.replaceChildren();
  (notes || []).forEach(function (n) {
    var heading = (n.officer_username || T.unknown) + " · " + clock(n.created_at);
    if (n.kind === "transfer" && n.detail) heading += " · " + format(T.transferNote, { from: departmentName(n.detail.from) }) + " → " + departmentName(n.detail.to);
    list.append(el("li", {}, [el("p", { className: "meta", text: heading }), n.text ? el("p", { text: n.text }) : null]));
  });
}
