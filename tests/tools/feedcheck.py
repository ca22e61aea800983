#!/usr/bin/env python3
"""Reads what kairan published back with an independent client.

Usage: feedcheck.py OUT_DIR

Every feeds/*.atom must parse with feedparser without a bozo flag and carry the elements feed
readers rely on; feeds.opml must be well-formed, carry what OPML 2.0 requires (a version,
head/title, a text on every outline, and text, type and xmlUrl on every feed outline) and list
every feed with an absolute URL; the index page must hold no script. Exit 0 when all holds, 1 with a list of problems, 3 when
feedparser is not installed.
"""
import pathlib
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from urllib.parse import urlparse

try:
    import feedparser
except ImportError:
    sys.exit(3)


def check_feed(path, problems):
    d = feedparser.parse(path.read_bytes())
    where = path.name
    if d.bozo:
        problems.append(f"{where}: bozo: {d.bozo_exception!r}")
    if d.version != "atom10":
        problems.append(f"{where}: read as {d.version!r}, not atom10")
    for key in ("title", "id", "updated"):
        if not d.feed.get(key):
            problems.append(f"{where}: feed has no {key}")
    rels = {l.get("rel") for l in d.feed.get("links", [])}
    if not {"self", "alternate"} <= rels:
        problems.append(f"{where}: feed links {rels}, want self and alternate")
    if not d.feed.get("author"):
        problems.append(f"{where}: feed has no author")
    ids = set()
    for i, e in enumerate(d.entries):
        for key in ("id", "title", "link", "updated", "published"):
            if not e.get(key):
                problems.append(f"{where}: entry {i} has no {key}")
        if e.get("id") in ids:
            problems.append(f"{where}: id {e.get('id')} twice")
        ids.add(e.get("id"))
        if urlparse(e.get("link", "")).scheme not in ("http", "https", "file"):
            problems.append(f"{where}: entry {i} link {e.get('link')!r} is not absolute")
        if not e.get("updated", "").endswith(("+09:00", "Z", "+00:00")) and "+" not in e.get("updated", ""):
            problems.append(f"{where}: entry {i} updated {e.get('updated')!r} has no offset")
    return len(d.entries)


def check_opml(out, feeds, problems):
    path = out / "feeds.opml"
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as e:
        problems.append(f"feeds.opml: {e}")
        return
    if root.tag != "opml" or root.get("version") not in ("1.0", "1.1", "2.0"):
        problems.append(f"feeds.opml: root <{root.tag} version={root.get('version')!r}>, want <opml version=\"2.0\">")
    title = root.find("head/title")
    if title is None or not (title.text or "").strip():
        problems.append("feeds.opml: no head/title")
    if root.find("body") is None:
        problems.append("feeds.opml: no body")
    for o in root.iter("outline"):
        if not (o.get("text") or "").strip():
            problems.append(f"feeds.opml: outline {o.attrib} has no text")
        if (o.get("xmlUrl") or o.get("type")) and not (o.get("type") and o.get("xmlUrl")):
            problems.append(f"feeds.opml: feed outline {o.attrib} needs type and xmlUrl")
    urls = [o.get("xmlUrl") for o in root.iter("outline") if o.get("xmlUrl")]
    names = sorted(pathlib.PurePosixPath(urlparse(u).path).name for u in urls)
    if names != sorted(f.name for f in feeds):
        problems.append(f"feeds.opml lists {names}, the directory has {sorted(f.name for f in feeds)}")
    for u in urls:
        if urlparse(u).scheme not in ("http", "https"):
            problems.append(f"feeds.opml: {u} is not absolute")


class ScriptFinder(HTMLParser):
    def __init__(self):
        super().__init__()
        self.bad = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "iframe", "object", "embed"):
            self.bad.append(tag)
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith(("javascript:", "data:")):
                self.bad.append(f"{tag} {name}={value!r}")


def check_index(out, problems):
    finder = ScriptFinder()
    finder.feed((out / "index.html").read_text(encoding="utf-8"))
    if finder.bad:
        problems.append(f"index.html has active content: {finder.bad}")


def main():
    out = pathlib.Path(sys.argv[1])
    problems = []
    feeds = sorted((out / "feeds").glob("*.atom"))
    if not feeds:
        problems.append(f"no feeds in {out}")
    entries = sum(check_feed(f, problems) for f in feeds)
    check_opml(out, feeds, problems)
    check_index(out, problems)
    for p in problems:
        print(p)
    print(f"feedcheck: {len(feeds)} feeds, {entries} entries, {len(problems)} problems in {out}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
