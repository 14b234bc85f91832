"""The web UI's routes: the single page at `/`, its static files, and /docs and /redoc with local assets.

The page is one more adapter: everything it shows or changes goes through the public REST API and the
WebSocket event streams, from the browser. Nothing here reads or writes the database.
"""

import hashlib
from functools import cache
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
STATIC_URL = "/ui/static"
# The page loads nothing from elsewhere: the browser is told so, and refuses any other origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self' ws: wss:; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
# Swagger UI's page starts it with an inline script; ReDoc runs its search in a blob: worker. Neither may reach
# another origin (ReDoc would fetch its footer logo from a CDN).
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; worker-src 'self' blob:; connect-src 'self'; font-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

router = APIRouter(include_in_schema=False)


@cache
def _asset_version() -> str:
    """A short digest of the UI's own files, so that a new release is never served from a stale cache."""
    digest = hashlib.sha256()
    for name in ("app.js", "app.css"):
        digest.update((STATIC_DIR / name).read_bytes())
    return digest.hexdigest()[:12]


@cache
def _index_html() -> str:
    return (STATIC_DIR / "index.html").read_text(encoding="utf-8").replace("{{version}}", _asset_version())


@router.get("/", response_class=HTMLResponse)
def index() -> HTMLResponse:
    """The web UI (a single page; the part after `#` picks the screen)."""
    return HTMLResponse(_index_html(), headers=PAGE_HEADERS)


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui() -> HTMLResponse:
    """Swagger UI, with its assets served from here (it works without internet)."""
    return _offline(
        get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Gateway - Swagger UI",
            swagger_js_url=f"{STATIC_URL}/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{STATIC_URL}/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url=f"{STATIC_URL}/favicon.svg",
            oauth2_redirect_url="/docs/oauth2-redirect",
        )
    )


@router.get("/docs/oauth2-redirect", response_class=HTMLResponse)
def swagger_ui_redirect() -> HTMLResponse:
    """Swagger UI's OAuth2 redirect page."""
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc", response_class=HTMLResponse)
def redoc() -> HTMLResponse:
    """ReDoc, with its script served from here and no web fonts from elsewhere."""
    return _offline(
        get_redoc_html(
            openapi_url="/openapi.json",
            title="Gateway - ReDoc",
            redoc_js_url=f"{STATIC_URL}/vendor/redoc/redoc.standalone.js",
            redoc_favicon_url=f"{STATIC_URL}/favicon.svg",
            with_google_fonts=False,
        )
    )


def _offline(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
    return page


def install(app: FastAPI) -> None:
    """Serve the UI, its static files and the offline documentation pages from `app`."""
    app.include_router(router)
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="ui-static")
