"""Security headers on every response.

The Content-Security-Policy allows scripts, styles, fonts and connections from this origin only: no inline
script, no ``eval``, no third-party host (the pages work offline; charts and Swagger UI are served from
here). ``frame-ancestors 'none'`` (and X-Frame-Options for old browsers) keeps the pages out of other
sites' frames, so a form cannot be clickjacked. Images may also be ``data:`` URLs (Swagger UI's icons)."""

from flask import Flask, Response

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
# Sent only when the app is served over HTTPS (SESSION_COOKIE_SECURE says so): on plain HTTP a browser
# ignores it, and on a developer's 127.0.0.1 it would be wrong to pin HTTPS.
STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"


def init_security_headers(app: Flask) -> None:
    https = bool(app.config.get("SESSION_COOKIE_SECURE"))

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if https:
            response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
        return response
