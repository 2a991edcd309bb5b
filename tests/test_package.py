"""The package is whole: the sdist and the wheel built from a clean clone hold the web page; a
fresh venv with only the wheel serves it to a real browser; a source tree without node stops.

The build is real (`python -m build`: hatchling and npm from their registries, through the
caches), so this module takes one to three minutes; its tests share one build and one venv.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from harness import TIME_SCALE, free_port, stop_process
from vsmanager import __version__

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("VS_CHROMIUM", "/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("VS_REQUIRE_BROWSER") == "1"
BUILD_TIMEOUT_S = 600

pytestmark = [
    pytest.mark.skipif(
        shutil.which("git") is None or not (REPO / ".git").exists(),
        reason="needs git and a git checkout (the package is built from a clean clone of it)",
    ),
    # The first test of a fixture pays for the build or the venv (a minute each on a busy machine).
    pytest.mark.timeout(int(900 * TIME_SCALE)),
]


@dataclass(frozen=True)
class Built:
    clone: Path
    sdist: Path
    wheel: Path


def run(argv: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
        timeout: float = BUILD_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout * TIME_SCALE, check=False)


def checked(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, f"{done.args} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def clean_clone(target: Path) -> Path:
    """HEAD of this checkout, as a fresh clone has it: nothing built, nothing uncommitted."""
    checked(run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(target)]))
    assert not (target / "src" / "vsmanager" / "static").exists()
    return target


def without_node(tmp: Path) -> dict[str, str]:
    """An environment whose PATH holds this Python and nothing else: no node, no npm."""
    bin_dir = tmp / "bin-without-node"
    bin_dir.mkdir(exist_ok=True)
    for name in ("python", "python3"):
        link = bin_dir / name
        if not link.exists():
            link.symlink_to(sys.executable)
    return {**_env_without_vs(), "PATH": str(bin_dir)}


def _env_without_vs() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.upper().startswith("VS_")}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    tmp = tmp_path_factory.mktemp("package")
    clone = clean_clone(tmp / "clone")
    checked(run([sys.executable, "-m", "build", "--outdir", str(tmp / "dist"), str(clone)]))
    (sdist,) = (tmp / "dist").glob("vsmanager-*.tar.gz")
    (wheel,) = (tmp / "dist").glob("vsmanager-*.whl")
    return Built(clone, sdist, wheel)


def page_assets(index_html: str) -> list[str]:
    """The scripts and stylesheets the page loads (hashed names under assets/)."""
    assets = re.findall(r'(?:src|href)="(assets/[^"]+)"', index_html)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets), index_html
    return assets


# -- contents -----------------------------------------------------------------------------


def test_wheel_holds_the_page_and_every_asset_it_loads(built: Built) -> None:
    with zipfile.ZipFile(built.wheel) as wheel:
        names = set(wheel.namelist())
        index = wheel.read("vsmanager/static/index.html").decode()
    for asset in page_assets(index):
        assert f"vsmanager/static/{asset}" in names
    assert "vsmanager/py.typed" in names
    assert not [n for n in names if n.startswith(("web/", "tests/")) or "node_modules" in n]
    assert built.wheel.name == f"vsmanager-{__version__}-py3-none-any.whl"


def test_sdist_holds_the_built_page_and_its_sources(built: Built) -> None:
    root = f"vsmanager-{__version__}"
    with tarfile.open(built.sdist) as sdist:
        names = set(sdist.getnames())
        member = sdist.extractfile(f"{root}/src/vsmanager/static/index.html")
        assert member is not None
        index = member.read().decode()
    for asset in page_assets(index):
        assert f"{root}/src/vsmanager/static/{asset}" in names
    for source in ("web/package.json", "web/package-lock.json", "web/build.mjs", "hatch_build.py",
                   "pyproject.toml", "PKG-INFO"):
        assert f"{root}/{source}" in names, source
    assert not [n for n in names if "node_modules" in n]


def test_wheel_builds_from_the_sdist_without_node(built: Built, tmp_path: Path) -> None:
    with tarfile.open(built.sdist) as sdist:
        sdist.extractall(tmp_path, filter="data")
    unpacked = tmp_path / f"vsmanager-{__version__}"
    checked(run([sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path / "dist"),
                 str(unpacked)], env=without_node(tmp_path)))
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert "vsmanager/static/index.html" in archive.namelist()


def test_source_tree_without_node_stops_and_says_what_to_install(tmp_path: Path) -> None:
    clone = clean_clone(tmp_path / "clone")
    done = run([sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path / "dist"), str(clone)],
               env=without_node(tmp_path))
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "building it needs node and npm" in output
    assert "apt-get install nodejs npm" in output
    assert not list(tmp_path.glob("dist/*.whl"))


def test_source_tree_without_node_packs_a_page_already_built(tmp_path: Path) -> None:
    clone = clean_clone(tmp_path / "clone")
    static = clone / "src" / "vsmanager" / "static"
    (static / "assets").mkdir(parents=True)
    (static / "index.html").write_text('<script src="assets/app-X.js"></script>')
    (static / "assets" / "app-X.js").write_text("// built by scripts/install")
    done = checked(run([sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path / "dist"),
                        str(clone)], env=without_node(tmp_path)))
    assert "packaging the web console already built" in done.stdout + done.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert {"vsmanager/static/index.html", "vsmanager/static/assets/app-X.js"} <= set(archive.namelist())


# -- the installed wheel, run -------------------------------------------------------------


@pytest.fixture(scope="module")
def venv(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the wheel alone: no editable install, no extras."""
    venv = tmp_path_factory.mktemp("venv") / "venv"
    checked(run([sys.executable, "-m", "venv", str(venv)]))
    # --no-compile: bytecode for the few modules a run imports is made as they load; compiling
    # every installed file first was a fifth of this module's CPU.
    checked(run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-compile",
                 "--disable-pip-version-check", str(built.wheel)]))
    return venv


@dataclass(frozen=True)
class Demo:
    url: str
    admin_key: str


@pytest.fixture(scope="module")
def demo(venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """`vsmanager demo` from the venv, run away from the checkout so nothing of it is imported."""
    workdir = tmp_path_factory.mktemp("demo")
    port = free_port()
    out = (workdir / "demo.out").open("wb")
    process = subprocess.Popen(
        [str(venv / "bin" / "vsmanager"), "demo", "--port", str(port)],
        cwd=workdir, env=_env_without_vs(), stdout=out, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60 * TIME_SCALE
        while True:
            text = (workdir / "demo.out").read_text(errors="replace")
            assert process.poll() is None, f"vsmanager demo exited with {process.returncode}:\n{text}"
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"vsmanager demo not ready:\n{text}"
            time.sleep(0.1)
        match = re.search(r"admin key\s+(\S+)", text)
        assert match, text
        yield Demo(url, match[1])
    finally:
        stop_process(process)
        out.close()


def test_installed_vsmanager_is_the_wheels(venv: Path) -> None:
    done = checked(run([str(venv / "bin" / "python"), "-c", "import vsmanager; print(vsmanager.__file__)"],
                       cwd=venv))
    assert Path(done.stdout.strip()).is_relative_to(venv)
    assert checked(run([str(venv / "bin" / "vsmanager"), "--version"])).stdout.strip() == (
        f"vsmanager {__version__}")


def test_installed_demo_serves_the_page_and_its_assets(demo: Demo) -> None:
    page = httpx.get(f"{demo.url}/", timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert 'id="signin-key"' in page.text
    kinds = {".js": "javascript", ".css": "text/css"}
    for asset in page_assets(page.text):
        response = httpx.get(f"{demo.url}/{asset}", timeout=10)
        assert response.status_code == 200 and response.content, asset
        kind = kinds.get(Path(asset).suffix)
        if kind is not None:
            assert kind in response.headers["content-type"] and len(response.content) > 1000, asset


def test_installed_demo_reports_its_version_in_healthz(demo: Demo) -> None:
    health = httpx.get(f"{demo.url}/healthz", timeout=10).json()
    assert health["version"] == __version__ and health["status"] == "ok"


def test_installed_page_signs_in_and_shows_the_console_in_a_browser(demo: Demo) -> None:
    if not Path(CHROMIUM).is_file():
        if REQUIRE_BROWSER:
            pytest.fail(f"VS_REQUIRE_BROWSER=1 but chromium is not at {CHROMIUM}")
        pytest.skip(f"chromium not found at {CHROMIUM} (Debian's chromium, or set VS_CHROMIUM)")
    from playwright.sync_api import expect, sync_playwright

    wait_ms = int(30_000 * TIME_SCALE)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            page = browser.new_page()
            page.set_default_timeout(wait_ms)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{demo.url}/")
            page.fill("#signin-key", demo.admin_key)
            page.click("#signin-submit")
            # Locators, not wait_for_function: the page's CSP rightly forbids evaluating strings.
            expect(page.locator("#server-state")).to_have_text("running", timeout=wait_ms)
            expect(page.locator(".xterm-rows")).to_contain_text("Dedicated Server now running",
                                                                timeout=wait_ms)
            assert not errors, errors
        finally:
            browser.close()
