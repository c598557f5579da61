// Starts Swagger UI (github.com/ginusers/kit/ginusers/openapi/swaggerui).
// A file rather than an inline script, so that the page's
// Content-Security-Policy needs no 'unsafe-inline'.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: DOC_URL,
    dom_id: "#swagger-ui",
    // The API preset only: the standalone preset (its top bar) injects an
    // inline <style>, which the policy forbids.
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    // No badge image from validator.swagger.io.
    validatorUrl: null,
    // The token of the Authorize dialog stays in the page: never written to
    // localStorage, gone when the tab is reloaded or closed.
    persistAuthorization: false
  });
});
