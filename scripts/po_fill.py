"""Translation helper: list the English catalogue's untranslated strings, or fill them.

    python scripts/po_fill.py todo > todo.json      # {msgid: ""} for every empty or fuzzy entry
    python scripts/po_fill.py fill done.json        # write the translations in, clear fuzzy
"""

import json
import sys

from babel.messages.pofile import read_po, write_po

PO = "marketplace/translations/en/LC_MESSAGES/messages.po"


def _catalog():
    with open(PO, "rb") as f:
        return read_po(f)


def todo() -> None:
    pending = {m.id if isinstance(m.id, str) else m.id[0]: ""
               for m in _catalog() if m.id and (not m.string or m.fuzzy)}
    json.dump(pending, sys.stdout, ensure_ascii=False, indent=1)


def fill(path: str) -> None:
    with open(path, encoding="utf-8") as f:
        done = json.load(f)
    catalog = _catalog()
    for message in catalog:
        key = message.id if isinstance(message.id, str) else message.id[0]
        if key in done and done[key]:
            message.string = done[key]
            message.flags.discard("fuzzy")
    with open(PO, "wb") as f:
        write_po(f, catalog, width=100)


if __name__ == "__main__":
    {"todo": lambda: todo(), "fill": lambda: fill(sys.argv[2])}[sys.argv[1]]()
