/*
 * govchat web-chat widget: plain JavaScript, no framework, no build step, nothing from the internet.
 *
 * One tag on any page of an allowed site (GOVCHAT_WIDGET_ORIGINS) adds a chat launcher:
 *
 *   <script src="https://HUB/widget.js" defer></script>
 *
 * Options, as data- attributes of that tag: data-position="bottom-right|bottom-left",
 * data-title="…", data-primary-color="#0b4ea2", data-lang="th|en", data-open="true" (open at once).
 * The panel lives in a shadow root: the page's CSS cannot reach it and its CSS cannot reach the
 * page. Its styles come from the hub's widget.css through a <link> and its fonts through the
 * FontFace API, so it needs no inline script or style (a strict CSP on the page keeps working).
 *
 * Protocol (INTERFACES.md, "Web chat" and "Web-chat widget"): the session is kept in
 * localStorage until it expires, so a reload, a new tab or a return visit shows the history.
 * Messages typed wait in an outbox (also in localStorage) and are sent one at a time, each with
 * its own client_message_id, again and again until the hub has them: the hub stores each once.
 * Every server message is rendered once, keyed by id, whether it comes in the WebSocket or in the
 * catch-up GET (?after=) that runs on every (re)connect. "Typing" is shown only when the hub says
 * someone is really typing.
 */
(function () {
  "use strict";

  var SERVER_CONFIG = /* GOVCHAT_CONFIG */ {};
  var SESSION_DAYS = SERVER_CONFIG.sessionDays || 30;
  var RETENTION_DAYS = SERVER_CONFIG.retentionDays || 365;

  // Every text the citizen sees, in one place.
  var TEXTS = {
    th: {
      title: "ถาม-ตอบกับผู้ช่วยอัตโนมัติ",
      launcher: "แชตถาม-ตอบ",
      unread: "ข้อความใหม่ {n} ข้อความ",
      close: "ปิดหน้าต่างแชต",
      welcome:
        "สวัสดีค่ะ ดิฉันเป็นผู้ช่วยอัตโนมัติ (แชตบอต) พิมพ์คำถามได้เลย เช่น \u201cจองชื่อบริษัทออนไลน์อย่างไร\u201d " +
        "หากต้องการคุยกับเจ้าหน้าที่ กดปุ่ม \u201cคุยกับเจ้าหน้าที่\u201d ได้ทุกเมื่อค่ะ " +
        "โปรดอย่าส่งเลขบัตรประชาชนหรือรหัสผ่านในแชต",
      kept:
        "เบราว์เซอร์นี้จำการสนทนาไว้ {days} วัน เพื่อให้ท่านกลับมาอ่านต่อได้ " +
        "ข้อความที่ส่งแล้วหน่วยงานเก็บไว้ไม่เกิน {retention} วันตามนโยบายคุ้มครองข้อมูลส่วนบุคคล",
      restart: "เริ่มบทสนทนาใหม่",
      restartConfirm:
        "เริ่มบทสนทนาใหม่หรือไม่ เบราว์เซอร์นี้จะลืมการสนทนาเดิม (หน่วยงานยังเก็บข้อความเดิมไว้ตามนโยบายฯ)",
      restarted: "เริ่มบทสนทนาใหม่แล้ว",
      logLabel: "ข้อความในแชต",
      inputLabel: "พิมพ์คำถามของท่าน",
      inputHint: "กด Enter เพื่อส่ง (Shift+Enter ขึ้นบรรทัดใหม่)",
      send: "ส่ง",
      attach: "แนบรูปภาพหรือไฟล์ PDF",
      attachHint: "รูป JPEG, PNG หรือไฟล์ PDF ไม่เกิน 10 MB",
      human: "คุยกับเจ้าหน้าที่",
      quickRepliesLabel: "ตัวเลือกที่แนะนำ",
      you: "ท่าน",
      bot: "ผู้ช่วยอัตโนมัติ",
      officer: "เจ้าหน้าที่",
      sending: "กำลังส่ง…",
      queued: "รอส่ง จะส่งให้อัตโนมัติเมื่อเชื่อมต่อได้",
      typingBot: "ผู้ช่วยกำลังพิมพ์คำตอบ…",
      typingOfficer: "เจ้าหน้าที่กำลังพิมพ์…",
      newWindow: " (เปิดหน้าต่างใหม่)",
      tooLong: "ข้อความยาวเกิน 2,000 ตัวอักษร กรุณาแบ่งส่งเป็นหลายข้อความ",
      rejected: "ระบบรับข้อความนี้ไม่ได้ กรุณาแก้ไขแล้วส่งใหม่",
      fileTooLarge: "ไฟล์ใหญ่เกิน 10 MB กรุณาส่งไฟล์ที่เล็กกว่านี้",
      fileType: "ส่งได้เฉพาะรูป JPEG, PNG หรือไฟล์ PDF",
      expired: "การสนทนาเดิมหมดอายุแล้ว ข้อความถัดไปจะเริ่มการสนทนาใหม่",
      file: "ไฟล์",
      image: "รูปภาพ",
      status: {
        idle: "พร้อมให้บริการ พิมพ์คำถามได้เลย",
        connecting: "กำลังเชื่อมต่อ…",
        online: "เชื่อมต่อแล้ว",
        reconnecting: "การเชื่อมต่อขัดข้อง กำลังเชื่อมต่อใหม่… ข้อความจะส่งเมื่อเชื่อมต่อได้",
        offline: "ไม่มีสัญญาณอินเทอร์เน็ต ข้อความจะส่งเมื่อกลับมาออนไลน์",
      },
    },
    en: {
      title: "Ask our assistant",
      launcher: "Chat with us",
      unread: "{n} new messages",
      close: "Close the chat",
      welcome:
        "Hello, I am an automated assistant (chatbot). Type your question, or press \u201cTalk to an officer\u201d " +
        "at any time. Please do not send your ID card number or passwords in the chat.",
      kept:
        "This browser remembers the conversation for {days} days so you can come back to it. " +
        "The agency keeps messages for at most {retention} days under its privacy policy.",
      restart: "Start a new conversation",
      restartConfirm: "Start a new conversation? This browser will forget the current one.",
      restarted: "A new conversation has started",
      logLabel: "Chat messages",
      inputLabel: "Type your question",
      inputHint: "Enter sends (Shift+Enter for a new line)",
      send: "Send",
      attach: "Attach a picture or a PDF",
      attachHint: "JPEG or PNG pictures, or PDF files, up to 10 MB",
      human: "Talk to an officer",
      quickRepliesLabel: "Suggested replies",
      you: "You",
      bot: "Assistant",
      officer: "Officer",
      sending: "Sending…",
      queued: "Waiting: it will be sent once connected",
      typingBot: "The assistant is typing…",
      typingOfficer: "An officer is typing…",
      newWindow: " (opens a new window)",
      tooLong: "The message is longer than 2,000 characters: please split it",
      rejected: "This message could not be accepted: please change it and send again",
      fileTooLarge: "The file is larger than 10 MB",
      fileType: "Only JPEG or PNG pictures and PDF files can be sent",
      expired: "The earlier conversation has expired; the next message starts a new one",
      file: "File",
      image: "Picture",
      status: {
        idle: "Ready: type your question",
        connecting: "Connecting…",
        online: "Connected",
        reconnecting: "Connection lost, reconnecting… messages will be sent once connected",
        offline: "No internet connection: messages will be sent when you are back online",
      },
    },
  };

  // What the "talk to an officer" button sends, in any language: the hub understands Thai.
  var HUMAN_REQUEST = "คุยกับเจ้าหน้าที่";
  var MAX_CODE_POINTS = 2000;
  var MAX_FILE_BYTES = 10 * 1024 * 1024;
  var FILE_TYPES = ["image/jpeg", "image/png", "application/pdf"];
  var REQUEST_TIMEOUT_MS = 15000;
  var UPLOAD_TIMEOUT_MS = 120000;
  var POLL_MS = 5000; // only while the WebSocket is down
  var SCRIPT = document.currentScript; // only set while this file first runs
  // Twemoji as a COLR font (npm twemoji-colr-font 15.0.3, OFL): colour emoji in every browser, for
  // readers whose system has no emoji font; fetched only when a message holds an emoji.
  var EMOJI_FONT = "twemoji-colr-15.0.3.woff2";
  var EMOJI_RANGE =
    "U+200D,U+20E3,U+203C,U+2049,U+2139,U+2194-21AA,U+231A-23FF,U+24C2,U+25AA-27BF,U+2934-2935,U+2B05-2B55,U+3030,U+303D,U+3297,U+3299,U+FE0F,U+1F000-1FAFF,U+E0020-E007F";
  var SARABUN_RANGES = {
    thai: "U+02D7,U+0303,U+0331,U+0E01-0E5B,U+200C-200D,U+25CC",
    latin:
      "U+0000-00FF,U+0131,U+0152-0153,U+02BB-02BC,U+02C6,U+02DA,U+02DC,U+0304,U+0308,U+0329,U+2000-206F,U+20AC,U+2122,U+2191,U+2193,U+2212,U+2215,U+FEFF,U+FFFD",
  };

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

  // Icons drawn as SVG, not emoji: they must show whatever fonts the reader has.
  var ICONS = {
    chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z",
    paperclip: "M21 11.5l-8.5 8.5a5 5 0 0 1-7-7L14 4.5a3.5 3.5 0 0 1 5 5L10.5 18a2 2 0 0 1-3-3L15 7.5",
  };

  function icon(path) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    var shape = document.createElementNS(ns, "path");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "gc-icon");
    shape.setAttribute("d", path);
    svg.append(shape);
    return svg;
  }

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) {
      return String(values[key]);
    });
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
    return Array.prototype.map.call(b, function (x) {
      return (x + 0x100).toString(16).slice(1);
    }).join("");
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
  function linkified(text, T) {
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
          el("span", { class: "gc-visually-hidden", text: T.newWindow }),
        ])
      );
      last = offset + url.length;
      return match;
    });
    fragment.append(text.slice(last));
    return fragment;
  }

  function timeOf(date, lang) {
    if (isNaN(date.getTime())) return null;
    return el("time", {
      datetime: date.toISOString(),
      text: date.toLocaleTimeString(lang === "en" ? "en-GB" : "th-TH", { hour: "2-digit", minute: "2-digit" }),
    });
  }

  function sizeText(bytes) {
    return bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(bytes / 1024)) + " KB";
  }

  // Fonts through the FontFace API: @font-face inside a shadow root is ignored, and unique family
  // names keep the page's own fonts (many agency sites use Sarabun too) untouched.
  function loadFonts(base) {
    if (!window.FontFace || !document.fonts) return;
    var fonts = base + "/static/fonts/";
    [["thai", "400"], ["thai", "700"], ["latin", "400"], ["latin", "700"]].forEach(function (face) {
      var url = "url(" + fonts + "sarabun-" + face[0] + "-" + face[1] + "-normal.woff2) format('woff2')";
      document.fonts.add(new FontFace("govchat-sarabun", url, { weight: face[1], unicodeRange: SARABUN_RANGES[face[0]], display: "swap" }));
    });
    var emoji = "url(" + fonts + EMOJI_FONT + ") format('woff2')";
    document.fonts.add(new FontFace("govchat-emoji", emoji, { unicodeRange: EMOJI_RANGE, display: "swap" }));
  }

  function readOptions(script) {
    var data = (script && script.dataset) || {};
    var lang = data.lang === "en" ? "en" : "th";
    var colour = data.primaryColor && window.CSS && CSS.supports("color", data.primaryColor) ? data.primaryColor : null;
    return {
      base: (data.govchatBase || (script && script.src ? new URL(script.src, location.href).origin : location.origin)).replace(/\/+$/, ""),
      position: data.position === "bottom-left" ? "bottom-left" : "bottom-right",
      title: data.title || TEXTS[lang].title,
      colour: colour,
      lang: lang,
      open: data.open === "true",
    };
  }

  function create(options) {
    var T = TEXTS[options.lang];
    var base = options.base;
    var storageKey = "govchat.webchat:" + base;

    // ---- DOM: a host element at the end of <body>, everything else in its shadow root ---------
    // A custom element name matches none of the page's `div`, `section` … rules, and an inline
    // `all: initial !important` outranks even the page's `* { … !important }` on the host itself.
    var host = el("govchat-chat", { id: "govchat", "data-govchat-widget": "", lang: options.lang });
    host.style.setProperty("all", "initial", "important");
    var root = host.attachShadow({ mode: "open" });
    if (options.colour) host.style.setProperty("--gc-primary", options.colour); // CSSOM: allowed by CSP
    var stylesheet = el("link", { rel: "stylesheet", href: base + "/static/webchat/widget.css" });
    var status = el("p", { class: "gc-status", role: "status", "data-state": "idle", text: T.status.idle });
    var humanButton = el("button", { type: "button", class: "gc-button gc-human", text: T.human });
    var restartButton = el("button", { type: "button", class: "gc-link", text: T.restart });
    var closeButton = el("button", { type: "button", class: "gc-close", "aria-label": T.close }, [el("span", { "aria-hidden": "true", text: "\u00d7" })]);
    var list = el("ol", { class: "gc-messages" });
    var kept = el("p", { class: "gc-kept", text: format(T.kept, { days: SESSION_DAYS, retention: RETENTION_DAYS }) });
    var log = el("div", { class: "gc-log", role: "log", "aria-live": "polite", "aria-label": T.logLabel, tabindex: "0" }, [
      el("div", { class: "gc-welcome" }, [el("p", { text: T.welcome }), kept]),
      list,
    ]);
    var typing = el("p", { class: "gc-typing", "aria-live": "polite" });
    var quick = el("div", { class: "gc-quick", role: "group", "aria-label": T.quickRepliesLabel, hidden: "" });
    var input = el("textarea", {
      id: "gc-input",
      class: "gc-input",
      rows: "2",
      autocomplete: "off",
      enterkeyhint: "send",
      "aria-describedby": "gc-hint gc-error",
    });
    var fileInput = el("input", { type: "file", accept: FILE_TYPES.join(","), class: "gc-visually-hidden", tabindex: "-1", "aria-hidden": "true" });
    var attachButton = el("button", { type: "button", class: "gc-button gc-attach", "aria-label": T.attach, title: T.attachHint }, [
      icon(ICONS.paperclip),
    ]);
    var sendButton = el("button", { type: "submit", class: "gc-button gc-send", text: T.send });
    var error = el("p", { id: "gc-error", class: "gc-error", role: "alert" });
    var form = el("form", { class: "gc-form", novalidate: "" }, [
      el("label", { for: "gc-input", class: "gc-label", text: T.inputLabel }),
      el("div", { class: "gc-row" }, [input, attachButton, sendButton, fileInput]),
      el("p", { id: "gc-hint", class: "gc-hint", text: T.inputHint }),
      error,
    ]);
    var panel = el("section", { id: "gc-panel", class: "gc-widget gc-panel", "aria-labelledby": "gc-title", hidden: "" }, [
      el("div", { class: "gc-header" }, [
        el("div", { class: "gc-heading" }, [el("h2", { id: "gc-title", class: "gc-title", text: options.title }), status]),
        closeButton,
      ]),
      el("div", { class: "gc-actions" }, [humanButton, restartButton]),
      log,
      typing,
      quick,
      form,
    ]);
    var badge = el("span", { class: "gc-badge", "aria-hidden": "true", hidden: "" });
    var launcherLabel = el("span", { class: "gc-launcher-label", text: T.launcher });
    var launcher = el("button", { type: "button", class: "gc-launcher", "aria-expanded": "false", "aria-controls": "gc-panel" }, [
      icon(ICONS.chat),
      launcherLabel,
      badge,
    ]);
    var frame = el("div", { class: "gc-frame", "data-position": options.position }, [panel, launcher]);
    root.append(stylesheet, frame);

    // ---- state -------------------------------------------------------------------------------
    var session = loadSession(); // {id, token, expiresAt} or null until the first message
    var byId = new Map(); // server message id -> its <li>; each message is rendered once
    var cursor = null; // highest id returned by a catch-up GET: everything up to it is rendered
    var outbox = []; // typed, not yet accepted: {cid, text | file, li, at}, sent in order
    var sending = false;
    var retryTimer = null;
    var retryDelay = 1000;
    var sessionPromise = null;
    var socket = null;
    var socketOpen = false;
    var reachable = true; // the last request or WebSocket reached the hub
    var attempt = 0;
    var reconnectTimer = null;
    var pollTimer = null;
    var catching = null;
    var catchAgain = false;
    var typingTimer = null;
    var typingSender = null;
    var shownOptions = null; // the quick replies on screen (those of the last message)
    var seen = read(storageKey + ":seen") || null; // the last message id the citizen has seen

    function read(key) {
      try {
        return JSON.parse(localStorage.getItem(key) || "null");
      } catch (e) {
        return null;
      }
    }

    function store(key, value) {
      try {
        if (value === null) localStorage.removeItem(key);
        else localStorage.setItem(key, JSON.stringify(value));
      } catch (e) {
        /* private mode or full storage: the chat still works for this page view */
      }
    }

    function loadSession() {
      var stored = read(storageKey);
      if (!stored || !stored.id || !stored.token) return null;
      if (stored.expiresAt && Date.parse(stored.expiresAt) <= Date.now()) {
        store(storageKey, null);
        return null;
      }
      return stored;
    }

    function saveOutbox() {
      store(
        storageKey + ":outbox",
        outbox
          .filter(function (e) {
            return e.text; // a file cannot be kept in storage; it waits in this page only
          })
          .map(function (e) {
            return { cid: e.cid, text: e.text, at: e.at };
          })
      );
    }

    // ---- status ------------------------------------------------------------------------------
    function updateStatus() {
      var state;
      if (navigator.onLine === false) state = "offline";
      else if (!reachable) state = "reconnecting";
      else if (!session) state = "idle";
      else state = socketOpen ? "online" : "connecting";
      if (status.getAttribute("data-state") === state) return;
      status.setAttribute("data-state", state);
      status.textContent = T.status[state];
    }

    function setReachable(value) {
      reachable = value;
      updateStatus();
    }

    // ---- panel and unread badge ----------------------------------------------------------------
    function isOpen() {
      return !panel.hidden;
    }

    function open(focus) {
      panel.hidden = false;
      launcher.setAttribute("aria-expanded", "true");
      frame.classList.add("gc-frame--open");
      markSeen();
      if (session) connect();
      scrollToEnd();
      if (focus) input.focus();
    }

    function close() {
      panel.hidden = true;
      launcher.setAttribute("aria-expanded", "false");
      frame.classList.remove("gc-frame--open");
      launcher.focus();
    }

    function markSeen() {
      var last = null;
      byId.forEach(function (_, id) {
        if (!last || compareIds(id, last) > 0) last = id;
      });
      if (last && (!seen || compareIds(last, seen) > 0)) {
        seen = last;
        store(storageKey + ":seen", seen);
      }
      updateBadge();
    }

    function updateBadge() {
      var count = 0;
      byId.forEach(function (li, id) {
        if (li.classList.contains("gc-msg--out") && (!seen || compareIds(id, seen) > 0)) count += 1;
      });
      badge.hidden = count === 0 || isOpen();
      badge.textContent = count > 9 ? "9+" : String(count);
      launcher.setAttribute("aria-label", T.launcher + (badge.hidden ? "" : " (" + format(T.unread, { n: count }) + ")"));
    }

    // ---- HTTP --------------------------------------------------------------------------------
    function request(method, path, body, timeoutMs) {
      var controller = new AbortController();
      var timer = setTimeout(function () {
        controller.abort();
      }, timeoutMs || REQUEST_TIMEOUT_MS);
      var headers = { Accept: "application/json" };
      if (body && !(body instanceof FormData)) headers["Content-Type"] = "application/json";
      if (session && path) headers.Authorization = "Bearer " + session.token;
      return fetch(base + "/api/webchat/sessions" + path, {
        method: method,
        headers: headers,
        body: body ? (body instanceof FormData ? body : JSON.stringify(body)) : undefined,
        signal: controller.signal,
        cache: "no-store",
        credentials: "omit",
      })
        .then(
          function (response) {
            setReachable(response.status < 500);
            return response.json().then(
              function (data) {
                return { status: response.status, data: data };
              },
              function () {
                return { status: response.status, data: null };
              }
            );
          },
          function (err) {
            setReachable(false);
            throw err;
          }
        )
        .finally(function () {
          clearTimeout(timer);
        });
    }

    function ensureSession() {
      if (session) return Promise.resolve(session);
      if (!sessionPromise) {
        sessionPromise = request("POST", "")
          .then(function (res) {
            if (res.status !== 201 || !res.data) throw new Error("session not created: " + res.status);
            session = { id: res.data.session_id, token: res.data.token, expiresAt: res.data.expires_at };
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

    // Forget the conversation in this browser (expired, refused, or the citizen asked to).
    function forget(notice) {
      session = null;
      cursor = null;
      seen = null;
      store(storageKey, null);
      store(storageKey + ":seen", null);
      closeSocket();
      clearTimeout(reconnectTimer);
      byId.clear();
      list.replaceChildren();
      outbox.forEach(function (entry) {
        list.append(entry.li); // still to be sent, in the new conversation
      });
      showTyping(null);
      updateQuickReplies();
      if (notice) list.prepend(el("li", { class: "gc-notice", text: notice }));
      updateBadge();
      updateStatus();
    }

    // ---- rendering ---------------------------------------------------------------------------
    function attachmentLabel(attachment) {
      return (
        (attachment.kind === "image" ? T.image : T.file) + ": " + (attachment.filename || "") +
        (attachment.size ? " (" + sizeText(attachment.size) + ")" : "")
      );
    }

    function bubble(direction, sender, text, attachments) {
      var who = sender === "officer" ? T.officer : sender === "bot" ? T.bot : T.you;
      var li = el("li", { class: "gc-msg gc-msg--" + (direction === "in" ? "in" : "out") + " gc-msg--" + sender });
      var body = el("p", { class: "gc-text" });
      if (text) body.append(linkified(text, T));
      (attachments || []).forEach(function (attachment) {
        body.append(el("span", { class: "gc-file", text: attachmentLabel(attachment) }));
      });
      li.append(el("p", { class: "gc-who" + (direction === "in" ? " gc-visually-hidden" : ""), text: who }), body, el("p", { class: "gc-meta" }));
      return li;
    }

    function setMeta(li, date, note) {
      var meta = li.querySelector(".gc-meta");
      var time = timeOf(date, options.lang);
      meta.replaceChildren();
      if (time) meta.append(time);
      if (note) meta.append(el("span", { class: "gc-note", text: note }));
    }

    // Server messages sorted by id; still-unsent ones (no id yet) stay at the end.
    function place(li, id) {
      var node = list.lastElementChild;
      while (node && (!node.dataset.id || compareIds(node.dataset.id, id) > 0)) node = node.previousElementSibling;
      list.insertBefore(li, node ? node.nextElementSibling : list.firstElementChild);
    }

    function atEnd() {
      return log.scrollHeight - log.scrollTop - log.clientHeight < 48;
    }

    function scrollToEnd() {
      log.scrollTop = log.scrollHeight;
    }

    // A long answer is read from its start: show its first line, not its last.
    function bringIntoView(li) {
      if (li.offsetHeight > log.clientHeight - 16) log.scrollTop = li.offsetTop - 8;
      else scrollToEnd();
    }

    function render(message) {
      var id = String(message.id);
      if (byId.has(id)) return;
      var wasAtEnd = atEnd();
      var li = adoptUnsent(message);
      if (!li) {
        li = bubble(message.direction, message.sender, message.text || "", message.attachments);
        li.quickReplies = message.direction === "out" ? message.quick_replies || [] : [];
      }
      setMeta(li, new Date(message.created_at));
      li.dataset.id = id;
      byId.set(id, li);
      place(li, id);
      if (message.direction === "out" && (typingSender === message.sender || typingSender === "bot")) showTyping(null);
      updateQuickReplies();
      if (message.direction === "in") scrollToEnd();
      else if (wasAtEnd) bringIntoView(li);
      if (isOpen() && document.visibilityState === "visible") markSeen();
      else updateBadge();
    }

    // The WebSocket may push the citizen's own message before the POST answers: reuse its bubble.
    function adoptUnsent(message) {
      if (message.direction !== "in") return null;
      for (var i = 0; i < outbox.length; i++) {
        var entry = outbox[i];
        var same = entry.text ? entry.text === message.text : message.attachments && message.attachments.length;
        if (!entry.boundId && same) {
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
      var choices = last && last.dataset.id && last.quickReplies ? last.quickReplies : [];
      if (choices === shownOptions) return; // unchanged: keep the buttons (and the focus on them)
      shownOptions = choices;
      var hadFocus = quick.contains(root.activeElement);
      quick.replaceChildren.apply(
        quick,
        choices.map(function (choice) {
          var button = el("button", { type: "button", class: "gc-button gc-quick-reply", text: choice });
          button.addEventListener("click", function () {
            submit(choice);
          });
          return button;
        })
      );
      quick.hidden = choices.length === 0;
      if (hadFocus) input.focus(); // the button pressed is gone; keep the keyboard in the chat
    }

    // Only on the hub's word: {"type": "typing", "sender", "active", "expires_in"}.
    function showTyping(event) {
      clearTimeout(typingTimer);
      typingSender = event && event.active ? event.sender : null;
      typing.textContent = typingSender ? (typingSender === "officer" ? T.typingOfficer : T.typingBot) : "";
      typing.classList.toggle("gc-typing--on", !!typingSender);
      if (typingSender) typingTimer = setTimeout(showTyping, Math.max(1, event.expires_in || 5) * 1000, null);
    }

    // ---- sending: one at a time, in order, until the hub has each --------------------------------
    function submit(text) {
      text = text.trim();
      error.textContent = "";
      if (!text) return false;
      if (Array.from(text).length > MAX_CODE_POINTS) {
        error.textContent = T.tooLong;
        return false;
      }
      enqueue({ cid: uuid(), text: text, at: new Date().toISOString() });
      input.focus();
      return true;
    }

    function submitFile(file) {
      error.textContent = "";
      if (FILE_TYPES.indexOf(file.type) < 0) error.textContent = T.fileType;
      else if (file.size > MAX_FILE_BYTES) error.textContent = T.fileTooLarge;
      else enqueue({ cid: uuid(), file: file, at: new Date().toISOString() });
    }

    function enqueue(entry) {
      var attachments = entry.file ? [{ kind: /^image\//.test(entry.file.type) ? "image" : "file", filename: entry.file.name, size: entry.file.size }] : null;
      entry.li = bubble("in", "citizen", entry.text || "", attachments);
      setMeta(entry.li, new Date(entry.at), T.sending);
      list.append(entry.li);
      outbox.push(entry);
      saveOutbox();
      updateQuickReplies();
      scrollToEnd();
      pump();
    }

    function pump() {
      if (sending || !outbox.length) return;
      clearTimeout(retryTimer);
      sending = true;
      var entry = outbox[0];
      setMeta(entry.li, new Date(entry.at), T.sending);
      deliver(entry).then(
        function (outcome) {
          sending = false;
          if (outcome === "retry") return waitToRetry();
          retryDelay = 1000;
          pump();
        },
        function () {
          sending = false;
          waitToRetry(); // network error or timeout: the same client_message_id is safe to send again
        }
      );
    }

    // Until the connection is back (WebSocket open, "online", a successful request) or a while has passed.
    function waitToRetry() {
      outbox.forEach(function (entry) {
        setMeta(entry.li, new Date(entry.at), T.queued);
      });
      clearTimeout(retryTimer);
      retryTimer = setTimeout(pump, retryDelay * (0.75 + Math.random() / 2));
      retryDelay = Math.min(30000, retryDelay * 2);
    }

    function deliver(entry) {
      return ensureSession().then(function (current) {
        var path = "/" + encodeURIComponent(current.id);
        var sent;
        if (entry.file) {
          var body = new FormData();
          body.append("client_message_id", entry.cid);
          body.append("file", entry.file, entry.file.name);
          sent = request("POST", path + "/attachments", body, UPLOAD_TIMEOUT_MS);
        } else {
          sent = request("POST", path + "/messages", { text: entry.text, client_message_id: entry.cid });
        }
        return sent.then(function (res) {
          if ((res.status === 202 || res.status === 201) && res.data) {
            accepted(entry, String(res.data.message_id));
            return "done";
          }
          if (res.status === 401 || res.status === 403 || res.status === 404) {
            forget(T.expired); // the entry stays first in the outbox: it starts the new session
            return "again";
          }
          if (res.status === 413 || res.status === 415 || res.status === 422 || res.status === 409) {
            rejected(entry, res.status);
            return "done";
          }
          return "retry";
        });
      });
    }

    function dropFromOutbox(entry) {
      var index = outbox.indexOf(entry);
      if (index >= 0) outbox.splice(index, 1);
      saveOutbox();
    }

    function accepted(entry, id) {
      dropFromOutbox(entry);
      if (entry.boundId && entry.boundId !== id) {
        catchUp(); // it took the bubble of an identical earlier text; its own copy comes with the catch-up
      } else if (!entry.boundId) {
        entry.li.remove();
        if (!byId.has(id)) {
          entry.li.dataset.id = id;
          entry.li.quickReplies = [];
          byId.set(id, entry.li);
          place(entry.li, id);
          setMeta(entry.li, new Date(entry.at)); // the hub's time replaces it with the catch-up
        }
      }
      updateQuickReplies();
    }

    function rejected(entry, status) {
      dropFromOutbox(entry);
      entry.li.remove();
      error.textContent = status === 413 ? T.fileTooLarge : status === 415 ? T.fileType : T.rejected;
      if (entry.text && !input.value) input.value = entry.text;
    }

    // ---- receiving ---------------------------------------------------------------------------
    function catchUp() {
      if (!session) return;
      if (catching) {
        catchAgain = true; // one more round once this one is done
        return;
      }
      var path = "/" + encodeURIComponent(session.id) + "/messages" + (cursor ? "?after=" + encodeURIComponent(cursor) : "");
      catching = request("GET", path)
        .then(function (res) {
          if (res.status === 200 && res.data) {
            res.data.messages.forEach(function (message) {
              render(message);
              if (!cursor || compareIds(String(message.id), cursor) > 0) cursor = String(message.id);
            });
            pump(); // the hub answers again: anything queued can go
          } else if (res.status === 400) {
            cursor = null; // the hub does not know our cursor: read the whole conversation again
            catchAgain = true;
          } else if (res.status === 401 || res.status === 403 || res.status === 404) {
            forget(T.expired);
          }
        })
        .catch(function () {
          /* unreachable: the next (re)connect catches up */
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
      updateStatus();
      var url = base.replace(/^http/, "ws") + "/api/webchat/sessions/" + encodeURIComponent(session.id) + "/ws?token=" + encodeURIComponent(session.token);
      var ws = new WebSocket(url);
      socket = ws;
      ws.onopen = function () {
        attempt = 0;
        socketOpen = true;
        clearInterval(pollTimer);
        setReachable(true);
        catchUp(); // whatever arrived while we were away
        retryDelay = 1000;
        pump();
      };
      ws.onmessage = function (event) {
        var data = null;
        try {
          data = JSON.parse(event.data);
        } catch (e) {
          return;
        }
        if (data && data.type === "message" && data.message) render(data.message);
        else if (data && data.type === "typing") showTyping(data);
      };
      ws.onclose = function () {
        if (socket !== ws) return;
        var wasOpen = socketOpen;
        socket = null;
        socketOpen = false;
        catchUp(); // a refused handshake looks like any other failure; the GET tells whether the session is gone
        if (!wasOpen || navigator.onLine === false) setReachable(false);
        scheduleReconnect();
      };
    }

    function scheduleReconnect() {
      if (!session) return;
      // 0.5 s, 1 s, 2 s … up to 30 s, with jitter so a restarted hub is not hit by everyone at once.
      var delay = Math.min(30000, 500 * Math.pow(2, attempt)) * (0.5 + Math.random() / 2);
      attempt += 1;
      updateStatus();
      reconnectTimer = setTimeout(connect, delay);
      clearInterval(pollTimer);
      pollTimer = setInterval(catchUp, POLL_MS); // answers still arrive if a proxy blocks WebSockets
    }

    function closeSocket() {
      var ws = socket;
      socket = null;
      socketOpen = false;
      clearInterval(pollTimer);
      if (ws) ws.close();
    }

    // ---- events ------------------------------------------------------------------------------
    // A link to #govchat on the page (e.g. a skip link) opens the chat with the keyboard in the question box.
    document.addEventListener("click", function (event) {
      var link = event.target instanceof Element ? event.target.closest('a[href="#govchat"]') : null;
      if (!link) return;
      event.preventDefault();
      open(true);
    });
    launcher.addEventListener("click", function () {
      if (isOpen()) close();
      else open(true);
    });
    closeButton.addEventListener("click", close);
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") close();
    });
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
    attachButton.addEventListener("click", function () {
      fileInput.click();
    });
    fileInput.addEventListener("change", function () {
      if (fileInput.files && fileInput.files[0]) submitFile(fileInput.files[0]);
      fileInput.value = "";
      input.focus();
    });
    humanButton.addEventListener("click", function () {
      submit(HUMAN_REQUEST);
    });
    restartButton.addEventListener("click", function () {
      if (!window.confirm(T.restartConfirm)) return;
      forget(T.restarted);
      input.focus();
    });
    window.addEventListener("offline", function () {
      closeSocket(); // a dead connection may not say so for minutes; reconnect when back
      updateStatus();
      scheduleReconnect();
    });
    window.addEventListener("online", function () {
      attempt = 0;
      retryDelay = 1000;
      updateStatus();
      connect();
      pump();
    });
    // Another tab started a new conversation, or this one's first message created the session.
    window.addEventListener("storage", function (event) {
      if (event.key !== storageKey) return;
      var other = loadSession();
      if (other && session && other.id === session.id) return;
      forget(null);
      session = other;
      if (session) connect();
      updateStatus();
    });
    document.addEventListener("visibilitychange", function () {
      // Phones suspend background tabs; check for what arrived while the page was hidden.
      if (document.visibilityState !== "visible" || !session) return;
      if (isOpen()) markSeen();
      if (socket) catchUp();
      else connect();
    });

    // ---- start -------------------------------------------------------------------------------
    (document.body || document.documentElement).append(host);
    (read(storageKey + ":outbox") || []).forEach(function (saved) {
      if (saved && saved.cid && saved.text) enqueue({ cid: saved.cid, text: saved.text, at: saved.at || new Date().toISOString() }); // same id: sent once
    });
    if (session) connect();
    if (options.open) open(false);
    updateBadge();
    updateStatus();
    return { host: host, root: root, open: open, close: close };
  }

  function start() {
    var options = readOptions(SCRIPT);
    loadFonts(options.base);
    window.GovchatWidget = create(options);
  }

  if (window.GovchatWidget) return; // the tag is on the page twice
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
