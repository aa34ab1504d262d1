"""Chinese text for search: segmentation, domain words, keywords and pinyin.

rjieba (jieba's algorithm in Rust) segments without jieba's 1.5 s dictionary load. The words
below are Xuchang specialty names the general dictionary splits wrongly (枣花蜜 -> 枣 + 花蜜).
"""

from functools import lru_cache

import rjieba
from pypinyin import Style, lazy_pinyin

DOMAIN_WORDS = (
    "枣花蜜", "槐花蜜", "荆条蜜", "蜂胶", "蜂蜡", "禹白芷", "白芷", "金银花", "丹参", "蜡梅",
    "粉条", "粉皮", "粉面", "红薯粉条", "腐竹", "豆腐皮", "土鸡蛋", "鸭蛋", "挂面", "空心挂面",
    "香菇", "平菇", "木耳", "花生油", "香油", "三樱椒", "辣椒酱", "紫薯", "红薯", "山药",
    "鄢陵", "禹州", "长葛", "襄城", "建安", "魏都", "许昌", "神垕", "方山", "河街",
)

# A product whose name contains a trigger is also found by the keyword (蜂蜜 finds 枣花蜜).
KEYWORDS = {
    "蜂蜜": ("蜜",),
    "蜂产品": ("蜜", "蜂胶", "蜂蜡"),
    "三粉": ("粉条", "粉皮", "粉面"),
    "粉条": ("粉条",),
    "中药材": ("白芷", "金银花", "丹参", "菊花"),
    "药材": ("白芷", "金银花", "丹参"),
    "花木": ("蜡梅", "月季", "桂花", "盆景"),
    "苗木": ("蜡梅", "月季", "桂花"),
    "食用菌": ("香菇", "平菇", "木耳"),
    "蘑菇": ("香菇", "平菇"),
    "豆制品": ("腐竹", "豆腐"),
    "鸡蛋": ("鸡蛋",),
    "蛋": ("蛋",),
    "猪肉": ("猪肉", "猪鲜肉"),
    "面粉": ("面粉", "小麦粉"),
    "食用油": ("花生油", "香油"),
}

_loaded = False


def _ensure_words() -> None:
    global _loaded
    if not _loaded:
        for word in DOMAIN_WORDS:
            rjieba.add_word(word, 2000, None)
        _loaded = True


def _keep(token: str) -> bool:
    return any(c.isalnum() for c in token)


def index_tokens(text: str):
    """(word, start, end) for indexing: search mode, so 鄢陵县 also yields 鄢陵."""
    _ensure_words()
    for word, start, end in rjieba.tokenize(text or "", mode="search"):
        if _keep(word):
            yield word.lower(), start, end


def query_words(text: str) -> list[str]:
    """The words of a typed query, punctuation and query syntax dropped."""
    _ensure_words()
    return [w.lower() for w in rjieba.cut(text or "") if _keep(w)]


def keywords_for(name: str) -> list[str]:
    return [key for key, triggers in KEYWORDS.items() if any(t in name for t in triggers)]


@lru_cache(maxsize=200_000)
def pinyin_of(word: str) -> tuple[str, str]:
    """Full pinyin and initials of a Chinese word: 粉条 -> ("fentiao", "ft")."""
    full = "".join(lazy_pinyin(word))
    initials = "".join(lazy_pinyin(word, style=Style.FIRST_LETTER))
    return full.lower(), initials.lower()


@lru_cache(maxsize=200_000)
def _pinyin_terms_of(text: str) -> frozenset[str]:
    terms: set[str] = set()
    for word in {w for w, _s, _e in index_tokens(text)} | {text}:
        if any("\u4e00" <= c <= "\u9fff" for c in word):
            full, initials = pinyin_of(word)
            terms.add(full)
            if len(initials) > 1:
                terms.add(initials)
    return frozenset(terms)


def pinyin_terms(*texts: str) -> set[str]:
    """Pinyin and initials of every word in `texts` and of each text whole.

    Cached per text: producer, place and category texts repeat across thousands of products.
    """
    terms: set[str] = set()
    for text in texts:
        if text:
            terms |= _pinyin_terms_of(text)
    return terms
