    // widget/receiving.js: inside create(), the WebSocket, the catch-up GET on every (re)connect, polling.
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

