// Starts the vendored Swagger UI (web/static/vendor/swagger-ui) on the API reference page.
// A file of this site, not an inline script, so the page's CSP needs no 'unsafe-inline'.
(function () {
  "use strict";
  var url = document.currentScript.dataset.url;
  window.addEventListener("DOMContentLoaded", function () {
    window.ui = SwaggerUIBundle({
      url: url,
      dom_id: "#swagger-ui",
      deepLinking: true,
      presets: [SwaggerUIBundle.presets.apis],
    });
  });
})();
