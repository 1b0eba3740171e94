#!/usr/bin/env python3
"""Checks the dashboard's DOM as a browser rendered it (chromium --dump-dom)
against the proxy's /verification document: the banner's state, the
measurement, the secret ID and one table row per check with its verdict.

usage: dashboard_dom_check.py DOM_FILE VERIFICATION_JSON_FILE verified|not-verified
Prints one line per problem; exits 1 if there was any."""
import html.parser
import json
import sys

dom_path, verification_path, expected_state = sys.argv[1:4]
verification = json.load(open(verification_path, encoding="utf-8"))


class Dom(html.parser.HTMLParser):
    """Text by element id, attributes by id, and the rows of the checks table."""

    def __init__(self):
        super().__init__()
        self.text = {}
        self.attrs = {}
        self.rows = []  # (data-check, class, [cell texts])
        self.open = []  # ids of the open elements that have one
        self.row = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.attrs[a["id"]] = a
            self.text[a["id"]] = ""
        self.open.append((tag, a.get("id")))
        if tag == "tr" and "data-check" in a:
            self.row = (a["data-check"], a.get("class", ""), [])
            self.rows.append(self.row)
        elif tag == "td" and self.row is not None:
            self.row[2].append("")

    def handle_endtag(self, tag):
        while self.open:
            open_tag, _ = self.open.pop()
            if open_tag == tag:
                break
        if tag == "tr":
            self.row = None

    def handle_data(self, data):
        for _, element_id in self.open:
            if element_id:
                self.text[element_id] += data
        if self.row is not None and self.row[2]:
            self.row[2][-1] += data


dom = Dom()
dom.feed(open(dom_path, encoding="utf-8").read())
problems = []


def expect(name, actual, expected):
    if actual != expected:
        problems.append(f"{name}: expected {expected!r}, got {actual!r}")


expect("banner state", dom.attrs.get("banner", {}).get("data-state"), expected_state)
coordinator = verification["coordinator"]
# The page shows "—" for a value the document does not have.
expect("measurement", dom.text.get("measurement", "").strip(), coordinator["measurement"] or "—")
expect("evidence type", dom.text.get("evidence-type", "").strip(),
       coordinator["evidence_type"] or "—")
expect("manifest", dom.text.get("manifest", "").strip(), verification["manifest_sha256"])
if verification["secret"]:
    expect("secret ID", dom.text.get("secret-id", "").strip(), verification["secret"]["id"])
if verification["failure"]:
    expect("banner detail", dom.text.get("banner-detail", "").strip(), verification["failure"])

checks = coordinator["report"]["checks"]
expect("check rows", [r[0] for r in dom.rows], [c["name"] for c in checks])
for (name, cls, cells), check in zip(dom.rows, checks):
    verdict = "PASS" if check["passed"] else "FAIL"
    expect(f"check {name}", (cls, cells), ("pass" if check["passed"] else "fail",
                                           [check["name"], check["expected"], check["actual"], verdict]))
if expected_state == "verified" and not any(c["passed"] for c in checks):
    problems.append("no passing check")

for p in problems:
    print(p)
sys.exit(1 if problems else 0)
