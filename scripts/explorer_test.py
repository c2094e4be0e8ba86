#!/usr/bin/env python3
"""The explorer in a real headless browser (run by scripts/test-explorer.sh, which starts a dev
node and two explorers: one reading as the regulator, one as the supplier `castings`).

It makes a real lineage with the `vchain` CLI (credit line, issuance, two levels of splits,
transfers, a financing, a pledge, a proposal with votes), then loads every page in headless
Chromium and checks what is shown: the status height, a block's transactions, an account's
vouchers, the proposals; it opens the root voucher and follows the lineage by clicking graph
nodes down to a split child and back, checking amounts and holders on the graph's nodes; it
submits a transaction and waits for the new block to appear without a reload; it checks that a
refused read shows the node's rule code; on a PBFT testnet it checks that blocks, a voucher and
the status are marked verified; and it checks every page at phone width. Screenshots
of every page at laptop and phone size go to the artefact directory.

Needs only the standard library and selenium; every wait is bounded.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import traceback
from datetime import date, timedelta

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

LAPTOP = (1366, 768)
PHONE = (390, 844)
WAIT_S = 15
# What a dev (solo) chain's blocks are marked: its one node certifies each (ADR 0015).
SOLO_MARKS = ("verified",)
CLI_TIMEOUT_S = 60


class Story:
    """What the CLI made on the chain, for the checks to look for."""

    def __init__(self):
        self.vouchers = {}
        self.heights = {}
        self.tx = {}


class Cli:
    def __init__(self, bin_dir, endpoint, keystore):
        self.vchain = os.path.join(bin_dir, "vchain")
        self.env = dict(os.environ, VCHAIN_ENDPOINT=endpoint, VCHAIN_KEYSTORE=keystore,
                        VCHAIN_PASSPHRASE="dev", VCHAIN_READER="regulator")

    def json(self, *args):
        cmd = [self.vchain, *args, "--json"]
        done = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=CLI_TIMEOUT_S)
        if done.returncode != 0:
            raise AssertionError(f"vchain {' '.join(args)} exited {done.returncode}: {done.stderr}{done.stdout}")
        return json.loads(done.stdout)

    def tx(self, *args):
        """Submits a transaction; returns (events, height, tx hash)."""
        doc = self.json(*args)
        result = doc.get("result") or {}
        assert result.get("code") in (None, "OK"), doc
        return result.get("events", []), doc["height"], doc["tx_hash"]


def created(events):
    kinds = ("EVENT_KIND_VOUCHER_ISSUED", "EVENT_KIND_VOUCHER_CREATED_BY_SPLIT")
    return [e["voucher_id"] for e in events if e["kind"] in kinds]


def make_story(cli):
    """The lineage: root -> (a, b); a -> castings -> (c, d); c -> foundry; d financed to a bank;
    a pledge on b; a proposal voted by both banks."""
    s = Story()
    uscc = lambda account: cli.json("account", "get", account)["account"]["uscc"]
    bank, carmaker = uscc("bank-a-finance"), uscc("carmaker")
    maturity = (date.today() + timedelta(days=40)).isoformat()
    cli.tx("credit-line", "grant", "--as", "bank-a-finance", "--core", carmaker, "--currency", "CNY", "--limit", "500000000")
    events, height, tx = cli.tx("voucher", "issue", "--as", "carmaker", "--holder", "gearbox", "--financier", bank,
                                "--amount", "100000000", "--maturity", maturity, "--doc-kind", "invoice",
                                "--doc-number", "INV-EXPLORER-1", "--doc-hash", "ab" * 32)
    (root,) = created(events)
    s.vouchers["root"], s.heights["issue"], s.tx["issue"] = root, height, tx
    events, _, _ = cli.tx("voucher", "split", root, "--as", "gearbox", "--amounts", "60000000,40000000")
    s.vouchers["a"], s.vouchers["b"] = created(events)
    cli.tx("voucher", "transfer", s.vouchers["a"], "--as", "gearbox", "--to", "castings", "--agreement-hash", "cd" * 32)
    events, _, _ = cli.tx("voucher", "split", s.vouchers["a"], "--as", "castings", "--amounts", "30000000,30000000")
    s.vouchers["c"], s.vouchers["d"] = created(events)
    cli.tx("voucher", "transfer", s.vouchers["c"], "--as", "castings", "--to", "foundry", "--agreement-hash", "ef" * 32)
    cli.tx("voucher", "transfer", s.vouchers["d"], "--as", "castings", "--to", "bank-b-factoring",
           "--agreement-hash", "12" * 32, "--consideration", "28500000")
    events, _, _ = cli.tx("pledge", "register", s.vouchers["b"], "--as", "gearbox", "--pledgee", "bank-a-finance",
                          "--amount", "20000000", "--until", (date.today() + timedelta(days=20)).isoformat(),
                          "--collateral", "working capital loan LC-EXPLORER-1")
    s.pledge = next(e["pledge"] for e in events if e["kind"] == "EVENT_KIND_PLEDGE_REGISTERED")
    events, _, _ = cli.tx("proposal", "submit", "set-params", "--as", "bank-a-admin", "--title", "Longer redemption grace",
                          "--reason", "explorer test", "--redemption-grace-days", "45")
    s.proposal = next(e["proposal_id"] for e in events if e["proposal_id"])
    cli.tx("proposal", "vote", "--as", "bank-b-admin", s.proposal, "--approve")
    status = cli.json("status")
    s.chain_id, s.height = status["chain_id"], status["height"]
    return s


class Browser:
    def __init__(self, artefacts):
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-extensions", "--hide-scrollbars", "--force-color-profile=srgb",
                    "--lang=en-GB", f"--window-size={LAPTOP[0]},{LAPTOP[1]}"):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
        self.driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
        self.driver.set_page_load_timeout(WAIT_S)
        self.artefacts = artefacts
        self.size = "laptop"
        self.viewport(*LAPTOP)

    def viewport(self, width, height, mobile=False):
        # Exact CSS viewport sizes, whatever the window decorations.
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 2 if mobile else 1, "mobile": mobile})
        self.size = "phone" if mobile else "laptop"

    def open(self, url):
        self.driver.get(url)
        self.wait_page()

    def go(self, hash_route):
        """Navigates inside the app (no reload) and waits for the page."""
        self.driver.execute_script("location.hash = arguments[0]", hash_route)
        self.wait_page(hash_route)

    def wait_page(self, hash_route=None):
        """Waits until the page shown is the one for `hash_route` (the current hash when None):
        each rendered page carries the hash it was rendered for."""
        def ready(d):
            want = hash_route if hash_route is not None else d.execute_script("return location.hash || '#/'")
            return d.execute_script(
                "const p = document.querySelector('[data-testid=page]'); return p && p.dataset.hash === arguments[0]",
                want)
        self.wait(ready, f"page {hash_route or self.driver.current_url} to load")

    def wait(self, condition, what, timeout=WAIT_S):
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(condition)
        except TimeoutException:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}") from None

    def one(self, testid, within=None):
        # `within` is an element, or better a container's testid: then one selector from the
        # document, so a container the page re-renders between two lookups (the blocks list
        # refreshes itself) cannot leave a stale element handle behind.
        selector = f'[data-testid="{testid}"]'
        root = self.driver
        if isinstance(within, str):
            selector = f'[data-testid="{within}"] {selector}'
        elif within is not None:
            root = within
        found = root.find_elements(By.CSS_SELECTOR, selector)
        assert found, f"nothing matches {selector} on {self.driver.current_url}"
        return found[0]

    def all(self, css):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def text(self, testid):
        return self.one(testid).text.strip()

    def shot(self, name):
        path = os.path.join(self.artefacts, f"{self.size}-{name}.png")
        self.driver.save_screenshot(path)
        return path

    def no_horizontal_overflow(self, name):
        width, inner = self.driver.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth]")
        assert width <= inner + 1, f"{name} at {self.size} width is {width}px wide in a {inner}px viewport"

    def quit(self):
        try:
            self.driver.quit()
        except WebDriverException:
            pass


def check_pages(b, base, s):
    """Every page at laptop size, with what each must show. Returns the routes for phone."""
    b.open(base + "/#/")
    b.wait(lambda d: int(b.text("status-height") or 0) >= s.height, "the status height")
    assert b.text("status-chain-id") == s.chain_id
    assert b.one("nodes-table").find_elements(By.CSS_SELECTOR, "tr"), "the nodes table lists nodes"
    assert b.text("reader") == "regulator"
    b.wait(lambda d: b.text("live-height") not in ("", "–"), "the live height")
    b.one("events-feed")
    b.shot("status")

    b.go("#/blocks")
    b.one(f"block-row-{s.heights['issue']}", "blocks-table")
    b.shot("blocks")

    b.go(f"#/block/{s.heights['issue']}")
    assert b.text("block-height") == str(s.heights["issue"])
    row = b.one(f"tx-row-{s.tx['issue']}", "block-txs")
    assert "issue voucher" in row.text and "carmaker" in row.text, row.text
    # A solo block carries no certificate, or (once members certify blocks after applying them,
    # ADR 0015) one that verifies; never one that does not, and the check is always made.
    assert b.one("block-verification").get_attribute("data-state") in SOLO_MARKS, b.text("block-verification")
    b.shot("block")

    b.go(f"#/tx/{s.tx['issue']}")
    assert b.text("tx-hash") == s.tx["issue"]
    assert b.text("tx-operation") == "issue voucher"
    assert b.text("tx-signer") == "carmaker"
    b.shot("transaction")

    b.go("#/account/gearbox")
    assert b.text("account-id") == "gearbox"
    held = b.one("account-vouchers")
    row = b.one(f"voucher-row-{s.vouchers['b']}", held)
    assert "400,000.00 CNY" in row.text, row.text
    assert not held.find_elements(By.CSS_SELECTOR, f'[data-testid="voucher-row-{s.vouchers["a"]}"]'), \
        "gearbox no longer holds the piece it paid castings with"
    b.shot("account")

    b.go("#/proposals")
    row = b.one(f"proposal-row-{s.proposal}", "proposals-table")
    assert "Longer redemption grace" in row.text, row.text
    row.find_element(By.CSS_SELECTOR, "a").click()
    b.wait_page(f"#/proposal/{s.proposal}")
    votes = b.one("proposal-votes")
    for org in ("bank-a", "bank-b"):
        b.one(f"vote-row-{org}", votes)
    b.shot("proposal")

    b.go("#/pledges")
    notices = b.one("pledge-notices")
    assert any(e.get_attribute("data-kind") == "PLEDGE_REGISTERED" for e in notices.find_elements(By.CSS_SELECTOR, '[data-testid="event"]'))
    b.shot("pledges")
    b.go(f"#/pledge/{s.pledge}")
    assert b.text("pledge-id") == s.pledge
    assert b.text("pledge-status") == "active"
    assert b.text("pledge-amount") == "200,000.00 CNY"
    b.shot("pledge")


def graph_node(b, key):
    nodes = b.all(f'[data-testid="lineage-node"][data-key="{key}"]')
    assert nodes, f"no graph node {key}; nodes: {[n.get_attribute('data-key') for n in b.all('[data-testid=lineage-node]')]}"
    return nodes[0]


def click_node(b, key, expect_voucher):
    for attempt in range(3):
        try:
            node = graph_node(b, key)
            b.driver.execute_script("arguments[0].scrollIntoView({block: 'center', inline: 'center'})", node)
            node.click()
            break
        except StaleElementReferenceException:
            # A live update redrew the page between finding the node and clicking it.
            if attempt == 2:
                raise
    b.wait_page(f"#/voucher/{expect_voucher}")
    assert b.text("voucher-id") == expect_voucher


def check_lineage(b, s):
    """Opens the root voucher and follows its lineage by clicking graph nodes."""
    v = s.vouchers
    b.go(f"#/voucher/{v['root']}")
    assert b.text("voucher-id") == v["root"]
    assert b.text("voucher-amount") == "1,000,000.00 CNY"
    graph = b.one("lineage-graph")
    keys = {n.get_attribute("data-key") for n in graph.find_elements(By.CSS_SELECTOR, '[data-testid="lineage-node"]')}
    expected = {f"{v['root']}.0", f"{v['a']}.0", f"{v['a']}.1", f"{v['b']}.0", f"{v['c']}.0", f"{v['c']}.1", f"{v['d']}.0", f"{v['d']}.1"}
    assert keys == expected, keys
    kinds = sorted(e.get_attribute("data-kind") for e in graph.find_elements(By.CSS_SELECTOR, '[data-testid="lineage-edge"]'))
    assert kinds == ["financing", "split", "split", "split", "split", "transfer", "transfer"], kinds
    root = graph_node(b, f"{v['root']}.0")
    assert root.get_attribute("data-holder") == "gearbox" and root.get_attribute("data-focus") == "true"
    assert "1,000,000.00 CNY" in root.find_element(By.CSS_SELECTOR, '[data-testid="lineage-node-amount"]').text
    financed = graph_node(b, f"{v['d']}.1")
    assert financed.get_attribute("data-holder") == "bank-b-factoring"
    assert any("paid 285,000.00" in e.text for e in graph.find_elements(By.CSS_SELECTOR, '[data-testid="lineage-edge"][data-kind="financing"]'))
    b.wait(lambda d: b.one("voucher-verification").get_attribute("data-state") != "pending", "the voucher's mark")
    assert b.one("voucher-verification").get_attribute("data-state") in SOLO_MARKS, b.text("voucher-verification")
    # Started with --genesis: the mark is the whole lineage's trace bundle checked offline.
    assert "trace bundle verified" in b.text("voucher-verification"), b.text("voucher-verification")
    b.shot("voucher")
    # The whole tree in one picture (the README's, with --bless): a taller laptop window.
    b.viewport(LAPTOP[0], 1080)
    b.size = "laptop"
    b.shot("lineage")
    b.viewport(*LAPTOP)

    # Down: the root's first piece (castings' after the transfer), then its split child.
    click_node(b, f"{v['a']}.1", v["a"])
    assert graph_node(b, f"{v['a']}.1").get_attribute("data-focus") == "true"
    assert b.text("voucher-holder") == "castings"
    click_node(b, f"{v['c']}.1", v["c"])
    child = graph_node(b, f"{v['c']}.1")
    assert child.get_attribute("data-amount") == "30000000"
    assert child.get_attribute("data-holder") == "foundry"
    assert "300,000.00 CNY" in child.find_element(By.CSS_SELECTOR, '[data-testid="lineage-node-amount"]').text
    assert "held by foundry" in child.find_element(By.CSS_SELECTOR, '[data-testid="lineage-node-holder"]').text
    assert b.text("voucher-amount") == "300,000.00 CNY"
    assert v["a"] in b.text("voucher-lineage")
    b.shot("voucher-child")
    # Back up: the browser's back button, then the root node itself.
    b.driver.back()
    b.wait_page(f"#/voucher/{v['a']}")
    click_node(b, f"{v['root']}.0", v["root"])


def check_live(b, cli, s):
    """A transaction submitted now shows up as a new block without a reload."""
    b.go("#/blocks")
    b.driver.execute_script("window.__stillTheSamePage = true")
    before = int(b.text("live-height"))
    _, height, _ = cli.tx("voucher", "transfer", s.vouchers["c"], "--as", "foundry", "--to", "castings",
                          "--agreement-hash", "34" * 32)
    assert height > before
    b.wait(lambda d: int(b.text("live-height")) >= height, "the live height to reach the new block")
    b.wait(lambda d: d.find_elements(By.CSS_SELECTOR, f'[data-testid="block-row-{height}"]'), f"block {height} in the list")
    assert b.driver.execute_script("return window.__stillTheSamePage === true"), "the page was reloaded"
    b.shot("blocks-live")


def check_refusal(b, base_castings, s):
    """A supplier's explorer shows the node's refusal, with its rule code."""
    b.open(f"{base_castings}/#/voucher/{s.vouchers['b']}")
    error = b.one("error")
    assert error.get_attribute("data-code") == "NOT_A_PARTY", error.text
    assert "castings" in b.text("reader")
    b.shot("refused")
    b.go(f"#/voucher/{s.vouchers['c']}")
    assert b.text("voucher-id") == s.vouchers["c"], "castings reads its own lineage"


def check_verified(b, base, cli):
    """On a PBFT chain every block carries a commit certificate: the explorer checks them."""
    carmaker = cli.json("account", "get", "carmaker")["account"]["uscc"]
    bank = cli.json("account", "get", "bank-a-finance")["account"]["uscc"]
    cli.tx("credit-line", "grant", "--as", "bank-a-finance", "--core", carmaker, "--currency", "CNY", "--limit", "500000000")
    events, height, _ = cli.tx("voucher", "issue", "--as", "carmaker", "--holder", "gearbox", "--financier", bank,
                               "--amount", "5000000", "--maturity", (date.today() + timedelta(days=30)).isoformat(),
                               "--doc-kind", "invoice", "--doc-number", "INV-PBFT-1", "--doc-hash", "56" * 32)
    (voucher,) = created(events)
    b.open(f"{base}/#/block/{height}")
    assert b.one("block-verification").get_attribute("data-state") == "verified", b.text("block-verification")
    assert "of 4 validators" in b.text("block-verification")
    b.shot("pbft-block")
    b.go(f"#/voucher/{voucher}")
    b.wait(lambda d: b.one("voucher-verification").get_attribute("data-state") != "pending", "the voucher's mark")
    assert b.one("voucher-verification").get_attribute("data-state") == "verified", b.text("voucher-verification")
    assert "trace bundle verified" in b.text("voucher-verification"), b.text("voucher-verification")
    b.shot("pbft-voucher")
    b.go("#/")
    assert b.one("status-certified").get_attribute("data-state") == "verified", b.text("status-certified")
    assert b.one("nodes-proof").get_attribute("data-state") == "verified"
    assert len(b.one("nodes-table").find_elements(By.CSS_SELECTOR, "tbody tr")) == 4
    b.shot("pbft-status")


def check_phone(b, base, s):
    b.viewport(*PHONE, mobile=True)
    routes = [("status", "#/"), ("blocks", "#/blocks"), ("block", f"#/block/{s.heights['issue']}"),
              ("transaction", f"#/tx/{s.tx['issue']}"), ("account", "#/account/gearbox"),
              ("voucher", f"#/voucher/{s.vouchers['a']}"), ("proposals", "#/proposals"),
              ("proposal", f"#/proposal/{s.proposal}"), ("pledges", "#/pledges"), ("pledge", f"#/pledge/{s.pledge}")]
    b.open(base + "/#/")
    for name, route in routes:
        b.go(route)
        b.no_horizontal_overflow(name)
        b.shot(name)
    # The graph stays usable: it scrolls inside its box and its nodes are still clickable.
    b.go(f"#/voucher/{s.vouchers['root']}")
    b.no_horizontal_overflow("voucher")
    click_node(b, f"{s.vouchers['d']}.1", s.vouchers["d"])
    b.viewport(*LAPTOP)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True, help="the explorer reading as the regulator")
    p.add_argument("--url-castings", required=True, help="the explorer reading as castings")
    p.add_argument("--endpoint", required=True)
    p.add_argument("--keystore", required=True)
    p.add_argument("--bin-dir", required=True)
    p.add_argument("--artefacts", required=True)
    p.add_argument("--url-pbft", required=True, help="the explorer of a PBFT testnet, reading as its regulator")
    p.add_argument("--endpoint-pbft", required=True)
    p.add_argument("--keystore-pbft", required=True)
    args = p.parse_args()
    # Stopped by a timeout: quit the browser on the way out (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    os.makedirs(args.artefacts, exist_ok=True)
    cli = Cli(args.bin_dir, args.endpoint, args.keystore)
    started = time.monotonic()
    story = make_story(cli)
    print(f"explorer test: story made in {time.monotonic() - started:.1f} s: {story.vouchers}, pledge {story.pledge}, proposal {story.proposal}", flush=True)
    b = Browser(args.artefacts)
    step = "starting"
    try:
        for step, run in [("pages", lambda: check_pages(b, args.url, story)),
                          ("lineage", lambda: check_lineage(b, story)),
                          ("live", lambda: check_live(b, cli, story)),
                          ("refusal", lambda: check_refusal(b, args.url_castings, story)),
                          ("verified", lambda: check_verified(b, args.url_pbft, Cli(args.bin_dir, args.endpoint_pbft, args.keystore_pbft))),
                          ("phone", lambda: check_phone(b, args.url, story))]:
            t = time.monotonic()
            run()
            print(f"explorer test: {step} ok ({time.monotonic() - t:.1f} s)", flush=True)
    except Exception:
        traceback.print_exc()
        try:
            print(f"explorer test: FAILED at {step}; url {b.driver.current_url}; screenshot {b.shot('failure')}", file=sys.stderr)
            with open(os.path.join(args.artefacts, "failure.html"), "w") as f:
                f.write(b.driver.page_source)
            for entry in b.driver.get_log("browser"):
                print(f"browser console: {entry}", file=sys.stderr)
        except WebDriverException:
            pass
        return 1
    finally:
        b.quit()
    print(f"explorer test: passed in {time.monotonic() - started:.1f} s; screenshots in {args.artefacts}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
