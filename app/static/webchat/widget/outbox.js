    // widget/outbox.js: inside create(), typed messages and files, sent one at a time until the hub has each.
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

