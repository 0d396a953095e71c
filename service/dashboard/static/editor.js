/* The banner editor's live preview: each variant's fields go to the server, which validates
 * them and fills the placeholders exactly as for a reader; the snippet (loaded with
 * data-mode="preview") then draws the banner with the code article pages run. */
(function () {
  "use strict";
  var me = document.currentScript;
  var url = me.getAttribute("data-preview-url");
  var form = document.querySelector("form.editor");
  if (!form) return;
  var csrf = form.querySelector("input[name=csrf_token]").value;
  var timers = {}, drawn = {};

  function fields(index) {
    var prefix = "variants[" + index + "].", out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name.indexOf(prefix) !== 0) return;
      var name = el.name.slice(prefix.length);
      if (el.type === "checkbox") {
        if (!out[name]) out[name] = [];
        if (el.checked) out[name].push(el.value);
      } else {
        out[name] = el.value;
      }
    });
    return out;
  }

  function draw(index) {
    var frame = form.querySelector('[data-preview="' + index + '"]');
    var errors = form.querySelector('[data-preview-errors="' + index + '"]');
    if (!frame || !window.smallFavor || !window.smallFavor.preview) return;
    // Unchanged fields (a "change" as a field loses focus after its "input"): keep the drawing,
    // so a reminder offer opened in the preview stays open.
    var sent = JSON.stringify({ fields: fields(index) });
    if (drawn[index] === sent) return;
    drawn[index] = sent;
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: sent
    })
      .then(function (r) { return r.json(); })
      .then(function (body) {
        if (body.banner) {
          // A shadow root attaches once per element: draw into a fresh host each time.
          var host = document.createElement("small-favor");
          frame.replaceChildren(host);
          window.smallFavor.preview(host, body.banner);
          errors.textContent = "";
          frame.setAttribute("data-rendered", "true");
        } else if (body.errors) {
          errors.textContent = "Preview paused: " + Object.keys(body.errors).map(function (k) {
            return k.replace(/^banner\./, "") + " " + body.errors[k];
          }).join("; ");
        }
      })
      .catch(function () { drawn[index] = null; errors.textContent = "Preview unavailable."; });
  }

  function schedule(index) {
    clearTimeout(timers[index]);
    timers[index] = setTimeout(function () { draw(index); }, 250);
  }

  // Typing in a preview (its reminder form) is the reader's part: no redraw for it.
  function inPreview(ev) { return ev.target.closest("[data-preview]"); }
  form.addEventListener("input", function (ev) {
    if (inPreview(ev)) return;
    var box = ev.target.closest("[data-variant]");
    if (box) schedule(box.getAttribute("data-variant"));
  });
  // The offer's inputs show only while "remind me later" offers an e-mail reminder; hidden,
  // they keep what was typed.
  var OFFER_MODE = 'select[name$="].banner.reminder"]';
  function showOffer(select) {
    var fields = select.closest("[data-reminder-offer]").querySelector("[data-reminder-fields]");
    fields.hidden = select.value !== "email";
  }
  Array.prototype.forEach.call(form.querySelectorAll(OFFER_MODE), showOffer);

  form.addEventListener("change", function (ev) {
    if (inPreview(ev)) return;
    if (ev.target.matches(OFFER_MODE)) showOffer(ev.target);
    var box = ev.target.closest("[data-variant]");
    if (box) schedule(box.getAttribute("data-variant"));
  });
  Array.prototype.forEach.call(form.querySelectorAll("[data-variant]"), function (box) {
    draw(box.getAttribute("data-variant"));
  });
  var summary = document.getElementById("form-errors");
  if (summary) summary.focus();
})();
