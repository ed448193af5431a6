// Starts Swagger UI on /api/v1/docs with the settings the page carries as JSON (no inline script: CSP).
window.addEventListener("DOMContentLoaded", () => {
  const config = JSON.parse(document.getElementById("swagger-config").textContent);
  window.ui = SwaggerUIBundle(config);
});
