/*
 * The list of the officer's departments' entries: search, department, status, and the two
 * review filters (stale `reviewed_at`, `expires_at` near or past), each entry with its pending
 * changes badge. The server filters q, department, stale and expiring; status here.
 */
import { $, CONFIG, T, api, departmentName, el, format, state } from "./common.js";
import { KB, entryPath, isMine, refreshPendingBadge, showError, titles } from "./kb-common.js";

const DAY_MS = 24 * 3600 * 1000;
const EXPIRING_DAYS = 30;
const ANSWER_SHOWN = 160; // code points of the answer on a card: enough to recognise it

function query() {
  var params = new URLSearchParams();
  var q = $("filter-q").value.trim();
  if (q) params.set("q", q);
  if ($("filter-department").value) params.set("department", $("filter-department").value);
  if ($("filter-stale").checked) params.set("stale", "true");
  if ($("filter-expiring").checked) params.set("expiring", "true");
  var text = params.toString();
  return KB + "/entries" + (text ? "?" + text : "");
}

function ageDays(date) {
  return (Date.now() - new Date(date + "T00:00:00+07:00").getTime()) / DAY_MS;
}

function flags(entry) {
  var found = [];
  if (entry.reviewed_at && ageDays(entry.reviewed_at) > CONFIG.stale_days) found.push(["stale", format(T.stale, { days: CONFIG.stale_days })]);
  if (entry.expires_at) {
    var left = -ageDays(entry.expires_at);
    if (left < 0) found.push(["expired", T.expired]);
    else if (left <= EXPIRING_DAYS) found.push(["expiring", T.expiring]);
  }
  return found;
}

function glimpse(answer) {
  var chars = Array.from((answer || "").replace(/\s+/g, " ").trim());
  return chars.length > ANSWER_SHOWN ? chars.slice(0, ANSWER_SHOWN).join("") + "…" : chars.join("");
}

function card(entry) {
  var badges = [el("span", { className: "kb-status status-" + entry.status, text: CONFIG.labels.entryStatuses[entry.status] || entry.status })];
  flags(entry).forEach(function (flag) {
    badges.push(el("span", { className: "kb-flag flag-" + flag[0], text: flag[1] }));
  });
  if (entry.pending_changes > 0) badges.push(el("span", { className: "kb-flag flag-pending", text: format(T.pendingBadge, { n: entry.pending_changes }) }));
  var meta = [departmentName(entry.department), format(T.reviewedOn, { date: entry.reviewed_at || T.unknown })];
  if (entry.expires_at) meta.push(format(T.expiresOn, { date: entry.expires_at }));
  meta.push(format(T.questionsCount, { n: (entry.questions || []).length }));
  return el("li", { className: "kb-card" + (entry.status === "retired" ? " is-retired" : ""), "data-entry": entry.id }, [
    el("p", { className: "kb-card-head" }, [
      el("a", { href: entryPath(entry.id), "aria-label": format(T.openEntry, { title: entry.title }), text: entry.title }),
    ]),
    el("p", { className: "kb-badges" }, badges),
    el("p", { className: "kb-answer", text: glimpse(entry.answer) }),
    el("p", { className: "kb-meta", text: meta.join(" · ") }),
  ]);
}

function matchesStatus(entry) {
  var wanted = $("filter-status").value;
  if (wanted === "pending") return entry.pending_changes > 0;
  return !wanted || entry.status === wanted;
}

function load() {
  return api("GET", query())
    .then(function (data) {
      $("entries-error").textContent = "";
      data.entries.forEach(function (entry) {
        titles[entry.id] = entry.title;
      });
      var shown = data.entries.filter(matchesStatus);
      $("entries-list").replaceChildren.apply($("entries-list"), shown.map(card));
      $("entries-count").textContent = format(T.count, { n: shown.length });
      $("entries-empty").hidden = shown.length > 0;
    })
    .catch(function (error) {
      showError("entries-error", error);
    });
}

function showPending(changes) {
  var waiting = changes.filter(function (change) {
    return !isMine(change);
  }).length;
  $("pending-summary").hidden = waiting === 0;
  $("pending-link").textContent = format(T.pendingHere, { n: waiting });
}

export function startList() {
  var select = $("filter-department");
  CONFIG.departments.forEach(function (d) {
    if (state.me.is_admin || state.me.departments.indexOf(d.id) >= 0) select.append(el("option", { value: d.id, text: d.name_th }));
  });
  var params = new URLSearchParams(location.search);
  $("filter-q").value = params.get("q") || "";
  $("filter-stale").checked = params.get("stale") === "true";
  $("filter-expiring").checked = params.get("expiring") === "true";
  $("entries-filter").addEventListener("submit", function (event) {
    event.preventDefault();
    load();
  });
  ["filter-department", "filter-status", "filter-stale", "filter-expiring"].forEach(function (id) {
    $(id).addEventListener("change", load);
  });
  refreshPendingBadge().then(showPending);
  return load();
}
