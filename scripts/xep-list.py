#!/usr/bin/python3
"""docs/XEPS.md from perch.doap: the XEPs Perch implements, with version, status and notes.
Usage: xep-list.py [--check]   (--check: exit 1 if docs/XEPS.md is not what the DOAP file says)"""

import pathlib
import re
import sys
import xml.etree.ElementTree as ET

ROOT = pathlib.Path(__file__).resolve().parent.parent
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
DOAP = "{http://usefulinc.com/ns/doap#}"
XMPP = "{https://linkmauve.fr/ns/xmpp-doap#}"


def render():
    project = ET.parse(ROOT / "perch.doap").getroot().find(f"{DOAP}Project")
    lines = [
        "# Supported XEPs",
        "",
        "Generated from [`perch.doap`](../perch.doap) (XEP-0453) by `scripts/xep-list.py`;",
        "`make test` checks that the two agree. RFCs: "
        + ", ".join(re.sub(r".*/rfc(\d+)\.html", r"RFC \1", i.get(f"{RDF}resource"))
                    for i in project.findall(f"{DOAP}implements") if i.get(f"{RDF}resource"))
        + ".",
        "",
        "| XEP | version | status | notes |",
        "|---|---|---|---|",
    ]
    for entry in project.iter(f"{XMPP}SupportedXep"):
        url = entry.find(f"{XMPP}xep").get(f"{RDF}resource")
        number = re.search(r"xep-(\d+)", url).group(1)
        version = entry.findtext(f"{XMPP}version") or ""
        status = entry.findtext(f"{XMPP}status") or ""
        note = " ".join((entry.findtext(f"{XMPP}note") or "").split()).replace("|", "\\|")
        lines.append(f"| [XEP-{number}]({url}) | {version} | {status} | {note} |")
    return "\n".join(lines) + "\n"


def main():
    target = ROOT / "docs" / "XEPS.md"
    text = render()
    if "--check" in sys.argv[1:]:
        if not target.exists() or target.read_text() != text:
            print("docs/XEPS.md differs from perch.doap: run scripts/xep-list.py")
            print("0 passed, 1 failed")
            return 1
        print("docs/XEPS.md agrees with perch.doap")
        print("1 passed, 0 failed")
        return 0
    target.write_text(text)
    print(f"wrote {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
