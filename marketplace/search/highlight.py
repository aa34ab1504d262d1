"""Mark the query's words in a result's text, HTML-escaped."""

import re

from markupsafe import Markup, escape


def highlight(text: str, words) -> Markup:
    words = sorted({w for w in words if w}, key=len, reverse=True)
    if not text or not words:
        return escape(text or "")
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    out, last = [], 0
    for match in pattern.finditer(text):
        out.append(escape(text[last:match.start()]))
        out.append(Markup("<mark>%s</mark>") % match.group(0))
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)
