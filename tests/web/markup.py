"""Reading the pages Ferry renders: elements with their attributes, and the visible text."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser

VOID = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }
)


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    text: str = ""

    def get(self, name: str) -> str | None:
        return self.attrs.get(name)

    def has(self, name: str) -> bool:
        return name in self.attrs


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self._text: list[str] = []

    @classmethod
    def parse(cls, html: str) -> Page:
        page = cls()
        page.feed(html)
        page.close()
        return page

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs))
        self.elements.append(element)
        if tag not in VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].tag == tag:
                del self._open[index:]
                break

    def handle_data(self, data: str) -> None:
        self._text.append(data)
        for element in self._open:
            element.text += data

    @property
    def text(self) -> str:
        """The page's text, whitespace collapsed."""
        return " ".join("".join(self._text).split())

    def find(self, tag: str | None = None, **attrs: str) -> list[Element]:
        return [
            e
            for e in self.elements
            if (tag is None or e.tag == tag)
            and all(e.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]

    def one(self, tag: str | None = None, **attrs: str) -> Element:
        found = self.find(tag, **attrs)
        assert len(found) == 1, (tag, attrs, found)
        return found[0]

    def by_id(self, ident: str) -> Element:
        return self.one(id=ident)

    def control(self, name: str) -> Element:
        """The enabled form control named ``name`` (the one a browser would send)."""
        found = [
            e
            for e in self.elements
            if e.tag in ("input", "select", "textarea")
            and e.get("name") == name
            and e.get("type") != "hidden"
            and not e.has("disabled")
        ]
        assert len(found) == 1, (name, found)
        return found[0]

    def selected(self, select_id: str) -> list[str]:
        """Values of the selected options of a <select>, by document order after it."""
        start = self.elements.index(self.by_id(select_id))
        values = []
        for element in self.elements[start + 1 :]:
            if element.tag != "option":
                break
            if element.has("selected"):
                values.append(element.get("value") or "")
        return values

    def label_of(self, control_id: str) -> Element:
        return self.one("label", **{"for": control_id})
