/*
 * The officers' console: the queue, held conversations and one open conversation.
 *
 * Data comes from the officer API (Authorization: Bearer <token>, kept in sessionStorage for
 * this tab only); live updates from WS /api/officer/ws (the token is its first message), which
 * pushes queue changes for the officer's departments and the messages of the conversations this
 * page watches. After any reconnect the page reloads from the API: the database is the truth,
 * events only say "look".
 */
import { $, T, announce, api, conversationPath, departmentName, el, explain, format, hooks, label, state, waited } from "./common.js";
import { alertOfficer, askOnce, enableClicked, showEnableButton, updateTitle } from "./alerts.js";
import { assign, filtering, loadCitizen, noteMoved, readFilters, refreshCounts, renderFilterSummary, renderMoved, withFilters } from "./panels.js";
import { merged, renderConversation, renderHeld, renderQueue, subjectOf, upsertMessage } from "./views.js";

const TOKEN_KEY = "govchat.console.token";

// ---- login ------------------------------------------------------------------------------
function showLogin(message) {
  $("app-view").hidden = true;
  $("whoami").hidden = true;
  $("login-view").hidden = false;
  $("login-error").textContent = message || "";
  $("username").focus();
}

function login(event) {
  event.preventDefault();
  askOnce(); // a user gesture: the one moment a page may ask for notifications and sound
  var username = $("username").value.trim();
  var password = $("password").value;
  if (!username || !password) {
    $("login-error").textContent = T.loginFailed;
    return;
  }
  fetch("/api/officer/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username: username, password: password }),
  }).then(function (response) {
    if (response.status === 429) {
      $("login-error").textContent = format(T.loginLocked, { seconds: response.headers.get("Retry-After") || "300" });
      return;
    }
    if (!response.ok) {
      $("login-error").textContent = T.loginFailed;
      $("password").select();
      return;
    }
    return response.json().then(function (data) {
      $("password").value = "";
      state.token = data.token;
      sessionStorage.setItem(TOKEN_KEY, data.token);
      start();
    });
  }, function () {
    $("login-error").textContent = T.failed;
  });
}

function logout(message) {
  state.token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  if (state.socket) {
    state.socket.onclose = null;
    state.socket.close();
    state.socket = null;
  }
  state.current = null;
  state.knownQueue = null;
  state.queueAll = [];
  state.unread.clear();
  updateTitle();
  showLogin(message);
}

function start() {
  api("GET", "/api/officer/me").then(function (me) {
    state.me = me;
    $("login-view").hidden = true;
    $("app-view").hidden = false;
    $("whoami").hidden = false;
    $("whoami-name").textContent = me.username;
    $("whoami-role").textContent = "(" + label("roles", me.role) + ")";
    $("everyone-section").hidden = !me.can_overrule;
    $("counts-section").hidden = !me.can_overrule;
    showEnableButton();
    refreshCounts();
    $("main").focus();
    loadCanned();
    connect();
    refreshLists();
  }, function () {});
}

// ---- live updates -----------------------------------------------------------------------
function setConnection(connected) {
  var node = $("connection");
  node.dataset.state = connected ? "online" : "offline";
  node.textContent = connected ? T.connected : T.reconnecting;
}

function connect() {
  var scheme = location.protocol === "https:" ? "wss:" : "ws:";
  var socket = new WebSocket(scheme + "//" + location.host + "/api/officer/ws");
  state.socket = socket;
  socket.onopen = function () {
    // the token goes in the first message, not the URL (addresses end up in logs)
    socket.send(JSON.stringify({ type: "auth", token: state.token }));
  };
  socket.onmessage = function (message) {
    handleEvent(JSON.parse(message.data));
  };
  socket.onclose = function (event) {
    if (state.socket !== socket) return;
    setConnection(false);
    if (event.code === 4401) {
      logout(T.sessionExpired);
      return;
    }
    window.setTimeout(function () {
      if (state.token && state.socket === socket) connect();
    }, state.reconnectDelay);
    state.reconnectDelay = Math.min(state.reconnectDelay * 2, 10000);
  };
}

function watch() {
  if (!state.socket || state.socket.readyState !== WebSocket.OPEN) return;
  var ids = state.mine.map(function (c) {
    return c.id;
  });
  if (state.current && ids.indexOf(state.current.id) < 0) ids.push(state.current.id);
  ids.sort();
  if (state.socket.watched === ids.join(",")) return;
  // what was published before the subscription began is read again once it is confirmed
  state.reloadWhenWatching = !!state.current && (state.socket.watched || "").split(",").indexOf(state.current.id) < 0;
  state.socket.watched = ids.join(",");
  state.socket.send(JSON.stringify({ type: "watch", conversation_ids: ids }));
}

function handleEvent(event) {
  if (event.type === "ready") {
    state.reconnectDelay = 500;
    setConnection(true);
    refreshLists();
    watch();
  } else if (event.type === "watching") {
    if (state.reloadWhenWatching) reloadCurrent();
    state.reloadWhenWatching = false;
  } else if (event.type === "queue_changed") {
    scheduleRefresh();
  } else if (event.type === "message" || event.type === "delivery") {
    onMessageEvent(event);
  } else if (event.type === "note" || event.type === "conversation_changed") {
    var open = state.current && state.current.id === event.conversation_id;
    if (open && event.type === "conversation_changed" && event.department !== state.current.department) {
      noteMoved(event.conversation_id, event.department); // someone transferred what I had open
    }
    if (open) reloadCurrent();
    if (event.type === "conversation_changed") scheduleRefresh();
  }
}

function onMessageEvent(event) {
  var message = event.message;
  if (message.delivery_status === "sent" || message.delivery_status === "failed") {
    state.delivered[message.id] = message.delivery_status;
  }
  var fromCitizen = event.type === "message" && message.sender === "citizen";
  if (fromCitizen) {
    state.mine.concat(state.everyone).forEach(function (c) {
      if (c.id === event.conversation_id) c.last_message = message.text;
    });
    var isMine = state.mine.some(function (c) {
      return c.id === event.conversation_id;
    });
    var inView = state.current && state.current.id === event.conversation_id && !document.hidden;
    if (isMine && !inView) alertOfficer(T.alertMessageTitle, message.text || "", event.conversation_id);
  }
  if (state.current && state.current.id === event.conversation_id) {
    upsertMessage(message);
    if (event.type === "message" && message.sender === "citizen") {
      announce(format(T.newMessageFrom, { text: message.text }));
    }
  } else if (event.type === "message" && message.sender === "citizen") {
    state.unread.add(event.conversation_id);
    renderHeld();
    updateTitle();
    announce(format(T.newMessageFrom, { text: message.text }));
  }
}

function scheduleRefresh() {
  window.clearTimeout(state.refreshTimer);
  state.refreshTimer = window.setTimeout(function () {
    refreshLists();
    refreshCounts();
  }, 100);
}

// Escalations not seen before in my departments' queue (none on the first load).
function alertNewEscalations(queue) {
  var known = state.knownQueue;
  state.knownQueue = new Set(queue.map(function (c) {
    return c.id;
  }));
  if (!known) return;
  var fresh = queue.filter(function (c) {
    return !known.has(c.id);
  });
  fresh.forEach(function (c) {
    var subject = subjectOf(c);
    var body = [departmentName(c.department), subject.topic, subject.question].filter(Boolean).join(" · ");
    alertOfficer(T.alertNewTitle, body, c.id);
  });
}

// ---- lists and the open conversation ----------------------------------------------------
function refreshLists() {
  var before = state.queueAll.length;
  var requests = [
    api("GET", "/api/officer/queue"),
    api("GET", withFilters("/api/officer/conversations")),
    state.me && state.me.can_overrule ? api("GET", withFilters("/api/officer/conversations?everyone=true")) : null,
    filtering() ? api("GET", withFilters("/api/officer/queue")) : null,
  ];
  return Promise.all(requests).then(function (results) {
    state.queueAll = results[0].conversations;
    state.queue = results[3] ? results[3].conversations : state.queueAll;
    state.mine = results[1].conversations;
    state.everyone = results[2] ? results[2].conversations : [];
    renderQueue();
    renderHeld();
    renderFilterSummary();
    watch();
    alertNewEscalations(state.queueAll);
    updateTitle();
    // the open conversation was mine and is no longer: someone transferred or reassigned it
    var c = state.current;
    var stillMine = state.mine.some(function (m) {
      return c && m.id === c.id;
    });
    if (c && c.state === "with_officer" && c.assigned_to === state.me.id && !stillMine && !filtering()) reloadCurrent();
    if (state.queueAll.length > before) announce(format(T.newInQueue, { n: state.queueAll.length }));
  }, function () {});
}

function openConversation(id) {
  return api("GET", "/api/officer/conversations/" + encodeURIComponent(id)).then(function (detail) {
    state.current = state.current && state.current.id === id ? merged(detail, state.current) : detail;
    if (state.moved && state.moved.id !== id) state.moved = null;
    state.unread.delete(id);
    renderConversation();
    renderHeld();
    updateTitle();
    watch();
    loadCitizen(id);
    $("conversation-title").focus();
  }, function (error) {
    announce(explain(error));
  });
}

function reloadCurrent() {
  if (!state.current) return Promise.resolve();
  var id = state.current.id;
  return api("GET", "/api/officer/conversations/" + encodeURIComponent(id)).then(function (detail) {
    if (state.current && state.current.id === id) {
      state.current = merged(detail, state.current);
      renderConversation();
    }
  }, function (error) {
    if (error.status === 404) {
      // transferred out of my departments: say where it went, if known
      noteMoved(id, state.moved && state.moved.id === id ? state.moved.department : null);
      state.current = null;
      $("conversation").hidden = true;
      renderMoved();
    }
  });
}

// ---- actions ----------------------------------------------------------------------------
function act(promise, done) {
  $("action-error").textContent = "";
  return promise.then(done, function (error) {
    var message = explain(error);
    $("action-error").textContent = message;
    reloadCurrent();
    refreshLists();
  });
}

function claim(id) {
  return act(api("POST", conversationPath(id, "claim")), function () {
    announce(T.claimed);
    return refreshLists().then(function () {
      return openConversation(id);
    }).then(function () {
      $("reply-text").focus();
    });
  });
}

function sendReply(event) {
  event.preventDefault();
  var text = $("reply-text").value;
  if (!text.trim() || !state.current) return;
  var id = state.current.id;
  var claiming = state.current.state === "waiting";
  $("reply-send").disabled = true;
  act(api("POST", conversationPath(id, "messages"), { text: text }), function () {
    $("reply-text").value = "";
    $("canned").value = "";
    announce(claiming ? T.claimedBySending : T.sent);
    return reloadCurrent().then(refreshLists);
  }).then(function () {
    $("reply-send").disabled = false;
    $("reply-text").focus();
  });
}

function resend(messageId) {
  act(api("POST", conversationPath(state.current.id, "messages/" + encodeURIComponent(messageId) + "/resend")), function () {
    announce(T.resent);
    return reloadCurrent();
  });
}

function resolve() {
  var id = state.current.id;
  act(api("POST", conversationPath(id, "resolve")), function () {
    announce(T.resolved);
    return reloadCurrent().then(refreshLists);
  });
}

function transfer(event) {
  event.preventDefault();
  var department = $("transfer-department").value;
  var note = $("transfer-note").value.trim();
  var id = state.current.id;
  act(api("POST", conversationPath(id, "transfer"), { department: department, note: note || null }), function () {
    $("transfer-note").value = "";
    $("transfer").open = false;
    noteMoved(id, department);
    announce(format(T.transferred, { department: departmentName(department) }));
    return reloadCurrent().then(refreshLists);
  });
}

function addNote(event) {
  event.preventDefault();
  var text = $("note-text").value;
  if (!text.trim()) return;
  act(api("POST", conversationPath(state.current.id, "notes"), { text: text }), function () {
    $("note-text").value = "";
    announce(T.noted);
    return reloadCurrent();
  });
}

function loadCanned() {
  api("GET", "/api/officer/canned").then(function (data) {
    var select = $("canned");
    select.replaceChildren(el("option", { value: "", text: T.pickCanned }));
    var groups = {};
    data.replies.forEach(function (r, index) {
      if (!groups[r.department]) {
        groups[r.department] = el("optgroup", { label: departmentName(r.department) });
        select.append(groups[r.department]);
      }
      groups[r.department].append(el("option", { value: String(index), text: r.title }));
    });
    state.canned = data.replies;
  }, function () {});
}

function useCanned() {
  var index = $("canned").value;
  if (index === "") return;
  var reply = state.canned[Number(index)];
  var box = $("reply-text");
  box.value = box.value.trim() ? box.value.trimEnd() + "\n" + reply.text : reply.text;
  box.focus();
}

Object.assign(hooks, { claim: claim, logout: logout, openConversation: openConversation, resend: resend });

// ---- wiring ----------------------------------------------------------------------------
$("login-form").addEventListener("submit", login);
$("logout").addEventListener("click", function () {
  logout("");
});
$("claim").addEventListener("click", function () {
  if (state.current) claim(state.current.id);
});
$("resolve").addEventListener("click", resolve);
$("reply-form").addEventListener("submit", sendReply);
$("reply-text").addEventListener("keydown", function (event) {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) sendReply(event);
});
// A web-chat citizen sees "เจ้าหน้าที่กำลังพิมพ์…" for a few seconds after each call: call at most every 3 s.
var typingSentAt = 0;
$("reply-text").addEventListener("input", function () {
  if (!state.current || state.current.channel !== "webchat" || Date.now() - typingSentAt < 3000) return;
  typingSentAt = Date.now();
  api("POST", conversationPath(state.current.id, "typing")).catch(function () {});
});
$("canned").addEventListener("change", useCanned);
$("transfer-form").addEventListener("submit", transfer);
$("note-form").addEventListener("submit", addNote);
$("notify-enable").addEventListener("click", enableClicked);
$("assign-form").addEventListener("submit", function (event) {
  assign(event, function () {
    reloadCurrent().then(refreshLists);
  });
});
$("filters").addEventListener("submit", function (event) {
  event.preventDefault();
  readFilters();
  refreshLists();
});
$("filters").addEventListener("reset", function () {
  // after the browser has cleared the fields
  window.setTimeout(function () {
    readFilters();
    refreshLists();
  }, 0);
});
// waiting times move on even when nothing else happens
window.setInterval(function () {
  if (!state.token) return;
  renderQueue();
  refreshCounts();
  if (state.current && state.current.state === "waiting") $("fact-waited").textContent = waited(state.current.waiting_since).text;
}, 30000);

state.token = sessionStorage.getItem(TOKEN_KEY);
if (state.token) start();
else showLogin("");
