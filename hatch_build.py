"""Build hook: put the web console (web/, built with npm into src/vsmanager/static) in the package.

Three cases, told apart by what the tree holds:
- an unpacked sdist (PKG-INFO at the top): its page was built when the sdist was made, so
  the wheel is made from it and node is never needed;
- a source tree (a checkout, ``pip install .``, ``pip install git+...``): the page is built
  from web/package-lock.json with ``npm ci && npm run build``; without node and npm, a page
  already built by ``scripts/install`` is used, and with neither the build stops and says what
  to install, so no package ever lacks its page;
- an editable install: nothing is built here; ``scripts/install`` builds the page into the
  source tree, which an editable install serves as it is.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

STATIC = Path("src") / "vsmanager" / "static"
WEB = Path("web")

NO_NODE = """\
vsmanager's web console must be built, and building it needs node and npm.
Install them (Debian/Ubuntu: apt-get install nodejs npm; or from https://nodejs.org),
or install a built vsmanager wheel or sdist instead, which holds the page already
(python -m build makes both, in dist/)."""


class WebConsoleBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "web-console"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        index = root / STATIC / "index.html"
        if version == "editable":
            if not index.is_file():
                self._say("the web console is not built yet: scripts/install builds it")
            return
        if (root / "PKG-INFO").is_file():
            if not index.is_file():
                raise SystemExit(f"this sdist lacks its built web console ({STATIC}/index.html)")
            return
        if shutil.which("node") and shutil.which("npm"):
            self._build_web(root)
        elif index.is_file():
            stale = _newer_sources(root, index)
            self._say(
                "node/npm not found: packaging the web console already built in "
                f"{STATIC}" + (f" (older than {stale}: it may be stale)" if stale else "")
            )
        else:
            raise SystemExit(f"\n{NO_NODE}\n")
        if not index.is_file():
            raise SystemExit(f"the web build produced no {STATIC}/index.html")

    def _build_web(self, root: Path) -> None:
        self._say("building the web console (npm ci && npm run build in web/)")
        npm = shutil.which("npm") or "npm"
        for step in ([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], [npm, "run", "build"]):
            done = subprocess.run(step, cwd=root / WEB, check=False)
            if done.returncode != 0:
                raise SystemExit(f"building the web console failed: `{' '.join(step[1:])}` "
                                 f"exited with {done.returncode} (its output is above)")

    def _say(self, message: str) -> None:
        print(f"vsmanager build: {message}", file=sys.stderr, flush=True)


def _newer_sources(root: Path, index: Path) -> str | None:
    """The first web source edited after the page was built, if any."""
    built = index.stat().st_mtime
    sources = [root / WEB / "index.html", root / WEB / "package-lock.json", root / WEB / "build.mjs"]
    sources += sorted((root / WEB / "src").rglob("*"))
    for source in sources:
        if source.is_file() and source.stat().st_mtime > built:
            return str(source.relative_to(root))
    return None
