"""gateway/app/web/routes.py: the page, its static files and the documentation pages, all served from here."""

import re
from pathlib import Path

import pytest

from gateway.app.web import routes

pytestmark = pytest.mark.sqlite_only
LOCAL_URL = re.compile(r"""(?:src|href)=["']([^"']+)["']""")


def test_the_ui_is_served_at_the_root_and_may_load_nothing_from_elsewhere(client):
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "http" not in policy  # no other origin is allowed
    assert "{{version}}" not in page.text
    for url in (u for u in LOCAL_URL.findall(page.text) if not u.startswith("#")):
        assert url.startswith("/"), url
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_documentation_pages_use_local_assets(client, path):
    page = client.get(path)
    assert page.status_code == 200
    assert "cdn." not in page.text
    assert "fonts.googleapis" not in page.text
    assert "connect-src 'self'" in page.headers["content-security-policy"]
    urls = [u for u in LOCAL_URL.findall(page.text) if not u.startswith("#")]
    assert urls
    for url in urls:
        assert url.startswith("/"), url
        response = client.get(url)
        assert response.status_code == 200, url
        assert len(response.content) > 100


def test_swagger_ui_oauth2_redirect_page_is_local(client):
    page = client.get("/docs/oauth2-redirect")
    assert page.status_code == 200
    assert "cdn" not in page.text


def test_vendored_files_keep_their_licences_and_reach_no_cdn():
    vendor = routes.STATIC_DIR / "vendor"
    for name in ("swagger-ui/LICENSE", "swagger-ui/NOTICE", "redoc/LICENSE"):
        assert (vendor / name).stat().st_size > 40, name
    for bundle in (vendor / "redoc" / "redoc.standalone.js", vendor / "swagger-ui" / "swagger-ui-bundle.js"):
        text = Path(bundle).read_text(encoding="utf-8", errors="replace")
        assert "cdn.redoc.ly" not in text
        assert "fonts.googleapis.com" not in text


def test_the_openapi_document_lists_no_ui_route(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert not {"/", "/docs", "/redoc"} & set(paths)
