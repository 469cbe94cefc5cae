    // widget/panel.js: inside create(), the connection status line, opening and closing, the unread badge.
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

