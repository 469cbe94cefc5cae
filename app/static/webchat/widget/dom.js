  // widget/dom.js: create() opens here (the parts up to events_and_start.js are its body): the shadow DOM.
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

