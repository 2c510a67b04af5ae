#!/usr/bin/env python3
"""Check every relative link and anchor of a built mdBook (standard library only).

    python3 scripts/check-book-links.py docs/guide/book

For every HTML page of the book: every `href`/`src` that is not absolute (`http:`, `https:`, `mailto:`, `//`)
must name a file inside the book that exists, and a `#fragment` must be an `id` in the page it names. Links
that leave the book's directory are errors too: the book is published alone, so a path into the repository
(`../../crates/…`) would be broken for its readers; name such files in code instead. Exits 1 with one line
per broken link.
"""

import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

# mdBook's own pages and assets, not the guide's.
SKIP_PAGES = {"print.html", "404.html", "toc.html"}


class Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids = set()
        self.links = []  # (attribute value, line)

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("id", "name") and value:
                self.ids.add(value)
            if value and ((name == "href" and tag in ("a", "link")) or (name == "src" and tag in ("img", "script"))):
                self.links.append((value, self.getpos()[0]))


def parse(path, cache):
    if path not in cache:
        page = Page()
        page.feed(path.read_text(encoding="utf-8"))
        cache[path] = page
    return cache[path]


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    root = Path(sys.argv[1]).resolve()
    if not (root / "index.html").is_file():
        print(f"{root}: no index.html: build the book first (scripts/book.sh)", file=sys.stderr)
        return 2
    cache = {}
    broken = []
    pages = sorted(p for p in root.rglob("*.html") if p.name not in SKIP_PAGES)
    checked = 0
    for page_path in pages:
        for link, line in parse(page_path, cache).links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith("//"):
                continue  # absolute: not this checker's business (no network here)
            checked += 1
            where = f"{page_path.relative_to(root)}:{line}"
            if parts.path:
                target = (page_path.parent / unquote(parts.path)).resolve()
                if root not in target.parents and target != root:
                    broken.append(f"{where}: {link}: leaves the book")
                    continue
                if target.is_dir():
                    target = target / "index.html"
                if not target.is_file():
                    broken.append(f"{where}: {link}: no such file")
                    continue
            else:
                target = page_path
            if parts.fragment and target.suffix == ".html":
                if unquote(parts.fragment) not in parse(target, cache).ids:
                    broken.append(f"{where}: {link}: no anchor #{parts.fragment} in {target.relative_to(root)}")
    for b in broken:
        print(f"broken link: {b}", file=sys.stderr)
    print(f"check-book-links: {len(pages)} pages, {checked} relative links, {len(broken)} broken")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
