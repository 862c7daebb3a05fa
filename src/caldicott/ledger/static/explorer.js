/*
 * explorer.js: the ledger explorer's enhancements. Starts the in-browser proof check
 * (proof-check.js, loaded first) and the copy buttons; without JavaScript the buttons
 * stay hidden and the checkpoint and key are still selectable text.
 */
(function () {
  "use strict";

  function copyButtons(doc) {
    Array.prototype.forEach.call(doc.querySelectorAll("[data-copy]"), function (box) {
      var field = box.querySelector("textarea, input");
      var button = box.querySelector("[data-copy-button]");
      var out = box.querySelector("[data-copy-result]");
      if (!field || !button) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        field.focus();
        field.select();
        var done = function () { out.textContent = "Copied."; };
        var failed = function () { out.textContent = "Selected: copy it with your keyboard or menu."; };
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(field.value).then(done, failed);
        } else {
          failed();
        }
      });
    });
  }

  function start() {
    copyButtons(document);
    if (window.ProofCheck) window.ProofCheck.attach(document);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
