/*
 * Shared by the knowledge-base pages: the page's configuration, the signed-in officer, Thai
 * names of fields and statuses, and the field-by-field diff table (history, pending changes and
 * the review queue show changes the same way).
 */
import { $, ApiError, CONFIG, L, T, api, clock, departmentName, el, format, hooks, state } from "./common.js";

export const KB = "/api/admin/kb";
const TOKEN_KEY = "govchat.console.token"; // the same tab's console login (console.js)

export const limits = CONFIG.limits;
export const bot = CONFIG.bot;
export const page = CONFIG.page || {};
export const titles = Object.assign({}, CONFIG.faq_titles);

// Unicode code points, as LINE, Messenger and `kb validate` count them (not UTF-16 units).
export function codePoints(text) {
  return Array.from(text || "").length;
}

export function fieldName(field) {
  return L.fields[field] || field;
}

export function entryTitle(id) {
  return titles[id] || id || T.unknown;
}

export function entryPath(id) {
  return "/console/kb/entries/" + encodeURIComponent(id);
}

export function who(name) {
  if (name === "seed") return T.seed;
  if (name === "import") return T.import;
  if (state.me && name === state.me.username) return name + " (" + T.me + ")";
  return name || T.unknown;
}

export function isMine(change) {
  return Boolean(state.me && change.author && change.author.id === state.me.id);
}

// A field's value as an officer reads it: related entries by their titles, lists one per line.
export function shown(field, value) {
  if (value === null || value === undefined || value === "") return T.empty;
  if (field === "related" && Array.isArray(value)) return value.map(entryTitle).join("\n") || T.empty;
  if (field === "status") return L.entryStatuses[value] || value;
  if (field === "department") return departmentName(value);
  if (Array.isArray(value)) return value.join("\n") || T.empty;
  return String(value);
}

// The text of `before` and `after` with what differs marked: common start and end kept plain.
function marked(text, other, tag) {
  var a = Array.from(text);
  var b = Array.from(other);
  var start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  var end = 0;
  while (end < a.length - start && end < b.length - start && a[a.length - 1 - end] === b[b.length - 1 - end]) end++;
  var changed = a.slice(start, a.length - end).join("");
  return [a.slice(0, start).join(""), changed ? el(tag, { text: changed }) : null, a.slice(a.length - end).join("")];
}

// A list (questions, related entries) shows only what left and what came, and how many stayed.
function listCells(row) {
  var before = row.before || [];
  var after = row.after || [];
  var name = function (item) {
    return row.field === "related" ? entryTitle(item) : item;
  };
  var kept = before.filter(function (item) {
    return after.indexOf(item) >= 0;
  }).length;
  var cell = function (items, others, tag) {
    var changed = items.filter(function (item) {
      return others.indexOf(item) < 0;
    });
    var nodes = changed.map(function (item) {
      return el("span", { className: "diff-item" }, [el(tag, { text: name(item) })]);
    });
    if (kept) nodes.push(el("span", { className: "diff-item hint", text: format(T.unchangedItems, { n: kept }) }));
    return nodes.length ? nodes : [T.empty];
  };
  return [cell(before, after, "del"), cell(after, before, "ins")];
}

function textCells(row) {
  var blank = function (value) {
    return value === null || value === undefined || value === "";
  };
  var before = shown(row.field, row.before);
  var after = shown(row.field, row.after);
  return [blank(row.before) ? [T.empty] : marked(before, after, "del"), blank(row.after) ? [T.empty] : marked(after, before, "ins")];
}

export function diffTable(diff, caption) {
  var body = el("tbody");
  diff.forEach(function (row) {
    var cells = Array.isArray(row.before) || Array.isArray(row.after) ? listCells(row) : textCells(row);
    body.append(
      el("tr", { "data-field": row.field }, [
        el("th", { scope: "row", text: fieldName(row.field) }),
        el("td", { className: "diff-before" }, cells[0]),
        el("td", { className: "diff-after" }, cells[1]),
      ])
    );
  });
  return el("div", { className: "diff-scroll" }, [
    el("table", { className: "diff" }, [
      el("caption", { className: "visually-hidden", text: caption }),
      el("thead", {}, [
        el("tr", {}, [
          el("th", { scope: "col", text: T.field }),
          el("th", { scope: "col", text: T.before }),
          el("th", { scope: "col", text: T.after }),
        ]),
      ]),
      body,
    ]),
  ]);
}

export function showError(id, error) {
  if (error instanceof ApiError && error.status === 401) return;
  var text = T.failed;
  if (error instanceof ApiError && error.status === 404) text = T.notFound;
  if (error instanceof ApiError && error.status === 403) text = T.forbidden;
  if (error instanceof ApiError && error.status === 409) text = typeof error.detail === "string" ? T.conflict + " (" + error.detail + ")" : T.conflict;
  $(id).textContent = text;
}

export function refreshPendingBadge() {
  return api("GET", KB + "/changes?status=pending_review")
    .then(function (data) {
      var waiting = data.changes.filter(function (change) {
        return !isMine(change);
      }).length;
      $("nav-pending").hidden = waiting === 0;
      $("nav-pending").textContent = String(waiting);
      return data.changes;
    })
    .catch(function () {
      return [];
    });
}

function signedOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  $("kb-view").hidden = true;
  $("signed-out").hidden = false;
  if (message) $("signed-out").querySelector("h2").textContent = message;
}

// Signs in with the console's token and learns who the officer is; null when they may not be here.
export function start() {
  hooks.logout = signedOut;
  state.token = sessionStorage.getItem(TOKEN_KEY);
  if (!state.token) {
    signedOut("");
    return Promise.resolve(null);
  }
  return api("GET", "/api/officer/me")
    .then(function (me) {
      state.me = me;
      if (!me.can_overrule) {
        $("forbidden").hidden = false;
        return null;
      }
      $("kb-view").hidden = false;
      return me;
    })
    .catch(function () {
      return null;
    });
}

export { clock };
