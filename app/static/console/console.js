/*
 * The officers' console: the queue, held conversations and one open conversation.
 *
 * Data comes from the officer API (Authorization: Bearer <token>, kept in sessionStorage for
 * this tab only); live updates from WS /api/officer/ws, which pushes queue changes for the
 * officer's departments and the messages of the conversations this page watches. After any
 * reconnect the page reloads from the API: the database is the truth, events only say "look".
 * Every text shown comes from the page (#console-config), none is written here.
 */
(function () {
  "use strict";

  var CONFIG = JSON.parse(document.getElementById("console-config").textContent);
  var L = CONFIG.labels;
  var T = L.text;
  var DEPARTMENTS = {};
  CONFIG.departments.forEach(function (d) {
    DEPARTMENTS[d.id] = d;
  });
  var TOKEN_KEY = "govchat.console.token";

  var state = {
    token: null,
    me: null,
    queue: [],
    mine: [],
    everyone: [],
    current: null, // the open conversation's detail
    unread: new Set(),
    delivered: {}, // message id -> "sent" | "failed", as last heard (a status never goes back)
    socket: null,
    reconnectDelay: 500,
    refreshTimer: null,
  };

  function $(id) {
    return document.getElementById(id);
  }

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) {
      return values[key] === undefined ? "" : String(values[key]);
    });
  }

  function el(tag, attrs, children) {
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

  function departmentName(id) {
    return (DEPARTMENTS[id] && DEPARTMENTS[id].name_th) || id || T.unknown;
  }

  function label(group, key) {
    return (L[group] && L[group][key]) || key || T.unknown;
  }

  function announce(message) {
    var announcer = $("announcer");
    announcer.textContent = "";
    // a fresh text node so screen readers announce a repeated message too
    window.setTimeout(function () {
      announcer.textContent = message;
    }, 50);
  }

  function waited(since) {
    if (!since) return { seconds: 0, text: "–" };
    var seconds = Math.max(0, (Date.now() - new Date(since).getTime()) / 1000);
    var minutes = Math.floor(seconds / 60);
    var text = minutes < 60 ? format(T.minutes, { n: minutes }) : format(T.hoursMinutes, { h: Math.floor(minutes / 60), m: minutes % 60 });
    return { seconds: seconds, text: text };
  }

  function clock(iso) {
    return new Date(iso).toLocaleString("th-TH", { dateStyle: "short", timeStyle: "short" });
  }

  // ---- the API --------------------------------------------------------------------------
  function ApiError(status, detail) {
    this.status = status;
    this.detail = detail;
  }

  function api(method, path, body) {
    var options = { method: method, headers: { Authorization: "Bearer " + state.token } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(path, options).then(function (response) {
      if (response.status === 401) {
        logout(T.sessionExpired);
        throw new ApiError(401, "");
      }
      return response.text().then(function (text) {
        var data = text ? JSON.parse(text) : {};
        if (!response.ok) throw new ApiError(response.status, data.detail);
        return data;
      });
    });
  }

  function explain(error) {
    if (!(error instanceof ApiError)) return T.failed;
    if (error.status === 409) return typeof error.detail === "string" ? T.conflict + " (" + error.detail + ")" : T.conflict;
    if (error.status === 404) return T.notFound;
    return T.failed;
  }

  // ---- login ----------------------------------------------------------------------------
  function showLogin(message) {
    $("app-view").hidden = true;
    $("whoami").hidden = true;
    $("login-view").hidden = false;
    $("login-error").textContent = message || "";
    $("username").focus();
  }

  function login(event) {
    event.preventDefault();
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
    showLogin(message);
  }

  function start() {
    api("GET", "/api/officer/me").then(function (me) {
      state.me = me;
      $("login-view").hidden = true;
      $("app-view").hidden = false;
      $("whoami").hidden = false;
      $("whoami-name").textContent = me.username;
      $("whoami-role").textContent = "(" + me.role + ")";
      $("everyone-section").hidden = !me.can_overrule;
      $("main").focus();
      loadCanned();
      connect();
      refreshLists();
    }, function () {});
  }

  // ---- live updates ---------------------------------------------------------------------
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
      if (state.current && state.current.id === event.conversation_id) reloadCurrent();
      if (event.type === "conversation_changed") scheduleRefresh();
    }
  }

  function onMessageEvent(event) {
    var message = event.message;
    if (message.delivery_status === "sent" || message.delivery_status === "failed") {
      state.delivered[message.id] = message.delivery_status;
    }
    if (event.type === "message" && message.sender === "citizen") {
      state.mine.concat(state.everyone).forEach(function (c) {
        if (c.id === event.conversation_id) c.last_message = message.text;
      });
    }
    if (state.current && state.current.id === event.conversation_id) {
      upsertMessage(message);
      if (event.type === "message" && message.sender === "citizen") {
        announce(format(T.newMessageFrom, { text: message.text }));
      }
    } else if (event.type === "message" && message.sender === "citizen") {
      state.unread.add(event.conversation_id);
      renderHeld();
      announce(format(T.newMessageFrom, { text: message.text }));
    }
  }

  function scheduleRefresh() {
    window.clearTimeout(state.refreshTimer);
    state.refreshTimer = window.setTimeout(refreshLists, 100);
  }

  // ---- the queue and held conversations ----------------------------------------------------
  function refreshLists() {
    var before = state.queue.length;
    var requests = [api("GET", "/api/officer/queue"), api("GET", "/api/officer/conversations")];
    if (state.me && state.me.can_overrule) requests.push(api("GET", "/api/officer/conversations?everyone=true"));
    return Promise.all(requests).then(function (results) {
      state.queue = results[0].conversations;
      state.mine = results[1].conversations;
      state.everyone = results[2] ? results[2].conversations : [];
      renderQueue();
      renderHeld();
      watch();
      if (state.queue.length > before) announce(format(T.newInQueue, { n: state.queue.length }));
    }, function () {});
  }

  function renderQueue() {
    var body = $("queue-body");
    body.replaceChildren();
    state.queue.forEach(function (c) {
      var wait = waited(c.waiting_since);
      var over = wait.seconds > c.target_wait_minutes * 60;
      var names = { channel: label("channels", c.channel), department: departmentName(c.department) };
      var row = el("tr", { className: over ? "over-target" : "", "data-conversation": c.id }, [
        el("td", {}, [el("span", { className: "channel", text: names.channel }), el("br"), el("span", { text: names.department })]),
        el("td", { text: label("reasons", c.reason) }),
        el("td", {}, [
          el("span", { className: "waited", text: wait.text }),
          el("br"),
          el("span", {
            className: over ? "badge breach" : "badge",
            text: format(over ? T.overTarget : T.withinTarget, { target: c.target_wait_minutes }),
          }),
        ]),
        el("td", { className: "last", text: c.last_message || "" }),
        el("td", { className: "row-actions" }, [
          el("button", { type: "button", className: "secondary", "aria-label": format(T.openLabel, names), text: T.open, onclick: function () { openConversation(c.id); } }),
          el("button", { type: "button", "aria-label": format(T.claimLabel, names), text: T.claim, onclick: function () { claim(c.id); } }),
        ]),
      ]);
      body.append(row);
    });
    $("queue-empty").hidden = state.queue.length > 0;
    $("queue-table").hidden = state.queue.length === 0;
    $("queue-count").textContent = format(T.queueCount, { n: state.queue.length });
  }

  function heldItem(c, showHolder) {
    var unread = state.unread.has(c.id);
    var text = label("channels", c.channel) + " · " + departmentName(c.department) + (showHolder ? " · " + format(T.heldBy, { name: c.assigned_username || T.unknown }) : "");
    var button = el("button", { type: "button", className: "link", "aria-current": state.current && state.current.id === c.id ? "true" : null, onclick: function () { openConversation(c.id); } }, [
      el("span", { text: text }),
      unread ? el("span", { className: "badge unread", text: T.unread }) : null,
      c.last_message ? el("span", { className: "last", text: c.last_message }) : null,
    ]);
    return el("li", { "data-conversation": c.id }, [button]);
  }

  function renderHeld() {
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

  // ---- one conversation ------------------------------------------------------------------
  function openConversation(id) {
    return api("GET", "/api/officer/conversations/" + encodeURIComponent(id)).then(function (detail) {
      state.current = state.current && state.current.id === id ? merged(detail, state.current) : detail;
      state.unread.delete(id);
      renderConversation();
      renderHeld();
      watch();
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
        state.current = null; // transferred out of my departments
        $("conversation").hidden = true;
      }
    });
  }

  // A reload answered before an event arrived must not undo what the event showed.
  function merged(fresh, shown) {
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

  function holdsIt(detail) {
    return detail.state === "with_officer" && detail.assigned_to === state.me.id;
  }

  function renderConversation() {
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
  }

  function messageItem(m) {
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
      // what the bot understood: helps the officer see why the conversation came to them
      var topic = m.nlu.faq_id ? " · " + m.nlu.faq_id : "";
      item.append(el("p", { className: "meta nlu", text: format(T.understood, { intent: m.nlu.intent + topic, confidence: Math.round((m.nlu.confidence || 0) * 100), action: m.nlu.action }) }));
    }
    if (m.direction === "out" && m.delivery_status === "failed") {
      item.append(el("button", { type: "button", className: "secondary", "aria-label": T.resendLabel, text: T.resend, onclick: function () { resend(m.id); } }));
    }
    return item;
  }

  function upsertMessage(message) {
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

  function renderAttachments(attachments) {
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
  function download(path, filename) {
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

  function renderComplaints(cases) {
    var list = $("complaints");
    list.replaceChildren();
    (cases || []).forEach(function (c) {
      list.append(el("li", {}, [el("strong", { text: c.number }), el("span", { text: " · " + label("caseStatuses", c.status) }), el("p", { text: c.description || "" })]));
    });
    $("complaints-section").hidden = !(cases && cases.length);
  }

  function renderNotes(notes) {
    var list = $("notes");
    list.replaceChildren();
    (notes || []).forEach(function (n) {
      var heading = (n.officer_username || T.unknown) + " · " + clock(n.created_at);
      if (n.kind === "transfer" && n.detail) heading += " · " + format(T.transferNote, { from: departmentName(n.detail.from) }) + " → " + departmentName(n.detail.to);
      list.append(el("li", {}, [el("p", { className: "meta", text: heading }), n.text ? el("p", { text: n.text }) : null]));
    });
  }

  // ---- actions ---------------------------------------------------------------------------
  function act(promise, done) {
    $("action-error").textContent = "";
    return promise.then(done, function (error) {
      var message = explain(error);
      $("action-error").textContent = message;
      reloadCurrent();
      refreshLists();
    });
  }

  function conversationPath(id, action) {
    return "/api/officer/conversations/" + encodeURIComponent(id) + (action ? "/" + action : "");
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
    $("reply-send").disabled = true;
    act(api("POST", conversationPath(id, "messages"), { text: text }), function () {
      $("reply-text").value = "";
      $("canned").value = "";
      announce(T.sent);
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
    act(api("POST", conversationPath(state.current.id, "transfer"), { department: department, note: note || null }), function () {
      $("transfer-note").value = "";
      $("transfer").open = false;
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
  $("canned").addEventListener("change", useCanned);
  $("transfer-form").addEventListener("submit", transfer);
  $("note-form").addEventListener("submit", addNote);
  // waiting times move on even when nothing else happens
  window.setInterval(function () {
    if (!state.token) return;
    renderQueue();
    if (state.current && state.current.state === "waiting") $("fact-waited").textContent = waited(state.current.waiting_since).text;
  }, 30000);

  state.token = sessionStorage.getItem(TOKEN_KEY);
  if (state.token) start();
  else showLogin("");
})();
