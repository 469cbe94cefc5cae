    // widget/session.js: inside create(), the chat's state and what of it survives a reload (localStorage).
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

