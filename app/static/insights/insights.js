/* The insights page: asks the hub's API with the officer's token and draws the numbers.
 * Every word shown comes from the template's JSON (#insights-config); no outside requests. */
(function () {
  "use strict";

  var TOKEN_KEY = "govchat.console.token"; // shared with the officer console: one login for both
  var config = JSON.parse(document.getElementById("insights-config").textContent);
  var L = config.labels;
  var charts = {};
  var COLORS = ["#0b4ea2", "#d4351c", "#00703c", "#f47738", "#6f3c97", "#1d70b8", "#85994b", "#b58840", "#505a5f"];

  function $(id) { return document.getElementById(id); }

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) { return String(values[key]); });
  }

  function say(text) { $("status").textContent = text; }

  function token() { return window.sessionStorage.getItem(TOKEN_KEY); }

  function label(group, key) { return (L[group] && L[group][key]) || key; }

  function faqTitle(id) { return (id && config.faq_titles[id]) || id || ""; }

  function api(path, options) {
    options = options || {};
    options.headers = Object.assign({ Authorization: "Bearer " + token() }, options.headers || {});
    return fetch(path, options);
  }

  function showLogin(message) {
    window.sessionStorage.removeItem(TOKEN_KEY);
    $("report").hidden = true;
    $("logout").hidden = true;
    $("login").hidden = false;
    say(message || L.messages.login_needed);
    $("username").focus();
  }

  function cell(row, text, className) {
    var td = document.createElement("td");
    td.textContent = text;
    if (className) { td.className = className; }
    row.appendChild(td);
    return td;
  }

  function fillTable(id, rows) {
    var body = $(id).querySelector("tbody");
    body.replaceChildren();
    rows.forEach(function (values) {
      var tr = document.createElement("tr");
      values.forEach(function (value, index) {
        cell(tr, String(value), index > 0 && typeof value === "number" ? "num" : "");
      });
      body.appendChild(tr);
    });
  }

  function entries(object) {
    return Object.keys(object).map(function (key) { return [key, object[key]]; });
  }

  function draw(id, type, labels, datasets, options) {
    if (charts[id]) { charts[id].destroy(); }
    var horizontal = options && options.horizontal;
    if (horizontal) {
      // room for every bar and its (wrapped) label: no label is skipped for lack of space
      var lines = labels.reduce(function (n, l) { return n + (Array.isArray(wrapLabel(l)) ? wrapLabel(l).length : 1); }, 0);
      $(id + "-chart").parentElement.style.height = Math.max(16, lines * 1.6 + 4) + "em";
    }
    charts[id] = new window.Chart($(id + "-chart"), {
      type: type,
      data: { labels: labels.map(wrapLabel), datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: horizontal ? "y" : "x",
        plugins: { legend: { display: type === "doughnut" || datasets.length > 1, position: "bottom" } },
        scales: type === "doughnut" ? {} : {
          x: { beginAtZero: true, ticks: { precision: 0, autoSkip: horizontal } },
          y: { beginAtZero: true, ticks: { precision: 0, autoSkip: !horizontal } },
        },
      },
    });
  }

  function barSet(name, values, color) {
    return { label: name, data: values, backgroundColor: color || COLORS[0] };
  }

  function renderSummary(data) {
    var total = Object.values(data.messages_in).reduce(function (a, b) { return a + b; }, 0);
    var rates = data.rates || {};
    var base = data.decisions || 0;
    var actions = data.actions || {};
    var items = [
      [L.summary.messages_in, total.toLocaleString("th-TH")],
      [L.summary.answered, percent(rates.answered, actions.answer, base)],
      [L.summary.clarified, percent(rates.clarified, actions.clarify, base)],
      [L.summary.escalated, percent(rates.escalated, actions.escalate, base)],
      [L.summary.fallback, percent(rates.fallback, actions.fallback, base)],
      [L.summary.median_first_reply, data.median_first_reply_minutes == null
        ? L.summary.none : data.median_first_reply_minutes + " " + L.summary.minutes],
    ];
    var list = $("summary");
    list.replaceChildren();
    items.forEach(function (item) {
      var box = document.createElement("div");
      var dt = document.createElement("dt");
      var dd = document.createElement("dd");
      dt.textContent = item[0];
      dd.textContent = item[1];
      box.append(dt, dd);
      list.appendChild(box);
    });
  }

  // Every percentage says what it is a share of: "40.0% (20 จาก 50 ข้อความที่แชตบอตตัดสินใจ)".
  function percent(rate, part, base) {
    if (rate == null || !base) { return L.summary.none; }
    return (rate * 100).toFixed(1) + "% " + format(L.summary.base, {
      part: (part || 0).toLocaleString("th-TH"), base: base.toLocaleString("th-TH"),
    });
  }

  // Chart.js draws a label on one line and skips those that do not fit; long Thai titles are
  // broken into lines (at spaces when there are any) so each is shown whole.
  var LABEL_LINE = 22;
  function wrapLabel(text) {
    var words = String(text).split(" ");
    var lines = [];
    var line = "";
    words.forEach(function (word) {
      while (word.length > LABEL_LINE) {
        if (line) { lines.push(line); line = ""; }
        lines.push(word.slice(0, LABEL_LINE));
        word = word.slice(LABEL_LINE);
      }
      if (line && (line + " " + word).length > LABEL_LINE) { lines.push(line); line = word; }
      else { line = line ? line + " " + word : word; }
    });
    if (line) { lines.push(line); }
    return lines.length > 1 ? lines : lines[0] || "";
  }

  function renderCharts(data) {
    var channels = Object.keys(Object.assign({}, data.messages_in, data.messages_out));
    var channelNames = channels.map(function (c) { return label("channels", c); });
    var ins = channels.map(function (c) { return data.messages_in[c] || 0; });
    var outs = channels.map(function (c) { return data.messages_out[c] || 0; });
    draw("channels", "bar", channelNames, [barSet(L.directions.in, ins, COLORS[0]), barSet(L.directions.out, outs, COLORS[2])]);
    fillTable("channels-table", channels.map(function (c, i) { return [channelNames[i], ins[i], outs[i]]; }));

    var actions = entries(data.actions);
    draw("actions", "doughnut", actions.map(function (a) { return label("actions", a[0]); }), [{
      label: L.count_dataset, data: actions.map(function (a) { return a[1]; }), backgroundColor: COLORS,
    }]);
    fillTable("actions-table", actions.map(function (a) { return [label("actions", a[0]), a[1]]; }));

    var intents = entries(data.intents);
    draw("intents", "bar", intents.map(function (i) { return label("intents", i[0]); }),
      [barSet(L.count_dataset, intents.map(function (i) { return i[1]; }), COLORS[1])], { horizontal: true });
    fillTable("intents-table", intents.map(function (i) { return [label("intents", i[0]), i[1]]; }));

    var faq = entries(data.faq_hits).slice(0, 10);
    draw("faq", "bar", faq.map(function (f) { return faqTitle(f[0]); }),
      [barSet(L.count_dataset, faq.map(function (f) { return f[1]; }), COLORS[5])], { horizontal: true });
    fillTable("faq-table", entries(data.faq_hits).map(function (f) { return [faqTitle(f[0]), f[1]]; }));

    var scores = ["1", "2", "3", "4", "5"];
    draw("satisfaction", "bar", scores, [barSet(L.satisfaction_dataset, scores.map(function (s) { return data.satisfaction[s] || 0; }), COLORS[3])]);
    fillTable("satisfaction-table", scores.map(function (s) { return [s, data.satisfaction[s] || 0]; }));
  }

  // Opens the knowledge-base editor with the question added to the entry the NLU thought closest,
  // or a new entry holding it; nothing reaches citizens until a second person approves.
  function draftLink(group) {
    var link = document.createElement("a");
    link.className = "draft-link";
    link.textContent = L.messages.draft;
    link.setAttribute("aria-label", format(L.messages.draft_for, { question: group.example }));
    var question = encodeURIComponent(group.example);
    link.href = group.suggested_faq
      ? "/console/kb/entries/" + encodeURIComponent(group.suggested_faq) + "?add_question=" + question
      : "/console/kb/new?question=" + question;
    return link;
  }

  // Unanswered and uncertain questions share their rows; only unanswered ones offer a draft.
  function renderQuestionGroups(tableId, groups, emptyText, withDraft) {
    var body = $(tableId).querySelector("tbody");
    body.replaceChildren();
    if (!groups.length) {
      var empty = document.createElement("tr");
      cell(empty, emptyText).colSpan = withDraft ? 4 : 3;
      body.appendChild(empty);
      return;
    }
    groups.forEach(function (group) {
      var tr = document.createElement("tr");
      cell(tr, group.example);
      cell(tr, String(group.count), "num");
      cell(tr, group.suggested_faq ? faqTitle(group.suggested_faq) : L.messages.no_suggestion);
      if (withDraft) cell(tr, "").appendChild(draftLink(group));
      body.appendChild(tr);
    });
  }

  function renderStale(stale) {
    var body = $("stale-table").querySelector("tbody");
    body.replaceChildren();
    if (!stale.length) {
      var empty = document.createElement("tr");
      cell(empty, L.messages.no_stale).colSpan = 5;
      body.appendChild(empty);
      return;
    }
    stale.forEach(function (entry) {
      var tr = document.createElement("tr");
      cell(tr, entry.title + " (" + entry.faq_id + ")");
      cell(tr, config.departments[entry.department] || entry.department);
      cell(tr, entry.reviewed_at);
      cell(tr, entry.expires_at || "-");
      cell(tr, entry.reasons.map(function (r) { return label("reasons", r); }).join(", "));
      body.appendChild(tr);
    });
  }

  function load() {
    var days = $("days").value;
    document.body.dataset.state = "loading";
    say(L.messages.loading);
    return api("/api/admin/insights?days=" + encodeURIComponent(days)).then(function (response) {
      if (response.status === 401) { showLogin(); return null; }
      if (response.status === 403) {
        $("login").hidden = true;
        $("logout").hidden = false;
        say(L.messages.forbidden);
        return null;
      }
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    }).then(function (data) {
      if (!data) { return; }
      $("login").hidden = true;
      $("report").hidden = false;
      $("logout").hidden = false;
      renderSummary(data);
      renderCharts(data);
      renderQuestionGroups("unanswered-table", data.unanswered, L.messages.no_unanswered, true);
      renderQuestionGroups("uncertain-table", data.uncertain_answers || [], L.messages.no_uncertain, false);
      renderStale(data.stale_entries || []);
      say(format(L.messages.loaded, { days: data.days }));
      document.body.dataset.state = "ready";
    }).catch(function () {
      say(L.messages.error);
      document.body.dataset.state = "error";
    });
  }

  function login(event) {
    event.preventDefault();
    fetch("/api/officer/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: $("username").value, password: $("password").value }),
    }).then(function (response) {
      if (response.status === 429) { throw new Error(L.messages.too_many); }
      if (!response.ok) { throw new Error(L.messages.login_failed); }
      return response.json();
    }).then(function (body) {
      window.sessionStorage.setItem(TOKEN_KEY, body.token);
      $("password").value = "";
      return load();
    }).catch(function (error) { say(error.message); });
  }

  function isoDate(date) {
    var local = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
    return local.toISOString().slice(0, 10);
  }

  function downloadOpenData(event) {
    event.preventDefault();
    var from = $("from").value;
    var to = $("to").value;
    api("/api/admin/opendata.csv?from=" + encodeURIComponent(from) + "&to=" + encodeURIComponent(to))
      .then(function (response) {
        if (!response.ok) {
          return response.json().then(function (body) { throw new Error(body.detail || L.messages.error); });
        }
        return response.blob();
      }).then(function (blob) {
        var link = document.createElement("a");
        link.href = URL.createObjectURL(blob);
        link.download = "govchat-opendata-" + from + "-" + to + ".csv";
        document.body.appendChild(link);
        link.click();
        link.remove();
        window.setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
        say(L.messages.downloaded);
      }).catch(function (error) { say(error.message); });
  }

  function start() {
    window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    window.Chart.defaults.font.size = 14;
    window.Chart.defaults.color = "#1b1b1b";
    var today = new Date();
    $("to").value = isoDate(today);
    $("from").value = isoDate(new Date(today.getTime() - 29 * 86400000));
    $("login-form").addEventListener("submit", login);
    $("period").addEventListener("submit", function (event) { event.preventDefault(); load(); });
    $("opendata-form").addEventListener("submit", downloadOpenData);
    $("logout").addEventListener("click", function () { showLogin(); });
    if (!token()) { showLogin(); return; }
    // Thai glyphs on the canvas need the font loaded before the first drawing
    document.fonts.load("16px Sarabun", "ภาษาไทย").finally(load);
  }

  document.addEventListener("DOMContentLoaded", start);
})();
