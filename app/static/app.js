/* pharmacheck pages work without this script. It only makes the wait for a report smoother: the waiting page
   asks the server how the check is going, shows which page is being read, and opens the report as soon as it
   is ready. Text from checked sites is only ever set with textContent. */
(function () {
  "use strict";

  // Only on a change: rewriting the same words inside the live status would make screen readers repeat them.
  function setText(id, text) {
    var el = document.getElementById(id);
    if (el && el.textContent !== (text || "")) { el.textContent = text || ""; }
  }

  var pagesShown = -1;

  function showPages(pages) {
    var list = document.getElementById("progress-pages");
    if (!list || !pages || !pages.length || pages.length === pagesShown) { return; }
    pagesShown = pages.length;
    while (list.firstChild) { list.removeChild(list.firstChild); }
    for (var i = 0; i < pages.length; i++) {
      var item = document.createElement("li");
      var text = document.createElement("bdi");
      text.textContent = pages[i];
      item.appendChild(text);
      list.appendChild(item);
    }
  }

  function followProgress(box) {
    var statusUrl = box.getAttribute("data-status-url");
    var reportUrl = box.getAttribute("data-report-url");
    var failures = 0;
    if (!statusUrl || !reportUrl || !window.fetch) { return; }

    function poll() {
      window.fetch(statusUrl, { headers: { Accept: "application/json" }, cache: "no-store", credentials: "omit" })
        .then(function (response) { return response.ok ? response.json() : { state: "gone" }; })
        .then(function (status) {
          if (status.state !== "running") {
            window.location.replace(reportUrl);
            return;
          }
          failures = 0;
          setText("progress-stage", status.stage_text);
          setText("progress-page", status.stage_page);
          showPages(status.pages);
          window.setTimeout(poll, 500);
        })
        .catch(function () {
          failures += 1;
          if (failures > 5) { window.location.replace(reportUrl); return; }
          window.setTimeout(poll, 1500);
        });
    }
    window.setTimeout(poll, 300);
  }

  function busyButton(form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (button) {
        button.textContent = "Starting the check…";
        button.setAttribute("aria-disabled", "true");
      }
    });
  }

  // On this page the bookmarklet is only something to drag: the page's own policy blocks javascript: links, so
  // a press would silently do nothing. Say what to do instead.
  function explainBookmarklet(link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      setText("bookmarklet-message", "Drag this button to your bookmarks bar; then press it on a pharmacy's site.");
    });
  }

  function selectOnFocus(area) {
    area.addEventListener("focus", function () { area.select(); });
  }

  var box = document.getElementById("progress");
  if (box) { followProgress(box); }
  var forms = document.querySelectorAll("form.check-form");
  for (var i = 0; i < forms.length; i++) { busyButton(forms[i]); }
  var bookmarklet = document.getElementById("bookmarklet");
  if (bookmarklet) { explainBookmarklet(bookmarklet); }
  var code = document.getElementById("bookmarklet-code");
  if (code) { selectOnFocus(code); }
}());
