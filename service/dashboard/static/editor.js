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
  var timers = {};

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
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ fields: fields(index) })
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
      .catch(function () { errors.textContent = "Preview unavailable."; });
  }

  function schedule(index) {
    clearTimeout(timers[index]);
    timers[index] = setTimeout(function () { draw(index); }, 250);
  }

  form.addEventListener("input", function (ev) {
    var box = ev.target.closest("[data-variant]");
    if (box) schedule(box.getAttribute("data-variant"));
  });
  form.addEventListener("change", function (ev) {
    var box = ev.target.closest("[data-variant]");
    if (box) schedule(box.getAttribute("data-variant"));
  });
  Array.prototype.forEach.call(form.querySelectorAll("[data-variant]"), function (box) {
    draw(box.getAttribute("data-variant"));
  });
  var summary = document.getElementById("form-errors");
  if (summary) summary.focus();
})();
