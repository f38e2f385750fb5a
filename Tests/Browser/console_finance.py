"""Finance closes a month in the console and downloads the XLSX report, with scripting off; the
workbook is opened with openpyxl and its gross total read back.

    python3 Tests/Browser/console_finance.py --base URL --key FINANCE_KEY --period YYYY-MM --gross-minor N
"""
import argparse
import tempfile

from openpyxl import load_workbook
from playwright.sync_api import sync_playwright

from console_flow import check


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--period", required=True)
    parser.add_argument("--gross-minor", required=True, type=int)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        context = browser.new_context(java_script_enabled=False, locale="en", accept_downloads=True)
        page = context.new_page()
        page.goto(args.base + "/console/sign-in")
        page.fill("#api_key", args.key)
        page.click("button[type=submit]")
        check(page.url.endswith("/console/"), "finance is signed in")

        page.goto(f"{args.base}/console/finance/{args.period}")
        page.click(f"a[href='/console/finance/{args.period}/close']")
        check(page.locator("#close-warning").count() == 1, "closing asks for a confirmation first")
        page.click(f"form[action='/console/finance/{args.period}/close'] button[type=submit]")
        check(page.url.endswith(f"/console/finance/{args.period}?closed=1"), "the period is closed")
        check(page.locator("#gross").inner_text() == f"{args.gross_minor / 100:.2f}", "the page shows the sealed gross")

        with page.expect_download() as info:
            page.click(f"a[href='/console/finance/{args.period}/report?format=xlsx']")
        download = info.value
        check(download.suggested_filename == f"pdx-settlement-{args.period}.xlsx", "the XLSX download is named by its period")
        with tempfile.TemporaryDirectory() as directory:
            path = f"{directory}/{download.suggested_filename}"
            download.save_as(path)
            workbook = load_workbook(path, read_only=True)
            check(workbook.sheetnames == ["汇总 Summary", "明细 Lines"], "the workbook opens, with its two sheets")
            # Report format 4: a Chinese title, the English key, the value, the value in minor units.
            rows = {row[1]: row for row in workbook["汇总 Summary"].iter_rows(values_only=True) if row and len(row) > 1 and row[1]}
            period = rows.get("period", [None, None, None])[2]
            check(hasattr(period, "strftime") and period.strftime("%Y-%m") == args.period, "the workbook is the period's")
            check(int(rows["gross"][3]) == args.gross_minor, f"the workbook's gross is {args.gross_minor} fen")
            workbook.close()
        browser.close()


if __name__ == "__main__":
    main()
