    // widget/rendering.js: inside create(), messages, attachments, quick replies and typing as DOM.
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

