"""Screenshots of the console's main pages, 1000 x 700, for Docs/console.md.

    python3 Tests/Browser/console_screenshots.py --base URL --admin KEY --reviewer KEY --finance KEY \
        --grant GRANT_ID --dataset DATASET_ID --period YYYY-MM --entry N --out DIR

In English: the machines that take them need no CJK font.
"""
import argparse
import os

from playwright.sync_api import sync_playwright

from console_flow import check


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--admin", required=True)
    parser.add_argument("--reviewer", required=True)
    parser.add_argument("--finance", required=True)
    parser.add_argument("--grant", required=True)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--period", required=True)
    parser.add_argument("--entry", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])

        def person(key, first_shot=None):
            page = browser.new_context(java_script_enabled=False, locale="en", viewport={"width": 1000, "height": 700}).new_page()
            page.goto(args.base + "/console/sign-in")
            if first_shot:
                shoot(page, first_shot)
            page.fill("#api_key", key)
            page.click("button[type=submit]")
            check(page.url.endswith("/console/"), "signed in")
            return page

        def shoot(page, name):
            path = os.path.join(args.out, name + ".png")
            page.screenshot(path=path)
            check(os.path.getsize(path) > 0, f"{name}.png written")

        reviewer = person(args.reviewer, first_shot="sign-in")
        reviewer.goto(args.base + "/console/review/grants")
        shoot(reviewer, "reviewer-inbox")
        reviewer.goto(f"{args.base}/console/review/grants/{args.grant}")
        shoot(reviewer, "grant")
        reviewer.goto(f"{args.base}/console/catalogue/{args.dataset}")
        reviewer.select_option("#change-openness", "conditional")
        reviewer.fill("#change-reason", "plates are personal data")
        reviewer.click("form[action$='/preview'] button[type=submit]")
        check(reviewer.locator("#affected").count() == 1, "the preview lists grants")
        shoot(reviewer, "catalogue-preview")

        finance = person(args.finance)
        finance.goto(f"{args.base}/console/finance/{args.period}")
        shoot(finance, "finance-period")

        auditor = person(args.admin)
        auditor.goto(f"{args.base}/console/audit/entries/{args.entry}")
        check(auditor.locator("#inclusion-state").count() == 1, "the entry shows its proof")
        shoot(auditor, "audit-entry")
        browser.close()


if __name__ == "__main__":
    main()
