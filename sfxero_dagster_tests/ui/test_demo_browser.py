"""What a new user does: `sfxero demo` runs one full cycle on the sandbox and serves the Dagster UI; a real
browser (Debian's chromium, driven by Playwright) finds the asset graph, the assets and their checks,
launches a materialisation (reconciliation, which reads both sandboxes) and sees it succeed; Ctrl-C then stops everything and leaves no process.

Screenshots go to ``test-artifacts/browser/``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from ..conftest import REPO_ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO_ROOT / "test-artifacts" / "browser"
# What a root container needs: no sandbox, no GPU; and no background calls to Google's hosts, which a
# closed network refuses (and which would slow every start).
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MAIN_ASSETS = [
    "salesforce / opportunities",
    "stg_invoice_lines",
    "valid_invoices",
    "contact_matches",
    "xero / au / invoices",
    "salesforce / xero_ids",
    "reconciliation",
    "review_queue",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processes_with(marker: str) -> list[str]:
    """Command lines of live processes whose environment contains ``marker`` (our DAGSTER_HOME)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if marker.encode() in (proc / "environ").read_bytes():
                found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def _demo_config(tmp: Path) -> Path:
    """The shipped sfxero.yaml on free ports, with a 30-day history so the backfill stays short."""
    cfg = yaml.safe_load((REPO_ROOT / "sfxero.yaml").read_text())
    xero, sf = _free_port(), _free_port()
    for key in ("login_url", "instance_url"):
        cfg["salesforce"][key] = re.sub(r":\d+", f":{sf}", cfg["salesforce"][key])
    for key in ("base_url", "identity_url", "token_url"):
        cfg["xero"][key] = re.sub(r":\d+", f":{xero}", cfg["xero"][key])
    cfg["delta"]["start_date"] = (date.today() - timedelta(days=30)).isoformat()
    path = tmp / "sfxero.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True))
    return path


def _read_until(proc: subprocess.Popen, pattern: str, timeout: float, out: list[str]) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        out.append(line)
        if m := re.search(pattern, line):
            return m
    pytest.fail(f"no {pattern!r} from `sfxero demo` (exit {proc.poll()}):\n{''.join(out)}")


@pytest.mark.timeout(900)
def test_demo_serves_a_working_ui_and_ctrl_c_leaves_nothing(tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            "Debian's chromium is not installed: `make test` installs it (apt-get install chromium); "
            "as non-root run `sudo apt-get install chromium` once"
        )
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    config = _demo_config(tmp_path)
    env = {**os.environ, "DAGSTER_HOME": str(home), "SFXERO_CONFIG": str(config), "PYTHONUNBUFFERED": "1"}
    for key in [k for k in env if k.startswith(("SF_", "XERO_"))]:
        del env[key]  # the demo takes its secrets from the sandbox, as a new user's shell has none
    sfxero = Path(sys.executable).with_name("sfxero")
    ui_port = _free_port()
    proc = subprocess.Popen(
        [str(sfxero), "demo", "--state-dir", str(tmp_path / ".sandbox_state"), "--port", str(ui_port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # like a terminal: Ctrl-C goes to the demo, not to pytest
    )
    out: list[str] = []
    try:
        url = _read_until(proc, r"Dagster UI: (http://\S+)", 600, out).group(1)
        console = "".join(out)
        # the summary of one full cycle came first
        for expected in (
            "extract Salesforce history",
            "push contacts and invoices to Xero",
            "sensor xero_au_payment_status requested the status write-back",
            "reconciliation mismatches: 0",
            "review queue (",
        ):
            assert expected in console, console
        paid = re.search(r"payments in Xero: (\d+) paid", console)
        assert paid and int(paid.group(1)) > 0, console
        assert re.search(r"Xero_Invoice__c by status: .*Paid \d+", console), console

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(60_000)

            # Dagster's first-visit newsletter prompt: dismiss it whenever it shows up
            skip = page.get_by_role("button", name="Skip")
            page.add_locator_handler(skip, lambda loc: loc.click())
            page.goto(f"{url}/asset-groups", wait_until="networkidle")
            for group in ("salesforce_extract", "staging", "matching", "push", "writeback", "operations"):
                expect(page.get_by_text(group, exact=True).first).to_be_visible()
            page.screenshot(path=ARTIFACTS / "01-asset-graph.png")

            page.goto(
                f"{url}/locations/sfxero_dagster.definitions/asset-groups/staging", wait_until="networkidle"
            )
            expect(page.get_by_text("valid_invoices", exact=True).first).to_be_visible()
            page.screenshot(path=ARTIFACTS / "02-staging-group.png")

            page.set_viewport_size({"width": 1600, "height": 4000})  # the catalog renders visible rows only
            page.goto(f"{url}/assets", wait_until="networkidle")
            expect(page.get_by_text("reconciliation", exact=True).first).to_be_visible()
            listed = {line.strip() for line in page.inner_text("body").splitlines()}
            assert not [n for n in MAIN_ASSETS if n not in listed], sorted(listed)
            page.screenshot(path=ARTIFACTS / "03-catalog.png")
            page.set_viewport_size({"width": 1600, "height": 1000})

            page.goto(f"{url}/assets/valid_invoices?view=checks", wait_until="networkidle")
            expect(page.get_by_text("invoice_rejects").first).to_be_visible()
            page.screenshot(path=ARTIFACTS / "04-checks.png")

            # launch a materialisation from the UI and see it succeed
            page.goto(f"{url}/assets/reconciliation", wait_until="networkidle")  # reads both sandboxes
            page.get_by_role("button").filter(has_text=re.compile(r"^\W*Materialize$")).first.click()
            toast = page.get_by_text(re.compile(r"Launched run [0-9a-f]{8}"))
            expect(toast).to_be_visible()
            short_id = toast.inner_text().split()[-1]
            page.screenshot(path=ARTIFACTS / "05-launched.png")
            page.goto(f"{url}/runs", wait_until="networkidle")
            page.locator("a", has_text=short_id).first.click()
            expect(page).to_have_url(re.compile(rf"/runs/{short_id}[0-9a-f-]{{28}}"))
            expect(page.get_by_text("Success", exact=True).first).to_be_visible(timeout=180_000)
            expect(page.get_by_text("Check salesforce_matches_xero succeeded").first).to_be_visible()
            page.screenshot(path=ARTIFACTS / "06-run-succeeded.png")
            page.goto(f"{url}/assets/review_queue", wait_until="networkidle")
            page.screenshot(path=ARTIFACTS / "07-review-queue.png", full_page=True)
            browser.close()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal does
        try:
            rest, _ = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            rest, _ = proc.communicate()
        out.append(rest or "")
        leftovers = []
        for _ in range(20):  # grandchildren may take a moment to be reaped
            leftovers = _processes_with(f"DAGSTER_HOME={home}")
            if not leftovers:
                break
            time.sleep(0.5)
        for cmd in leftovers:  # never leave them running after a failed test
            subprocess.run(["pkill", "-KILL", "-f", re.escape(cmd.strip())], check=False)
    assert proc.returncode == 0, "".join(out)
    assert "Stopped the Dagster UI, its daemon and code servers, and the sandbox." in "".join(out)
    assert leftovers == [], leftovers
    with pytest.raises(OSError):  # the sandbox's ports are closed too
        socket.create_connection(
            (
                "127.0.0.1",
                int(re.search(r":(\d+)", yaml.safe_load(config.read_text())["xero"]["base_url"]).group(1)),
            ),
            timeout=2,
        )
