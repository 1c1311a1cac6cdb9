/* Starts Swagger UI on /docs/ with the server's own OpenAPI document. Kept out
 * of index.html because the Content-Security-Policy forbids inline scripts. */
(function () {
  "use strict";
  window.addEventListener("DOMContentLoaded", function () {
    window.ui = window.SwaggerUIBundle({
      url: "/openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      presets: [window.SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
      // No calls to the public validator service (CSP would block them anyway).
      validatorUrl: null,
      displayRequestDuration: true,
      tryItOutEnabled: false,
      defaultModelsExpandDepth: 1,
      docExpansion: "list"
    });
  });
})();
