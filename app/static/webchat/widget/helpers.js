  // widget/helpers.js: small DOM, text, font and option helpers the whole widget shares.
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") node.textContent = attrs[name];
      else node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) {
      node.append(child);
    });
    return node;
  }

  // Icons drawn as SVG, not emoji: they must show whatever fonts the reader has.
  var ICONS = {
    chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z",
    paperclip: "M21 11.5l-8.5 8.5a5 5 0 0 1-7-7L14 4.5a3.5 3.5 0 0 1 5 5L10.5 18a2 2 0 0 1-3-3L15 7.5",
  };

  function icon(path) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    var shape = document.createElementNS(ns, "path");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "gc-icon");
    shape.setAttribute("d", path);
    svg.append(shape);
    return svg;
  }

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) {
      return String(values[key]);
    });
  }

  // Message ids are strings; the hub's are decimal integers, compared as numbers.
  function compareIds(a, b) {
    if (/^\d+$/.test(a) && /^\d+$/.test(b) && a.length !== b.length) return a.length - b.length;
    return a < b ? -1 : a > b ? 1 : 0;
  }

  // crypto.randomUUID needs a secure context; agency intranets may serve plain http.
  function uuid() {
    if (window.crypto && crypto.randomUUID) {
      try {
        return crypto.randomUUID();
      } catch (e) {
        /* insecure context: fall through */
      }
    }
    var b = crypto.getRandomValues(new Uint8Array(16));
    return Array.prototype.map.call(b, function (x) {
      return (x + 0x100).toString(16).slice(1);
    }).join("");
  }

  // A full stop or a closing bracket after a link belongs to the sentence, unless the link opened it.
  function trimTrailingPunctuation(url) {
    for (;;) {
      var trimmed = url.replace(/[.,;:!?'"\]]+$/, "");
      if (/\)$/.test(trimmed) && trimmed.split("(").length < trimmed.split(")").length) trimmed = trimmed.slice(0, -1);
      if (trimmed === url) return url;
      url = trimmed;
    }
  }

  // Text with http(s) links made clickable, built from text nodes: message text is never parsed as HTML.
  var URL_PATTERN = /https?:\/\/[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+/g;
  function linkified(text, T) {
    var fragment = document.createDocumentFragment();
    var last = 0;
    text.replace(URL_PATTERN, function (match, offset) {
      var url = trimTrailingPunctuation(match);
      var href = null;
      try {
        var parsed = new URL(url);
        if (parsed.protocol === "https:" || parsed.protocol === "http:") href = parsed.href;
      } catch (e) {
        href = null;
      }
      if (!href) return match;
      fragment.append(text.slice(last, offset));
      fragment.append(
        el("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, [
          url,
          el("span", { class: "gc-visually-hidden", text: T.newWindow }),
        ])
      );
      last = offset + url.length;
      return match;
    });
    fragment.append(text.slice(last));
    return fragment;
  }

  function timeOf(date, lang) {
    if (isNaN(date.getTime())) return null;
    return el("time", {
      datetime: date.toISOString(),
      text: date.toLocaleTimeString(lang === "en" ? "en-GB" : "th-TH", { hour: "2-digit", minute: "2-digit" }),
    });
  }

  function sizeText(bytes) {
    return bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(bytes / 1024)) + " KB";
  }

  // Fonts through the FontFace API: @font-face inside a shadow root is ignored, and unique family
  // names keep the page's own fonts (many agency sites use Sarabun too) untouched.
  function loadFonts(base) {
    if (!window.FontFace || !document.fonts) return;
    var fonts = base + "/static/fonts/";
    [["thai", "400"], ["thai", "700"], ["latin", "400"], ["latin", "700"]].forEach(function (face) {
      var url = "url(" + fonts + "sarabun-" + face[0] + "-" + face[1] + "-normal.woff2) format('woff2')";
      document.fonts.add(new FontFace("govchat-sarabun", url, { weight: face[1], unicodeRange: SARABUN_RANGES[face[0]], display: "swap" }));
    });
    var emoji = "url(" + fonts + EMOJI_FONT + ") format('woff2')";
    document.fonts.add(new FontFace("govchat-emoji", emoji, { unicodeRange: EMOJI_RANGE, display: "swap" }));
  }

  function readOptions(script) {
    var data = (script && script.dataset) || {};
    var lang = data.lang === "en" ? "en" : "th";
    var colour = data.primaryColor && window.CSS && CSS.supports("color", data.primaryColor) ? data.primaryColor : null;
    return {
      base: (data.govchatBase || (script && script.src ? new URL(script.src, location.href).origin : location.origin)).replace(/\/+$/, ""),
      position: data.position === "bottom-left" ? "bottom-left" : "bottom-right",
      title: data.title || TEXTS[lang].title,
      colour: colour,
      lang: lang,
      open: data.open === "true",
    };
  }

