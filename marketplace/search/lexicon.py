"""Chinese text for search: segmentation, place and name forms, hypernyms and pinyin.

rjieba (jieba's algorithm in Rust) segments without jieba's 1.5 s dictionary load. The words
below are Xuchang specialty names the general dictionary splits wrongly (枣花蜜 -> 枣 + 花蜜).
Nothing here lists which products belong to a category: that comes from the category data
(see index.py); the only hand-made tables are linguistic (spelling variants, and what a name's
head word is a kind of).
"""

import re
from functools import lru_cache

import rjieba
from pypinyin import Style, lazy_pinyin

DOMAIN_WORDS = (
    "枣花蜜", "槐花蜜", "荆条蜜", "蜂胶", "蜂蜡", "禹白芷", "白芷", "金银花", "丹参", "蜡梅",
    "粉条", "粉皮", "粉面", "红薯粉条", "腐竹", "豆腐皮", "土鸡蛋", "鸭蛋", "挂面", "空心挂面",
    "香菇", "平菇", "木耳", "花生油", "香油", "三樱椒", "辣椒酱", "紫薯", "红薯", "山药",
    "鄢陵", "禹州", "长葛", "襄城", "建安", "魏都", "许昌", "神垕", "方山", "河街",
    "花生", "花生米", "小麦粉", "全麦粉", "强筋", "蜂蜜", "土蜂蜜", "百花蜜", "腐竹段",
)

# Spellings people use for the same thing; the second is the one indexed (腊梅 finds 蜡梅).
VARIANTS = {"腊梅": "蜡梅"}

# What a name's head word is a kind of: a product whose name *ends* with a trigger is also
# found, as that kind, by the hypernym (枣花蜜 is a 蜂蜜; 蜂蜜柚子茶, ending in 茶, is not).
# Categories are not here: a category's name reaches its members through the category data.
HYPERNYMS = {
    "蜂蜜": ("蜜",),
    "蘑菇": ("菇",),
    "蛋": ("蛋",),
    "猪肉": ("猪肉", "猪鲜肉", "五花肉"),
    "面粉": ("面粉", "麦粉", "特一粉"),
    "小麦粉": ("面粉", "麦粉", "特一粉"),
    "食用油": ("花生油", "香油", "芝麻油", "菜籽油"),
    "芝麻油": ("香油",),
    "大豆": ("黄豆", "青豆", "黑豆"),
    "花生": ("花生米", "花生仁"),
    "红薯粉": ("红薯粉条", "红薯粉面", "红薯淀粉"),  # what 红薯粉 means locally: not 粉皮
}

# Trailing pack sizes, grades and packaging that say how a product is sold, not what it is:
# cut before a name's head word is looked for ("鲜香菇 10斤装" is a 鲜香菇).
_SPEC_START = re.compile(r"[\s0-9０-９（(【\[/／,，、*×+]")
SALES_WORDS = ("礼盒装", "家庭装", "散装", "袋装", "盒装", "箱装", "瓶装", "桶装", "罐装",
                "礼盒", "精品", "特级", "一级", "二级", "优级", "新货", "包邮", "整箱", "批发")
_PLACE_SUFFIXES = ("街道", "镇", "乡")
_COUNTY_SUFFIXES = ("县", "市", "区")

_loaded = False


def _ensure_words() -> None:
    global _loaded
    if not _loaded:
        for word in DOMAIN_WORDS:
            rjieba.add_word(word, 2000, None)
        _loaded = True


def _keep(token: str) -> bool:
    return any(c.isalnum() for c in token)


def normalise(text: str) -> str:
    """Lower case and one spelling per variant; keeps the length, so offsets stay valid."""
    text = (text or "").lower()
    for variant, canonical in VARIANTS.items():
        text = text.replace(variant, canonical)
    return text


def index_tokens(text: str):
    """(word, start, end) for indexing: search mode, so 鄢陵县 also yields 鄢陵."""
    _ensure_words()
    for word, start, end in rjieba.tokenize(normalise(text), mode="search"):
        if _keep(word):
            yield word, start, end


def query_words(text: str) -> list[str]:
    """The words of a typed query, punctuation and query syntax dropped."""
    _ensure_words()
    return [w for w in rjieba.cut(normalise(text)) if _keep(w)]


def is_cjk(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in text)


def name_grams(name: str) -> list[str]:
    """Every two-character run of a name: any substring of two or more characters is then
    found through its runs, however the segmenter cut the name (四粒红花生 holds 花生)."""
    text = re.sub(r"\s+", "", normalise(name))
    return sorted({text[i:i + 2] for i in range(len(text) - 1)})


@lru_cache(maxsize=100_000)
def name_core(name: str) -> str:
    """The part of a name that says what the product is: pack sizes, grades and packaging
    cut off the end ("鲜香菇 10斤装" -> "鲜香菇", "强筋小麦粉25kg" -> "强筋小麦粉")."""
    text = normalise(name).strip()
    cut = _SPEC_START.search(text, 1)
    if cut:
        text = text[:cut.start()]
    stripped = True
    while stripped:
        stripped = False
        for word in SALES_WORDS:
            if text.endswith(word) and len(text) > len(word):
                text, stripped = text[:-len(word)], True
    return text.strip()


def hypernyms_for(name: str) -> list[str]:
    """The kinds a product is by the head of its name (枣花蜜 -> 蜂蜜)."""
    return list(kinds_of_core(name_core(name)))


@lru_cache(maxsize=100_000)
def kinds_of_core(core: str) -> tuple[str, ...]:
    return tuple(kind for kind, heads in HYPERNYMS.items()
                 if any(core.endswith(head) and core != kind for head in heads))


def county_short(name: str) -> str:
    """鄢陵县 -> 鄢陵, 禹州市 -> 禹州, 建安区 -> 建安 (the form names and producers use)."""
    for suffix in _COUNTY_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[:-len(suffix)]
    return name


def township_short(name: str) -> str:
    """陶城镇 -> 陶城, 河街乡 -> 河街, 高桥营街道 -> 高桥营, 颍桥回族镇 -> 颍桥."""
    for suffix in _PLACE_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            name = name[:-len(suffix)]
            break
    if name.endswith("族") and len(name) >= 4:  # 回族, 满族 …: an ethnic township's name
        name = name[:-2]
    return name


def place_forms(name: str, county: bool) -> tuple[str, ...]:
    """A place's full and short forms, full first."""
    short = county_short(name) if county else township_short(name)
    return (name,) if short == name else (name, short)


@lru_cache(maxsize=200_000)
def pinyin_of(word: str) -> tuple[str, str]:
    """Full pinyin and initials of a Chinese word: 粉条 -> ("fentiao", "ft")."""
    full = "".join(lazy_pinyin(word))
    initials = "".join(lazy_pinyin(word, style=Style.FIRST_LETTER))
    return full.lower().replace(" ", ""), initials.lower().replace(" ", "")


@lru_cache(maxsize=200_000)
def _pinyin_terms_of(text: str) -> frozenset[str]:
    terms: set[str] = set()
    for word in {w for w, _s, _e in index_tokens(text)} | {normalise(text)}:
        if is_cjk(word):
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
