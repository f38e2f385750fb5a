"""Two people decide in two browsers, with scripting off: two Beijing reviewers approve an enhanced
operator's application (the two-person rule), and a Beijing and a Tianjin reviewer co-approve a
grant that uses both authorities' conditional datasets.

    python3 Tests/Browser/console_two_reviewers.py --base URL --bj-a KEY --bj-b KEY --tj-a KEY --operator OP_ID --grant GRANT_ID
"""
import argparse

from playwright.sync_api import sync_playwright

from console_flow import check


def signed_in(browser, base, key):
    """A browser context of its own (its own cookies: its own session), signed in with key."""
    page = browser.new_context(java_script_enabled=False, locale="en").new_page()
    page.goto(base + "/console/sign-in")
    page.fill("#api_key", key)
    page.click("button[type=submit]")
    check(page.url.endswith("/console/"), "a reviewer is signed in")
    return page


def decide(page, action_suffix, reason):
    page.check("input[value=approve]")
    page.fill("#reason", reason)
    page.click(f"form[action$='{action_suffix}'] button[type=submit]")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--bj-a", required=True)
    parser.add_argument("--bj-b", required=True)
    parser.add_argument("--tj-a", required=True)
    parser.add_argument("--operator", required=True)
    parser.add_argument("--grant", required=True)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        first = signed_in(browser, args.base, args.bj_a)
        second = signed_in(browser, args.base, args.bj_b)

        application = f"{args.base}/console/review/operators/{args.operator}"
        first.goto(application)
        check(first.locator("#approvals").inner_text() == "0 / 2", "an enhanced application needs two approvals")
        decide(first, "/review", "MLPS level 3 certificate checked")
        check(first.locator("#operator-status").inner_text() == "submitted", "one approval does not approve an enhanced operator")
        check(first.locator("#approvals").inner_text() == "1 / 2", "the first approval is counted")

        second.goto(application)
        check(second.locator("#approvals").inner_text() == "1 / 2", "the second reviewer sees the first approval")
        decide(second, "/review", "documents checked a second time")
        check(second.locator("#operator-status").inner_text() == "approved", "the second reviewer's approval approves the operator")

        grant = f"{args.base}/console/review/grants/{args.grant}"
        tianjin = signed_in(browser, args.base, args.tj_a)
        first.goto(grant)
        check(first.locator("#grant-status").inner_text() == "pending", "the grant awaits both authorities")
        decide(first, "/decision", "Beijing agrees")
        check(first.locator("#grant-status").inner_text() == "pending", "Beijing's approval alone does not activate it")

        tianjin.goto(args.base + "/console/review/grants")
        check(tianjin.locator(f"a[href='/console/review/grants/{args.grant}']").count() == 1, "Tianjin's inbox lists the grant")
        tianjin.click(f"a[href='/console/review/grants/{args.grant}']")
        check("Beijing agrees" in tianjin.locator("#approvals").inner_text(), "Tianjin sees Beijing's decision and reason")
        decide(tianjin, "/decision", "Tianjin agrees")
        check(tianjin.locator("#grant-status").inner_text() == "active", "co-approved by both authorities, the grant is active")

        first.reload()
        check(first.locator("#grant-status").inner_text() == "active", "Beijing's reviewer sees it active")
        browser.close()


if __name__ == "__main__":
    main()
