/*
 * govchat web-chat widget: plain JavaScript, no framework, no build step, nothing from the internet.
 *
 * On the hub's own page (/) it mounts itself into every element with the attribute
 * `data-govchat-widget`. To embed it on another agency page, add one element and one script:
 *
 *   <div id="chat" data-govchat-widget></div>
 *   <script src="https://HUB/static/webchat/widget.js" defer></script>
 *
 * The script loads its own stylesheet (and with it the Thai font) and talks to the hub it was
 * served from; the hub must allow the page's origin (CORS) when it is another site.
 * `data-govchat-base="https://HUB"` on the element overrides the hub address, and
 * `window.GovchatWidget.mount(element, { baseUrl })` mounts it by hand.
 *
 * Protocol (INTERFACES.md, "Web chat"): a session is created on the first message and kept in
 * sessionStorage (a reload continues the conversation). Each message is sent with its own
 * client_message_id, retried with the same id (the hub processes it once). Every server message is
 * rendered once, keyed by id, whether it arrives in the POST answer, the WebSocket or the
 * catch-up GET (?after=) that runs on every (re)connect.
 */
(function () {
  "use strict";

  // Every text the citizen sees, in one place.
  var TEXT = {
    title: "ถาม-ตอบกับผู้ช่วยอัตโนมัติ",
    welcome:
      "สวัสดีค่ะ ดิฉันเป็นผู้ช่วยอัตโนมัติ (แชตบอต) พิมพ์คำถามได้เลย เช่น \u201cจองชื่อบริษัทออนไลน์อย่างไร\u201d " +
      "หากต้องการคุยกับเจ้าหน้าที่ กดปุ่ม \u201cคุยกับเจ้าหน้าที่\u201d ได้ทุกเมื่อค่ะ " +
      "โปรดอย่าส่งเลขบัตรประชาชนหรือรหัสผ่านในแชต",
    logLabel: "ข้อความในแชต",
    inputLabel: "พิมพ์คำถามของท่าน",
    inputHint: "กด Enter เพื่อส่ง (Shift+Enter ขึ้นบรรทัดใหม่)",
    send: "ส่ง",
    human: "คุยกับเจ้าหน้าที่",
    humanMessage: "คุยกับเจ้าหน้าที่",
    quickRepliesLabel: "ตัวเลือกที่แนะนำ",
    you: "ท่าน",
    bot: "ผู้ช่วยอัตโนมัติ",
    officer: "เจ้าหน้าที่",
    sending: "กำลังส่ง…",
    failed: "ส่งไม่สำเร็จ กดเพื่อส่งอีกครั้ง",
    typing: "ผู้ช่วยกำลังพิมพ์คำตอบ…",
    newWindow: " (เปิดหน้าต่างใหม่)",
    tooLong: "ข้อความยาวเกิน 2,000 ตัวอักษร กรุณาแบ่งส่งเป็นหลายข้อความ",
    rejected: "ระบบรับข้อความนี้ไม่ได้ กรุณาแก้ไขแล้วส่งใหม่",
    restarted: "การสนทนาเดิมหมดอายุแล้ว ข้อความถัดไปจะเริ่มการสนทนาใหม่",
    status: {
      idle: "พร้อมให้บริการ พิมพ์คำถามได้เลย",
      connecting: "กำลังเชื่อมต่อ…",
      online: "เชื่อมต่อแล้ว",
      reconnecting: "การเชื่อมต่อขัดข้อง กำลังเชื่อมต่อใหม่…",
      offline: "ไม่มีสัญญาณอินเทอร์เน็ต ข้อความจะส่งเมื่อกลับมาออนไลน์",
    },
  };

  var MAX_CODE_POINTS = 2000;
  var AUTO_RETRIES = 4; // then the bubble offers "tap to send again"
  var REQUEST_TIMEOUT_MS = 15000;
  var TYPING_TIMEOUT_MS = 20000;
  var POLL_MS = 3000;
  var SCRIPT = document.currentScript; // only set while this file first runs
  var mounted = 0;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") node.textContent = attrs[name];
      else node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) {
      node.append(child);
    });
    return node;
  }

  // Message ids are strings; the hub's are decimal integers, compared as numbers.
  function compareIds(a, b) {
    if (/^\d+$/.test(a) && /^\d+$/.test(b) && a.length !== b.length) return a.length - b.length;
    return a < b ? -1 : a > b ? 1 : 0;
  }

  // crypto.randomUUID needs a secure context; agency intranets may serve plain http.
  function uuid() {
    if (window.crypto && crypto.randomUUID) {
      try {
        return crypto.randomUUID();
      } catch (e) {
        /* insecure context: fall through */
      }
    }
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) {
      return (x + 0x100).toString(16).slice(1);
    });
    return [h.slice(0, 4), h.slice(4, 6), h.slice(6, 8), h.slice(8, 10), h.slice(10)].map(function (p) {
      return p.join("");
    }).join("-");
  }

  // A full stop or a closing bracket after a link belongs to the sentence, unless the link opened it.
  function trimTrailingPunctuation(url) {
    for (;;) {
      var trimmed = url.replace(/[.,;:!?'"\]]+$/, "");
      if (/\)$/.test(trimmed) && trimmed.split("(").length < trimmed.split(")").length) trimmed = trimmed.slice(0, -1);
      if (trimmed === url) return url;
      url = trimmed;
    }
  }

  // Text with http(s) links made clickable, built from text nodes: message text is never parsed as HTML.
  var URL_PATTERN = /https?:\/\/[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+/g;
  function linkified(text) {
    var fragment = document.createDocumentFragment();
    var last = 0;
    text.replace(URL_PATTERN, function (match, offset) {
      var url = trimTrailingPunctuation(match);
      var href = null;
      try {
        var parsed = new URL(url);
        if (parsed.protocol === "https:" || parsed.protocol === "http:") href = parsed.href;
      } catch (e) {
        href = null;
      }
      if (!href) return match;
      fragment.append(text.slice(last, offset));
      fragment.append(
        el("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, [
          url,
          el("span", { class: "gc-visually-hidden", text: TEXT.newWindow }),
        ])
      );
      last = offset + url.length;
      return match;
    });
    fragment.append(text.slice(last));
    return fragment;
  }

  function timeOf(iso) {
    var date = new Date(iso);
    if (isNaN(date.getTime())) return null;
    return el("time", {
      datetime: iso,
      text: date.toLocaleTimeString("th-TH", { hour: "2-digit", minute: "2-digit" }),
    });
  }

  function mount(host, options) {
    if (host.govchat) return host.govchat;
    options = options || {};
    var base = (options.baseUrl || host.getAttribute("data-govchat-base") || defaultBase()).replace(/\/+$/, "");
    var storageKey = "govchat.webchat:" + base;
    var prefix = host.id || "govchat-" + ++mounted;

    // ---- DOM ---------------------------------------------------------------------------------
    var titleId = prefix + "-title";
    var inputId = prefix + "-input";
    var hintId = prefix + "-hint";
    var errorId = prefix + "-error";
    var status = el("p", { class: "gc-status", role: "status", "data-state": "idle", text: TEXT.status.idle });
    var humanButton = el("button", { type: "button", class: "gc-button gc-human", text: TEXT.human });
    var list = el("ol", { class: "gc-messages" });
    var log = el(
      "div",
      { class: "gc-log", role: "log", "aria-live": "polite", "aria-label": TEXT.logLabel, tabindex: "0" },
      [el("p", { class: "gc-msg gc-msg--out gc-welcome", text: host.getAttribute("data-welcome") || TEXT.welcome }), list]
    );
    var typing = el("p", { class: "gc-typing", hidden: "", text: TEXT.typing });
    var quick = el("div", { class: "gc-quick", role: "group", "aria-label": TEXT.quickRepliesLabel, hidden: "" });
    var input = el("textarea", {
      id: inputId,
      class: "gc-input",
      rows: "2",
      autocomplete: "off",
      enterkeyhint: "send",
      "aria-describedby": hintId + " " + errorId,
    });
    var sendButton = el("button", { type: "submit", class: "gc-button gc-send", text: TEXT.send });
    var error = el("p", { id: errorId, class: "gc-error", role: "alert" });
    var form = el("form", { class: "gc-form", novalidate: "" }, [
      el("label", { for: inputId, class: "gc-label", text: TEXT.inputLabel }),
      el("div", { class: "gc-row" }, [input, sendButton]),
      el("p", { id: hintId, class: "gc-hint", text: TEXT.inputHint }),
      error,
    ]);
    var widget = el("section", { class: "gc-widget", "aria-labelledby": titleId }, [
      el("div", { class: "gc-header" }, [
        el("div", { class: "gc-heading" }, [el("h2", { id: titleId, class: "gc-title", text: TEXT.title }), status]),
        humanButton,
      ]),
      log,
      typing,
      quick,
      form,
    ]);
    host.replaceChildren(widget);

    // ---- state -------------------------------------------------------------------------------
    var session = loadSession(); // {id, token} or null until the first message
    var byId = new Map(); // server message id -> its <li>; each message is rendered once
    var cursor = null; // highest id returned by a catch-up GET: everything up to it is rendered
    var outbox = []; // messages typed but not yet accepted: {cid, text, li, boundId}
    var sendChain = Promise.resolve(); // sends go one at a time, in the order typed
    var sessionPromise = null;
    var socket = null;
    var attempt = 0;
    var reconnectTimer = null;
    var catching = null;
    var catchAgain = false;
    var awaitingReplyAfter = null;
    var typingTimer = null;
    var pollTimer = null;
    var shownOptions = null; // the quick replies on screen (those of the last message)

    function defaultBase() {
      if (SCRIPT && SCRIPT.src) return new URL(SCRIPT.src).origin;
      return window.location.origin;
    }

    function loadSession() {
      try {
        var stored = JSON.parse(sessionStorage.getItem(storageKey) || "null");
        return stored && stored.id && stored.token ? stored : null;
      } catch (e) {
        return null;
      }
    }

    function store(key, value) {
      try {
        if (value === null) sessionStorage.removeItem(key);
        else sessionStorage.setItem(key, JSON.stringify(value));
      } catch (e) {
        /* private mode or full storage: the chat still works for this page view */
      }
    }

    function saveOutbox() {
      store(storageKey + ":outbox", outbox.map(function (e) {
        return { cid: e.cid, text: e.text };
      }));
    }

    function setStatus(state) {
      if (status.getAttribute("data-state") === state) return;
      status.setAttribute("data-state", state);
      status.textContent = TEXT.status[state];
    }

    // ---- HTTP --------------------------------------------------------------------------------
    function api(method, path, body) {
      var controller = new AbortController();
      var timer = setTimeout(function () {
        controller.abort();
      }, REQUEST_TIMEOUT_MS);
      var headers = { Accept: "application/json" };
      if (body) headers["Content-Type"] = "application/json";
      if (session && path) headers.Authorization = "Bearer " + session.token;
      return fetch(base + "/api/webchat/sessions" + path, {
        method: method,
        headers: headers,
        body: body ? JSON.stringify(body) : undefined,
        signal: controller.signal,
        cache: "no-store",
        credentials: "omit",
      })
        .then(function (response) {
          return response.json().then(
            function (data) {
              return { status: response.status, data: data };
            },
            function () {
              return { status: response.status, data: null };
            }
          );
        })
        .finally(function () {
          clearTimeout(timer);
        });
    }

    function ensureSession() {
      if (session) return Promise.resolve(session);
      if (!sessionPromise) {
        sessionPromise = api("POST", "")
          .then(function (res) {
            if (res.status !== 201 || !res.data) throw new Error("session not created: " + res.status);
            session = { id: res.data.session_id, token: res.data.token };
            store(storageKey, session);
            connect();
            return session;
          })
          .finally(function () {
            sessionPromise = null;
          });
      }
      return sessionPromise;
    }

    // The token or the session is no longer valid (e.g. the hub's data was reset): start afresh.
    function sessionLost() {
      if (!session) return;
      session = null;
      cursor = null;
      store(storageKey, null);
      closeSocket();
      clearTimeout(reconnectTimer);
      list.append(el("li", { class: "gc-notice", text: TEXT.restarted }));
      setStatus("idle");
    }

    // ---- rendering ---------------------------------------------------------------------------
    function bubble(direction, sender, text) {
      var who = sender === "officer" ? TEXT.officer : sender === "bot" ? TEXT.bot : TEXT.you;
      var li = el("li", { class: "gc-msg gc-msg--" + (direction === "in" ? "in" : "out") + " gc-msg--" + sender });
      li.append(
        el("p", { class: "gc-who" + (direction === "in" ? " gc-visually-hidden" : ""), text: who }),
        el("p", { class: "gc-text" }, [linkified(text)]),
        el("p", { class: "gc-meta" })
      );
      return li;
    }

    function setMeta(li, children) {
      li.querySelector(".gc-meta").replaceChildren.apply(li.querySelector(".gc-meta"), children);
    }

    // Server messages sorted by id; still-unsent ones (no id yet) stay at the end.
    function place(li, id) {
      var node = list.lastElementChild;
      while (node && (!node.dataset.id || compareIds(node.dataset.id, id) > 0)) node = node.previousElementSibling;
      list.insertBefore(li, node ? node.nextElementSibling : list.firstElementChild);
    }

    function render(message) {
      var id = String(message.id);
      if (byId.has(id)) return;
      var li = adoptUnsent(message);
      if (!li) {
        li = bubble(message.direction, message.sender, message.text || "");
        li.quickReplies = message.direction === "out" ? message.quick_replies || [] : [];
      }
      var time = timeOf(message.created_at);
      setMeta(li, time ? [time] : []);
      li.dataset.id = id;
      byId.set(id, li);
      var atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 48;
      place(li, id);
      if (message.direction === "out" && awaitingReplyAfter && compareIds(id, awaitingReplyAfter) > 0) showTyping(false);
      updateQuickReplies();
      if (atEnd || message.direction === "in") log.scrollTop = log.scrollHeight;
    }

    // The WebSocket may push the citizen's own message before the POST answers: reuse its bubble.
    function adoptUnsent(message) {
      if (message.direction !== "in") return null;
      for (var i = 0; i < outbox.length; i++) {
        var entry = outbox[i];
        if (!entry.boundId && entry.text === message.text) {
          entry.boundId = String(message.id);
          entry.li.remove();
          entry.li.quickReplies = [];
          return entry.li;
        }
      }
      return null;
    }

    function updateQuickReplies() {
      var last = list.lastElementChild;
      var options = last && last.dataset.id && last.quickReplies ? last.quickReplies : [];
      if (options === shownOptions) return; // unchanged: keep the buttons (and the focus on them)
      shownOptions = options;
      var hadFocus = quick.contains(document.activeElement);
      quick.replaceChildren.apply(
        quick,
        options.map(function (option) {
          var button = el("button", { type: "button", class: "gc-button gc-quick-reply", text: option });
          button.addEventListener("click", function () {
            submit(option);
          });
          return button;
        })
      );
      quick.hidden = options.length === 0;
      if (hadFocus) input.focus(); // the button pressed is gone; keep the keyboard in the chat
    }

    // While a reply is awaited without a WebSocket (blocked by a proxy, or reconnecting), poll for it.
    function showTyping(on) {
      clearTimeout(typingTimer);
      clearInterval(pollTimer);
      typing.hidden = !on;
      if (on) {
        typingTimer = setTimeout(showTyping, TYPING_TIMEOUT_MS, false);
        pollTimer = setInterval(function () {
          if (!socket || socket.readyState !== WebSocket.OPEN) catchUp();
        }, POLL_MS);
      } else {
        awaitingReplyAfter = null;
      }
    }

    // ---- sending -----------------------------------------------------------------------------
    function submit(text) {
      text = text.trim();
      error.textContent = "";
      if (!text) return false;
      if (Array.from(text).length > MAX_CODE_POINTS) {
        error.textContent = TEXT.tooLong;
        return false;
      }
      var entry = { cid: uuid(), text: text, li: null, boundId: null };
      queue(entry);
      saveOutbox();
      input.focus();
      return true;
    }

    function queue(entry) {
      entry.li = entry.li || bubble("in", "citizen", entry.text);
      if (!entry.li.isConnected && !entry.boundId) list.append(entry.li);
      if (outbox.indexOf(entry) < 0) outbox.push(entry);
      setMeta(entry.li, [TEXT.sending]);
      entry.li.classList.remove("gc-msg--failed");
      updateQuickReplies();
      log.scrollTop = log.scrollHeight;
      sendChain = sendChain
        .then(function () {
          return deliver(entry);
        })
        .catch(function () {
          failed(entry); // never let one broken send stop the ones after it
        });
    }

    function deliver(entry) {
      var tries = 0;
      function attemptSend() {
        if (navigator.onLine === false) return Promise.resolve(failed(entry));
        return ensureSession()
          .then(function (current) {
            return api("POST", "/" + encodeURIComponent(current.id) + "/messages", {
              text: entry.text,
              client_message_id: entry.cid,
            });
          })
          .then(
            function (res) {
              if (res.status === 202 && res.data) return accepted(entry, String(res.data.message_id));
              if (res.status === 401 || res.status === 403 || res.status === 404) sessionLost();
              else if (res.status === 422 || res.status === 409 || res.status === 413) return rejected(entry);
              return retryLater();
            },
            retryLater // network error or timeout: the same client_message_id is safe to send again
          );
      }
      function retryLater() {
        if (++tries > AUTO_RETRIES) return failed(entry);
        return new Promise(function (resolve) {
          setTimeout(resolve, 1000 * Math.pow(2, tries - 1));
        }).then(attemptSend);
      }
      return attemptSend();
    }

    function dropFromOutbox(entry) {
      var index = outbox.indexOf(entry);
      if (index >= 0) outbox.splice(index, 1);
      saveOutbox();
    }

    function accepted(entry, id) {
      dropFromOutbox(entry);
      if (!entry.boundId) {
        if (byId.has(id)) {
          entry.li.remove(); // already shown through the WebSocket or a catch-up
        } else {
          entry.li.remove();
          entry.li.dataset.id = id;
          entry.li.quickReplies = [];
          byId.set(id, entry.li);
          place(entry.li, id);
          setMeta(entry.li, []);
        }
      } else if (entry.boundId !== id) {
        // It took the bubble of an identical earlier text; its own copy comes with the catch-up.
        catchUp();
      }
      var last = list.lastElementChild;
      if (!(last && last.dataset.id && compareIds(last.dataset.id, id) > 0)) {
        awaitingReplyAfter = id; // no answer yet (the WebSocket can be faster than this POST)
        showTyping(true);
      }
      updateQuickReplies();
    }

    function failed(entry) {
      var retry = el("button", { type: "button", class: "gc-retry", text: TEXT.failed });
      retry.addEventListener("click", function () {
        input.focus(); // the retry button disappears once pressed
        queue(entry);
      });
      entry.li.classList.add("gc-msg--failed");
      setMeta(entry.li, [retry]);
      if (entry.li === list.lastElementChild) log.scrollTop = log.scrollHeight;
    }

    function rejected(entry) {
      dropFromOutbox(entry);
      entry.li.remove();
      error.textContent = TEXT.rejected;
      if (!input.value) input.value = entry.text;
    }

    // ---- receiving ---------------------------------------------------------------------------
    function catchUp() {
      if (!session) return;
      if (catching) {
        catchAgain = true; // one more round once this one is done
        return;
      }
      var path = "/" + encodeURIComponent(session.id) + "/messages" + (cursor ? "?after=" + encodeURIComponent(cursor) : "");
      catching = api("GET", path)
        .then(function (res) {
          if (res.status === 200 && res.data) {
            res.data.messages.forEach(function (message) {
              render(message);
              if (!cursor || compareIds(String(message.id), cursor) > 0) cursor = String(message.id);
            });
          } else if (res.status === 400) {
            cursor = null; // the hub does not know our cursor: read the whole conversation again
            catchAgain = true;
          } else if (res.status === 401 || res.status === 403 || res.status === 404) {
            sessionLost();
          }
        })
        .catch(function () {
          /* offline: the next (re)connect catches up */
        })
        .finally(function () {
          catching = null;
          if (catchAgain) {
            catchAgain = false;
            catchUp();
          }
        });
    }

    function connect() {
      clearTimeout(reconnectTimer);
      if (!session || socket) return;
      setStatus(navigator.onLine === false ? "offline" : attempt ? "reconnecting" : "connecting");
      var url = base.replace(/^http/, "ws") + "/api/webchat/sessions/" + encodeURIComponent(session.id) +
        "/ws?token=" + encodeURIComponent(session.token);
      var ws = new WebSocket(url);
      var opened = false;
      socket = ws;
      ws.onopen = function () {
        opened = true;
        attempt = 0;
        setStatus("online");
        catchUp(); // whatever arrived while we were away
      };
      ws.onmessage = function (event) {
        var data = null;
        try {
          data = JSON.parse(event.data);
        } catch (e) {
          return;
        }
        if (data && data.type === "message" && data.message) render(data.message);
      };
      ws.onclose = function () {
        if (socket !== ws) return;
        socket = null;
        // A refused handshake looks like any other failure; the GET tells whether the session is gone.
        if (!opened) catchUp();
        scheduleReconnect();
      };
    }

    function scheduleReconnect() {
      if (!session) return;
      // 0.5 s, 1 s, 2 s … up to 30 s, with jitter so a restarted hub is not hit by everyone at once.
      var delay = Math.min(30000, 500 * Math.pow(2, attempt)) * (0.5 + Math.random() / 2);
      attempt += 1;
      setStatus(navigator.onLine === false ? "offline" : "reconnecting");
      reconnectTimer = setTimeout(connect, delay);
    }

    function closeSocket() {
      var ws = socket;
      socket = null;
      if (ws) ws.close();
    }

    // ---- events ------------------------------------------------------------------------------
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (submit(input.value)) input.value = "";
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        sendButton.click();
      }
    });
    humanButton.addEventListener("click", function () {
      submit(TEXT.humanMessage);
    });
    window.addEventListener("offline", function () {
      setStatus("offline");
      closeSocket(); // a dead connection may not say so for minutes; reconnect when back
      scheduleReconnect();
    });
    window.addEventListener("online", function () {
      attempt = 0;
      connect();
      outbox.forEach(function (entry) {
        if (entry.li.classList.contains("gc-msg--failed")) queue(entry);
      });
    });
    document.addEventListener("visibilitychange", function () {
      // Phones suspend background tabs; check for what arrived while the page was hidden.
      if (document.visibilityState !== "visible" || !session) return;
      if (socket) catchUp();
      else connect();
    });

    // ---- start -------------------------------------------------------------------------------
    if (session) connect();
    try {
      JSON.parse(sessionStorage.getItem(storageKey + ":outbox") || "[]").forEach(function (saved) {
        queue({ cid: saved.cid, text: saved.text, li: null, boundId: null }); // same id: sent once
      });
    } catch (e) {
      /* nothing saved */
    }

    host.govchat = { element: widget, input: input };
    return host.govchat;
  }

  function ensureStylesheet() {
    if (document.querySelector('link[href$="/static/webchat/widget.css"]') || !SCRIPT || !SCRIPT.src) return;
    document.head.append(el("link", { rel: "stylesheet", href: new URL("widget.css", SCRIPT.src).href }));
  }

  function mountAll() {
    ensureStylesheet();
    document.querySelectorAll("[data-govchat-widget]").forEach(function (host) {
      mount(host);
    });
  }

  window.GovchatWidget = { mount: mount };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll);
  else mountAll();
})();
