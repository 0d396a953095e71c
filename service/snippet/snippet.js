/* Small Favor snippet: asks for a banner decision, renders it, reports what the reader does.
 * Plain JavaScript, no dependencies. It never throws into the host page and never blocks it:
 * every entry point is wrapped, the decision has a 1.5 s deadline, and all text is set with
 * textContent inside a shadow root. */
(function () {
  "use strict";
  var W = window, D = document, LS = null;
  var ME = D.currentScript;
  if (!ME || W.__smallFavorLoaded) return;
  W.__smallFavorLoaded = true;
  var BASE = new URL(ME.src, location.href).origin;
  var QUEUE_KEY = "sf_queue", VISITOR_KEY = "sf_visitor", VIEWS_KEY = "sf_views";
  var DAY = 864e5;
  var config = W.smallFavor || (W.smallFavor = {});

  function safe(fn) {
    return function () {
      try { return fn.apply(this, arguments); } catch (e) { /* never break the host page */ }
    };
  }
  try { LS = W.localStorage; LS.setItem("sf_t", "1"); LS.removeItem("sf_t"); } catch (e) { LS = null; }

  function load(key) {
    try { return JSON.parse(LS.getItem(key)); } catch (e) { return null; }
  }
  function store(key, value) {
    try { LS.setItem(key, JSON.stringify(value)); } catch (e) { /* full or blocked */ }
  }
  function cookie(name, value) {
    if (value !== undefined) {
      D.cookie = name + "=" + value + ";path=/;max-age=" + 400 * 86400 + ";samesite=lax";
    }
    var m = D.cookie.match(new RegExp("(?:^|; )" + name + "=([A-Za-z0-9_-]+)"));
    return m ? m[1] : null;
  }
  function uuid() {
    if (W.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function consented() {
    var attr = ME.getAttribute("data-consent");
    return config.consent !== false && !(attr === "false" && config.consent !== true);
  }
  // The visitor id: localStorage first, a first-party cookie otherwise, neither: no banner.
  function visitor() {
    var id = LS ? LS.getItem(VISITOR_KEY) : cookie("sf_visitor");
    if (!id || !/^[A-Za-z0-9_-]{8,64}$/.test(id)) {
      id = uuid().replace(/-/g, "");
      if (LS) LS.setItem(VISITOR_KEY, id); else cookie("sf_visitor", id);
      if ((LS ? LS.getItem(VISITOR_KEY) : cookie("sf_visitor")) !== id) return null;
    }
    return id;
  }
  // Article views over the last 30 days, counted on this device.
  function articleViews() {
    if (!LS) return 0;
    var now = Date.now(), views = (load(VIEWS_KEY) || []).filter(function (t) { return now - t < 30 * DAY; });
    views.push(now);
    store(VIEWS_KEY, views.slice(-500));
    return views.length;
  }

  // QA session: a preview link marks this browser until its token expires; batches carry the
  // token, so a headless browser's dismissals work the ledger but are never counted.
  var QA = null;
  try {
    QA = new URLSearchParams(location.search).get("sf_preview") || load("sf_qa");
    if (parseInt(QA.split(".")[3], 36) * 1e3 > Date.now()) store("sf_qa", QA);
    else { QA = null; LS.removeItem("sf_qa"); }
  } catch (e) { /* no mark, or no storage */ }

  /* ---- events: queued, batched, retried with backoff, deduplicated by id on the server ---- */
  var queue = (LS && load(QUEUE_KEY)) || [], backoff = 1000, timer = null;
  function track(type, token, extra) {
    if (!token || !consented()) return; // a dashboard preview has no token and reports nothing
    var e = { id: uuid(), type: type, token: token, ts: new Date().toISOString() };
    for (var k in extra || {}) e[k] = extra[k];
    queue.push(e);
    queue = queue.slice(-200);
    if (LS) store(QUEUE_KEY, queue);
    schedule(type === "impression" ? 300 : 0);
  }
  function schedule(delay) {
    if (!timer) timer = setTimeout(safe(flush), delay);
  }
  function flush(unloading) {
    timer = null;
    if (!queue.length) return;
    var batch = queue.slice(0, 50), url = BASE + "/v1/events";
    var body = JSON.stringify(QA ? { events: batch, qa: QA } : { events: batch });
    var done = function () {
      queue = queue.filter(function (e) { return batch.indexOf(e) < 0; });
      if (LS) store(QUEUE_KEY, queue);
      backoff = 1000;
      if (queue.length) schedule(0);
    };
    if (unloading === true && navigator.sendBeacon) {
      // Queued by the browser even as the page goes away; kept in storage until a later page
      // confirms, since a beacon cannot report the answer (duplicates are dropped by id).
      navigator.sendBeacon(url, new Blob([body], { type: "text/plain" }));
      return;
    }
    fetch(url, { method: "POST", body: body, keepalive: true, headers: { "Content-Type": "text/plain" } })
      .then(function (r) {
        if (r.status === 202 || (r.status >= 400 && r.status < 500 && r.status !== 429)) done();
        else throw 0;
      })
      .catch(function () {
        backoff = Math.min(backoff * 2, 60000);
        schedule(backoff);
      });
  }

  /* ---- rendering ---- */
  var CSS =
    ":host{all:initial;display:block}" +
    ".b{box-sizing:border-box;font:16px/1.5 Georgia,'Times New Roman',serif;color:#121212;background:#fff8e1;" +
    "border-top:4px solid #c70000;padding:16px 20px 20px;margin:24px 0;max-width:100%;text-align:left}" +
    ".b *{box-sizing:border-box}" +
    "h2{font:700 24px/1.2 Georgia,serif;margin:0 0 12px;color:#121212}" +
    "p{margin:0 0 12px}.hl{background:#ffe500;color:#121212;font-weight:700;padding:0 2px}" +
    ".freq{display:flex;gap:0;margin:12px 0 8px}.amts{display:flex;flex-wrap:wrap;gap:8px;margin:0 0 12px}" +
    "button{font:600 15px/1 system-ui,sans-serif;cursor:pointer;border-radius:20px;padding:10px 16px;" +
    "border:2px solid #121212;background:#fff;color:#121212;min-height:40px}" +
    "button[aria-pressed=true]{background:#121212;color:#fff}" +
    ".freq button{border-radius:0}.freq button:first-child{border-radius:20px 0 0 20px}.freq button:last-child{border-radius:0 20px 20px 0}" +
    ".cta{display:inline-block;font:700 16px/1 system-ui,sans-serif;background:#121212;color:#fff;" +
    "text-decoration:none;border-radius:24px;padding:14px 24px;margin:4px 12px 8px 0}" +
    ".cta:hover{background:#333}" +
    ".later{font:14px/1.4 system-ui,sans-serif;color:#121212;text-decoration:underline;background:none;" +
    "border:0;padding:8px 0;min-height:0;border-radius:0}" +
    ".pm{font:12px/1.4 system-ui,sans-serif;color:#333;margin:8px 0 0}" +
    ":focus-visible{outline:3px solid #0057b8;outline-offset:2px}" +
    ".rm{font:15px/1.4 system-ui,sans-serif}.rm fieldset{border:0;margin:0 0 8px;padding:0}legend{font-weight:700}" +
    ".rm label{display:block;margin:4px 0}[type=email]{font:inherit;width:100%;max-width:360px;padding:8px;" +
    "border:2px solid;border-radius:4px}.er{color:#a00000;font-weight:600}" +
    ".x{position:absolute;top:8px;right:8px;border:0;background:none;font-size:24px;padding:4px 10px}" +
    ".bb{position:fixed;left:0;right:0;bottom:0;margin:0;z-index:2147483000;max-height:80vh;overflow:auto;" +
    "box-shadow:0 -2px 12px rgba(0,0,0,.25);padding-right:48px}" +
    "@media (max-width:480px){h2{font-size:20px}.b{padding:12px 14px 16px}.bb{padding-right:44px}}";
  var FREQ = { monthly: "Monthly", one_off: "One-off", annual: "Annual" };

  function el(tag, cls, text, parent) {
    var n = D.createElement(tag);
    if (cls) n.className = cls;
    if (text != null) n.textContent = text;
    if (parent) parent.appendChild(n);
    return n;
  }
  // A button that submits nothing (type=button), doing `fn` when pressed.
  function btn(cls, text, parent, fn) {
    var b = el("button", cls, text, parent);
    b.type = "button";
    b.onclick = safe(fn);
    return b;
  }
  function money(symbol, amount) {
    return symbol + (amount % 1 ? amount.toFixed(2) : String(amount));
  }

  function render(placement, banner, host) {
    var c = banner.content, bottom = banner.template === "bottom-banner";
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    el("style", null, CSS, root);
    var box = el("section", bottom ? "b bb" : "b", null, root);
    box.setAttribute("role", "region");
    box.setAttribute("aria-label", c.heading || "Support our journalism");
    if (c.heading) el("h2", null, c.heading, box);
    (c.paragraphs || []).forEach(function (t) { el("p", null, t, box); });
    if (c.highlight) el("span", "hl", c.highlight, el("p", null, null, box));
    var choice = { frequency: null, amount: null };
    var a = c.amounts, cta = null;
    // With amounts the button names the reader's choice ("Give $25 once"), as its link does.
    var relabel = function () {
      var words = a && a.cta_labels && a.cta_labels[choice.frequency];
      if (cta && words && choice.amount != null) {
        cta.textContent = words.replace("%%SELECTED_AMOUNT%%", money(a.symbol, choice.amount));
      }
      if (cta) cta.href = go();
    };
    if (a) {
      var freqs = ["monthly", "one_off", "annual"].filter(function (f) { return (a[f] || []).length; });
      choice.frequency = a.default_frequency;
      var fRow = el("div", "freq", null, box), aRow = el("div", "amts", null, box);
      fRow.setAttribute("role", "group"); fRow.setAttribute("aria-label", "How often");
      aRow.setAttribute("role", "group"); aRow.setAttribute("aria-label", "Amount");
      var drawAmounts = function () {
        aRow.textContent = "";
        var list = a[choice.frequency] || [], pre = (a.preselected || {})[choice.frequency];
        choice.amount = list.indexOf(pre) >= 0 ? pre : list[Math.min(1, list.length - 1)];
        list.forEach(function (v) {
          var b = btn(null, money(a.symbol, v), aRow, function () {
            choice.amount = v;
            aRow.querySelectorAll("button").forEach(function (x) { x.setAttribute("aria-pressed", String(x === b)); });
            relabel();
          });
          b.setAttribute("aria-pressed", String(v === choice.amount));
        });
        relabel();
      };
      if (freqs.length > 1) freqs.forEach(function (f) {
        var b = btn(null, FREQ[f], fRow, function () {
          choice.frequency = f;
          fRow.querySelectorAll("button").forEach(function (x) { x.setAttribute("aria-pressed", String(x === b)); });
          drawAmounts();
        });
        b.setAttribute("aria-pressed", String(f === choice.frequency));
      });
      drawAmounts();
    }
    cta = el("a", "cta", c.cta.label, box);
    function go() {
      var u = new URL(c.cta.url, location.href);
      u.searchParams.set("sf_experiment", banner.experiment);
      u.searchParams.set("sf_variant", banner.variant);
      u.searchParams.set("sf_token", banner.token);
      // Stripe Checkout and Payment Links hand this back on the payment's webhook events.
      if (VID) u.searchParams.set("client_reference_id", VID);
      if (choice.amount != null) {
        u.searchParams.set("amount", choice.amount);
        u.searchParams.set("frequency", choice.frequency);
      }
      return u.href;
    }
    relabel();
    cta.addEventListener("click", safe(function (ev) {
      if (!banner.token) return ev.preventDefault();
      cta.href = go();
      track("click", banner.token);
      flush(true);
    }));
    if (c.accepts) el("p", "pm", c.accepts, box);
    var signed = false; // signed up for a reminder: the service snoozed it, no dismiss to report
    var hide = function (reason) {
      if (!signed) track("dismiss", banner.token, { reason: reason });
      host.remove();
      D.removeEventListener("keydown", onKey);
    };
    if (QA) el("p", "pm", "QA session: your actions work but are not counted.", box).setAttribute("data-qa-session", "");
    // Only the choices the service can still take (an hour ahead at least): a date the
    // newsroom set may have passed; with none left, "remind me later" is the plain snooze.
    var later = btn("later", c.remind_later_label || "Remind me later", el("p", null, null, box), function () {
      var r = c.reminder, ok = r ? r.choices.filter(function (ch) { return due(ch) - Date.now() > 36e5; }) : [];
      if (ok.length) remind(r, ok, later.parentNode); else hide("remind_later");
    });
    var onKey = safe(function (e) { if (e.key === "Escape") hide("close"); });

    // An e-mail reminder offer (content.reminder): "remind me later" opens a small form in its
    // place; closing it without signing up is the plain snooze. Every text goes in as text.
    // A choice's instant in the reader's own calendar (09:00 local for a day), as the service expects.
    function due(ch) {
      var d = new Date(), on = ch.on;
      if (ch.in_days) d.setDate(d.getDate() + ch.in_days);
      else d = ch.next_month ? new Date(d.getFullYear(), d.getMonth() + 1, 1, 9) : new Date(on.slice(0, 4), on.slice(5, 7) - 1, on.slice(8), 9);
      return d;
    }
    function remind(r, chs, spot) {
      var f = el("form", "rm"), radios = [];
      f.noValidate = true;
      spot.replaceWith(f);
      var when = el("fieldset", null, null, f);
      el("legend", null, "When should we remind you?", when);
      chs.forEach(function (ch, i) {
        var x = el("input", null, null, el("label", null, null, when));
        x.type = "radio"; x.name = "when"; x.checked = !i;
        x.after(" " + ch.label);
        radios.push(x);
      });
      el("label", null, r.email_label, f).htmlFor = "sf-email";
      var mail = el("input", null, null, f);
      mail.type = "email"; mail.id = "sf-email"; mail.autocomplete = "email";
      el("p", "pm", r.consent, f).id = "sf-consent";
      var link = el("a", null, "Privacy notice (opens in a new tab)", el("p", "pm", null, f));
      link.href = r.privacy_url; link.target = "_blank"; link.rel = "noopener";
      var row = el("p", null, null, f), send = el("button", "cta", r.submit_label, row);
      var no = btn("later", "No thanks", row, function () { hide("remind_later"); });
      var fields = { remind_at: when, email: mail };
      // The service's word beside the field it names (invalid, described by it), else below.
      var say = function (name, text) {
        var at = fields[name], p = el("p", "er", text);
        p.id = "sf-" + name + "-msg";
        p.setAttribute("role", "alert");
        if (!at) return f.appendChild(p);
        at.after(p);
        at.setAttribute("aria-invalid", "true");
        at.setAttribute("aria-describedby", p.id + " sf-consent");
        (at === mail ? mail : radios[0]).focus();
      };
      var fail = function () {
        say("", "Sorry, your reminder could not be saved.");
        no.textContent = "Just snooze it";
      };
      var thanks = function () {
        signed = true;
        box.textContent = "";
        el("p", null, null, box).setAttribute("role", "status");
        box.firstChild.textContent = r.thanks;
        btn("later", "Close", box, hide).focus();
        setTimeout(safe(hide), 8000);
      };
      f.addEventListener("keydown", safe(function (e) {
        if (e.key === "Escape") { e.stopPropagation(); hide("remind_later"); }
      }));
      f.onsubmit = safe(function (e) {
        e.preventDefault();
        if (send.disabled) return;
        f.querySelectorAll(".er").forEach(function (p) { p.remove(); });
        [when, mail].forEach(function (x) { x.removeAttribute("aria-invalid"); x.setAttribute("aria-describedby", "sf-consent"); });
        var d = due(chs[radios.findIndex(function (x) { return x.checked; })]);
        if (!banner.token) return thanks(); // the dashboard's preview: nothing is sent
        send.disabled = true;
        var done = function (x) { send.disabled = false; return x; };
        fetch(BASE + "/v1/reminders", { method: "POST", keepalive: true, credentials: "omit", headers: { "Content-Type": "text/plain" },
          body: JSON.stringify({ token: banner.token, email: mail.value.trim(), remind_at: d.toISOString() }) })
          .then(done).then(function (res) {
            if (res.status === 202) return thanks();
            if (res.status > 499) throw 0;
            return res.json().then(safe(function (body) {
              var er = body.error || {}, named = er.fields || {}, k;
              for (k in named) say(k, named[k]);
              if (!k) say("", er.message || "Please try again later.");
            }));
          }).catch(safe(function () { done(); fail(); }));
      });
      mail.setAttribute("aria-describedby", "sf-consent");
      radios[0].focus();
    }
    if (bottom) {
      btn("x", "×", box, function () { hide("close"); }).setAttribute("aria-label", "Close");
      D.addEventListener("keydown", onKey);
    }
    // The count the decision request sent, so results can adjust by it (CUPED).
    track("impression", banner.token, { article_views: views });
    watchView(box, banner.token);
  }

  // A view: at least half the banner visible for one second.
  function watchView(box, token) {
    if (!W.IntersectionObserver) return;
    var t = null, io = new IntersectionObserver(safe(function (entries) {
      var visible = entries[entries.length - 1].intersectionRatio >= 0.5;
      if (visible && !t) t = setTimeout(safe(function () { track("view", token); io.disconnect(); }), 1000);
      if (!visible && t) { clearTimeout(t); t = null; }
    }), { threshold: [0, 0.5, 1] });
    io.observe(box);
  }

  // A QA session says so on the page, banner or not (snoozed or capped is what QA checks), in
  // a corner under any bottom banner (which says it itself); its button hides it.
  function qaNotice() {
    var host = el("small-favor", null, null, D.body);
    host.setAttribute("data-smallfavor-qa", "");
    var p = el("p", null, "QA session: your actions work but are not counted.", host.attachShadow ? host.attachShadow({ mode: "open" }) : host);
    p.style.cssText = "position:fixed;bottom:0;right:0;z-index:2147482999;margin:0;padding:4px;font:12px system-ui;color:#fff;background:#121212";
    p.setAttribute("role", "status");
    btn(null, "×", p, function () { host.remove(); }).setAttribute("aria-label", "Hide");
  }

  /* ---- ?sf_debug=1: an overlay with each decision and why ---- */
  var debugBox = null;
  function showDebug(placement, answer) {
    if (!debugBox) {
      var host = el("small-favor", null, null, D.body);
      host.setAttribute("data-smallfavor-debug", "");
      var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
      el("style", null, ":host{all:initial}.d{position:fixed;top:8px;right:8px;z-index:2147483001;" +
        "max-width:calc(100vw - 16px);max-height:60vh;overflow:auto;font:12px/1.4 monospace;" +
        "color:#fff;background:#121212e8;padding:8px 10px}ul{margin:0;padding-left:16px}", root);
      debugBox = el("section", "d", "Small Favor debug", root);
      debugBox.setAttribute("role", "status");
    }
    var b = answer && answer.banner, rows = (answer && answer.debug && answer.debug.experiments) || [];
    el("p", null, placement + ": " + (!answer ? "no answer from the service" :
      b ? "shown " + b.experiment + " / " + b.variant : "no banner, reason " + answer.reason), debugBox);
    var list = el("ul", null, null, debugBox);
    rows.forEach(function (r) {
      el("li", null, r.experiment + ": " + (r.failed == null ? "passed every rule" : "ruled out by " + r.failed), list);
    });
  }

  function decide(placement, id) {
    var q = new URLSearchParams({ visitor: id, placement: placement, url: location.href.slice(0, 2000) });
    var section = ME.getAttribute("data-section"), tags = ME.getAttribute("data-tags");
    if (section) q.set("section", section);
    if (tags) q.set("tags", tags);
    q.set("lang", (D.documentElement.lang || navigator.language || "").slice(0, 35));
    q.set("article_views", String(views));
    if (config.supporter) q.set("supporter", "1");
    var page = new URLSearchParams(location.search);
    ["preview", "force", "debug"].forEach(function (k) { if (page.get("sf_" + k)) q.set(k, page.get("sf_" + k)); });
    var ctrl = W.AbortController ? new AbortController() : null;
    var deadline = setTimeout(function () { if (ctrl) ctrl.abort(); }, 1500);
    return fetch(BASE + "/v1/decision?" + q, { signal: ctrl && ctrl.signal, credentials: "omit" })
      .then(function (r) { clearTimeout(deadline); return r.ok ? r.json() : null; })
      .catch(function () { return null; });
  }

  function mount(placement) {
    var slot = D.querySelector('[data-smallfavor="' + placement + '"]');
    // A custom element name, so that page rules aimed at div, section and the like miss it.
    var host = D.createElement("small-favor");
    host.setAttribute("data-smallfavor-banner", placement);
    if (slot) slot.appendChild(host);
    else if (placement === "bottom-banner") D.body.appendChild(host);
    else ME.parentNode.insertBefore(host, ME);
    return host;
  }

  // The dashboard's banner editor loads this file with data-mode="preview" and draws with the
  // very code readers get: smallFavor.preview(host, banner) renders and reports nothing.
  if (ME.getAttribute("data-mode") === "preview") {
    config.preview = safe(function (host, banner) { render(banner.template, banner, host); });
    return;
  }

  var views = 0, VID = null, DEBUG = /^(1|true|yes)$/i.test(new URLSearchParams(location.search).get("sf_debug") || "");
  var start = safe(function () {
    if (!consented() || !W.fetch) return;
    var id = VID = visitor();
    if (!id) return;
    views = articleViews();
    if (QA) qaNotice();
    (ME.getAttribute("data-placement") || "article-end").split(/[\s,]+/).forEach(function (p) {
      if (!p) return;
      decide(p, id).then(safe(function (answer) {
        if (DEBUG) showDebug(p, answer);
        if (answer && answer.banner) render(p, answer.banner, mount(p));
      }));
    });
    if (queue.length) schedule(0);
  });
  config.grantConsent = safe(function () { config.consent = true; start(); });
  W.addEventListener("pagehide", safe(function () { flush(true); }));
  D.addEventListener("visibilitychange", safe(function () { if (D.visibilityState === "hidden") flush(true); }));
  if (D.readyState === "loading") D.addEventListener("DOMContentLoaded", start); else start();
})();
