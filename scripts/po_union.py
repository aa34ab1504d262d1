"""Merge helper: copy every translation another .po holds into ours (ours wins on conflict).

    python scripts/po_union.py other.po
"""

import sys

from babel.messages.pofile import read_po, write_po

PO = "marketplace/translations/en/LC_MESSAGES/messages.po"


def main(other_path: str) -> None:
    with open(PO, "rb") as f:
        ours = read_po(f)
    with open(other_path, "rb") as f:
        other = read_po(f)
    for message in other:
        if not message.id or not message.string or message.fuzzy:
            continue
        mine = ours.get(message.id)
        if mine is None:
            ours[message.id] = message
        elif not mine.string or mine.fuzzy:
            mine.string = message.string
            mine.flags.discard("fuzzy")
    with open(PO, "wb") as f:
        write_po(f, ours, width=100)


if __name__ == "__main__":
    main(sys.argv[1])
