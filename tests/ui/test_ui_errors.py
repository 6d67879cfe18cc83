"""Failures are messages in the page: with `--auth` and no token the login prompt (and with a
token the data), a tracking service that is down a readable message, never a blank page."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gateway_helpers import serve_gateway

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "security"))
from auth_helpers import auth_tracking_server, issue_token  # noqa: E402


@pytest.fixture(scope="module")
def auth_address(db_uri: str, artifact_root: Path) -> Iterator[str]:
    with auth_tracking_server(db_uri, artifact_root) as address:
        yield address


@pytest.fixture(scope="module")
def auth_ui_url(auth_address: str) -> Iterator[str]:
    with serve_gateway(auth_address) as url:
        yield url


def test_with_auth_no_token_shows_the_login_prompt(
    page: Any, auth_ui_url: str, screenshots: Path
) -> None:
    page.goto(auth_ui_url + "/")
    page.locator("dialog#login[open]").wait_for()
    assert page.locator("#experiments").count() == 0
    page.screenshot(path=screenshots / "login.png")


def test_with_auth_a_token_signs_in(page: Any, auth_ui_url: str, db_uri: str) -> None:
    token = issue_token(db_uri, "read")
    page.goto(auth_ui_url + "/")
    page.locator("dialog#login[open]").wait_for()
    page.fill("#login-token", token)
    page.click("#login-form button[type=submit]")
    page.locator("#experiments tr[data-experiment='Default']").wait_for()
    # Signed in: "sign out" shown, and it stays through other views; signing out asks again.
    assert page.locator("#logout").is_visible()
    page.click("#experiments tr[data-experiment='Default'] a")
    page.locator("#runs, #no-runs").first.wait_for()
    assert page.locator("#logout").is_visible()
    page.click("#logout")
    page.locator("dialog#login[open]").wait_for()
    assert page.locator("#logout").is_hidden()


def test_a_wrong_token_asks_again_with_the_services_reason(page: Any, auth_ui_url: str) -> None:
    page.goto(auth_ui_url + "/")
    page.locator("dialog#login[open]").wait_for()
    page.fill("#login-token", "not-a-token")
    page.click("#login-form button[type=submit]")
    page.locator("dialog#login[open] #login-error:not(:empty)").wait_for()


def test_a_tracking_service_that_is_down_is_a_readable_message(page: Any) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with serve_gateway(f"127.0.0.1:{port}") as url:
        page.goto(url + "/")
        alert = page.locator("main [role=alert]")
        alert.wait_for(timeout=60000)
        text = alert.inner_text()
    assert "Traceback" not in text
    assert str(port) in text or "unavailable" in text.lower()
