"""Opens a PDX settlement XLSX the way its readers do and checks it against the sealed report.

    python3 check_xlsx.py --xlsx R.xlsx --json R.json --csv R.csv --mode openpyxl
    python3 check_xlsx.py --xlsx R.xlsx --json R.json --csv R.csv --mode libreoffice --soffice /usr/bin/soffice --work DIR

`openpyxl` reads the workbook as Excel would: sheet names, the Chinese titles over the strict CSV's
header, the frozen panes and the autofilter, every cell's type and number format, and its value
against the strict CSV (the sealed bytes) and the JSON report; the summary's totals per authority
against the JSON's parties. `libreoffice` has headless LibreOffice Calc show the Lines sheet as CSV
(cells as shown: money `#,##0.00`, the period `yyyy-mm`) and re-save the workbook, which openpyxl
then reads to see that Calc took money as numbers and the period as a date. Prints `ok: …` lines;
exits 1 at the first difference.
"""

import argparse
import csv
import datetime
import io
import json
import os
import subprocess
import sys
from decimal import Decimal

import openpyxl

MONEY = {"amount", "authority_amount", "platform_amount", "operator_amount"}
COUNTS = {"quantity", "event_count", "declared_quantity", "gateway_quantity", "upstream_quantity", "provider_quantity"}


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def plain(name):
    return name.endswith("_minor") or name.endswith("_bps") or name.startswith("log_index")


def strict_rows(path):
    with open(path, "rb") as handle:
        data = handle.read()
    if data.startswith(b"\xef\xbb\xbf"):
        fail("the strict CSV has a byte order mark")
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def parse_closed_at(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")


def check_openpyxl(args, report, rows):
    book = openpyxl.load_workbook(args.xlsx)
    if book.sheetnames != ["汇总 Summary", "明细 Lines"]:
        fail("sheets %r" % book.sheetnames)
    lines = book["明细 Lines"]
    header = rows[0]
    titles = [cell.value for cell in lines[1][: len(header)]]
    if not all(isinstance(t, str) and any("\u4e00" <= ch <= "\u9fff" for ch in t) for t in titles):
        fail("not every column has a Chinese title: %r" % titles)
    keys = [cell.value for cell in lines[2][: len(header)]]
    if keys != header:
        fail("the key row %r is not the strict CSV's header %r" % (keys, header))
    print("ok: Chinese titles over the strict CSV's %d keys" % len(header))
    last = openpyxl.utils.get_column_letter(len(header))
    if lines.freeze_panes != "A3":
        fail("frozen panes at %r" % lines.freeze_panes)
    if lines.auto_filter.ref != "A2:%s%d" % (last, len(rows) + 1):
        fail("autofilter %r" % lines.auto_filter.ref)
    print("ok: panes frozen under the headers, autofilter on %s" % lines.auto_filter.ref)
    year, month = (int(part) for part in report["period"].split("-"))
    for index, row in enumerate(rows[1:]):
        json_line = report["lines"][index]
        cells = lines[index + 3]
        for name, text, cell in zip(header, row, cells):
            where = "%s%d (%s)" % (cell.column_letter, cell.row, name)
            value = cell.value
            if name == "period":
                if not isinstance(value, datetime.datetime) or value != datetime.datetime(year, month, 1):
                    fail("%s: %r is not the date %s-01" % (where, value, report["period"]))
                if cell.number_format.replace("\\", "") != "yyyy-mm":
                    fail("%s: format %r" % (where, cell.number_format))
            elif text == "":
                if value is not None:
                    fail("%s: %r where the CSV is empty" % (where, value))
            elif name in MONEY:
                if cell.data_type != "n" or isinstance(value, str):
                    fail("%s: money %r is not a number" % (where, value))
                if cell.number_format != "#,##0.00":
                    fail("%s: money format %r" % (where, cell.number_format))
                if Decimal(repr(value)).quantize(Decimal("0.01")) != Decimal(text) or Decimal(text) != Decimal(json_line[name]):
                    fail("%s: %r, the CSV %s, the JSON %s" % (where, value, text, json_line[name]))
            elif plain(name) or name in COUNTS:
                if cell.data_type != "n" or not isinstance(value, int) or value != int(text):
                    fail("%s: %r is not the whole number %s" % (where, value, text))
                expected = "0" if plain(name) else "#,##0"
                if cell.number_format != expected:
                    fail("%s: format %r, not %r" % (where, cell.number_format, expected))
            elif name == "unit_price":
                if cell.data_type != "n" or Decimal(repr(value)) != Decimal(text):
                    fail("%s: price %r, the CSV %s" % (where, value, text))
            else:
                # The CSV defuses text a spreadsheet would run ('=…' gets a leading quote); the XLSX
                # holds it as an inline string, never a formula.
                if cell.data_type != "s" or (value != text and "'" + value != text):
                    fail("%s: text %r, the CSV %r" % (where, value, text))
    print("ok: %d lines, every cell's value and type agree with the strict CSV and the JSON" % (len(rows) - 1))

    summary = book["汇总 Summary"]
    by_key = {}
    for row in summary.iter_rows():
        if row[1].value is not None:
            by_key.setdefault(row[1].value, row)
    closed = by_key["closed_at"][2]
    if closed.value != parse_closed_at(report["closed_at"]) or not closed.is_date:
        fail("closed_at %r, the JSON %s" % (closed.value, report["closed_at"]))
    gross = by_key["gross"]
    if Decimal(repr(gross[2].value)) * 100 != report["totals"]["gross_minor"] or gross[3].value != report["totals"]["gross_minor"]:
        fail("gross %r / %r" % (gross[2].value, gross[3].value))
    authorities = [p for p in report["parties"] if p["party"].startswith("authority:")]
    for party in authorities:
        row = by_key.get(party["party"][len("authority:"):])
        if row is None:
            fail("no summary row for %s" % party["party"])
        if row[3].number_format != "#,##0.00" or Decimal(repr(row[3].value)).quantize(Decimal("0.01")) * 100 != party["amount_minor"]:
            fail("%s: %r, its party amount %d minor units" % (party["party"], row[3].value, party["amount_minor"]))
    total = by_key["total"]
    if Decimal(repr(total[2].value)).quantize(Decimal("0.01")) * 100 != report["totals"]["gross_minor"]:
        fail("the per-authority total %r" % total[2].value)
    print("ok: the summary's closed_at is a date, its totals per authority are the %d authorities' party amounts" % len(authorities))


def soffice(args, profile, *arguments):
    command = [args.soffice, "-env:UserInstallation=file://" + profile, "--headless", "--norestore"] + list(arguments)
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if run.returncode != 0:
        fail("%s: %s %s" % (" ".join(command), run.stdout, run.stderr))


def check_libreoffice(args, report, rows):
    profile = os.path.join(args.work, "profile")
    shown = os.path.join(args.work, "shown")
    resaved = os.path.join(args.work, "resaved")
    # Field 9 true: cells as shown; field 12 = 2: the second sheet, Lines.
    soffice(args, profile, "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,1033,false,true,true,false,false,2",
            "--outdir", shown, args.xlsx)
    written = [name for name in os.listdir(shown) if name.endswith(".csv")]
    if len(written) != 1:
        fail("LibreOffice wrote %r" % written)
    with open(os.path.join(shown, written[0]), encoding="utf-8", newline="") as handle:
        calc = list(csv.reader(handle))
    header = rows[0]
    if calc[1] != header:
        fail("Calc shows the key row as %r" % calc[1])
    for index, row in enumerate(rows[1:]):
        shown_row = dict(zip(header, calc[index + 2]))
        for name in MONEY:
            if shown_row[name].replace(",", "") != row[header.index(name)]:
                fail("Calc shows %s of line %d as %r, the CSV %r" % (name, index + 1, shown_row[name], row[header.index(name)]))
        if shown_row["period"] != report["period"]:
            fail("Calc shows the period as %r" % shown_row["period"])
    print("ok: LibreOffice Calc shows the money as #,##0.00 and the period as yyyy-mm, as the strict CSV has them")
    soffice(args, profile, "--convert-to", "xlsx", "--outdir", resaved, args.xlsx)
    book = openpyxl.load_workbook(os.path.join(resaved, os.path.basename(args.xlsx)))
    lines = book[book.sheetnames[1]]
    for index in range(len(rows) - 1):
        cells = dict(zip(header, lines[index + 3]))
        for name in MONEY:
            if cells[name].data_type != "n":
                fail("Calc re-saved %s of line %d as %r" % (name, index + 1, cells[name].data_type))
        if not cells["period"].is_date:
            fail("Calc re-saved the period as %r" % cells["period"].value)
    print("ok: re-saved by LibreOffice Calc, money stays numbers and the period a date")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--xlsx", required=True)
    parser.add_argument("--json", required=True)
    parser.add_argument("--csv", required=True)
    parser.add_argument("--mode", choices=["openpyxl", "libreoffice"], required=True)
    parser.add_argument("--soffice", default="soffice")
    parser.add_argument("--work")
    args = parser.parse_args()
    with open(args.json, encoding="utf-8") as handle:
        report = json.load(handle)
    rows = strict_rows(args.csv)
    if len(rows) - 1 != len(report["lines"]):
        fail("the CSV has %d lines, the JSON %d" % (len(rows) - 1, len(report["lines"])))
    if args.mode == "openpyxl":
        check_openpyxl(args, report, rows)
    else:
        check_libreoffice(args, report, rows)


if __name__ == "__main__":
    main()
