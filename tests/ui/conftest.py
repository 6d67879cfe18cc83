"""The web UI in a real browser: Debian's chromium driven by Playwright, before a gateway (uvicorn
in a thread) in front of a real tracking service on SQLite. Screenshots go to the test's tmp dir
(MLGRPC_UI_SCREENSHOTS names another directory, e.g. docs/screenshots)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

# Imported before any server thread runs: the in-process tracking service imports numpy lazily
# in a request thread, and pytest.approx in the test thread then saw a half-imported numpy.
import numpy  # noqa: F401
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gateway"))
from gateway_helpers import serve_gateway  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def db_uri(new_database: Callable[[str], str]) -> str:
    """SQLite only: the UI's behaviour does not depend on the database (the gateway and the
    tracking service's tests cover both)."""
    return new_database("sqlite")


@pytest.fixture(scope="module")
def ui_url(tracking_server: str) -> Iterator[str]:
    with serve_gateway(tracking_server) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    """A fresh page (its own storage: no token or theme left by another test); a script error
    in the page fails the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"errors in the page: {errors}"


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("MLGRPC_UI_SCREENSHOTS")
    if chosen:
        Path(chosen).mkdir(parents=True, exist_ok=True)
        return Path(chosen)
    return tmp_path_factory.mktemp("screenshots")
