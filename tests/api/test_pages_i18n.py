"""Language and layout of every page: Chinese first, English on request and remembered; complete message
catalogues; no external or inline scripts and styles; every page answers in both languages."""

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from tests.api.page_helpers import add_product, sign_in
from tests.conftest import make_app

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "api" / "translations"
CATALOGUES = sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))


def test_chinese_by_default_english_on_request_and_remembered(client: FlaskClient) -> None:
    chinese = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in chinese
    assert "产品目录" in chinese and "Product catalogue" not in chinese

    english = client.get("/?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in english
    assert "Product catalogue" in english and "产品目录" not in english

    remembered = client.get("/products").get_data(as_text=True)
    assert '<html lang="en">' in remembered and "Product catalogue" in remembered

    back = client.get("/products?lang=zh_CN").get_data(as_text=True)
    assert "产品目录" in back


def test_language_links_keep_the_page_and_its_query(client: FlaskClient) -> None:
    page = client.get("/products?type=e_loan&q=%E8%B4%B7").get_data(as_text=True)
    assert 'href="/products?type=e_loan&amp;q=%E8%B4%B7&amp;lang=en"' in page
    assert 'href="/products?type=e_loan&amp;q=%E8%B4%B7&amp;lang=zh_CN"' in page


def test_code_labels_follow_the_language(client: FlaskClient, app: Flask) -> None:
    add_product(app, type="e_loan", collateral=["none"])
    assert "e贷（线上信用贷）" in client.get("/products").get_data(as_text=True)
    english = client.get("/products?lang=en").get_data(as_text=True)
    assert "e-loan (online credit)" in english and "none (unsecured)" in english


def test_synthetic_demo_is_noted_in_the_footer_only_when_shown(client: FlaskClient, app: Flask) -> None:
    add_product(app, code="REAL", description="真实产品")
    assert "模拟数据" not in client.get("/").get_data(as_text=True)
    add_product(app, code="DEMO", description="演示产品（演示数据，系统生成）")
    assert "模拟数据，仅供演示" in client.get("/").get_data(as_text=True)


def _pages(client: FlaskClient, app: Flask, make_token: Callable[..., str]) -> list[str]:
    product_id = add_product(app, bank_code="MINE")
    sign_in(client, make_token("bank", bank_code="MINE"))
    return ["/", "/products", f"/products/{product_id}", "/login", "/portal", "/products?type=e_loan&page=1"]


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_every_page_answers_200_in_both_languages(
    client: FlaskClient, app: Flask, make_token: Callable[..., str], lang: str
) -> None:
    for path in _pages(client, app, make_token):
        separator = "&" if "?" in path else "?"
        response = client.get(f"{path}{separator}lang={lang}")
        assert response.status_code == 200, path
        assert f'<html lang="{lang.replace("_", "-")}">' in response.get_data(as_text=True), path


def test_pages_use_only_local_assets_and_no_inline_code(
    client: FlaskClient, app: Flask, make_token: Callable[..., str]
) -> None:
    """A later Content-Security-Policy forbids inline scripts and styles; the app serves every asset."""
    for path in [*_pages(client, app, make_token), "/products/999999"]:
        page = client.get(path).get_data(as_text=True)
        assert not re.search(r'(src|href)="(https?:)?//', page), path
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), path
        assert " style=" not in page and "<style" not in page, path
        assert re.search(r"\son[a-z]+=", page) is None, path
        for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page):
            assert client.get(asset).status_code == 200, asset


def test_layout_is_accessible(client: FlaskClient) -> None:
    page = client.get("/products").get_data(as_text=True)
    assert '<a class="skip-link" href="#main">' in page and '<main id="main"' in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    ids = set(re.findall(r'<(?:input|select)[^>]*\sid="([^"]+)"', page))
    labelled = set(re.findall(r'<label for="([^"]+)"', page))
    assert ids and ids <= labelled


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda path: path.parts[-3])
def test_catalogue_is_complete(path: Path) -> None:
    with path.open("rb") as handle:
        catalogue = read_po(handle)
    assert [m.id for m in catalogue if m.id and m.fuzzy] == []
    untranslated = [
        m.id for m in catalogue if m.id and not all(m.string if isinstance(m.string, tuple) else [m.string])
    ]
    assert untranslated == []
    assert [(m.id, errors) for m, errors in catalogue.check() if errors] == []


def test_catalogues_hold_every_message_of_the_code() -> None:
    """Fails when a new ``_()`` was added without running pybabel extract/update and translating it."""
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    in_code = {
        message[0] if isinstance(message, tuple) else message
        for _, _, message, _, _ in extract_from_dir(str(ROOT), method_map, options_map)
    }
    assert len(CATALOGUES) == 2
    for path in CATALOGUES:
        with path.open("rb") as handle:
            in_catalogue = {m.id[0] if isinstance(m.id, tuple) else m.id for m in read_po(handle) if m.id}
        assert in_code - in_catalogue == set(), path


def test_translations_format_with_their_placeholders() -> None:
    """Templates format every message (Jinja's new-style gettext), Python code those with placeholders;
    a stray % in such a translation breaks the page, so each must format with its msgid's placeholders."""
    for path in CATALOGUES:
        with path.open("rb") as handle:
            catalogue = read_po(handle)
        for message in catalogue:
            in_template = any(location.endswith(".html") for location, _ in message.locations)
            if not message.id or not (in_template or message.python_format):
                continue
            msgid = message.id[0] if isinstance(message.id, tuple) else message.id
            names = dict.fromkeys(re.findall(r"%\((\w+)\)", msgid), 1)
            for text in message.string if isinstance(message.string, tuple) else [message.string]:
                text % names  # raises on a stray %


def test_error_pages_use_the_layout_in_the_chosen_language(app: Flask) -> None:
    def broken() -> str:
        raise RuntimeError("a bug")

    app = make_app(app.config["DATABASE_URL"])  # an app of its own, to add a route to
    app.add_url_rule("/broken", "broken", broken)
    client = app.test_client()
    failed = client.get("/broken")
    assert failed.status_code == 500
    assert "系统出错" in failed.get_data(as_text=True) and "a bug" not in failed.get_data(as_text=True)
    missing = client.get("/no-such-page?lang=en")
    assert missing.status_code == 404
    assert '<html lang="en">' in missing.get_data(as_text=True) and "Page not found" in missing.get_data(as_text=True)
    app.extensions["engine"].dispose()


def test_chinese_is_the_default_even_for_an_english_browser(client: FlaskClient) -> None:
    response = client.get("/register", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "企业注册" in response.text
    assert 'lang="zh-CN"' in response.text
