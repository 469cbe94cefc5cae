    // widget/events_and_start.js: the page's and the panel's events, the end of create(), and start().
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
