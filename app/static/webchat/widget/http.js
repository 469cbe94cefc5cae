    // widget/http.js: inside create(), requests to the hub's web-chat API and starting or forgetting the session.
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

