"""A real browser for the web page's tests: headless Chromium driven by playwright-core (``driver.mjs``).

Python sends one JSON command per line and reads one answer per line; the driver closes the browser when its
stdin closes, so nothing outlives the test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.devhost import REPO

DRIVER = Path(__file__).with_name("driver.mjs")


def chromium() -> str | None:
    """The Chromium the driver starts: $KILN_CHROMIUM, else Debian's (scripts/setup.sh installs it)."""
    return os.environ.get("KILN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


class BrowserError(AssertionError):
    """The page did not do what the test waited for (the driver's message)."""


class Browser:
    def __init__(self) -> None:
        executable = chromium()
        if executable is None:
            raise BrowserError("no Chromium: run scripts/setup.sh (it installs Debian's chromium)")
        if not (REPO / "node_modules" / "playwright-core").is_dir():
            raise BrowserError("no playwright-core in node_modules: run scripts/setup.sh")
        self.process = subprocess.Popen(
            ["node", str(DRIVER)],
            cwd=REPO,
            env={**os.environ, "KILN_CHROMIUM": executable},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._next = 0
        ready = self._read()
        if not ready.get("ready"):
            raise BrowserError(f"the browser driver did not start: {ready}")
        self.version = str(ready.get("version"))

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise BrowserError(f"the browser driver exited (code {self.process.poll()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def call(self, op: str, **args: Any) -> Any:
        assert self.process.stdin is not None
        self._next += 1
        self.process.stdin.write(json.dumps({"id": self._next, "op": op, **args}) + "\n")
        self.process.stdin.flush()
        answer = self._read()
        if "error" in answer:
            raise BrowserError(f"{op} {args}: {answer['error']}")
        return answer.get("value")

    def goto(self, url: str) -> Any:
        return self.call("goto", url=url)

    def wait(self, selector: str, *, timeout: float = 30.0, state: str = "visible") -> None:
        self.call("wait", selector=selector, timeout=int(timeout * 1000), state=state)

    def click(self, selector: str) -> None:
        self.call("click", selector=selector)

    def eval(self, js: str) -> Any:
        return self.call("eval", js=js)

    def text(self, selector: str) -> str:
        return str(self.eval(f"document.querySelector({json.dumps(selector)})?.innerText ?? ''"))

    def screenshot(self, path: Path) -> Path:
        self.call("screenshot", path=str(path))
        return path

    def problems(self) -> list[str]:
        """Script errors and console errors the page had so far."""
        return list(self.call("problems"))

    def until(self, probe: Callable[[], Any], *, timeout: float = 60.0, every: float = 0.2) -> Any:
        """Call ``probe`` until it returns something truthy; its value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = probe()
            if value:
                return value
            time.sleep(every)
        raise BrowserError(f"the page did not get there in {timeout}s: {self.problems()}")

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self.process.stdout is not None:
            self.process.stdout.close()
