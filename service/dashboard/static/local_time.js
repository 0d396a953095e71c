/* Moments in the viewer's own time zone. The server writes each as
 * <time datetime="<ISO 8601 instant>">5 Dec 2026, 17:18 UTC</time>, which stays as it is
 * without JavaScript; here the text becomes the same instant in the browser's zone
 * ("5 Dec 2026, 18:18 CET"), the title keeping the exact instant. */
(function () {
  "use strict";
  if (!window.Intl || !Intl.DateTimeFormat) return;
  var format = new Intl.DateTimeFormat(undefined, {
    day: "numeric", month: "short", year: "numeric",
    hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  });
  Array.prototype.forEach.call(document.querySelectorAll("time[datetime]"), function (el) {
    var moment = new Date(el.getAttribute("datetime"));
    if (isNaN(moment.getTime())) return;
    el.textContent = format.format(moment);
  });
})();
