"""The console in a real browser, with scripting off: sign in, read the audit page, switch the
language, sign out. Run by ConsoleBrowserTests against a live server; exits non-zero on the first
check that fails, naming it.

    python3 Tests/Browser/console_flow.py --base http://127.0.0.1:PORT --key ADMIN_KEY --log-size N
"""
import argparse
import sys

from playwright.sync_api import sync_playwright


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--log-size", required=True, type=int)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        context = browser.new_context(java_script_enabled=False, locale="zh-CN")
        page = context.new_page()
        styles = []
        page.on("response", lambda r: styles.append(r.status) if r.url.endswith("/console/style.css") else None)

        page.goto(args.base + "/console/")
        check(page.url.endswith("/console/sign-in"), "a signed-out visitor lands on the sign-in page")
        check(page.locator("html").get_attribute("lang") == "zh-CN", "the page is in Chinese by default")
        check(page.locator("h1").inner_text() == "登录", "the sign-in page's heading")
        check(styles == [200], "the stylesheet loads under the page's policy")

        page.fill("#api_key", "pdx_0000000000000000_wrong")
        page.click("button[type=submit]")
        check(page.locator("[role=alert]").count() == 1, "a wrong key is refused with a message")
        check(not any(c["name"] == "pdx_session" for c in context.cookies()), "a wrong key makes no session")

        page.fill("#api_key", args.key)
        page.click("button[type=submit]")
        check(page.url.endswith("/console/"), "signing in leads to the overview")
        check("平台管理员" in page.content(), "the overview names the role")
        check(args.key not in page.content(), "the key is not on the page")
        cookies = {c["name"]: c for c in context.cookies()}
        session = cookies.get("pdx_session")
        check(session is not None, "the session cookie is set")
        check(session["httpOnly"] and session["sameSite"] == "Strict", "the session cookie is HttpOnly and SameSite=Strict")
        check(all(args.key not in c["value"] for c in context.cookies()), "no cookie holds the key")

        page.click("text=审计日志")
        check(page.url.endswith("/console/audit"), "the audit page opens")
        check(int(page.locator("#log-size").inner_text()) >= args.log_size, "the audit page shows the log's size")
        check("pdx-verify" in page.locator("main").inner_text(), "the audit page shows how to verify offline")

        page.click("main a[href='/console/audit/entries']")
        page.wait_for_load_state()
        check(page.url.endswith("/console/audit/entries"), f"the entry browser opens ({page.url})")
        check(page.locator("tbody tr").count() >= 1, "the entry browser lists entries")
        page.fill("#action", "principal.")
        page.click("form.filter button[type=submit]")
        check("action=principal." in page.url, "the filter form sends its fields")
        actions = page.locator("tbody tr td:nth-child(3)").all_inner_texts()
        check(len(actions) >= 1 and all(a.startswith("principal.") for a in actions), "the filter keeps only matching actions")
        page.click("tbody tr:first-child td:first-child a")
        check(page.locator("#inclusion-state").count() == 1, "an entry shows the state of its inclusion proof")
        check(page.locator("#entry-body").inner_text().startswith("{"), "an entry shows its canonical JSON")

        page.click("text=English")
        check(page.locator("html").get_attribute("lang") == "en", "the switch turns the console to English")
        check(page.locator("h1").inner_text() == "Overview", "the overview in English")
        page.goto(args.base + "/console/audit")
        check(page.locator("h1").inner_text() == "Audit log", "the language is remembered")

        page.click("text=Sign out")
        check(page.url.endswith("/console/sign-in"), "signing out leads to the sign-in page")
        page.goto(args.base + "/console/audit")
        check(page.url.endswith("/console/sign-in"), "after signing out the pages need a new sign-in")
        browser.close()


if __name__ == "__main__":
    main()
