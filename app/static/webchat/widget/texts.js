// widget/texts.js: opens the one script (parts joined by app/webchat/widget_script.py); texts, limits.
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

