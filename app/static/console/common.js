/*
 * Shared by the console's modules: the page's texts and departments, the state of this tab,
 * small DOM helpers and the officer API client.
 * Every text shown comes from the page (#console-config), none is written in the scripts.
 */
export const CONFIG = JSON.parse(document.getElementById("console-config").textContent);
export const L = CONFIG.labels;
export const T = L.text;
const DEPARTMENTS = {};
CONFIG.departments.forEach(function (d) {
  DEPARTMENTS[d.id] = d;
});

export const state = {
  token: null,
  me: null,
  queue: [],
  mine: [],
  everyone: [],
  canned: [],
  current: null, // the open conversation's detail
  unread: new Set(),
  delivered: {}, // message id -> "sent" | "failed", as last heard (a status never goes back)
  socket: null,
  reconnectDelay: 500,
  refreshTimer: null,
  reloadWhenWatching: false,
  queueAll: [], // the whole queue of my departments, whatever the search shows
  knownQueue: null, // ids seen in the queue so far (null until the first load): what is new
  filters: {}, // the search form's values, as query parameters
  moved: null, // {id, department|null}: the open conversation left me (transferred, reassigned)
  officers: null, // whom a supervisor may assign to
  counts: [],
};

export const FAQ_TITLES = CONFIG.faq_titles || {};

// Actions the modules call on each other, filled in by console.js (no import cycles).
export const hooks = {};

export function $(id) {
  return document.getElementById(id);
}

export function format(template, values) {
  return template.replace(/\{(\w+)\}/g, function (_, key) {
    return values[key] === undefined ? "" : String(values[key]);
  });
}

export function el(tag, attrs, children) {
  var node = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (key) {
    if (key === "text") node.textContent = attrs[key];
    else if (key === "className") node.className = attrs[key];
    else if (key === "onclick") node.addEventListener("click", attrs[key]);
    else if (attrs[key] !== null && attrs[key] !== undefined && attrs[key] !== false) node.setAttribute(key, attrs[key]);
  });
  (children || []).forEach(function (child) {
    if (child !== null && child !== undefined) node.append(child);
  });
  return node;
}

export function faqTitle(id) {
  return (id && FAQ_TITLES[id]) || id || T.unknown;
}

export function departmentName(id) {
  return (DEPARTMENTS[id] && DEPARTMENTS[id].name_th) || id || T.unknown;
}

export function label(group, key) {
  return (L[group] && L[group][key]) || key || T.unknown;
}

export function announce(message) {
  var announcer = $("announcer");
  announcer.textContent = "";
  // a fresh text node so screen readers announce a repeated message too
  window.setTimeout(function () {
    announcer.textContent = message;
  }, 50);
}

export function waited(since) {
  if (!since) return { seconds: 0, text: "–" };
  var seconds = Math.max(0, (Date.now() - new Date(since).getTime()) / 1000);
  var minutes = Math.floor(seconds / 60);
  var text = minutes < 60 ? format(T.minutes, { n: minutes }) : format(T.hoursMinutes, { h: Math.floor(minutes / 60), m: minutes % 60 });
  return { seconds: seconds, text: text };
}

export function clock(iso) {
  return new Date(iso).toLocaleString("th-TH", { dateStyle: "short", timeStyle: "short" });
}

// ---- the API ----------------------------------------------------------------------------
export function ApiError(status, detail) {
  this.status = status;
  this.detail = detail;
}

export function api(method, path, body) {
  var options = { method: method, headers: { Authorization: "Bearer " + state.token } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  return fetch(path, options).then(function (response) {
    if (response.status === 401) {
      hooks.logout(T.sessionExpired);
      throw new ApiError(401, "");
    }
    return response.text().then(function (text) {
      var data = text ? JSON.parse(text) : {};
      if (!response.ok) throw new ApiError(response.status, data.detail);
      return data;
    });
  });
}

export function explain(error) {
  if (!(error instanceof ApiError)) return T.failed;
  if (error.status === 409) return typeof error.detail === "string" ? T.conflict + " (" + error.detail + ")" : T.conflict;
  if (error.status === 404) return T.notFound;
  return T.failed;
}

export function conversationPath(id, action) {
  return "/api/officer/conversations/" + encodeURIComponent(id) + (action ? "/" + action : "");
}
