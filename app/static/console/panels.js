/*
 * The panels around a conversation: the search form, a supervisor's department counts and
 * reassignment, the citizen's history, and the notice that a conversation left this officer.
 */
import { $, T, announce, api, clock, conversationPath, departmentName, el, explain, format, label, state } from "./common.js";

// ---- search and filters -------------------------------------------------------------------
export function readFilters() {
  var filters = {};
  var q = $("filter-q").value.trim();
  if (q) filters.q = q;
  if ($("filter-channel").value) filters.channel = $("filter-channel").value;
  if ($("filter-department").value) filters.department = $("filter-department").value;
  if ($("filter-breached").checked) filters.breached = "true";
  state.filters = filters;
}

export function filtering() {
  return Object.keys(state.filters).length > 0;
}

export function withFilters(path) {
  var query = new URLSearchParams(state.filters).toString();
  if (!query) return path;
  return path + (path.indexOf("?") < 0 ? "?" : "&") + query;
}

export function renderFilterSummary() {
  var summary = $("filter-summary");
  if (!filtering()) {
    summary.textContent = "";
    return;
  }
  summary.textContent = state.queue.length
    ? format(T.filtered, { shown: state.queue.length, total: state.queueAll.length })
    : T.noMatch;
}

// ---- department counts (supervisors) ------------------------------------------------------
export function refreshCounts() {
  if (!state.me || !state.me.can_overrule) return Promise.resolve();
  return api("GET", "/api/officer/counts").then(function (data) {
    state.counts = data.departments;
    renderCounts();
  }, function () {});
}

function renderCounts() {
  var body = $("counts-body");
  body.replaceChildren();
  state.counts.forEach(function (row) {
    body.append(el("tr", { "data-department": row.department }, [
      el("th", { scope: "row", text: departmentName(row.department) }),
      el("td", { className: "num", "data-count": "waiting", text: String(row.waiting) }),
      el("td", { className: "num", "data-count": "with_officer", text: String(row.with_officer) }),
      el("td", { className: row.breached ? "num breach" : "num", "data-count": "breached", text: String(row.breached) }),
    ]));
  });
  $("counts-section").hidden = false;
}

// ---- reassignment (supervisors) -----------------------------------------------------------
export function renderAssign(c) {
  var form = $("assign-form");
  if (!state.me.can_overrule || c.state === "bot") {
    form.hidden = true;
    form.dataset.key = "";
    return;
  }
  // rebuilt only when what it offers changes: a reload must not undo the supervisor's pick, nor
  // may a second render while the officer list is still loading (a late rebuild reset the pick)
  var key = [c.id, c.department, c.assigned_to || ""].join("|");
  if (form.dataset.key === key) return;
  form.dataset.key = key;
  var loaded = state.officers ? Promise.resolve(state.officers) : api("GET", "/api/officer/officers").then(function (data) {
    state.officers = data.officers;
    return data.officers;
  });
  loaded.then(function (officers) {
    if (form.dataset.key !== key) return; // another conversation or state since
    var select = $("assign-officer");
    select.replaceChildren(el("option", { value: "", text: T.assignToQueue }));
    officers.filter(function (o) {
      return o.departments.indexOf(c.department) >= 0;
    }).forEach(function (o) {
      select.append(el("option", { value: o.id, text: o.username + " (" + label("roles", o.role) + ")" }));
    });
    select.value = c.assigned_to || "";
    form.hidden = false;
  }, function () {
    form.hidden = true;
    form.dataset.key = "";
  });
}

export function assign(event, reload) {
  event.preventDefault();
  if (!state.current) return;
  var select = $("assign-officer");
  var officerId = select.value || null;
  var name = select.selectedOptions.length ? select.selectedOptions[0].textContent : "";
  api("POST", conversationPath(state.current.id, "assign"), { officer_id: officerId }).then(function () {
    announce(officerId ? format(T.assigned, { name: name }) : T.backToQueue);
    reload();
  }, function (error) {
    $("action-error").textContent = explain(error);
  });
}

// ---- the citizen's history ----------------------------------------------------------------
export function loadCitizen(id) {
  return api("GET", conversationPath(id, "citizen")).then(function (data) {
    if (state.current && state.current.id === id) renderCitizen(data);
  }, function () {
    $("citizen-section").hidden = true;
  });
}

function renderCitizen(data) {
  var who = data.citizen;
  $("citizen-who").textContent = format(T.channelUser, { channel: label("channels", who.channel), id: who.channel_user_id || T.unknown });
  var handovers = $("citizen-handovers");
  handovers.replaceChildren();
  data.escalations.forEach(function (e) {
    var heading = format(T.handOver, { time: clock(e.created_at), department: departmentName(e.department), reason: label("reasons", e.reason) });
    var status = e.current ? T.handOverOpen : [e.claimed_by ? format(T.handOverBy, { name: e.claimed_by }) : null, e.rating ? format(T.rating, { n: e.rating }) : null].filter(Boolean).join(" · ");
    handovers.append(el("li", {}, [
      el("p", { className: "meta", text: heading }),
      e.question ? el("p", { text: format(T.question, { text: e.question }) }) : null,
      status ? el("p", { className: "meta", text: status }) : null,
    ]));
  });
  if (!data.escalations.length) handovers.append(el("li", { className: "empty", text: T.noHistory }));
  var cases = $("citizen-cases");
  cases.replaceChildren();
  data.cases.forEach(function (c) {
    cases.append(el("li", {}, [
      el("strong", { text: c.number }),
      el("span", { text: " · " + label("caseStatuses", c.status) + " · " + clock(c.created_at) }),
      el("p", { text: c.description === null ? format(T.otherDepartmentCase, { department: departmentName(c.department) }) : c.description || "" }),
    ]));
  });
  if (!data.cases.length) cases.append(el("li", { className: "empty", text: T.noCases }));
  $("citizen-section").hidden = false;
}

// ---- where a conversation went --------------------------------------------------------------
export function noteMoved(id, department) {
  state.moved = { id: id, department: department };
  renderMoved();
}

export function renderMoved() {
  var notice = $("moved-notice");
  var moved = state.moved;
  var show = !!moved && (!state.current || state.current.id === moved.id);
  notice.hidden = !show;
  notice.textContent = show ? (moved.department ? format(T.movedTo, { department: departmentName(moved.department) }) : T.movedAway) : "";
}
