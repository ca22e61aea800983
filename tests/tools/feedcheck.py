#!/usr/bin/env python3
"""Reads what kairan published back with an independent client.

Usage: feedcheck.py OUT_DIR

Every feeds/*.atom must parse with feedparser without a bozo flag and carry the elements feed
readers rely on; feeds.opml must be well-formed, carry what OPML 2.0 requires (a version,
head/title, a text on every outline, and text, type and xmlUrl on every feed outline) and list
every feed with an absolute URL; the index page must hold no script. Exit 0 when all holds, 1 with a list of problems, 3 when
feedparser is not installed.

The W3C feed validator (w3c/feedvalidator) is not in a package registry CI can reach; the
rules of it that kairan's Atom could break are encoded here, by their names there, and any of
them is a problem (errors and warnings alike):
- MissingTextualContent: an entry without content has a non-empty summary;
- MissingContentOrAlternate: an entry without content has a rel="alternate" link;
- DuplicateEntries: no two entries of a feed share an id;
- InvalidRFC3339Date / ImplausibleDate: every date is RFC 3339, from 1990, and not after
  tomorrow;
- MissingSelf / SelfDoesntMatchLocation: the feed links itself, at the path it is published at;
- InvalidFullLink / ContainsRelRef: ids and links are absolute URIs;
- MissingCurrentInArchive / FeedHistoryRelInEntry: an archive document (fh:archive, RFC 5005)
  links its live feed as rel="current", and no entry carries a history link;
- ArchiveIncomplete: an archive document links another archive, unless it is its feed's only
  one (the validator's heuristic; RFC 5005 has nothing to link a lone archive to);
- and (not the validator's, but what readers assume) the feed's updated is not older than its
  newest entry; every history link (current, prev-archive, next-archive) leads to a published
  document, and prev-archive and next-archive are each other's reverse.
DuplicateUpdated (two entries with one atom:updated) is not checked: listings date their rows
by day, so entries of one day share midnight, and the validator's own explanation of it says no
action is needed when entries were updated at the same time; invented times would state what
the source never said.
"""
import datetime
import pathlib
import re
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


ATOM = "{http://www.w3.org/2005/Atom}"
RFC3339 = re.compile(r"^\d\d\d\d-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*)?(Z|[+-]\d\d:\d\d)$")


def when(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def check_w3c(path, out, problems):
    where = path.relative_to(out).as_posix()
    root = ET.parse(path).getroot()
    tomorrow = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    dates = []
    for d in root.iter():
        if d.tag in (ATOM + "updated", ATOM + "published"):
            dates.append(d.text or "")
    for d in dates:
        if not RFC3339.match(d):
            problems.append(f"{where}: InvalidRFC3339Date {d!r}")
        elif when(d) < datetime.datetime(1990, 1, 1, tzinfo=datetime.timezone.utc) or when(d) > tomorrow:
            problems.append(f"{where}: ImplausibleDate {d!r}")
    selfs = [l.get("href") for l in root.findall(ATOM + "link") if l.get("rel") == "self"]
    location = path.relative_to(out).as_posix()
    if not selfs:
        problems.append(f"{where}: MissingSelf")
    elif not urlparse(selfs[0]).path.endswith("/" + location):
        problems.append(f"{where}: SelfDoesntMatchLocation {selfs[0]}")
    check_history(root, path, out, problems)
    for l in root.iter(ATOM + "link"):
        if urlparse(l.get("href", "")).scheme not in ("http", "https", "file"):
            problems.append(f"{where}: ContainsRelRef {l.get('href')!r}")
    feed_updated = root.find(ATOM + "updated")
    ids, newest = set(), None
    for i, e in enumerate(root.findall(ATOM + "entry")):
        content = e.find(ATOM + "content")
        summary = e.find(ATOM + "summary")
        if content is None:
            if summary is None or not (summary.text or "").strip():
                problems.append(f"{where}: entry {i}: MissingTextualContent")
            if not any(l.get("rel", "alternate") == "alternate" for l in e.findall(ATOM + "link")):
                problems.append(f"{where}: entry {i}: MissingContentOrAlternate")
        ident = (e.findtext(ATOM + "id") or "").strip()
        if not urlparse(ident).scheme:
            problems.append(f"{where}: entry {i}: InvalidFullLink id {ident!r}")
        if ident in ids:
            problems.append(f"{where}: DuplicateEntries {ident}")
        ids.add(ident)
        updated = e.findtext(ATOM + "updated") or ""
        if RFC3339.match(updated) and (newest is None or when(updated) > newest):
            newest = when(updated)
    if newest and feed_updated is not None and RFC3339.match(feed_updated.text or ""):
        if when(feed_updated.text) < newest:
            problems.append(f"{where}: feed updated {feed_updated.text} older than its newest entry {newest}")


HISTORY = "{http://purl.org/syndication/history/1.0}"


def published_path(href, out):
    """The file under OUT_DIR a link of the site points to: the part of its path from feeds/."""
    path = urlparse(href).path
    return out / path[path.index("/feeds/") + 1:] if "/feeds/" in path else None


def check_history(root, path, out, problems):
    where = path.relative_to(out).as_posix()
    links = {l.get("rel"): l.get("href") for l in root.findall(ATOM + "link")}
    archive = root.find(HISTORY + "archive") is not None
    if archive and "current" not in links:
        problems.append(f"{where}: MissingCurrentInArchive")
    if archive and not ({"prev-archive", "next-archive"} & set(links)):
        siblings = list(path.parent.glob("*.atom"))
        if len(siblings) > 1:
            problems.append(f"{where}: ArchiveIncomplete")
    for e in root.findall(ATOM + "entry"):
        for l in e.findall(ATOM + "link"):
            if l.get("rel") in ("current", "prev-archive", "next-archive"):
                problems.append(f"{where}: FeedHistoryRelInEntry {l.get('rel')}")
    for rel, reverse in (("prev-archive", "next-archive"), ("next-archive", "prev-archive"), ("current", None)):
        if rel not in links:
            continue
        target = published_path(links[rel], out)
        if target is None or not target.exists():
            problems.append(f"{where}: {rel} {links[rel]} is not published")
            continue
        if reverse:
            # The live feed's newest archive links back as current, not as next-archive.
            reverse = reverse if archive else "current"
            back = {l.get("rel"): l.get("href") for l in ET.parse(target).getroot().findall(ATOM + "link")}
            if back.get(reverse) != links.get("self"):
                problems.append(f"{where}: {rel} {links[rel]} does not link back as {reverse}")


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
        if set(o.attrib) - {"text"} and not o.get("type"):
            problems.append(f"feeds.opml: outline {o.attrib} has more than a text but no type (W3C)")
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
    archives = sorted((out / "feeds" / "archive").glob("*/*.atom"))
    entries = sum(check_feed(f, problems) for f in feeds + archives)
    for f in feeds + archives:
        check_w3c(f, out, problems)
    check_opml(out, feeds, problems)
    check_index(out, problems)
    for p in problems:
        print(p)
    print(f"feedcheck: {len(feeds)} feeds, {len(archives)} archives, {entries} entries, {len(problems)} problems in {out}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
