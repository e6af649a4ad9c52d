#!/usr/bin/env python3
"""The web console (issues 11 and 13) in a real headless Chromium or Firefox,
driven by selenium.

Called by tests/it/console_browser.rs with a running calproxy (and the
simulated iCloud behind it), once per browser. One scenario per run:

  sign_in         sign in, visit every panel; times are shown in the browser's zone
  add_connection  a wrong app-specific password shows the advice; the right one lists calendars
  configure       primary, two conflict calendars and a conflict user
  availability    a busy block in the week view and its "why busy" sources, by mouse and keyboard
  feed            create and rotate the feed; the old URL answers 404
  traffic         (admin) live rows, one exchange in full, the HAR download
  settings        working hours (by keyboard) and busy rules; a minutes field must hold a number

Every page visited is fetched again as raw HTML and parsed by html5lib in
strict mode (any parse error fails), and the browser's console must hold
no error (Chromium: its browser log; Firefox, which has no such log over
WebDriver: WebDriver BiDi's log and network events). Each scenario saves a screenshot
into --screens. Prints "RESULT {json}" lines for the Rust side and
"ALL OK" at the end.

The browser and its WebDriver server are the paths given (--binary,
--driver): selenium is never left to find or download one.
"""

import argparse
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request

import html5lib
from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service as ChromeService
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.firefox.service import Service as FirefoxService
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

# What to install when a browser or its driver is missing.
PACKAGES = {
    "chromium": ("chromium", "chromium-driver"),
    "firefox": ("firefox-esr", "the crate geckodriver (cargo install geckodriver)"),
}

WIDTH, HEIGHT = 1280, 1100


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def chromium(binary, driver, downloads, profile):
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        f"--window-size={WIDTH},{HEIGHT}",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    opts.add_experimental_option(
        "prefs",
        {
            "download.default_directory": downloads,
            "download.prompt_for_download": False,
            "safebrowsing.enabled": False,
        },
    )
    d = webdriver.Chrome(service=ChromeService(driver), options=opts)
    d.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads}
    )
    return d


def firefox(binary, driver, downloads, profile):
    opts = webdriver.FirefoxOptions()
    opts.binary_location = binary
    opts.add_argument("-headless")
    opts.add_argument(f"--width={WIDTH}")
    opts.add_argument(f"--height={HEIGHT}")
    # WebDriver BiDi: the console log and script errors arrive as events.
    opts.enable_bidi = True
    for name, value in (
        # Downloads go to the given folder without asking.
        ("browser.download.folderList", 2),
        ("browser.download.dir", downloads),
        ("browser.download.useDownloadDir", True),
        ("browser.download.always_ask_before_handling_new_types", False),
        ("browser.download.manager.showWhenStarting", False),
        ("browser.helperApps.neverAsk.saveToDisk", "application/json,application/har+json"),
        # Nothing but calproxy on the network.
        ("network.captive-portal-service.enabled", False),
        ("network.connectivity-service.enabled", False),
        ("browser.safebrowsing.malware.enabled", False),
        ("browser.safebrowsing.phishing.enabled", False),
        ("extensions.update.enabled", False),
        ("app.update.disabledForTesting", True),
        ("datareporting.policy.dataSubmissionEnabled", False),
        ("toolkit.telemetry.enabled", False),
    ):
        opts.set_preference(name, value)
    log = os.path.join(profile, "geckodriver.log")
    # geckodriver makes its throw-away profile under --profile-root (our temporary folder).
    service = FirefoxService(driver, service_args=["--profile-root", profile], log_output=log)
    return webdriver.Firefox(service=service, options=opts)


class Console:
    def __init__(self, browser, binary, driver, base, shots, downloads, profile):
        browser_pkg, driver_pkg = PACKAGES[browser]
        for path, pkg in ((binary, browser_pkg), (driver, driver_pkg)):
            if not os.path.exists(path):
                fail(f"{path} is missing: install {pkg} (.ci/setup-peers does)")
        self.browser = browser
        self.base = base.rstrip("/")
        self.shots = shots
        self.downloads = downloads
        self.errors = []
        self.lock = threading.Lock()
        self.checked = 0
        start = chromium if browser == "chromium" else firefox
        self.d = start(binary, driver, downloads, profile)
        self.d.set_page_load_timeout(60)
        if browser == "firefox":
            # What Chromium's log holds as SEVERE: console errors, script
            # errors (CSP violations among them) and failed loads.
            self.d.script.add_console_message_handler(self.on_log)
            self.d.script.add_javascript_error_handler(self.on_log)
            self.d.network.add_event_handler("response_completed", self.on_response)
            self.d.network.add_event_handler("fetch_error", self.on_fetch_error)

    def error(self, text):
        with self.lock:
            self.errors.append(text)

    def on_log(self, entry):
        if entry.level == "error":
            self.error(f"{entry.type_}: {entry.text}")

    def on_response(self, event):
        response = event.response or {}
        if response.get("status", 0) >= 400:
            self.error(f"{response.get('url')} - Failed to load resource: status {response.get('status')}")

    def on_fetch_error(self, event):
        url = (event.request or {}).get("url")
        self.error(f"{url} - Failed to load resource: {event.error_text}")

    def quit(self):
        self.d.quit()

    # ---- checks every page gets ----

    def cookie_header(self):
        return "; ".join(f"{c['name']}={c['value']}" for c in self.d.get_cookies())

    def raw(self, url):
        req = urllib.request.Request(url, headers={"Cookie": self.cookie_header()})
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers, r.read().decode("utf-8")

    def validate(self, url=None):
        """The page's raw HTML parses without a single html5lib error."""
        url = url or self.d.current_url
        status, headers, text = self.raw(url)
        if "text/html" not in headers.get("Content-Type", ""):
            fail(f"{url} is not HTML: {headers.get('Content-Type')}")
        parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
        try:
            parser.parse(text)
        except Exception as e:  # html5lib raises ParseError with the position
            fail(f"{url} is not valid HTML: {e!r}\n{text[:2000]}")
        self.checked += 1
        self.logs()

    def logs(self):
        if self.browser != "chromium":
            return  # BiDi events arrive by themselves (on_log)
        for entry in self.d.get_log("browser"):
            if entry.get("level") == "SEVERE":
                self.errors.append(entry.get("message", ""))

    def no_console_errors(self):
        self.logs()
        with self.lock:
            errors = list(self.errors)
        if errors:
            fail(f"{self.browser} console errors:\n" + "\n".join(errors))

    def shot(self, name):
        os.makedirs(self.shots, exist_ok=True)
        path = os.path.join(self.shots, f"{name}.png")
        height = self.d.execute_script("return document.documentElement.scrollHeight")
        self.d.set_window_size(WIDTH, max(900, min(int(height) + 40, 4000)))
        self.d.execute_script("window.scrollTo(0, 0)")
        self.d.save_screenshot(path)
        print(f"screenshot {path}", flush=True)

    def viewport_shot(self, name, width, height):
        """A screenshot of the top of the page at a fixed size (the README's)."""
        self.d.set_window_size(width, height)
        self.d.execute_script("window.scrollTo(0, 0)")
        path = os.path.join(self.shots, f"{name}.png")
        self.d.save_screenshot(path)
        print(f"screenshot {path}", flush=True)

    # ---- navigation ----

    def go(self, path):
        self.d.get(self.base + path)
        self.validate()

    def wait_for(self, by, what, timeout=20):
        try:
            return WebDriverWait(self.d, timeout).until(EC.presence_of_element_located((by, what)))
        except TimeoutException:
            fail(f"waited {timeout}s for {what} on {self.d.current_url}:\n{self.d.page_source[:3000]}")

    def text(self):
        return self.d.find_element(By.TAG_NAME, "body").text

    def expect_text(self, *needles):
        body = self.text()
        for n in needles:
            if n not in body:
                fail(f"{n!r} not on {self.d.current_url}:\n{body[:3000]}")

    def submit_form(self, button_xpath):
        self.new_page(lambda: self.d.find_element(By.XPATH, button_xpath).click())

    def new_page(self, action):
        """Runs `action` (a click, a key) and waits for the page it loads."""
        old = self.d.find_element(By.TAG_NAME, "html")
        action()

        def replaced(_):
            try:
                old.is_enabled()
                return False
            except WebDriverException:  # stale, or no longer in the document
                return True

        WebDriverWait(self.d, 60).until(replaced)
        self.wait_for(By.TAG_NAME, "main")
        self.logs()

    def stays(self, action, what, seconds=2):
        """Runs `action` and checks that no new page loads within `seconds`."""
        old = self.d.find_element(By.TAG_NAME, "html")
        action()
        time.sleep(seconds)
        try:
            old.is_enabled()
        except WebDriverException:
            fail(f"{what}: the form was sent; now at {self.d.current_url}:\n{self.text()[:2000]}")

    def active(self):
        return self.d.switch_to.active_element

    def keys(self, *keys):
        """Keys typed wherever the focus is."""
        ActionChains(self.d).send_keys(*keys).perform()

    def sign_in(self, login, password):
        self.go("/signin")
        self.d.find_element(By.ID, "login").send_keys(login)
        self.d.find_element(By.ID, "password").send_keys(password)
        self.submit_form("//button[@type='submit']")
        if not self.d.current_url.endswith("/connections"):
            fail(f"sign-in as {login} ended at {self.d.current_url}:\n{self.text()}")
        self.validate()


# Every <time datetime=…> on the page as [datetime, text shown, the same
# instant formatted by the browser itself in its own zone].
TIMES_JS = """
var f = new Intl.DateTimeFormat("sv-SE", {year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", hourCycle: "h23"});
return Array.from(document.querySelectorAll("time[datetime]")).map(function (t) {
  var at = t.getAttribute("datetime");
  return [at, t.textContent, f.format(new Date(at))];
});
"""


def times_in_browser_zone(c):
    """Times on the page are those the browser shows in its own zone."""
    times = c.d.execute_script(TIMES_JS)
    for at, shown, local in times:
        if shown != local:
            fail(f"{at} is shown as {shown!r} on {c.d.current_url}; the browser's own zone says {local!r}")
    return len(times)


def scenario_sign_in(c, a):
    c.sign_in(a.login, a.password)
    c.expect_text("Connections", "+ Add connection", a.login_shown)
    tz = c.d.find_element(By.CSS_SELECTOR, ".signout .tz").text
    if not tz:
        fail("no time zone shown")
    browser_tz = c.d.execute_script("return Intl.DateTimeFormat().resolvedOptions().timeZone")
    times = times_in_browser_zone(c)
    for path in ("/calendars", "/availability", "/status", "/connections/new"):
        c.go(path)
        times += times_in_browser_zone(c)
    c.go("/availability?block=0#why")
    times += times_in_browser_zone(c)
    c.go("/connections")
    c.shot("sign_in")
    print("RESULT " + json.dumps({"tz": tz, "browser_tz": browser_tz, "times": times}), flush=True)


def scenario_add_connection(c, a):
    c.sign_in(a.login, a.password)
    c.d.find_element(By.LINK_TEXT, "+ Add connection").click()
    c.wait_for(By.ID, "apple_id")
    c.validate()
    c.d.find_element(By.ID, "apple_id").send_keys(a.apple_id)
    c.d.find_element(By.ID, "password").send_keys("wxyz-wxyz-wxyz-wxyz")
    c.d.find_element(By.ID, "upstream").send_keys(a.sim)
    c.submit_form("//button[normalize-space()='Connect']")
    c.expect_text("app-specific password", "two-factor authentication")
    if c.d.find_element(By.ID, "password").get_attribute("value"):
        fail("the password field was filled in again")
    if "wxyz-wxyz-wxyz-wxyz" in c.d.page_source:
        fail("the wrong password was echoed")
    if c.d.find_element(By.ID, "apple_id").get_attribute("value") != a.apple_id:
        fail("the Apple ID was not kept")
    c.shot("add_connection_wrong_password")
    c.d.find_element(By.ID, "password").send_keys(a.app_password)
    c.submit_form("//button[normalize-space()='Connect']")
    c.expect_text("Connected", a.apple_id, "Home", "Work", "Calendars found")
    refused = c.d.find_elements(By.CSS_SELECTOR, "tr.refused")
    if len(refused) < 2:
        fail("subscribed calendars and reminder lists are not shown greyed")
    if "webcal" not in " ".join(r.text for r in refused):
        fail("no R6 reason on the greyed rows")
    if a.app_password in c.d.page_source:
        fail("the app-specific password is in the page")
    c.go("/connections")
    c.shot("add_connection")


def scenario_add_feed(c, a):
    c.sign_in(a.login, a.password)
    c.d.find_element(By.LINK_TEXT, "+ Add ICS feed").click()
    c.wait_for(By.ID, "url")
    c.validate()
    c.d.find_element(By.ID, "url").send_keys(a.feed_url)
    c.d.find_element(By.ID, "name").send_keys("Team holidays")
    c.submit_form("//button[normalize-space()='Add feed']")
    c.expect_text("added ICS source team-holidays", "1 event from", "ICS feed")
    secret = a.feed_url.split("/")[-2]
    if secret in c.d.page_source:
        fail("the feed's secret path is in the page")
    c.shot("add_feed")


def scenario_confirm_deletions(c, a):
    c.sign_in(a.login, a.password)
    c.expect_text("held: 100 deletions need confirmation", "Check the calendars in iCloud first")
    c.shot("held_deletions")
    c.submit_form("//button[normalize-space()='Confirm 100 deletions']")
    c.expect_text("100 held deletions confirmed and applied")
    if "Confirm 100 deletions" in c.text():
        fail("the Confirm button is still shown after confirming")
    c.go("/connections")
    c.expect_text("ok")
    c.shot("confirm_deletions")


def choose(c, xpath):
    box = c.d.find_element(By.XPATH, xpath)
    if not box.is_selected():
        box.click()


def scenario_configure(c, a):
    c.sign_in(a.login, a.password)
    c.d.find_element(By.LINK_TEXT, "Calendars").click()
    c.wait_for(By.LINK_TEXT, "Edit primary calendar").click()
    c.wait_for(By.ID, "edit")
    c.validate()
    choose(c, "//input[@name='primary' and @value='icloud/home']")
    c.submit_form("//button[normalize-space()='Save']")
    c.expect_text("New events created here go to iCloud “Home”.")
    c.d.find_element(By.LINK_TEXT, "Edit conflict calendars").click()
    c.wait_for(By.ID, "edit")
    c.validate()
    for value in a.conflicts.split(","):
        choose(c, f"//input[@name='conflict' and @value='{value}']")
    choose(c, f"//input[@name='conflict_user' and @value='{a.member}']")
    c.submit_form("//button[normalize-space()='Save']")
    c.expect_text(
        "Busy time in “Work” blocks your availability.",
        "Busy time in “Family” blocks your availability.",
        f"Busy time of team member {a.member} blocks your availability.",
    )
    # `configure`'s own validation: the primary cannot also be a conflict calendar.
    c.d.find_element(By.LINK_TEXT, "Edit conflict calendars").click()
    c.wait_for(By.ID, "edit")
    choose(c, "//input[@name='conflict' and @value='icloud/home']")
    c.submit_form("//button[normalize-space()='Save']")
    c.expect_text("invalid selection")
    c.go("/calendars")
    c.shot("configure")


def scenario_availability(c, a):
    c.sign_in(a.login, a.password)
    c.go(f"/availability?week={a.week}")
    blocks = c.d.find_elements(By.CSS_SELECTOR, "a.block")
    if not blocks:
        fail(f"no busy block in the week of {a.week}")
    kinds = {b.get_attribute("class") for b in blocks}
    blocks[0].click()
    why = c.wait_for(By.ID, "why")
    c.validate()
    items = why.find_elements(By.TAG_NAME, "li")
    if not items:
        fail("why busy lists no source")
    sources = [i.text for i in items]
    c.shot("availability")
    c.viewport_shot("console", 1280, 1500)
    # The same by keyboard: Tab to a block, Enter opens its sources.
    c.go(f"/availability?week={a.week}")
    body = c.d.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    for _ in range(80):
        el = c.d.switch_to.active_element
        if "block" in (el.get_attribute("class") or ""):
            break
        el.send_keys(Keys.TAB)
    else:
        fail("no busy block can be reached with Tab")
    c.d.switch_to.active_element.send_keys(Keys.ENTER)
    c.wait_for(By.ID, "why")
    if c.d.switch_to.active_element.get_attribute("id") != "why":
        fail("the why-busy panel did not take the focus")
    c.d.find_element(By.LINK_TEXT, "Next week →").click()
    c.wait_for(By.CSS_SELECTOR, ".week")
    c.validate()
    print("RESULT " + json.dumps({"sources": sources, "kinds": sorted(kinds)}), flush=True)


def scenario_settings(c, a):
    """Issue 13's cards: working hours by keyboard alone, busy rules by
    mouse, and a minutes field left empty or not a number is stopped by
    the browser (it is required) instead of reaching `configure`."""
    c.sign_in(a.login, a.password)
    c.go("/calendars")
    c.expect_text("Working hours", "Busy rules")
    link = c.d.find_element(By.LINK_TEXT, "Edit working hours")
    c.new_page(lambda: link.send_keys(Keys.ENTER))
    c.validate()
    # The link's #edit is where Tab goes on from: the form's first field.
    c.keys(Keys.TAB)
    if c.active().get_attribute("id") != "timezone":
        fail(f"Tab after 'Edit working hours' went to {c.active().get_attribute('outerHTML')[:200]}")
    ActionChains(c.d).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).perform()
    c.keys(a.zone, Keys.TAB, "Mon-Fri 09:00-12:00, 13:00-17:00", Keys.TAB)
    c.keys("2027-12-24 off", Keys.ENTER, "2027-12-27 10:00-14:00", Keys.TAB)
    if c.active().get_attribute("name") != "feed_outside_hours":
        fail(f"Tab from the exceptions went to {c.active().get_attribute('outerHTML')[:200]}")
    c.keys(Keys.SPACE)
    c.keys(Keys.TAB)
    if c.active().text != "Save":
        fail(f"Tab from the checkbox went to {c.active().get_attribute('outerHTML')[:200]}")
    c.new_page(lambda: c.keys(Keys.ENTER))
    c.validate(c.base + "/calendars")
    c.expect_text(
        f"Mon-Fri 09:00-12:00,13:00-17:00 ({a.zone})",
        "Except 2027-12-24 off",
        "Except 2027-12-27 10:00-14:00",
        "Your feed shows the time outside working hours as busy",
    )
    c.d.find_element(By.LINK_TEXT, "Edit busy rules").click()
    c.wait_for(By.ID, "buffer_before")
    c.validate()
    choose(c, "//input[@name='all_day' and @value='free-unless-opaque']")
    choose(c, "//input[@name='tentative' and @value='free']")
    travel = c.d.find_element(By.NAME, "travel")
    if travel.is_selected():
        travel.click()
    for name, value in (("buffer_before", "10"), ("buffer_after", "5")):
        field = c.d.find_element(By.ID, name)
        field.clear()
        field.send_keys(value)
    c.submit_form("//button[normalize-space()='Save']")
    c.expect_text(
        "Apple travel time is ignored",
        "10 minutes before and 5 minutes after every busy block are kept free",
    )
    # An empty minutes field, or letters typed into it, never reach configure.
    for typed in ("", "abc"):
        c.d.find_element(By.LINK_TEXT, "Edit busy rules").click()
        field = c.wait_for(By.ID, "buffer_before")
        field.clear()
        if typed:
            field.send_keys(typed)
        c.stays(
            lambda: c.d.find_element(By.XPATH, "//button[normalize-space()='Save']").click(),
            f"minutes before a busy block set to {typed!r}",
        )
        if c.d.execute_script("return arguments[0].validity.valid", field):
            fail(f"the browser takes {typed!r} as minutes")
        c.go("/calendars")
    c.shot("settings")


def status_of(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def scenario_feed(c, a):
    c.sign_in(a.login, a.password)
    c.go("/availability")
    c.submit_form("//button[normalize-space()='Create feed URL']")
    old = c.wait_for(By.ID, "feed-url").get_attribute("value")
    if status_of(old) != 200:
        fail(f"the new feed URL does not answer: {old}")
    c.d.find_element(By.XPATH, "//button[@data-copy='feed-url']").click()
    c.submit_form("//button[normalize-space()='Rotate']")
    c.expect_text("the old one no longer works")
    new = c.wait_for(By.ID, "feed-url").get_attribute("value")
    if new == old:
        fail("rotate kept the URL")
    if status_of(old) != 404:
        fail(f"the old feed URL still answers: {status_of(old)}")
    if status_of(new) != 200:
        fail("the rotated feed URL does not answer")
    c.validate(c.base + "/availability")
    c.shot("feed")
    print("RESULT " + json.dumps({"old": old, "new": new}), flush=True)


def scenario_traffic(c, a):
    c.sign_in(a.login, a.password)
    c.d.find_element(By.LINK_TEXT, "Traffic").click()
    c.wait_for(By.CSS_SELECTOR, "table.traffic")
    c.validate()
    before = len(c.d.find_elements(By.CSS_SELECTOR, "table.traffic tbody tr"))
    if before == 0:
        fail("no recorded exchanges listed")
    # The Rust side syncs now; new rows appear without a reload.
    print("READY", flush=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        if len(c.d.find_elements(By.CSS_SELECTOR, "table.traffic tbody tr")) > before:
            break
        time.sleep(0.5)
    else:
        fail("no live update of the traffic table")
    c.shot("traffic")
    link = c.d.find_element(By.CSS_SELECTOR, "table.traffic tbody tr td a")
    link.click()
    c.wait_for(By.ID, "resp-h")
    c.validate()
    c.expect_text("Request", "Response")
    if not c.d.find_elements(By.CSS_SELECTOR, "pre.body"):
        fail("no pretty-printed body on the exchange page")
    c.shot("traffic_entry")
    c.d.find_element(By.LINK_TEXT, "← All exchanges").click()
    c.wait_for(By.LINK_TEXT, "Download HAR").click()
    deadline = time.time() + 30
    path = None
    while time.time() < deadline and path is None:
        names = os.listdir(c.downloads)
        # Firefox writes into NAME.part next to an empty NAME until it is done.
        done = [
            f
            for f in names
            if f.endswith(".har")
            and f + ".part" not in names
            and os.path.getsize(os.path.join(c.downloads, f)) > 0
        ]
        if done:
            path = os.path.join(c.downloads, done[0])
        else:
            time.sleep(0.3)
    if path is None:
        fail(f"no HAR downloaded into {c.downloads}: {os.listdir(c.downloads)}")
    print("RESULT " + json.dumps({"har": path, "rows_before": before}), flush=True)


SCENARIOS = {
    "sign_in": scenario_sign_in,
    "add_connection": scenario_add_connection,
    "add_feed": scenario_add_feed,
    "confirm_deletions": scenario_confirm_deletions,
    "configure": scenario_configure,
    "availability": scenario_availability,
    "feed": scenario_feed,
    "settings": scenario_settings,
    "traffic": scenario_traffic,
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--browser", required=True, choices=sorted(PACKAGES))
    p.add_argument("--binary", required=True)
    p.add_argument("--driver", required=True)
    p.add_argument("--base", required=True)
    p.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    p.add_argument("--screens", required=True)
    p.add_argument("--downloads", required=True)
    p.add_argument("--profile", required=True)
    p.add_argument("--login", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--login-shown", default="")
    p.add_argument("--sim", default="")
    p.add_argument("--apple-id", default="")
    p.add_argument("--app-password", default="")
    p.add_argument("--feed-url", default="")
    p.add_argument("--conflicts", default="")
    p.add_argument("--member", default="")
    p.add_argument("--week", default="")
    p.add_argument("--zone", default="")
    a = p.parse_args()
    try:
        c = Console(a.browser, a.binary, a.driver, a.base, a.screens, a.downloads, a.profile)
        try:
            SCENARIOS[a.scenario](c, a)
            c.no_console_errors()
            if c.checked == 0:
                fail("no page was checked")
            print(f"checked {c.checked} pages", flush=True)
        finally:
            c.quit()
    except BaseException:
        driver_log(a.profile)
        raise
    print("ALL OK", flush=True)


def driver_log(profile):
    """The end of geckodriver's log (Firefox's own messages too) on stderr."""
    path = os.path.join(profile, "geckodriver.log")
    if os.path.exists(path):
        with open(path, encoding="utf-8", errors="replace") as f:
            tail = f.read()[-6000:]
        print(f"--- {path} (end) ---\n{tail}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
