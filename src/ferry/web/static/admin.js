// The Admin UI, lightly enhanced: choosers submit on change, and a running transfer's page
// follows it live. Every page works without this script.
(function () {
  "use strict";

  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      if (select.form) {
        select.form.submit();
      }
    });
    var form = select.form;
    if (form) {
      form.querySelectorAll("[data-no-script]").forEach(function (element) {
        element.hidden = true;
      });
    }
  });

  var live = document.querySelector("[data-live-url]");
  if (!live || !live.hasAttribute("data-live") || !window.fetch) {
    return;
  }
  var url = live.getAttribute("data-live-url");
  var delay = 1500;

  function finished() {
    live.removeAttribute("data-live");
    document.querySelectorAll("[data-while-active]").forEach(function (element) {
      element.hidden = true;
    });
  }

  function poll() {
    fetch(url, {
      headers: { "Accept": "application/json" },
      credentials: "same-origin",
      cache: "no-store"
    })
      .then(function (response) {
        if (response.status === 401) {
          window.location.reload(); // signed out: the page sends to the sign-in form
          return null;
        }
        return response.ok ? response.json() : null;
      })
      .then(function (body) {
        if (body && body.status === "success" && body.data) {
          live.innerHTML = body.data.html;
          if (!body.data.is_active) {
            finished();
            return;
          }
        }
        window.setTimeout(poll, delay);
      })
      .catch(function () {
        window.setTimeout(poll, delay * 4);
      });
  }

  window.setTimeout(poll, delay);
})();
