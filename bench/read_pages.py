"""Pages written for the extraction benchmark: a known article inside realistic boilerplate.

``python bench/read_pages.py`` (re)writes ``bench/data/extraction/``: for each of 10 articles
and 6 site templates (news, blog, docs, forum, wiki, shop-blog), ``NN.html`` (the page) and
``NN.txt`` (the article's text, the gold standard). The boilerplate is what real pages carry
around an article: navigation, a cookie banner, breadcrumbs, share buttons, a newsletter box,
related links, comments (which read like prose), and footers. Deterministic (seeded), so the
bundled files are reproduced exactly.
"""

from __future__ import annotations

import html
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent / "data" / "extraction"

TOPICS = [
    ("The night trains return to Europe", "rail", ["sleeper", "carriage", "timetable", "border", "ticket"]),
    ("How a small town rebuilt its library", "civic", ["shelves", "volunteers", "archive", "reading room", "grant"]),
    ("Inside the race to map the ocean floor", "science", ["sonar", "seabed", "survey ship", "trench", "depth"]),
    ("Why sourdough starters behave so differently", "food", ["yeast", "flour", "fermentation", "crumb", "oven"]),
    ("A beginner's guide to migrating birds", "nature", ["flyway", "wetland", "warbler", "stopover", "tagging"]),
    ("The quiet comeback of the fountain pen", "culture", ["nib", "ink", "stationer", "handwriting", "collector"]),
    ("What the drought means for river shipping", "economy", ["barge", "water level", "cargo", "lock", "harbour"]),
    ("Restoring a medieval stained-glass window", "heritage", ["lead came", "glazier", "cathedral", "pigment", "kiln"]),
    ("Solar farms that share land with sheep", "energy", ["panel", "grazing", "farmer", "inverter", "pasture"]),
    ("The engineering behind a cable-stayed bridge", "engineering", ["pylon", "deck", "stay cable", "wind load",
                                                                     "span"]),
]

OPENERS = ["In {place}, {people} have spent the last {n} years arguing about {k0}.",
           "Few people outside {place} had heard of the {k0} until {year}.",
           "When the first {k0} arrived in {place} in {year}, nobody expected much.",
           "The story of the {k0} begins in {place}, with {people} and a borrowed {k1}."]
BODY = ["The {k0} is measured every {unit}, and the numbers have risen by {n} percent since {year}.",
        "According to {person}, who has worked with the {k1} for {n} years, the hardest part is patience.",
        "Critics point out that the {k2} costs more than the {k3}, at least in the first {n} years.",
        "A report published in {year} counted {n} thousand visitors, most of them drawn by the {k1}.",
        "{person} describes the {k4} as \"the part everyone forgets until it fails\".",
        "The council approved a budget of {n} million euros for the {k2} in {year}.",
        "Engineers tested the {k3} at {n} sites before settling on the design used in {place}.",
        "Local schools now run workshops on the {k0}, and {n} pupils took part last spring.",
        "The method was first described in {year} by {person}, then forgotten for decades.",
        "Each {k1} is inspected by hand, which takes about {n} minutes per {unit}.",
        "In the early years the {k4} broke down often, and spare parts came from {place}.",
        "{person} says the next step is to share the data on the {k2} with other regions."]
CLOSERS = ["Whether the {k0} lasts another {n} years depends, as always, on {people}.",
           "For now, {person} is optimistic: the {k1} has never been in better shape.",
           "The next milestone is set for {year}, when the {k2} is due for review."]
PLACES = ["Ghent", "Tromsø", "Valladolid", "Kraków", "Porto", "Lyon", "Tartu", "Bergamo", "Cork", "Ljubljana"]
PEOPLE = ["local engineers", "a group of retirees", "two brothers", "the town council", "volunteer divers",
          "a cooperative of farmers"]
PERSONS = ["Marta Okonkwo", "Jonas Lindqvist", "Aiko Tanaka", "Pieter de Vries", "Leila Haddad", "Tomás Ruiz",
           "Ingrid Solberg", "Ravi Menon"]
UNITS = ["week", "month", "season", "year"]
COMMENTS = ["Great article, I visited {place} last year and saw the {k0} myself. Highly recommended!",
            "I disagree with the part about the {k1}. Costs were much lower where I live.",
            "Does anyone know whether the {k2} is open to visitors on weekends?",
            "Thanks for writing this. My grandfather worked on a {k3} for thirty years.",
            "This is exactly why we need more funding for projects like this one."]


def _fill(template: str, rng: random.Random, keys: list[str]) -> str:
    return template.format(place=rng.choice(PLACES), people=rng.choice(PEOPLE), person=rng.choice(PERSONS),
                           n=rng.randint(2, 90), year=rng.randint(1960, 2025), unit=rng.choice(UNITS),
                           **{f"k{i}": k for i, k in enumerate(keys)})


def article(index: int, rng: random.Random) -> tuple[str, list[str]]:
    """(title, paragraphs) of one article: 6-9 paragraphs of 3-5 sentences."""
    title, _, keys = TOPICS[index % len(TOPICS)]
    paragraphs = [" ".join([_fill(rng.choice(OPENERS), rng, keys)]
                           + [_fill(rng.choice(BODY), rng, keys) for _ in range(rng.randint(2, 4))])]
    for _ in range(rng.randint(5, 8)):
        paragraphs.append(" ".join(_fill(rng.choice(BODY), rng, keys) for _ in range(rng.randint(3, 5))))
    paragraphs.append(_fill(rng.choice(CLOSERS), rng, keys) + " " + _fill(rng.choice(BODY), rng, keys))
    return title, paragraphs


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _boilerplate(rng: random.Random, keys: list[str]) -> dict[str, str]:
    related = "".join(f'<li><a href="/story/{rng.randint(100, 999)}">{_e(rng.choice(TOPICS)[0])}</a></li>'
                      for _ in range(5))
    comments = "".join(f'<div class="comment"><span class="author">{_e(rng.choice(PERSONS))}</span>'
                       f'<p>{_e(_fill(rng.choice(COMMENTS), rng, keys))}</p></div>' for _ in range(rng.randint(2, 5)))
    return {
        "nav": ('<nav class="menu"><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li>'
                '<li><a href="/sport">Sport</a></li><li><a href="/culture">Culture</a></li>'
                '<li><a href="/about">About us</a></li><li><a href="/login">Sign in</a></li></ul></nav>'),
        "cookie": ('<div id="cookie-banner" class="cookie-consent"><p>We use cookies to improve your experience '
                   'and to show you personalised advertising. By continuing you accept our use of cookies.</p>'
                   '<button>Accept all</button><button>Manage preferences</button></div>'),
        "crumbs": '<div class="breadcrumbs"><a href="/">Home</a> › <a href="/news">News</a> › Features</div>',
        "share": '<div class="share"><a href="#">Share on Facebook</a> <a href="#">Tweet</a> <a href="#">Email</a></div>',
        "newsletter": ('<aside class="newsletter"><h3>Get our weekly newsletter</h3><p>The best stories every '
                       'Friday, straight to your inbox. No spam, unsubscribe at any time.</p><form><input '
                       'type="email" placeholder="Your email"><button>Subscribe</button></form></aside>'),
        "related": f'<aside class="related"><h3>Related stories</h3><ul>{related}</ul></aside>',
        "comments": f'<section id="comments" class="comments"><h3>Comments</h3>{comments}</section>',
        "footer": ('<footer><p>© 2026 Example Media Group. All rights reserved.</p><p><a href="/privacy">Privacy'
                   '</a> · <a href="/terms">Terms</a> · <a href="/contact">Contact</a> · <a href="/jobs">Jobs</a>'
                   '</p></footer>'),
    }


TEMPLATES = {
    "news": "{cookie}{nav}{crumbs}<main><article><h1>{title}</h1><p class='byline'>By {author} · {date}</p>"
            "{share}{body}</article>{related}{comments}</main>{newsletter}{footer}",
    "blog": "<div class='wrap'>{nav}<div class='content'><div class='post'><h1 class='post-title'>{title}</h1>"
            "<div class='post-body'>{body}</div></div>{comments}</div><div class='sidebar'>{newsletter}{related}"
            "</div></div>{cookie}{footer}",
    "docs": "{nav}<div class='layout'><div class='toc'><ul><li>Overview</li><li>Install</li><li>Usage</li>"
            "<li>FAQ</li></ul></div><div class='doc'><h1>{title}</h1>{body}</div></div>{footer}",
    "forum": "{nav}{crumbs}<div class='thread'><div class='first-post'><h1>{title}</h1><div class='post-text'>"
             "{body}</div></div>{comments}</div>{related}{footer}{cookie}",
    "wiki": "{nav}<div id='content'><h1 id='firstHeading'>{title}</h1><div id='bodyContent'>{body}</div>"
            "<div class='navbox'>{related}</div></div>{footer}",
    "shop": "{cookie}{nav}<div class='banner'><p>Free shipping on orders over 50 euros!</p></div><section "
            "class='story'><h1>{title}</h1>{share}<div class='story-text'>{body}</div></section>{related}"
            "{newsletter}{footer}",
}


def page(index: int, template: str, rng: random.Random) -> tuple[str, str]:
    """(html, gold text) of one page."""
    title, paragraphs = article(index, rng)
    keys = TOPICS[index % len(TOPICS)][2]
    parts = _boilerplate(rng, keys)
    body = "".join(f"<p>{_e(p)}</p>" for p in paragraphs)
    doc = TEMPLATES[template].format(title=_e(title), body=body, author=_e(rng.choice(PERSONS)),
                                     date=f"{rng.randint(1, 28)} May 2026", **parts)
    head = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)} | Example Media"
            "</title><script>window.dataLayer=[];function track(){}</script><style>body{font:16px serif}</style>"
            "</head>")
    return f"{head}<body>{doc}</body></html>", "\n".join([title, *paragraphs])


def generate(count: int = 60, *, seed: int = 26) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    names = list(TEMPLATES)
    return [page(i, names[i % len(names)], rng) for i in range(count)]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for i, (doc, gold) in enumerate(generate()):
        (OUT / f"{i:02d}.html").write_text(doc, encoding="utf-8")
        (OUT / f"{i:02d}.txt").write_text(gold + "\n", encoding="utf-8")
    print(f"wrote {len(generate())} pages to {OUT}")


if __name__ == "__main__":
    main()
