/*
 * The console's complaint cases: a list (status filter, search, newest first, age against the
 * department's target), a case view with its history, and the status change form.
 * Uses the token console.js keeps for this tab; every text comes from the page (#console-config).
 * Live: the console's WebSocket (WS /api/officer/ws, the token is its first message) tells of
 * cases filed and status changes in the officer's departments; the list and the open case reload
 * from the API then. While the socket is down the list is polled instead.
 */
import { $, ApiError, CONFIG, L, T, announce, api, clock, departmentName, el, format, hooks, label, state } from "./common.js";

const TOKEN_KEY = "govchat.console.token"; // the same tab's console login (console.js)
const REFRESH_MS = 30000; // only while the socket is down; also after each change and when the tab comes back
const RECHECK_MS = 2000;
const RECONNECT_MAX_MS = 10000;
const TARGETS = {};
CONFIG.departments.forEach(function (d) {
  TARGETS[d.id] = d.target_wait_minutes;
});

var openNumber = null;
var recheck = null;
var socket = null;
var reconnectMs = 500;

hooks.logout = function () {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  if (socket) {
    socket.onclose = null;
    socket.close();
    socket = null;
  }
  $("cases-view").hidden = true;
  $("signed-out").hidden = false;
};

function duration(minutes) {
  if (minutes < 60) return format(T.minutes, { n: minutes });
  if (minutes < 24 * 60) return format(T.hoursMinutes, { h: Math.floor(minutes / 60), m: minutes % 60 });
  return format(T.daysHours, { d: Math.floor(minutes / 1440), h: Math.floor((minutes % 1440) / 60) });
}

// Age of an open case against its department's target; a closed case shows its status instead.
function age(item) {
  var minutes = Math.max(0, Math.floor((Date.now() - new Date(item.created_at).getTime()) / 60000));
  var target = TARGETS[item.department];
  var over = item.status !== "closed" && target !== undefined && minutes > target;
  var note = item.status === "closed" || target === undefined ? "" : format(over ? T.overTarget : T.withinTarget, { target: target });
  return { text: duration(minutes), note: note, over: over };
}

function statusBadge(status) {
  return el("span", { className: "case-status status-" + status, text: label("caseStatuses", status) });
}

function query() {
  var params = new URLSearchParams();
  if ($("filter-status").value) params.set("status", $("filter-status").value);
  if ($("filter-q").value.trim()) params.set("q", $("filter-q").value.trim());
  var text = params.toString();
  return "/api/officer/complaints" + (text ? "?" + text : "");
}

function loadList() {
  return api("GET", query())
    .then(function (data) {
      $("cases-error").textContent = "";
      renderList(data.complaints);
    })
    .catch(function (error) {
      if (!(error instanceof ApiError && error.status === 401)) $("cases-error").textContent = T.failed;
    });
}

function renderList(items) {
  var list = $("cases-list");
  list.replaceChildren();
  $("cases-count").textContent = format(T.count, { n: items.length });
  $("cases-empty").hidden = items.length > 0;
  items.forEach(function (item) {
    var a = age(item);
    var open = el("button", {
      type: "button",
      className: "link case-open",
      "aria-current": item.number === openNumber ? "true" : null,
      "aria-label": format(T.openCase, { number: item.number }),
      text: item.number,
      onclick: function () {
        openCase(item.number, true);
      },
    });
    list.append(
      el("li", { className: "case-card" + (a.over ? " over-target" : "") }, [
        el("p", { className: "case-head" }, [open, statusBadge(item.status)]),
        el("p", { className: "case-summary", text: item.summary }),
        el("p", { className: "case-meta" }, [
          el("span", { text: departmentName(item.department) + " · " + label("channels", item.channel) }),
          el("span", { text: clock(item.created_at) }),
          el("span", { className: a.over ? "badge breach" : "", text: a.text + (a.note ? " · " + a.note : "") }),
        ]),
      ])
    );
  });
}

function openCase(number, focus) {
  openNumber = number;
  return api("GET", "/api/officer/complaints/" + encodeURIComponent(number))
    .then(function (detail) {
      renderCase(detail);
      if (focus) $("case-title").focus();
      document.querySelectorAll(".case-open").forEach(function (button) {
        if (button.textContent === number) button.setAttribute("aria-current", "true");
        else button.removeAttribute("aria-current");
      });
    })
    .catch(function (error) {
      if (error instanceof ApiError && error.status === 404) $("cases-error").textContent = T.notFound;
    });
}

function renderCase(detail) {
  var a = age(detail);
  $("case-title").textContent = detail.number;
  $("case").hidden = false;
  $("case-status").replaceChildren(statusBadge(detail.status));
  $("case-department").textContent = departmentName(detail.department);
  $("case-channel").textContent = label("channels", detail.channel);
  $("case-filed").textContent = clock(detail.created_at);
  $("case-age").textContent = a.text + (a.note ? " · " + a.note : "");
  $("case-age").className = a.over ? "breach-text" : "";
  $("case-description").textContent = detail.description;
  var history = $("case-history");
  history.replaceChildren();
  detail.history.forEach(function (entry) {
    var by = entry.notice ? format(T.by, { name: entry.by }) : T.filedBy;
    var children = [
      el("p", { className: "case-head" }, [statusBadge(entry.status), el("span", { className: "hint", text: by + " · " + clock(entry.at) })]),
    ];
    if (entry.note) children.push(el("p", { className: "case-note", text: entry.note }));
    if (entry.notice) {
      var notice = label("notices", entry.notice.state) + (entry.notice.reason ? ": " + entry.notice.reason : "");
      children.push(el("p", { className: "notice notice-" + entry.notice.state, text: notice }));
    }
    history.append(el("li", {}, children));
  });
  // A notice still on its way: look again shortly, so the officer sees it sent (or why not).
  var pending = detail.history.some(function (entry) {
    return entry.notice && entry.notice.state === "pending";
  });
  window.clearTimeout(recheck);
  if (pending) {
    recheck = window.setTimeout(function () {
      if (openNumber === detail.number && state.token) openCase(detail.number, false);
    }, RECHECK_MS);
  }
  $("status-new").value = detail.status === "received" ? "in_progress" : "closed"; // the usual next step
  $("status-error").textContent = "";
}

function submitStatus(event) {
  event.preventDefault();
  if (!openNumber) return;
  var status = $("status-new").value;
  var note = $("status-note").value.trim();
  if (status === "closed" && !note) {
    $("status-error").textContent = T.noteRequired;
    $("status-note").focus();
    return;
  }
  var number = openNumber;
  api("POST", "/api/officer/complaints/" + encodeURIComponent(number) + "/status", { status: status, note: note })
    .then(function (detail) {
      $("status-note").value = "";
      renderCase(detail);
      announce(format(T.saved, { status: label("caseStatuses", status), number: number }));
      return loadList();
    })
    .catch(function (error) {
      if (!(error instanceof ApiError)) $("status-error").textContent = T.failed;
      else if (error.status === 422) $("status-error").textContent = T.noteRequired;
      else if (error.status === 409) $("status-error").textContent = T.sameStatus;
      else if (error.status === 404) $("status-error").textContent = T.notFound;
      else if (error.status !== 401) $("status-error").textContent = T.failed;
    });
}

function live() {
  return socket !== null && socket.readyState === WebSocket.OPEN;
}

function setConnection(connected) {
  $("connection").dataset.state = connected ? "online" : "offline";
  $("connection").textContent = connected ? T.connected : T.reconnecting;
}

function connect() {
  var scheme = location.protocol === "https:" ? "wss:" : "ws:";
  var ws = new WebSocket(scheme + "//" + location.host + "/api/officer/ws");
  socket = ws;
  ws.onopen = function () {
    ws.send(JSON.stringify({ type: "auth", token: state.token })); // not in the URL: addresses are logged
  };
  ws.onmessage = function (message) {
    var event = JSON.parse(message.data);
    if (event.type === "ready") {
      reconnectMs = 500;
      setConnection(true);
      loadList(); // what changed while the socket was down
      if (openNumber) openCase(openNumber, false);
    } else if (event.type === "complaint_filed" || event.type === "complaint_changed") {
      loadList();
      if (event.number === openNumber) openCase(openNumber, false);
      if (event.type === "complaint_filed") announce(format(T.newCase, { number: event.number }));
    }
  };
  ws.onclose = function (event) {
    if (socket !== ws) return;
    socket = null;
    setConnection(false);
    if (event.code === 4401) {
      hooks.logout();
      return;
    }
    window.setTimeout(function () {
      if (state.token && socket === null) connect();
    }, reconnectMs);
    reconnectMs = Math.min(reconnectMs * 2, RECONNECT_MAX_MS);
  };
}

function start() {
  $("signed-out").hidden = true;
  $("cases-view").hidden = false;
  $("cases-filter").addEventListener("submit", function (event) {
    event.preventDefault();
    loadList();
  });
  $("filter-status").addEventListener("change", loadList);
  $("status-form").addEventListener("submit", submitStatus);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && state.token) {
      loadList();
      if (openNumber) openCase(openNumber, false);
    }
  });
  window.setInterval(function () {
    if (document.visibilityState === "visible" && state.token && !live()) loadList();
  }, REFRESH_MS);
  loadList();
  connect();
}

state.token = sessionStorage.getItem(TOKEN_KEY);
if (state.token) start();
else hooks.logout();
