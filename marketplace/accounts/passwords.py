"""What a new password must be: long enough, not a common one, not the username.

Length: at least 10 characters. The online guessing this allows is throttled (see
services.py), so the length is there for the day a copy of the password hashes leaks; 10
removes at once the whole class of 8-digit birthdays, repeated digits and phone fragments
that lead every published Chinese leak list, and is still quick to type on a phone.

Common passwords: the 30,000 most frequent passwords of the zxcvbn project (MIT licence,
pinned in requirements.txt), plus the Chinese patterns that English-language lists miss:
pinyin phrases (woaini …) and the "love numbers" (520 我爱你, 1314 一生一世). A password made
of one such word plus digits and symbols that are themselves a pattern (woaini1314,
qwerty2024!, abc123456789) is refused as well. Phrases of several words stay allowed.
"""

import functools
import re

from flask_babel import gettext as _

MIN_LENGTH = 10
MAX_LENGTH = 200

# Pinyin words and phrases common in Chinese passwords and absent from zxcvbn's list.
CHINESE_WORDS = frozenset({
    "woaini", "aini", "woaiwojia", "woainia", "woaini1", "wojiushiwo", "woshishui", "nihao",
    "nihaoma", "wobuzhidao", "baobao", "baobei", "laopo", "laogong", "xiaoxiao", "xiaobao",
    "aiwo", "aiai", "qinqin", "mima", "wodemima", "zhangwei", "wangwei", "wangfang", "liwei",
    "lina", "zhangmin", "zhangjing", "wangjing", "liujie", "wangyang", "zhangsan", "lisi",
    "wangwu", "zhongguo", "china", "beijing", "xuchang", "henan", "yuzhou", "dearbook",
    "tianya", "caonima", "nimabi", "shabi", "hao123", "qqqq", "admin", "administrator", "root",
    "test", "guest", "user",
})
CHINESE_PHRASES = frozenset({"我爱你", "爱你", "我爱我家", "一生一世", "密码", "中国"})
LOVE_NUMBERS = re.compile(r"^(?:5201314|1314520|1314|520|521|530|1711|748|886|88|666|888|999)+$")
KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890")
DATE = re.compile(r"^(?:19|20)?\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])$")
YEAR = re.compile(r"^(?:19|20)\d\d$")
RUNS = re.compile(r"[^\W\d_]+|\d+")


@functools.cache
def common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"]) | CHINESE_WORDS


def _is_pattern(run: str) -> bool:
    """A repeat, a straight sequence or a keyboard row: what a guesser tries first."""
    for size in range(1, min(4, len(run) // 2) + 1):
        if len(run) % size == 0 and run == run[:size] * (len(run) // size):
            return True
    steps = {ord(b) - ord(a) for a, b in zip(run, run[1:], strict=False)}
    if len(run) >= 3 and (steps <= {1, -9} or steps <= {-1, 9}):
        return True
    return len(run) >= 3 and any(run in row or run in row[::-1] for row in KEYBOARD_ROWS)


def _is_guessable(run: str) -> bool:
    if run in common_passwords() or run in CHINESE_PHRASES or _is_pattern(run):
        return True
    if run.isdigit():
        return bool(LOVE_NUMBERS.match(run) or YEAR.match(run) or DATE.match(run)
                    or len(run) <= 2)
    return run.isascii() and len(run) <= 3


def is_common(password: str) -> bool:
    """A listed password, or one word plus digits/symbols that are all guessable."""
    lowered = password.lower()
    if lowered in common_passwords() or _is_pattern(lowered):
        return True
    runs = RUNS.findall(lowered)
    words = [run for run in runs if not run.isdigit()]
    return len(words) <= 1 and all(_is_guessable(run) for run in runs)


def password_problems(password: str, username: str = "") -> list[str]:
    """The reasons `password` may not be used by `username` (empty when it may)."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        return [_("密码至少 %(n)s 位。", n=MIN_LENGTH)]
    if len(password) > MAX_LENGTH:
        return [_("密码最多 %(n)s 位。", n=MAX_LENGTH)]
    name = (username or "").strip().lower()
    if len(name) >= 3 and (name in password.lower() or name[::-1] in password.lower()):
        return [_("密码不能包含用户名。")]
    if is_common(password):
        return [_("这个密码太常见，很容易被猜中。请换一个，例如几个词组成的短句。")]
    return []
