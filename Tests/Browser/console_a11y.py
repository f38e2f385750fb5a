"""Every console page an administrator reaches, checked by axe-core for serious or critical
accessibility violations, and at 360 px wide for a page that does not scroll sideways.

    python3 Tests/Browser/console_a11y.py --base URL --key ADMIN_KEY
"""
import argparse

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import sync_playwright

from console_flow import check


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()

    axe = Axe()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        # Scripting on only so that axe can run: the pages themselves have none.
        page = browser.new_context(viewport={"width": 360, "height": 740}).new_page()
        pages = ["/console/sign-in"]
        page.goto(args.base + "/console/sign-in")
        page.fill("#api_key", args.key)
        page.click("button[type=submit]")
        pages += ["/console/", "/console/audit", "/console/audit/entries", "/console/audit/entries/0",
                  "/console/review/operators", "/console/finance", "/console/language?to=en", "/console/audit/entries"]
        for path in pages:
            page.goto(args.base + path)
            results = axe.run(page)
            serious = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
            check(not serious, f"{page.url}: no serious accessibility violation {[v['id'] for v in serious]}")
            width = page.evaluate("document.documentElement.scrollWidth")
            check(width <= 360, f"{page.url}: fits 360 px ({width})")
        browser.close()


if __name__ == "__main__":
    main()
