"""The English interface is complete: every string the code shows has an English translation,
the compiled catalogue the app serves is the current one, placeholders survive translation,
and English pages show no Chinese in their menus, titles and headings.

When one of these fails: `make messages`, fill the English (`scripts/po_fill.py`, see
CONTRIBUTING.md), then `make translations`.
"""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from flask_babel import force_locale, get_translations

from marketplace.extensions import db
from tests.factories import make_certified_product, make_user
from tests.helpers import login

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "marketplace" / "translations"
PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
POT = TRANSLATIONS / "messages.pot"
FIX = "run `make messages`, fill the English with scripts/po_fill.py, then `make translations`"

CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
NAMED = re.compile(r"%\((\w+)\)")
POSITIONAL = re.compile(r"%(?!\()[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")


def _read(path: Path):
    with open(path, "rb") as f:
        return read_po(f)


def _key(message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def _strings(value) -> tuple[str, ...]:
    """msgid or msgstr as a tuple (singular, plural forms...)."""
    if isinstance(value, str):
        return (value,)
    return tuple(value or ())


def _show(keys) -> str:
    keys = sorted(keys)
    more = f" … and {len(keys) - 15} more" if len(keys) > 15 else ""
    return "\n  ".join([""] + [repr(k) for k in keys[:15]]) + more


@pytest.fixture(scope="module")
def catalogue():
    return _read(PO)


def test_every_english_entry_is_translated_and_not_fuzzy(catalogue):
    empty = [_key(m) for m in catalogue if m.id and not all(_strings(m.string))]
    fuzzy = [_key(m) for m in catalogue if m.id and m.fuzzy]
    assert not empty, f"{len(empty)} strings have no English ({FIX}):{_show(empty)}"
    assert not fuzzy, f"{len(fuzzy)} English entries are marked fuzzy (check, then drop the flag):" \
                      f"{_show(fuzzy)}"


def test_every_string_in_the_code_is_in_the_english_catalogue(catalogue, tmp_path):
    """Extract afresh, as `make messages` does: a string added since is caught here too."""
    fresh = tmp_path / "messages.pot"
    CommandLineInterface().run(["pybabel", "--quiet", "extract", "-F", str(ROOT / "babel.cfg"),
                                "-k", "_l", "-o", str(fresh), str(ROOT)])
    in_po = {_key(m) for m in catalogue if m.id}
    in_code = {_key(m) for m in _read(fresh) if m.id}
    in_pot = {_key(m) for m in _read(POT) if m.id}
    assert in_code, "extraction found no strings at all"
    assert not in_code - in_po, f"strings in the code but not in messages.po ({FIX}):" \
                                f"{_show(in_code - in_po)}"
    assert not in_pot - in_po, f"messages.pot has strings messages.po lacks ({FIX}):" \
                               f"{_show(in_pot - in_po)}"


def test_the_served_catalogue_is_the_compiled_english_catalogue(app, catalogue, tmp_path):
    """The .mo the app loads holds exactly the messages compiling messages.po gives now
    (the header, which only `make messages` dates, aside)."""
    mo = tmp_path / "messages.mo"
    with open(mo, "wb") as f:
        write_mo(f, catalogue)
    with open(mo, "rb") as f:
        expected = Translations(f)._catalog
    with app.test_request_context(), force_locale("en"):
        served = getattr(get_translations(), "_catalog", None)
    assert served is not None, "the app serves no English catalogue: run `make translations`"
    stale = {k for k in expected.keys() | served.keys()
             if k != "" and expected.get(k) != served.get(k)}
    assert not stale, "the compiled messages.mo is older than messages.po: run " \
                      f"`make translations`. Different:{_show(str(k) for k in stale)}"


def test_placeholders_survive_translation(catalogue):
    """In python-format strings (Babel flags them): the same %(name)s set, as many bare %s."""
    wrong = []
    for message in catalogue:
        if not message.id or "python-format" not in message.flags:
            continue
        ids = tuple(s.replace("%%", "") for s in _strings(message.id))
        strs = tuple(s.replace("%%", "") for s in _strings(message.string))
        names = set().union(*(NAMED.findall(s) for s in ids))
        positional = max(len(POSITIONAL.findall(s)) for s in ids)
        for translated in strs:
            if not translated:
                continue
            if set(NAMED.findall(translated)) != names or (
                    len(POSITIONAL.findall(translated)) != positional):
                wrong.append(f"{_key(message)} -> {translated}")
    assert not wrong, f"placeholders differ between Chinese and English:{_show(wrong)}"


class _Chrome(HTMLParser):
    """Text of a page's title, menus and headings, leaving out text marked lang="zh…"
    (the language switch offers 中文 in Chinese, as it should)."""

    WATCHED = {"title", "nav", "h1", "h2", "h3", "h4", "legend"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
            "source", "track", "wbr"}

    def __init__(self):
        super().__init__()
        self.stack: list[tuple[str, bool, bool]] = []  # (tag, watched, chinese on purpose)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        lang = dict(attrs).get("lang") or ""
        self.stack.append((tag, tag in self.WATCHED, lang.startswith("zh")))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        if (any(w for _t, w, _z in self.stack) and not any(z for _t, _w, z in self.stack)
                and CJK.search(data)):
            self.found.append(data.strip())


def _chinese_in_chrome(html: str) -> list[str]:
    parser = _Chrome()
    parser.feed(html)
    return parser.found


def test_the_parser_finds_chinese_in_a_heading_but_not_in_the_language_switch():
    html = ('<title>Products</title><nav><a href="/lang/zh" lang="zh-CN">中文</a>'
            '<a href="/">产品目录</a></nav><h1>Catalogue</h1><h2>认定</h2><p>许昌</p>')
    assert _chinese_in_chrome(html) == ["产品目录", "认定"]


PUBLIC_PAGES = ("/", "/products", "/login", "/register", "/search?q=honey")
SIGNED_IN_PAGES = {
    "farmer": ("/my/products", "/my/products/new", "/my/applications", "/my/orders",
               "/my/organisation"),
    "admin": ("/admin/", "/admin/users", "/review"),
}


def test_english_pages_show_no_chinese_in_menus_titles_and_headings(app, places, producer_org,
                                                                   admin):
    """Page chrome only: what people typed (a product's name, say) stays as they wrote it."""
    make_certified_product(producer_org, places.starch, name="Yuzhou sweet potato noodles")
    farmer = make_user("farmer", role="producer", organisation=producer_org)
    farmer.display_name, admin.display_name = "Farmer Li", "Admin Wang"  # shown in the menu
    db.session.commit()
    found = {}
    for username in (None, *SIGNED_IN_PAGES):
        client = app.test_client()
        if username:
            login(client, username)
        client.get("/lang/en")
        for url in SIGNED_IN_PAGES[username] if username else PUBLIC_PAGES:
            response = client.get(url)
            assert response.status_code == 200, url
            html = response.get_data(as_text=True)
            assert 'lang="en"' in html, url
            found[url] = _chinese_in_chrome(html)
    assert not any(found.values()), "Chinese in English page chrome: " + "; ".join(
        f"{url}: {texts}" for url, texts in found.items() if texts)
