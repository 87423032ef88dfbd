"""The company API page in headless Chromium (Selenium), end to end. Run by AdminPageBrowserTests.

Each secret read from the show-once box is used with curl against /auth/forward (the gateway endpoint); tokens and
the PKCE exchange go through the CLI (secrets on stdin).

Environment: BASE_URL (the server), CREDLEDGER (the CLI binary), DB (the ledger directory), SHOTS (where screenshots
go), PROFILE (Chromium's profile directory, scanned for secrets at the end). Secrets stay in this process's memory:
never printed, never written; the CLI gets them on standard input.
"""
import base64, hashlib, json, os, re, secrets, sqlite3, subprocess, sys, time
import urllib.parse

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

BASE = os.environ["BASE_URL"]
CLI = os.environ["CREDLEDGER"]
DB = os.environ["DB"]
SHOTS = os.environ["SHOTS"]
PROFILE = os.environ["PROFILE"]
PAGE = BASE + "/companies/acme/api"
REDIRECT = "http://127.0.0.1/cb"
SECRETS = []          # every secret the page showed (and tokens obtained with them): must never reappear


def step(message):
    print("step:", message, flush=True)


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def cli(args, stdin_lines=()):
    """Runs the CLI with --json; secrets only on stdin. Returns (exit code, parsed JSON or None)."""
    p = subprocess.run([CLI, "--db", DB, "--json"] + args, input="".join(s + "\n" for s in stdin_lines),
                       capture_output=True, text=True, timeout=30)
    out = p.stdout.strip().splitlines()
    try:
        value = json.loads(out[-1]) if out else None
    except ValueError:
        value = None
    return p.returncode, value


def auth_check(header, project, op):
    """One use through the gateway endpoint, as nginx's auth_request would send it: `curl` against /auth/forward with
    the Authorization header read from standard input (`-H @-`: the secret is in no argv). 200 is "allowed", a 401/403
    names the ledger's reason in its body."""
    method = "GET" if op == "read" else "POST"
    p = subprocess.run(["curl", "-s", "--max-time", "10", "-w", "\n%{http_code}", "-H", "@-", "-H", "X-Company: acme",
                        "-H", "X-Project: " + project, "-H", "X-Original-Method: " + method, BASE + "/auth/forward"],
                       input="Authorization: " + header + "\n", capture_output=True, text=True, timeout=30)
    body, _, status = p.stdout.rpartition("\n")
    if status == "200":
        return "allowed"
    check(status in ("401", "403"), "auth/forward answered %r" % status)
    return json.loads(body)["reason"]


options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900",
            "--user-data-dir=" + PROFILE, "--no-first-run", "--disable-extensions", "--lang=en-US"]:
    options.add_argument(arg)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
# The table re-renders its rows after every change: a row read mid-render is stale, so waits ignore that.
wait = WebDriverWait(driver, 10, ignored_exceptions=[NoSuchElementException, StaleElementReferenceException])
console_errors = []


def shot(name):
    time.sleep(0.15)   # let the last paint land
    driver.save_screenshot(os.path.join(SHOTS, name + ".png"))


def by_id(i):
    return driver.find_element(By.ID, i)


def visible(i):
    return wait.until(EC.visibility_of_element_located((By.ID, i)))


LOGIN_NOTES = []


def sign_in(email):
    """The dev login form, as a user fills it in (the browser's own Origin and Sec-Fetch-Site headers)."""
    driver.delete_all_cookies()
    driver.get(PAGE)
    wait.until(EC.url_contains("/login"))
    field = driver.find_element(By.NAME, "email")
    field.send_keys(email)
    field.send_keys(Keys.RETURN)
    wait.until(lambda d: d.current_url == PAGE or "refused" in d.find_element(By.TAG_NAME, "body").text.lower())
    check(driver.current_url == PAGE, "the dev login form was refused: " + driver.find_element(By.TAG_NAME, "body").text[:200])


def row(name):
    return driver.find_element(By.XPATH, "//table[@id='keys']/tbody/tr[th//button[normalize-space()=%s]]" % json.dumps(name))


def cell(name, col):
    return row(name).find_element(By.CSS_SELECTOR, "td[data-col='%s']" % col)


def wait_rows(n):
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#keys tbody tr")) == n)


def scan_page(where):
    source = driver.page_source
    storage = driver.execute_script("return JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])")
    check(storage == "[[],[]]", "%s: browser storage is not empty" % where)
    for s in SECRETS:
        check(s not in source, "%s: a secret is in the page source" % where)
        check(s not in driver.current_url, "%s: a secret is in the URL" % where)


try:
    # 1. A member who is not an admin.
    step("non-admin sees the seeds' rule")
    sign_in("bob@acme.example")
    check("Only company admins can use the API area" in by_id("not-admin").text, "non-admin message missing")
    check(not driver.find_elements(By.ID, "keys"), "a non-admin sees the table")
    shot("01-not-admin")

    # 2. The admin, module disabled: the enterprise message and the switch.
    step("admin: module disabled, then enabled")
    sign_in("alice@acme.example")
    text = by_id("module-disabled").text
    check("Enterprise feature" in text, "the enterprise message is missing")
    check(not by_id("open-create").is_enabled(), "Generate API key is clickable while the module is off")
    shot("02-module-disabled")
    by_id("enable-module").click()
    wait.until(lambda d: not d.find_elements(By.ID, "module-disabled") and d.find_element(By.ID, "open-create").is_enabled())
    check(not driver.find_elements(By.ID, "module-disabled"), "still disabled after the switch")
    shot("03-empty-table")

    # 3. One key of each type; each secret read from the show-once box, then the box closed with confirmation.
    kinds = [("Nightly sync", "static", "read"), ("ERP connector", "oauth", "read-write"),
             ("Claude (Alice)", "pkce", "read"), ("Desktop app", "pkce-public", "global")]
    issued = {}
    for n, (name, kind, scope) in enumerate(kinds):
        step("create %s / %s" % (kind, scope))
        by_id("open-create").click()
        visible("c-name").send_keys(name)
        Select(by_id("c-type")).select_by_value(kind)
        Select(by_id("c-scope")).select_by_value(scope)
        labels = [o.text for o in Select(by_id("c-scope")).options]
        check(labels == ["Developer READ API", "Developer READ-WRITE API", "Developer Global API"], "scope options: %r" % labels)
        expiry = [o.get_attribute("value") for o in Select(by_id("c-expires")).options]
        check(expiry == ["", "30d", "90d", "365d"] and Select(by_id("c-expires")).first_selected_option.text == "Never",
              "expiry options: %r" % expiry)
        if kind == "oauth":
            Select(by_id("c-expires")).select_by_value("90d")
        if kind.startswith("pkce"):
            check(by_id("c-redirects").is_displayed(), "redirect URIs hidden for a PKCE type")
            by_id("c-redirects").send_keys(REDIRECT)
        else:
            check(not by_id("c-redirects").is_displayed(), "redirect URIs shown for a non-PKCE type")
        if n == 0:
            shot("04-create-dialog")
        by_id("create-save").click()
        visible("secret-dialog")
        check("only shown once" in by_id("secret-warning").text, "the show-once warning is missing")
        values = {}
        for key in ["secret", "client_id", "client_secret", "server_url"]:
            found = driver.find_elements(By.ID, "secret-value-" + key)
            if found:
                values[key] = found[0].text
        if kind == "static":
            check(values.get("secret", "").startswith("cxk_"), "no static key shown")
            SECRETS.append(values["secret"])
        else:
            check(values.get("client_id"), "no client id shown")
        if kind in ("oauth", "pkce"):
            check(values.get("client_secret", "").startswith("cxs_"), "no client secret shown for %s" % kind)
            SECRETS.append(values["client_secret"])
        if kind == "pkce-public":
            check("client_secret" not in values, "a public client shows a secret")
        if kind.startswith("pkce"):
            check(values.get("server_url") == BASE, "MCP server URL %r is not the issuer" % values.get("server_url"))
        else:
            check("server_url" not in values, "MCP values shown for %s" % kind)
        issued[kind] = values
        if kind in ("static", "pkce"):
            shot("05-secret-%s" % kind)
        # Closing asks first; "Back" keeps the secret; "Yes, close" wipes it.
        by_id("secret-done").click()
        visible("secret-confirm")
        if n == 0:
            shot("06-close-confirmation")
            by_id("secret-close-no").click()
            check(by_id("secret-dialog").is_displayed() and driver.find_elements(By.ID, "secret-value-secret"), "Back lost the secret")
            by_id("secret-done").click()
            visible("secret-confirm")
        by_id("secret-close-yes").click()
        wait.until(EC.invisibility_of_element_located((By.ID, "secret-dialog")))
        check(not driver.find_elements(By.CSS_SELECTOR, "#secret-body *"), "the secret stayed in the DOM after closing")
        wait_rows(n + 1)
    scan_page("after creating")

    # The table: labels of the seeds, sortable, filterable.
    step("table labels, sorting, filter")
    check(cell("Nightly sync", "scope").text == "READ ONLY" and cell("ERP connector", "scope").text == "READ & WRITE"
          and cell("Desktop app", "scope").text == "GLOBAL", "scope labels")
    check(cell("Nightly sync", "type").text == "Static API key" and cell("ERP connector", "type").text == "OAuth API user"
          and cell("Claude (Alice)", "type").text == "OAuth PKCE (individual user)" and cell("Desktop app", "type").text == "OAuth PKCE Public",
          "type labels")
    check(cell("Nightly sync", "last_used").text == "Never" and cell("Nightly sync", "used").text == "0", "a new key looks used")
    names = lambda: [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#keys tbody th button.name")]
    check(names() == sorted(names(), key=str.lower), "not sorted by name: %r" % names())
    driver.find_element(By.CSS_SELECTOR, "th[data-sort='name'] button").click()
    check(names() == sorted(names(), key=str.lower, reverse=True), "name sort does not reverse")
    by_id("filter").send_keys("oauth pkce")
    wait.until(lambda d: len(names()) == 2)
    check(set(names()) == {"Claude (Alice)", "Desktop app"}, "filter: %r" % names())
    by_id("filter").send_keys(Keys.CONTROL + "a", Keys.BACKSPACE)
    wait_rows(4)

    # 4. Use each credential with its secret (curl against /auth/forward; tokens through the CLI, secrets on stdin).
    step("use the static key: denied before project access")
    static_header = "Apikey " + issued["static"]["secret"]
    check(auth_check(static_header, "bridge", "read") == "project_access_missing", "static key allowed without project access")

    step("grant project access in the detail panel")
    row("Nightly sync").find_element(By.CSS_SELECTOR, "button[data-action='details']").click()
    visible("detail-dialog")
    check(by_id("service-user").text.startswith("apiservice+"), "the API user is not shown")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#grant-project option[value='bridge']"))
    Select(by_id("grant-project")).select_by_value("bridge")
    Select(by_id("grant-role")).select_by_value("viewer")
    by_id("grant-add").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#grants tr[data-project='bridge']"))
    by_id("detail-dialog").send_keys(Keys.ESCAPE)
    wait.until(EC.invisibility_of_element_located((By.ID, "detail-dialog")))

    check(auth_check(static_header, "bridge", "read") == "allowed", "static key refused after the grant")
    check(auth_check(static_header, "bridge", "write") == "read_only_scope", "a READ ONLY key wrote")

    step("OAuth API user: client credentials, then a Bearer use")
    oauth = issued["oauth"]
    code, token = cli(["token", "client-credentials", "--client-id", oauth["client_id"], "--client-secret", "-"], [oauth["client_secret"]])
    check(code == 0 and token and token.get("access_token"), "client_credentials failed (exit %d)" % code)
    SECRETS.append(token["access_token"])
    oauth_token = token["access_token"]
    # Grant through the JSON API is the page's job too: do it in the UI below for 'tunnel' with editor.
    row("ERP connector").find_element(By.CSS_SELECTOR, "button[data-action='details']").click()
    visible("detail-dialog")
    expires = driver.find_element(By.XPATH, "//dl[@class='facts']/dt[.='Expires']/following-sibling::dd[1]").text
    days = (time.mktime(time.strptime(expires, "%Y-%m-%d %H:%M:%S UTC")) - time.mktime(time.gmtime())) / 86400
    check(89 < days < 91, "created to expire in 90 days, the detail says %r" % expires)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#grant-project option[value='tunnel']"))
    Select(by_id("grant-project")).select_by_value("tunnel")
    Select(by_id("grant-role")).select_by_value("editor")
    by_id("grant-add").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#grants tr[data-project='tunnel']"))
    by_id("detail-dialog").send_keys(Keys.ESCAPE)
    check(auth_check("Bearer " + token["access_token"], "tunnel", "write") == "allowed", "the OAuth API user's token cannot write")

    for kind in ("pkce", "pkce-public"):
        step("%s: the user approves, the code is exchanged, the token is used" % kind)
        values = issued[kind]
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if kind == "pkce":
            # The consent as a browser gives it: the authorization request, the consent page, the Approve button, the
            # 303 to the client's redirect URI with code, state and iss.
            query = urllib.parse.urlencode({"response_type": "code", "client_id": values["client_id"], "redirect_uri": REDIRECT,
                                            "code_challenge": challenge, "code_challenge_method": "S256", "state": "st-42"})
            driver.get(BASE + "/oauth/authorize?" + query)
            approve = wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, "button[name='decision'][value='approve']")))
            check("Claude (Alice)" in driver.page_source, "the consent page does not name the client")
            shot("consent")
            approve.click()
            wait.until(lambda d: d.current_url.startswith(REDIRECT))
            returned = urllib.parse.parse_qs(urllib.parse.urlparse(driver.current_url).query)
            check(returned.get("state") == ["st-42"] and returned.get("iss") == [BASE] and returned.get("code"),
                  "the consent redirect lacks code, state or iss: %s" % sorted(returned))
            code, consent = 0, {"code": returned["code"][0]}
            driver.get(PAGE)
            wait_rows(4)
        else:
            code, consent = cli(["oauth", "authorize", "acme", "--client-id", values["client_id"], "--user", "alice@acme.example",
                                 "--redirect-uri", REDIRECT, "--code-challenge", challenge, "--code-challenge-method", "S256"])
        check(code == 0 and consent and consent.get("code"), "%s consent failed (exit %d)" % (kind, code))
        args = ["oauth", "token", "--grant", "authorization_code", "--client-id", values["client_id"]]
        lines = []
        if kind == "pkce":
            args += ["--client-secret", "-"]; lines.append(values["client_secret"])
        args += ["--code", "-", "--code-verifier", "-", "--redirect-uri", REDIRECT]
        lines += [consent["code"], verifier]
        code, token = cli(args, lines)
        check(code == 0 and token and token.get("access_token"), "%s code exchange failed (exit %d)" % (kind, code))
        SECRETS.extend([token["access_token"], token.get("refresh_token", "")])
        if kind != "pkce":
            # A code the browser carried to the redirect URI is in its history by design (single use, 60 s, spent now).
            SECRETS.append(consent["code"])
        check(auth_check("Bearer " + token["access_token"], "bridge", "read") == "allowed", "%s token refused" % kind)

    # 5. Used and Last used after a reload.
    step("Used and Last used change after a reload")
    driver.refresh()
    wait_rows(4)
    wait.until(lambda d: cell("Nightly sync", "used").text == "1")
    last = cell("Nightly sync", "last_used").find_element(By.TAG_NAME, "time")
    check(last.text in ("just now",) or "minute" in last.text, "Last used reads %r" % last.text)
    check(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", last.get_attribute("title") or ""), "no exact time on hover")
    check(cell("ERP connector", "used").text == "1", "ERP connector Used is not 1")
    shot("07-table-used")

    # 6. The key's detail: chart, denied reasons, timeline; then revoke its project access.
    step("detail: chart, denied reasons, audit timeline; revoke project access")
    row("Nightly sync").find_element(By.CSS_SELECTOR, "button[data-action='details']").click()
    visible("detail-dialog")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#usage-svg rect.bar-ok"))
    check(len(driver.find_elements(By.CSS_SELECTOR, "#usage-svg g[data-day]")) == 30, "the chart does not show 30 days")
    wait.until(lambda d: "project_access_missing" in by_id("denied").text)
    check("read_only_scope" in by_id("denied").text, "denied reasons: %r" % by_id("denied").text)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#timeline li.ev")) >= 5)
    seqs = [int(e.get_attribute("data-seq")) for e in driver.find_elements(By.CSS_SELECTOR, "#timeline li.ev")]
    check(seqs == sorted(seqs, reverse=True), "timeline not newest first")
    shot("08-detail")
    driver.execute_script("document.getElementById('usage-h').scrollIntoView()")
    shot("08b-detail-usage")
    driver.execute_script("document.getElementById('audit-h').scrollIntoView()")
    shot("08c-detail-timeline")
    by_id("older").is_displayed()
    driver.find_element(By.CSS_SELECTOR, "#grants tr[data-project='bridge'] button").click()
    wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "#grants tr[data-project='bridge']"))
    by_id("detail-dialog").send_keys(Keys.ESCAPE)
    check(auth_check(static_header, "bridge", "read") == "project_access_missing", "access still works after the revoke")

    # 6b. Rotation from the detail panel: the OAuth API user's secret at once, the static key with a 24-hour grace.
    def rotate(name, grace, field):
        row(name).find_element(By.CSS_SELECTOR, "button[data-action='details']").click()
        visible("detail-dialog")
        visible("rotate-open").click()
        visible("rotate-dialog")
        check(by_id("rotate-name").text == name, "the rotate dialog names %r" % by_id("rotate-name").text)
        check(Select(by_id("rotate-grace")).first_selected_option.get_attribute("value") == "24h", "the default grace is not 24 hours")
        if name == "ERP connector":
            check("keep working until it stops" in by_id("rotate-tokens").text, "the grace note for tokens: %r" % by_id("rotate-tokens").text)
        Select(by_id("rotate-grace")).select_by_value(grace)
        tokens = by_id("rotate-tokens").text
        if name == "ERP connector":
            check("revoked at once" in tokens and "request new tokens" in tokens, "the grace-0 warning for tokens: %r" % tokens)
            shot("08d-rotate-dialog")
        else:
            check(tokens == "", "a static key's rotation talks of tokens: %r" % tokens)
        by_id("rotate-confirm").click()
        visible("secret-dialog")
        check(by_id("secret-title").text == "Secret rotated: " + name, "title %r" % by_id("secret-title").text)
        note = by_id("rotated-note").text
        new = by_id("secret-value-" + field).text
        SECRETS.append(new)
        if name == "ERP connector":
            shot("08e-rotated-secret")
        by_id("secret-done").click()
        visible("secret-confirm")
        by_id("secret-close-yes").click()
        wait.until(EC.invisibility_of_element_located((By.ID, "secret-dialog")))
        check(not driver.find_elements(By.CSS_SELECTOR, "#secret-body *"), "the rotated secret stayed in the DOM")
        return new, note

    step("rotate the OAuth API user's secret now: the old secret and its token stop, the new one works")
    new_secret, note = rotate("ERP connector", "0", "client_secret")
    check(new_secret.startswith("cxs_") and new_secret != oauth["client_secret"], "no new client secret shown")
    check("stopped working now" in note and "revoked at once" in note, "the rotation's note: %r" % note)
    check(auth_check("Bearer " + oauth_token, "tunnel", "write") == "token_revoked", "a token of the rotated-away secret still works")
    code, _ = cli(["token", "client-credentials", "--client-id", oauth["client_id"], "--client-secret", "-"], [oauth["client_secret"]])
    check(code != 0, "the rotated-away client secret still gets tokens")
    code, token = cli(["token", "client-credentials", "--client-id", oauth["client_id"], "--client-secret", "-"], [new_secret])
    check(code == 0 and token and token.get("access_token"), "the new client secret gets no token (exit %d)" % code)
    SECRETS.append(token["access_token"])
    check(auth_check("Bearer " + token["access_token"], "tunnel", "write") == "allowed", "the new secret's token is refused")
    row("ERP connector").find_element(By.CSS_SELECTOR, "button[data-action='details']").click()
    visible("detail-dialog")
    wait.until(lambda d: any("Secret rotated" in e.text for e in d.find_elements(By.CSS_SELECTOR, "#timeline li.ev")))
    by_id("detail-dialog").send_keys(Keys.ESCAPE)

    step("rotate the static key with a 24-hour grace: both keys work until it ends")
    new_key, note = rotate("Nightly sync", "24h", "secret")
    check(new_key.startswith("cxk_") and new_key != issued["static"]["secret"], "no new key shown")
    check("keeps working for 24 hours" in note, "the rotation's note: %r" % note)
    # The key has no project access since 6: both are recognised (not unknown, not superseded) and refused for that.
    check(auth_check(static_header, "bridge", "read") == "project_access_missing", "the old key stopped during its grace")
    check(auth_check("Apikey " + new_key, "bridge", "read") == "project_access_missing", "the new key is not recognised")
    scan_page("after rotating")

    step("GLOBAL key: no per-project setup; a public client has no secret to rotate")
    row("Desktop app").find_element(By.CSS_SELECTOR, "button[data-action='details']").click()
    visible("detail-dialog")
    check("acts as the user who approves" in by_id("access-panel").text, "PKCE access note missing")
    check(not driver.find_elements(By.ID, "rotate-open"), "a public PKCE client offers a secret rotation")
    by_id("detail-dialog").send_keys(Keys.ESCAPE)

    # 7. Delete with the confirmation; the row shows it revoked; the next use is refused.
    step("delete with confirmation")
    row("Nightly sync").find_element(By.CSS_SELECTOR, "button[data-action='delete']").click()
    visible("delete-dialog")
    check(by_id("delete-name").text == "Nightly sync" and by_id("delete-type").text == "Static API key"
          and by_id("delete-scope").text == "READ ONLY", "the confirmation does not name the key, type and scope")
    shot("09-delete-confirmation")
    by_id("delete-confirm").click()
    wait.until(lambda d: "Revoked" in row("Nightly sync").text)
    check(not row("Nightly sync").find_elements(By.CSS_SELECTOR, "button[data-action='delete']"), "a revoked key can be deleted again")
    shot("10-after-delete")
    check(auth_check(static_header, "bridge", "read") == "revoked", "a deleted key still works")
    check(auth_check("Apikey " + new_key, "bridge", "read") == "revoked", "a deleted key's rotated secret still works")
    row("Nightly sync").find_element(By.CSS_SELECTOR, "button[data-action='details']").click()
    visible("detail-dialog")
    check(not driver.find_elements(By.ID, "rotate-open"), "a deleted key offers a secret rotation")
    by_id("detail-dialog").send_keys(Keys.ESCAPE)

    # 8. Reload and back never show a secret again.
    step("reload, back and forward never show a secret")
    driver.refresh(); wait_rows(4); scan_page("after reload")
    driver.get(BASE + "/healthz"); driver.back(); wait_rows(4); scan_page("after back")
    driver.forward(); driver.back(); wait_rows(4); scan_page("after back again")
    check(not driver.find_elements(By.CSS_SELECTOR, "#secret-body *"), "the show-once box came back")
    logs = driver.get_log("browser") if hasattr(driver, "get_log") else []
    csp = [l for l in logs if "Content Security Policy" in l.get("message", "")]
    check(not csp, "CSP violations: %r" % csp)
except Exception:
    # Where it stopped: the URL, the page's text and a screenshot (never the page source: it could hold a secret).
    print("failed at", driver.current_url, file=sys.stderr)
    print(driver.find_element(By.TAG_NAME, "body").text[:2000], file=sys.stderr)
    driver.save_screenshot(os.path.join(SHOTS, "failure.png"))
    raise
finally:
    driver.quit()

# 9. Nothing in the browser's profile: URL history, cache, storage, session files.
step("scan the browser profile for secrets")
time.sleep(0.5)
history = os.path.join(PROFILE, "Default", "History")
if os.path.exists(history):
    con = sqlite3.connect("file:%s?mode=ro" % history, uri=True)
    urls = [u for (u,) in con.execute("select url from urls")]
    con.close()
    check(urls, "the URL history is empty: the scan would prove nothing")
    for s in SECRETS:
        check(not any(s in u for u in urls), "a secret is in the URL history")
scanned = 0
for root, _, files in os.walk(PROFILE):
    for f in files:
        path = os.path.join(root, f)
        try:
            data = open(path, "rb").read()
        except OSError:
            continue
        scanned += 1
        for s in SECRETS:
            if s and s.encode() in data:
                raise AssertionError("a secret is stored in the browser profile: %s" % os.path.relpath(path, PROFILE))
check(scanned > 10, "the profile scan read only %d files" % scanned)
for note in sorted(set(LOGIN_NOTES)):
    print("note:", note)
print("ALL OK: %d secrets checked against page sources, storage, URLs, history and %d profile files" % (len([s for s in SECRETS if s]), scanned))
