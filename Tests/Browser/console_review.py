"""A reviewer approves an operator's application in the console, in Chromium with scripting off.

    python3 Tests/Browser/console_review.py --base URL --key REVIEWER_KEY --operator OP_ID
"""
import argparse

from playwright.sync_api import sync_playwright

from console_flow import check


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--operator", required=True)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        page = browser.new_context(java_script_enabled=False).new_page()
        page.goto(args.base + "/console/sign-in")
        page.fill("#api_key", args.key)
        page.click("button[type=submit]")
        check(page.url.endswith("/console/"), "the reviewer is signed in")

        page.click("main a[href='/console/review/operators']")
        check(page.locator(f"a[href='/console/review/operators/{args.operator}']").count() == 1, "the inbox lists the application")
        page.click(f"a[href='/console/review/operators/{args.operator}']")
        check(page.locator("#approvals").inner_text() == "0 / 1", "no approval yet")

        page.check("input[value=reject]")
        page.click("form[action$='/review'] button[type=submit]")
        check("reason_required" in page.locator("[role=alert]").inner_text(), "a rejection without a reason is refused, with its code")
        check(page.locator("#operator-status").inner_text() == "submitted", "nothing was decided")

        page.check("input[value=approve]")
        page.fill("#reason", "营业执照与等保备案已核对")
        page.click("form[action$='/review'] button[type=submit]")
        check(page.locator("[role=status]").count() == 1, "the decision is confirmed")
        check(page.locator("#operator-status").inner_text() == "approved", "the operator is approved")
        check("营业执照与等保备案已核对" in page.content(), "the review's reason is shown")
        browser.close()


if __name__ == "__main__":
    main()
