"""Numbers, percentages, amounts with units and dates in a text, in comparable form.

A claim's "1.2 million", a page's "1,234,567" and another's "1 200 000" name the same amount
at different precision; "5 %" and "5 percent" the same share; "31 March 1889", "March 31,
1889" and "1889-03-31" the same day. ``quantities`` and ``dates`` read them all (in folded
text, see ``normalise.fold``) so the lexical check compares values, not spellings. A claim's
value matches a page's when the page's, rounded to the claim's precision, is the claim's
("1.2 million" is found in "1,234,567"; "1,200" is not found in "1,234").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
    "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12,
    "dec": 12,
    "januar": 1, "februar": 2, "märz": 3, "mai": 5, "juni": 6, "juli": 7, "oktober": 10, "dezember": 12,
    "janvier": 1, "février": 2, "mars": 3, "avril": 4, "juin": 6, "juillet": 7, "août": 8,
    "septembre": 9, "octobre": 10, "novembre": 11, "décembre": 12,
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7,
    "agosto": 8, "septiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
}
_MONTH = "(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th|er|\.)?"
_YEAR = r"(?P<year>[12]\d{3})"
_DATE_FORMS = [
    re.compile(r"(?<!\d)(?P<year>[12]\d{3})-(?P<m>[01]?\d)-(?P<d>[0-3]?\d)(?!\d)"),
    re.compile(r"(?<!\d)(?P<a>[0-3]?\d)[/.](?P<b>[0-3]?\d)[/.](?P<year>[12]\d{3})(?!\d)"),
    re.compile(r"(?<!\d)(?P<year>[12]\d{3})\s?年\s?(?:(?P<m>[01]?\d)\s?月\s?(?:(?P<d>[0-3]?\d)\s?[日号])?)?"),
    re.compile(rf"(?<![\w]){_DAY}\s+(?:of\s+|de\s+)?{_MONTH}(?:,?\s+(?:de\s+)?{_YEAR})?(?!\w)"),
    re.compile(rf"(?<![\w]){_MONTH}\s+{_DAY}(?:,?\s+{_YEAR})?(?![\w])"),
    re.compile(rf"(?<![\w]){_MONTH},?\s+(?:de\s+)?{_YEAR}(?!\d)"),
]

_SCALES = {
    "thousand": 1e3, "k": 1e3, "million": 1e6, "millions": 1e6, "mn": 1e6, "mio": 1e6,
    "millionen": 1e6, "billion": 1e9, "billions": 1e9, "bn": 1e9, "milliarden": 1e9,
    "milliard": 1e9, "milliards": 1e9, "mrd": 1e9, "trillion": 1e12, "tausend": 1e3, "mille": 1e3,
    "mil": 1e3, "millones": 1e6, "millón": 1e6, "千": 1e3, "万": 1e4, "萬": 1e4, "亿": 1e8, "億": 1e8,
}
_UNITS = {
    "%": "%", "percent": "%", "per cent": "%", "percentage points": "pp", "prozent": "%",
    "pour cent": "%", "por ciento": "%", "pct": "%",
    "km": "km", "kilometre": "km", "kilometres": "km", "kilometer": "km", "kilometers": "km",
    "公里": "km", "千米": "km", "m": "m", "metre": "m", "metres": "m", "meter": "m", "meters": "m",
    "米": "m", "cm": "cm", "centimetres": "cm", "centimeters": "cm", "mm": "mm",
    "millimetres": "mm", "millimeters": "mm", "mi": "mi", "mile": "mi", "miles": "mi",
    "ft": "ft", "feet": "ft", "foot": "ft", "kg": "kg", "kilogram": "kg", "kilograms": "kg",
    "公斤": "kg", "千克": "kg", "g": "g", "grams": "g", "t": "t", "tonnes": "t", "tons": "t",
    "吨": "t", "lb": "lb", "lbs": "lb", "pounds": "lb", "°c": "°c", "degrees celsius": "°c",
    "°f": "°f", "degrees fahrenheit": "°f", "km²": "km2", "km2": "km2", "square kilometres": "km2",
    "square kilometers": "km2", "ha": "ha", "hectares": "ha", "l": "l", "litres": "l", "liters": "l",
    "seconds": "s", "second": "s", "sec": "s", "minutes": "min", "minute": "min", "min": "min",
    "hours": "h", "hour": "h", "h": "h", "days": "day", "day": "day", "天": "day", "weeks": "week",
    "week": "week", "months": "month", "month": "month", "个月": "month", "years": "year",
    "year": "year", "岁": "year", "jahre": "year", "ans": "year", "años": "year", "w": "w",
    "kw": "kw", "mw": "mw", "gw": "gw", "kwh": "kwh", "mph": "mph", "km/h": "km/h",
    "dollars": "$", "dollar": "$", "usd": "$", "us$": "$", "euros": "€", "euro": "€", "eur": "€",
    "pounds sterling": "£", "gbp": "£", "yuan": "¥", "元": "¥", "rmb": "¥", "yen": "¥",
}
SCALE_WORDS = frozenset(_SCALES)
UNIT_WORDS = frozenset(w for unit in _UNITS for w in unit.split())
_CURRENCY = {"$": "$", "€": "€", "£": "£", "¥": "¥"}
_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
          "ten": 10, "eleven": 11, "twelve": 12, "twenty": 20,
          "zwei": 2, "drei": 3, "deux": 2, "trois": 3, "dos": 2, "tres": 3}
_ONE = {"one": 1, "a": 1}  # a page's "one million" / "a million"; never a claim's number by itself

_NUM = r"(?P<num>\d{1,3}(?: \d{3})+(?![\d.,])|\d+(?:[.,]\d+)*)"
_SCALE = "(?P<scale>" + "|".join(re.escape(s) for s in sorted(_SCALES, key=len, reverse=True)) + r")"
_UNIT = "(?P<unit>" + "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True)) + ")"
_QUANTITY = re.compile(
    rf"(?<![0-9a-zà-ÿ_])(?<!\d[.,])(?P<sign>-)?(?P<cur>[$€£¥]|us\$)?\s?{_NUM}"
    rf"(?:\s?{_SCALE}(?![a-z]))?(?:\s?{_UNIT}(?![a-z]))?(?:s|st|nd|rd|th)?(?![0-9a-zà-ÿ_])")
_WORD_QUANTITY = re.compile(
    r"(?<![\w-])(?P<word>" + "|".join(sorted({**_WORDS, **_ONE}, key=len, reverse=True)) + r")"
    rf"(?:\s{_SCALE}(?![a-z]))?(?:\s{_UNIT}(?![a-z]))?(?![\w-])")
# A token with letters and digits, as in COVID-19, GPT-4, H100, Qwen2.5: a name, compared as written.
_IDENTIFIER = re.compile(r"(?<![0-9a-z.-])(?=[0-9a-z.-]*[a-z])(?=[0-9a-z.-]*\d)[0-9a-z][0-9a-z.-]*[0-9a-z]")


@dataclass(frozen=True)
class Quantity:
    """A number as written: its ``value`` (scale applied), the ``step`` it was given to (1 for
    "1200", 0.1 million for "1.2 million"), its ``unit`` (None when it has none) and ``text``."""

    value: float
    step: float
    unit: str | None
    text: str

    def found_in(self, other: "Quantity") -> bool:
        """Whether ``other`` (a page's) states this value: equal once rounded to this one's step,
        in the same unit or with no unit said."""
        if self.unit is not None and other.unit is not None and self.unit != other.unit:
            return False
        return abs(other.value - self.value) <= self.step / 2 + 1e-9 * max(1.0, abs(self.value))


@dataclass(frozen=True)
class Day:
    """A date as written; ``options`` holds every (year, month, day) reading (01/02/2020 has two),
    with None for a part it does not give."""

    options: frozenset[tuple[int | None, int | None, int | None]]
    text: str

    def found_in(self, other: "Day") -> bool:
        return any(all(mine is None or mine == theirs for mine, theirs in zip(a, b))
                   for a in self.options for b in other.options)


@dataclass(frozen=True)
class Figures:
    """What ``read`` finds in a text, and where (spans in the text it was given)."""

    quantities: tuple[Quantity, ...]
    dates: tuple[Day, ...]
    identifiers: tuple[str, ...]


def read(folded: str, *, claim: bool = False) -> Figures:
    """Dates, quantities and alphanumeric names in ``folded`` text. In a passage a date's year
    and day count as numbers too, so "in 1889" is found in "31 March 1889", and "one million"
    is a number. A ``claim``'s dates are checked as dates only, and its "one" is no number
    ("one of the largest")."""
    dates, taken = _dates(folded)
    quantities = [] if claim else [q for d in dates for q in _date_parts(d)]
    masked = _mask(folded, taken)
    identifiers = []
    for match in _IDENTIFIER.finditer(masked):
        if not _QUANTITY.fullmatch(match.group()):
            identifiers.append(match.group().strip(".-"))
            taken.append(match.span())
    masked = _mask(folded, taken)
    quantities += [q for m in _QUANTITY.finditer(masked) if (q := _quantity(m)) is not None]
    for match in _WORD_QUANTITY.finditer(masked):
        word = match.group("word")
        if claim or word in _ONE and match.group("scale") is None:
            continue
        quantities.append(_scaled(float({**_WORDS, **_ONE}[word]), 1.0, match, match.group()))
    return Figures(tuple(quantities), tuple(dates), tuple(identifiers))


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _dates(text: str) -> tuple[list[Day], list[tuple[int, int]]]:
    days: list[Day] = []
    taken: list[tuple[int, int]] = []
    for form in _DATE_FORMS:
        for match in form.finditer(_mask(text, taken)):
            options = _options(match.groupdict())
            if options:
                days.append(Day(frozenset(options), match.group()))
                taken.append(match.span())
    return days, taken


def _options(found: dict[str, str | None]) -> set[tuple[int | None, int | None, int | None]]:
    parts = {k: v for k, v in found.items() if v}  # the groups this form matched
    year = int(parts["year"]) if "year" in parts else None
    if "a" in parts:
        a, b = int(parts["a"]), int(parts.get("b", "0"))
        pairs = {(b, a), (a, b)}  # (month, day): 03/04/2020 is 3 April or 4 March
        return {(year, m, d) for m, d in pairs if 1 <= m <= 12 and 1 <= d <= 31}
    month = _MONTHS.get(parts["month"]) if "month" in parts else (int(parts["m"]) if "m" in parts else None)
    day_text = parts.get("day") or parts.get("d")
    day = int(day_text) if day_text else None
    if (month is not None and not 1 <= month <= 12) or (day is not None and not 1 <= day <= 31):
        return set()
    return {(year, month, day)}


def _date_parts(day: Day) -> list[Quantity]:
    parts = {p for option in day.options for p in (option[0], option[2]) if p is not None}
    return [Quantity(float(p), 1.0, None, str(p)) for p in sorted(parts)]


def _quantity(match: re.Match[str]) -> Quantity | None:
    text = match.group("num")
    value, step = _number(text)
    if value is None:
        return None
    if match.group("sign"):
        value = -value
    return _scaled(value, step, match, match.group().strip())


def _scaled(value: float, step: float, match: re.Match[str], text: str) -> Quantity:
    scale = _SCALES.get(match.group("scale") or "", 1.0)
    unit = _UNITS.get(match.group("unit") or "")
    cur = match.groupdict().get("cur")
    if cur:
        if match.group("unit") == "m":  # "$1.2m": a million dollars, not metres
            scale, step = 1e6, step
        unit = _CURRENCY.get(cur, "$")
    return Quantity(value * scale, step * scale, unit, text)


def _number(text: str) -> tuple[float | None, float]:
    """The value of "1,200", "1.200.000", "3,5", "1 200" or "3.5" and the step it was given to."""
    text = text.replace(" ", "")
    commas, dots = text.count(","), text.count(".")
    if commas and dots:
        decimal = "," if text.rfind(",") > text.rfind(".") else "."
        whole, _, frac = text.rpartition(decimal)
        whole = whole.replace(",", "").replace(".", "")
    elif commas or dots:
        sep = "," if commas else "."
        groups = text.split(sep)
        if len(groups) > 2 or (sep == "," and all(len(g) == 3 for g in groups[1:])):
            whole, frac = "".join(groups), ""
        elif len(groups) == 2:
            whole, frac = groups
        else:
            return None, 1.0
    else:
        whole, frac = text, ""
    if not whole.isdigit() or (frac and not frac.isdigit()):
        return None, 1.0
    return float(f"{whole}.{frac}" if frac else whole), 10.0 ** -len(frac)
