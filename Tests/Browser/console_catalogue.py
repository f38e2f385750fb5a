"""A reviewer reclassifies a dataset in the console, with scripting off: the preview lists the grant
the change would suspend, and only the confirmation makes the change. Then every catalogue page
through axe-core at 360 px.

    python3 Tests/Browser/console_catalogue.py --base URL --key REVIEWER_KEY --dataset ID --grant GRANT_ID
"""
import argparse

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import sync_playwright

from console_flow import check


def sign_in(page, base, key):
    page.goto(base + "/console/sign-in")
    page.fill("#api_key", key)
    page.click("button[type=submit]")
    check(page.url.endswith("/console/"), "the reviewer is signed in")


def accessible(axe, page):
    results = axe.run(page)
    serious = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    check(not serious, f"{page.url}: no serious accessibility violation {[v['id'] for v in serious]}")
    width = page.evaluate("document.documentElement.scrollWidth")
    check(width <= 360, f"{page.url}: fits 360 px ({width})")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--grant", required=True)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        page = browser.new_context(java_script_enabled=False, locale="en").new_page()
        sign_in(page, args.base, args.key)
        page.click("main a[href='/console/catalogue']")
        link = f"a[href='/console/catalogue/{args.dataset}']"
        check(page.locator(link).count() == 1, "the catalogue lists the authority's dataset")
        page.click(link)
        check(page.locator("#openness").inner_text() == "open", "the dataset is open")

        page.select_option("#change-openness", "conditional")
        page.fill("#change-reason", "plates are personal data")
        page.click("form[action$='/preview'] button[type=submit]")
        check(page.locator(f"#affected a[href='/console/review/grants/{args.grant}']").count() == 1,
              "the preview lists the grant the change would suspend")
        check("suspended" in page.locator("#affected").inner_text(), "the preview says the grant would be suspended")

        # A second tab of the same session: the preview page stays as it is.
        other = page.context.new_page()
        other.goto(f"{args.base}/console/review/grants/{args.grant}")
        check(other.locator("#grant-status").inner_text() == "active", "the preview changed nothing")
        other.close()
        page.click("form[action$='/confirm'] button[type=submit]")
        check(page.locator("[role=status]").count() == 1, "the change is confirmed")
        check(page.locator("#openness").inner_text() == "conditional", "the dataset is conditional now")
        page.goto(f"{args.base}/console/review/grants/{args.grant}")
        check(page.locator("#grant-status").inner_text() == "suspended", "the grant the preview named is suspended")

        axe = Axe()
        # Scripting on only so that axe can run: the pages themselves have none.
        narrow = browser.new_context(viewport={"width": 360, "height": 740}).new_page()
        sign_in(narrow, args.base, args.key)
        for path in ["/console/catalogue", "/console/catalogue/new", f"/console/catalogue/{args.dataset}"]:
            narrow.goto(args.base + path)
            accessible(axe, narrow)
        narrow.select_option("#change-grade", "important")
        narrow.fill("#change-reason", "graded again")
        narrow.click("form[action$='/preview'] button[type=submit]")
        check(narrow.locator("form[action$='/confirm']").count() == 1, "a preview of a second change")
        accessible(axe, narrow)
        browser.close()


if __name__ == "__main__":
    main()
