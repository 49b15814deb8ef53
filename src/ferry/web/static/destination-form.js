// The destination form, enhanced: fields appear as the choices they depend on change, and
// "Test connection" runs in place. Without this script the page still works: the server
// re-renders the form for "Update form" and "Test connection".
(function () {
  "use strict";

  var form = document.querySelector("form[data-destination-form]");
  if (!form) {
    return;
  }
  var wrappers = Array.prototype.slice.call(form.querySelectorAll("[data-field]"));
  var byId = {};
  wrappers.forEach(function (wrapper) {
    byId[wrapper.getAttribute("data-field")] = wrapper;
  });

  function valueOf(wrapper) {
    var input = wrapper.querySelector("[data-input]");
    if (!input) {
      return null;
    }
    if (input.type === "checkbox") {
      return input.checked ? "true" : "false";
    }
    return input.value;
  }

  // A field shows when the field it depends on shows and holds the value it waits for.
  function isShown(wrapper, seen) {
    var id = wrapper.getAttribute("data-field");
    if (Object.prototype.hasOwnProperty.call(seen, id)) {
      return seen[id];
    }
    seen[id] = false; // guards against cycles
    var parentId = wrapper.getAttribute("data-parent");
    var shown = true;
    if (parentId) {
      var parent = byId[parentId];
      shown = !!parent && isShown(parent, seen) &&
        valueOf(parent) === wrapper.getAttribute("data-when");
    }
    seen[id] = shown;
    return shown;
  }

  function refresh() {
    var seen = {};
    wrappers.forEach(function (wrapper) {
      var shown = isShown(wrapper, seen);
      wrapper.hidden = !shown;
      // Hidden fields are disabled: they are neither validated nor sent.
      wrapper.querySelectorAll("input, select, textarea").forEach(function (control) {
        control.disabled = !shown;
      });
    });
    form.querySelectorAll("[data-section]").forEach(function (section) {
      section.hidden = !section.querySelector("[data-field]:not([hidden])");
    });
  }

  form.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("select, input[type=checkbox]")) {
      refresh();
    }
  });
  // Fields now show and hide as answers change, so the browser can check them before sending.
  form.noValidate = false;
  form.querySelectorAll("[data-no-script]").forEach(function (element) {
    element.hidden = true;
  });
  refresh();

  // After a refused submit, the summary of what to fix is read out first.
  var problems = document.getElementById("form-problems");
  if (problems) {
    problems.focus();
  }

  // Test connection, in place.
  var button = form.querySelector("[data-test-button]");
  var panel = document.getElementById("test-result");
  if (!button || !panel || !window.fetch) {
    return;
  }

  function show(kind, title, message) {
    panel.className = "result result-" + kind;
    panel.textContent = "";
    var heading = document.createElement("p");
    heading.className = "result-title";
    heading.textContent = title;
    panel.appendChild(heading);
    if (message) {
      var text = document.createElement("p");
      text.className = "result-message";
      text.textContent = message;
      panel.appendChild(text);
    }
  }

  function clearFieldErrors() {
    form.querySelectorAll("[data-script-error]").forEach(function (element) {
      var wrapper = element.closest("[data-field]");
      element.remove();
      if (wrapper) {
        wrapper.classList.remove("has-error");
        var input = wrapper.querySelector("[data-input]");
        if (input) {
          input.removeAttribute("aria-invalid");
          var ids = (input.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
            return id && id !== element.id;
          });
          if (ids.length) {
            input.setAttribute("aria-describedby", ids.join(" "));
          } else {
            input.removeAttribute("aria-describedby");
          }
        }
      }
    });
  }

  function showFieldErrors(errors) {
    Object.keys(errors || {}).forEach(function (id) {
      var wrapper = byId[id];
      var input = wrapper && wrapper.querySelector("[data-input]");
      if (!input) {
        return;
      }
      var old = document.getElementById(id + "-error");
      if (old) {
        old.remove();
      }
      var note = document.createElement("p");
      note.className = "field-error";
      note.id = id + "-error";
      note.setAttribute("data-script-error", "");
      note.textContent = errors[id];
      wrapper.appendChild(note);
      wrapper.classList.add("has-error");
      input.setAttribute("aria-invalid", "true");
      var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      if (described.indexOf(note.id) < 0) {
        described.push(note.id);
      }
      input.setAttribute("aria-describedby", described.join(" "));
    });
  }

  button.addEventListener("click", function (event) {
    event.preventDefault();
    if (button.getAttribute("aria-busy") === "true") {
      return;
    }
    clearFieldErrors();
    if (!form.reportValidity()) {
      return;
    }
    button.setAttribute("aria-busy", "true");
    show("pending", "Testing the connection…", "This can take a few seconds.");
    fetch(form.getAttribute("data-test-url"), {
      method: "POST",
      headers: { "Accept": "application/json" },
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin",
      cache: "no-store",
      referrerPolicy: "no-referrer"
    })
      .then(function (response) {
        return response.json().then(function (body) {
          return { response: response, body: body };
        });
      })
      .then(function (answer) {
        var body = answer.body || {};
        if (!answer.response.ok || body.status !== "success" || !body.data) {
          show("error", "The connection could not be tested", body.message || "Please try again.");
          return;
        }
        var display = body.data.display || {};
        var message = [display.message].concat(body.data.problems || []).filter(Boolean).join(" ");
        show(body.data.status === "success" ? "success" : "error", display.title, message);
        showFieldErrors(body.data.field_errors);
      })
      .catch(function () {
        show("error", "The connection could not be tested",
          "Ferry could not be reached. Check your network connection and try again.");
      })
      .then(function () {
        button.removeAttribute("aria-busy");
      });
  });
})();
