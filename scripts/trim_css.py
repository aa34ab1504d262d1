"""Drop Pico's dark colour scheme from a (minified) stylesheet.

The site pins the light scheme (`<html data-theme="light">`), so the dark scheme's rules
can never apply; removing them, after PurgeCSS has removed the selectors no template uses,
roughly halves what every first page view downloads and parses. Run through `make css`.
"""

import sys


def _block_end(css: str, start: int) -> int:
    """Index just past the brace block that opens at css[start] == '{'."""
    depth = 0
    for i in range(start, len(css)):
        if css[i] == "{":
            depth += 1
        elif css[i] == "}":
            depth -= 1
            if depth == 0:
                return i + 1
    raise ValueError("unbalanced braces")


def trim(css: str) -> str:
    out, i = [], 0
    while i < len(css):
        brace = css.find("{", i)
        if brace == -1:
            out.append(css[i:])
            break
        prelude_start = max(css.rfind("}", i, brace), css.rfind(";", i, brace)) + 1
        prelude_start = max(prelude_start, i)
        prelude = css[prelude_start:brace]
        end = _block_end(css, brace)
        if "prefers-color-scheme:dark" in prelude.replace(" ", ""):
            out.append(css[i:prelude_start])
        elif prelude.strip().startswith("@"):
            out.append(css[i:brace + 1] + trim(css[brace + 1:end - 1]) + "}")
        else:
            selectors = [s for s in prelude.split(",") if "data-theme=dark" not in s]
            out.append(css[i:prelude_start])
            if selectors:
                out.append(",".join(selectors) + css[brace:end])
        i = end
    return "".join(out)


if __name__ == "__main__":
    source, target = sys.argv[1], sys.argv[2]
    with open(source, encoding="utf-8") as f:
        trimmed = trim(f.read())
    with open(target, "w", encoding="utf-8") as f:
        f.write(trimmed)
