"""The web app's answers to hostile or odd requests: every one a result, a one-line error
naming the field (4xx) or "busy", never an internal error."""
from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed: pip install -e '.[web]'")
from fastapi.testclient import TestClient  # noqa: E402

from allocator.web import forms  # noqa: E402
from allocator.web.app import create_app  # noqa: E402
from tests.web_support import fast_form, settings  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(settings())) as c:
        yield c


@pytest.mark.parametrize("text", ["a\x07b", "\x7f", "\x1b[31m", 'q"\\\r\n\tz', "\x00"])
def test_control_characters_round_trip_through_the_profile_toml(text):
    """TOML basic strings cannot hold raw control characters: they are written escaped and
    read back as typed."""
    import tomllib

    assert tomllib.loads(f"x = {forms._toml_value(text)}\n")["x"] == text


@pytest.mark.parametrize("path", ["/solve", "/profile.toml"])
def test_a_control_character_in_a_text_field_is_a_field_error(client, path):
    r = client.post(path, data=fast_form(never_apply="IM-0001\x07"))
    assert r.status_code in (200, 422) and "internal error" not in r.text
    if path == "/solve":
        assert "never_apply" in r.text and "IM-0001\\u0007" not in r.text


def test_a_specialty_limit_thousands_of_digits_long_is_a_field_error(client):
    r = client.post("/solve", data=fast_form(specialty_limits="Internal Medicine: " + "9" * 5000 + "-"))
    assert r.status_code == 422 and "at most 6 digits" in r.text and "internal error" not in r.text
