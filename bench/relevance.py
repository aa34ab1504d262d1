"""A labelled relevance set over a crowded catalogue, and nDCG@10 / MRR over it.

The catalogue is the demo generator's (marketplace/demo/generate.py) with its product lines
crowded the way producers really write names: several listings per line with brands, pack
sizes, grades and packaging ("鲜香菇 10斤装", "强筋小麦粉 25kg", "农家手工粉皮（礼盒装）"),
fresh and processed forms of one crop (鲜香菇 / 干香菇 / 香菇酱 / 香菇脆片), and kinds the
search code knows nothing about (白玉菇, 金针菇). The generator spreads them over every
county and township and many producers, and prefixes half the names with the county's short
name, as the demo does.

Judgements are graded and written as rules over what a listing is (its name, category,
county, townships, marks), so every listing of any catalogue size is judged:
3 the product meant, 2 the same line (another form or a close kind), 1 related, 0 wrong.

nDCG@10 uses gains 2^grade - 1 and the ideal ordering of every listable product; MRR is the
reciprocal rank of the first listing of grade 3 within the first ten (0 if none).
"""

import math
import random
from contextlib import contextmanager
from dataclasses import dataclass

# Brands, pack sizes and grades as producers write them.
BRANDS = ["农家", "老王家", "豫农", "许农优品", "山里人", "田园"]
PACKS = [" 5斤装", " 10斤装", " 25kg", " 500g×2袋", "（礼盒装）", "（家庭装）", " 一级", " 特级",
         " 2.5kg/袋", " 整箱"]

# category code -> extra lines: (name, unit, min price fen, max price fen, specification, min)
EXTRA = {
    "flour": [
        ("强筋小麦粉", "袋", 4200, 9800, "25公斤/袋", "1"),
        ("高筋面粉", "袋", 3000, 5000, "5公斤/袋", "2"),
        ("鸡蛋挂面", "箱", 3800, 6800, "2.5公斤/箱", "1"),
        ("手擀面", "袋", 1200, 2400, "1公斤/袋", "5"),
    ],
    "meat": [
        ("黑猪五花肉", "斤", 2200, 3800, "鲜品", "10"),
        ("咸鸭蛋", "箱", 4200, 6800, "20枚/箱", "1"),
        ("鲜鸡蛋", "箱", 3600, 5600, "360枚/箱", "1"),
    ],
    "vegetable": [
        ("铁棍山药", "箱", 4800, 8800, "5公斤/箱", "1"),
        ("水果黄瓜", "斤", 300, 700, "一级", "20"),
        ("山药片", "袋", 2800, 4800, "500克/袋，干品", "2"),
    ],
    "fungi": [
        ("花菇", "斤", 1800, 3800, "干品", "5"),
        ("香菇酱", "瓶", 1200, 2600, "200克/瓶", "6"),
        ("香菇脆片", "袋", 1500, 2800, "100克/袋", "5"),
        ("白玉菇", "斤", 600, 1200, "鲜品", "10"),
        ("金针菇", "斤", 400, 900, "鲜品", "10"),
    ],
    "herb": [
        ("白芷片", "公斤", 3800, 6800, "饮片", "2"),
        ("金银花茶", "罐", 3800, 6800, "50克/罐", "2"),
        ("丹参饮片", "公斤", 4200, 7800, "饮片", "2"),
    ],
    "bee": [
        ("土蜂蜜", "瓶", 5800, 9800, "500克/瓶", "2"),
        ("百花蜜", "瓶", 4200, 7800, "500克/瓶", "2"),
        ("荆条蜜", "瓶", 4500, 8000, "500克/瓶", "2"),
        ("蜂王浆", "瓶", 9800, 16800, "250克/瓶", "1"),
    ],
    "flower": [
        ("红梅盆景", "盆", 12800, 38800, "高50厘米", "1"),
        ("紫薇树", "株", 9800, 26800, "胸径6厘米", "2"),
    ],
    "starch": [
        ("手工粉皮", "袋", 1600, 3000, "1公斤/袋", "2"),
        ("宽粉条", "袋", 1800, 3600, "2.5公斤/袋", "2"),
        ("红薯淀粉", "袋", 1500, 2600, "2.5公斤/袋", "2"),
        ("绿豆粉皮", "袋", 1800, 3200, "1公斤/袋", "2"),
    ],
    "yuba": [
        ("腐竹段", "袋", 1500, 2800, "500克/袋", "5"),
        ("手工腐竹", "斤", 2000, 3400, "一级", "5"),
        ("干豆腐", "斤", 600, 1200, "鲜品", "10"),
    ],
    "grain_oil": [
        ("四粒红花生", "斤", 800, 1500, "精选", "10"),
        ("花生米", "斤", 900, 1600, "去皮", "10"),
        ("小磨香油", "瓶", 3200, 5200, "500毫升/瓶", "2"),
        ("黑豆", "斤", 600, 1200, "青仁", "10"),
    ],
    "pepper": [
        ("三樱椒", "斤", 1400, 2600, "干品", "5"),
        ("辣椒面", "袋", 1200, 2200, "500克/袋", "5"),
        ("朝天椒", "斤", 1200, 2400, "干品", "5"),
    ],
    "sweet_potato": [
        ("红薯干", "袋", 1800, 3200, "500克/袋", "5"),
        ("西瓜红红薯", "箱", 3600, 5800, "5公斤/箱", "1"),
    ],
}


def crowded_products(base: dict, seed: int = 11) -> dict:
    """The demo's product lines plus EXTRA, each line also written with brands and pack sizes."""
    rng = random.Random(seed)
    out = {}
    for code, lines in base.items():
        variants = []
        for line in [*lines, *EXTRA.get(code, [])]:
            name, *rest = line
            variants.append(line)
            for _ in range(3):
                choice = rng.random()
                if choice < 0.4:
                    written = f"{name}{rng.choice(PACKS)}"
                elif choice < 0.7:
                    written = f"{rng.choice(BRANDS)}{name}"
                else:
                    written = f"{rng.choice(BRANDS)}{name}{rng.choice(PACKS)}"
                variants.append((written[:80], *rest))
        out[code] = list(dict.fromkeys(variants))
    return out


@contextmanager
def crowded_demo_lines():
    """Run the demo generator with the crowded lines."""
    from marketplace.demo import data

    original = data.PRODUCTS
    data.PRODUCTS = crowded_products(original)
    try:
        yield
    finally:
        data.PRODUCTS = original


# Judgements.

@dataclass(frozen=True)
class Listing:
    id: int
    name: str
    category: str  # category code
    county: str
    townships: tuple  # the producer's township and the one its origin names
    marks: tuple


class P:
    """A predicate over a Listing, combinable with & | ~."""

    def __init__(self, test):
        self.test = test

    def __call__(self, x: Listing) -> bool:
        return self.test(x)

    def __and__(self, other):
        return P(lambda x: self(x) and other(x))

    def __or__(self, other):
        return P(lambda x: self(x) or other(x))

    def __invert__(self):
        return P(lambda x: not self(x))


def has(*words) -> P:
    return P(lambda x: any(w in x.name for w in words))


def cat(*codes) -> P:
    return P(lambda x: x.category in codes)


def county(name) -> P:
    return P(lambda x: x.county == name)


def town(name) -> P:
    return P(lambda x: name in x.townships)


def mark(name) -> P:
    return P(lambda x: name in x.marks)


NOTHING = P(lambda x: False)


@dataclass
class Judged:
    query: str
    meant: P
    line: P = NOTHING
    related: P = NOTHING
    kind: str = "word"

    def grade(self, x: Listing) -> int:
        return 3 if self.meant(x) else 2 if self.line(x) else 1 if self.related(x) else 0


def J(query, meant, line=NOTHING, related=NOTHING, kind="word"):  # noqa: N802
    return Judged(query, meant, line, related, kind)


FENTIAO, FENPI, FENMIAN = has("粉条"), has("粉皮"), has("粉面", "淀粉")
XIANGGU = has("香菇", "花菇") & ~has("酱", "脆片")
HONEY = cat("bee") & has("蜜") & ~has("蜂蜡")
LAMEI = has("蜡梅", "腊梅", "红梅")
FUZHU = has("腐竹")
PEANUT = has("花生") & ~has("油")
SOY = has("黄豆", "大豆", "黑豆", "青豆")
SESAME_OIL = has("香油", "芝麻油")
PEANUT_OIL = has("花生油")
FRESH_SWEET_POTATO = cat("sweet_potato") & has("红薯", "专用薯") & ~has("红薯干")
FLOUR = has("面粉", "小麦粉", "麦粉")
NOODLES = has("挂面", "手擀面")
EGG = has("鸡蛋")
DUCK_EGG = has("鸭蛋")
PORK = has("猪")
PEPPER = cat("pepper") & ~has("辣椒酱")

SET = [
    # Product words: the kind meant, its other forms, its category.
    J("粉条", FENTIAO, FENPI | FENMIAN, cat("starch")),
    J("红薯粉", has("红薯粉条", "红薯粉面", "红薯淀粉"), FENTIAO | FENMIAN, cat("starch", "sweet_potato")),
    J("粉皮", FENPI, cat("starch")),
    J("粉面", FENMIAN, FENTIAO | FENPI, cat("starch")),
    J("宽粉条", has("宽粉条"), FENTIAO, cat("starch")),
    J("手工粉皮", has("手工粉皮"), FENPI, cat("starch")),
    J("绿豆粉皮", has("绿豆粉皮"), FENPI, cat("starch")),
    J("香菇", XIANGGU, has("香菇"), cat("fungi")),
    J("鲜香菇", has("鲜香菇"), XIANGGU, cat("fungi")),
    J("干香菇", has("干香菇", "花菇"), XIANGGU, cat("fungi")),
    J("香菇酱", has("香菇酱"), has("香菇"), cat("fungi")),
    J("花菇", has("花菇"), XIANGGU, cat("fungi")),
    J("平菇", has("平菇"), has("菇"), cat("fungi")),
    J("木耳", has("木耳"), cat("fungi")),
    J("黑木耳", has("黑木耳"), has("木耳"), cat("fungi")),
    J("金针菇", has("金针菇"), has("菇"), cat("fungi")),
    J("蘑菇", cat("fungi") & has("菇"), cat("fungi")),
    J("蜂蜜", HONEY, cat("bee")),
    J("枣花蜜", has("枣花蜜"), HONEY, cat("bee")),
    J("槐花蜜", has("槐花"), HONEY, cat("bee")),
    J("土蜂蜜", has("土蜂蜜"), HONEY, cat("bee")),
    J("百花蜜", has("百花蜜"), HONEY, cat("bee")),
    J("蜂胶", has("蜂胶"), cat("bee")),
    J("蜂蜡", has("蜂蜡"), cat("bee")),
    J("蜂王浆", has("蜂王浆"), cat("bee")),
    J("蜡梅", LAMEI & ~has("红梅"), has("红梅"), cat("flower")),
    J("蜡梅盆景", has("蜡梅盆景"), has("盆景") | LAMEI, cat("flower")),
    J("盆景", has("盆景"), cat("flower")),
    J("月季", has("月季"), cat("flower")),
    J("桂花树", has("桂花树"), cat("flower")),
    J("腐竹", FUZHU, has("豆腐皮", "干豆腐"), cat("yuba")),
    J("腐竹段", has("腐竹段"), FUZHU, cat("yuba")),
    J("豆腐皮", has("豆腐皮"), has("干豆腐") | FUZHU, cat("yuba")),
    J("花生", PEANUT, PEANUT_OIL),
    J("花生米", has("花生米"), PEANUT),
    J("花生油", PEANUT_OIL, SESAME_OIL, PEANUT),
    J("香油", SESAME_OIL, PEANUT_OIL),
    J("芝麻油", SESAME_OIL, PEANUT_OIL),
    J("食用油", PEANUT_OIL | SESAME_OIL),
    J("黄豆", has("黄豆"), SOY, cat("grain_oil")),
    J("大豆", SOY, cat("grain_oil") & ~has("油", "花生")),
    J("辣椒", PEPPER, has("辣椒酱"), cat("pepper")),
    J("干辣椒", has("干辣椒", "三樱椒", "朝天椒"), PEPPER, cat("pepper")),
    J("辣椒酱", has("辣椒酱"), PEPPER, cat("pepper")),
    J("三樱椒", has("三樱椒"), PEPPER, cat("pepper")),
    J("辣椒面", has("辣椒面"), PEPPER, cat("pepper")),
    J("红薯", FRESH_SWEET_POTATO, cat("sweet_potato"), has("红薯")),
    J("紫薯", has("紫薯"), cat("sweet_potato")),
    J("红薯干", has("红薯干"), cat("sweet_potato")),
    J("山药", has("山药") & ~has("山药片"), has("山药片"), cat("vegetable")),
    J("铁棍山药", has("铁棍山药"), has("山药"), cat("vegetable")),
    J("黄瓜", has("黄瓜"), cat("vegetable")),
    J("西红柿", has("西红柿"), cat("vegetable")),
    J("大白菜", has("大白菜"), cat("vegetable")),
    J("大葱", has("大葱"), cat("vegetable")),
    J("面粉", FLOUR, NOODLES, cat("flour")),
    J("小麦粉", FLOUR, NOODLES, cat("flour")),
    J("强筋小麦粉", has("强筋小麦粉"), FLOUR, cat("flour")),
    J("全麦面粉", has("全麦"), FLOUR, cat("flour")),
    J("挂面", has("挂面"), NOODLES, cat("flour")),
    J("空心挂面", has("空心挂面"), has("挂面"), cat("flour")),
    J("馒头", has("馒头"), cat("flour")),
    J("土鸡蛋", has("土鸡蛋"), EGG, has("蛋")),
    J("鸡蛋", EGG, has("蛋")),
    J("鸭蛋", DUCK_EGG, has("蛋")),
    J("咸鸭蛋", has("咸鸭蛋"), DUCK_EGG, has("蛋")),
    J("猪肉", PORK, cat("meat") & ~has("蛋")),
    J("黑猪肉", has("黑猪"), PORK, cat("meat")),
    J("五花肉", has("五花肉"), PORK, cat("meat")),
    J("土鸡", has("土鸡") & ~has("蛋"), cat("meat") & ~has("蛋"), has("土鸡蛋")),
    J("金银花", has("金银花"), cat("herb")),
    J("白芷", has("白芷"), cat("herb")),
    J("禹白芷", has("禹白芷"), has("白芷"), cat("herb")),
    J("丹参", has("丹参"), cat("herb")),
    J("菊花茶", has("菊花"), cat("herb")),
    # Category words: every member, whatever the lexicon knows.
    J("食用菌", cat("fungi"), kind="category"),
    J("中药材", cat("herb"), kind="category"),
    J("花木", cat("flower"), kind="category"),
    J("蜂产品", cat("bee"), kind="category"),
    J("三粉制品", cat("starch"), kind="category"),
    J("三粉", cat("starch"), kind="category"),
    J("豆制品", cat("yuba"), kind="category"),
    J("腐竹豆制品", cat("yuba"), kind="category"),
    J("肉禽蛋", cat("meat"), kind="category"),
    J("蔬菜", cat("vegetable"), kind="category"),
    J("面制品", cat("flour"), kind="category"),
    J("花生大豆", cat("grain_oil"), kind="category"),
    # Places, in full and short forms; townships.
    *(J(q, county(full), kind="place") for full, forms in (
        ("禹州市", ("禹州", "禹州市")), ("鄢陵县", ("鄢陵", "鄢陵县")), ("长葛市", ("长葛", "长葛市")),
        ("襄城县", ("襄城", "襄城县")), ("建安区", ("建安", "建安区")), ("魏都区", ("魏都", "魏都区")))
        for q in forms),
    *(J(q, town(full), county(of), kind="place") for full, of, forms in (
        ("陶城镇", "鄢陵县", ("陶城镇", "陶城")), ("神垕镇", "禹州市", ("神垕镇", "神垕")),
        ("方山镇", "禹州市", ("方山镇",)), ("河街乡", "建安区", ("河街乡", "河街")),
        ("高桥营街道", "魏都区", ("高桥营街道", "高桥营")), ("颍桥回族镇", "襄城县", ("颍桥",)),
        ("佛耳湖镇", "长葛市", ("佛耳湖",)))
        for q in forms),
    # A place and a product, written together or apart, full or short.
    J("禹州粉条", county("禹州市") & FENTIAO, FENTIAO, county("禹州市") & cat("starch"), "place+word"),
    J("禹州 粉条", county("禹州市") & FENTIAO, FENTIAO, county("禹州市") & cat("starch"), "place+word"),
    J("禹州市粉条", county("禹州市") & FENTIAO, FENTIAO, county("禹州市") & cat("starch"), "place+word"),
    J("鄢陵蜡梅", county("鄢陵县") & LAMEI, LAMEI, county("鄢陵县") & cat("flower"), "place+word"),
    J("鄢陵县 蜡梅", county("鄢陵县") & LAMEI, LAMEI, county("鄢陵县") & cat("flower"), "place+word"),
    J("长葛蜂蜜", county("长葛市") & HONEY, HONEY, county("长葛市") & cat("bee"), "place+word"),
    J("长葛市 蜂蜜", county("长葛市") & HONEY, HONEY, county("长葛市") & cat("bee"), "place+word"),
    J("襄城 辣椒", county("襄城县") & PEPPER, PEPPER, county("襄城县") & cat("pepper"), "place+word"),
    J("襄城县香菇", county("襄城县") & XIANGGU, XIANGGU, county("襄城县") & cat("fungi"), "place+word"),
    J("建安 腐竹", county("建安区") & FUZHU, FUZHU, county("建安区") & cat("yuba"), "place+word"),
    J("河街腐竹", town("河街乡") & FUZHU, FUZHU, county("建安区") & cat("yuba"), "place+word"),
    J("陶城镇 蜡梅", town("陶城镇") & LAMEI, LAMEI, county("鄢陵县") & cat("flower"), "place+word"),
    J("神垕 粉条", town("神垕镇") & FENTIAO, FENTIAO, county("禹州市") & FENTIAO, "place+word"),
    # Pinyin and initials.
    J("fentiao", FENTIAO, FENPI | FENMIAN, cat("starch"), "pinyin"),
    J("xianggu", XIANGGU, has("香菇"), cat("fungi"), "pinyin"),
    J("fengmi", HONEY, cat("bee"), kind="pinyin"),
    J("fuzhu", FUZHU, cat("yuba"), kind="pinyin"),
    J("lamei", LAMEI, cat("flower"), kind="pinyin"),
    J("hongshu", FRESH_SWEET_POTATO, cat("sweet_potato"), has("红薯"), "pinyin"),
    J("huashengyou", PEANUT_OIL, SESAME_OIL, kind="pinyin"),
    J("yanling", county("鄢陵县"), kind="pinyin"),
    J("yuzhou", county("禹州市"), kind="pinyin"),
    J("jyh", has("金银花"), cat("herb"), kind="pinyin"),
    J("ft", FENTIAO, FENPI | FENMIAN, cat("starch"), "pinyin"),
    # Misspellings and variants.
    J("腊梅", LAMEI & ~has("红梅"), has("红梅"), cat("flower"), "misspelling"),
    J("粉跳", FENTIAO, FENPI | FENMIAN, cat("starch"), "misspelling"),
    J("fentaio", FENTIAO, FENPI | FENMIAN, cat("starch"), "misspelling"),
    J("xiangug", XIANGGU, has("香菇"), cat("fungi"), "misspelling"),
    # Marks and pack sizes with a product.
    J("有机 香菇", mark("organic") & XIANGGU, XIANGGU, mark("organic") & cat("fungi"), "two words"),
    J("绿色 面粉", mark("green_food") & FLOUR, FLOUR, mark("green_food") & cat("flour"), "two words"),
    J("地理标志 腐竹", mark("geo_indication") & FUZHU, FUZHU, cat("yuba"), "two words"),
    J("香菇 10斤装", XIANGGU & has("10斤"), XIANGGU, cat("fungi"), "two words"),
    J("小麦粉 25kg", FLOUR & has("25kg"), FLOUR, cat("flour"), "two words"),
    J("粉条 礼盒装", FENTIAO & has("礼盒"), FENTIAO, cat("starch"), "two words"),
    J("手工 腐竹", has("手工腐竹"), FUZHU, cat("yuba"), "two words"),
]


def listings(session, today) -> list[Listing]:
    """Every product listable today, as the judgements see it."""
    from sqlalchemy import select

    from marketplace.catalog.models import MARKS, Category, Product
    from marketplace.catalog.readmodel import CatalogueEntry
    from marketplace.organisations.models import Organisation
    from marketplace.places.models import County, Township

    towns = {t.id: t.name for t in session.scalars(select(Township))}
    by_county: dict[int, list[str]] = {}
    for t in session.scalars(select(Township)):
        by_county.setdefault(t.county_id, []).append(t.name)
    rows = session.execute(
        select(Product.id, Product.name, Category.code, County.name, County.id,
               Organisation.township_id, Product.origin,
               *(getattr(Product, m) for m in MARKS))
        .join(CatalogueEntry, CatalogueEntry.product_id == Product.id)
        .join(Category, Category.id == Product.category_id)
        .join(Organisation, Organisation.id == Product.organisation_id)
        .join(County, County.id == Organisation.county_id)
        .where(CatalogueEntry.valid_from <= today, CatalogueEntry.valid_until >= today))
    out = []
    for pid, name, code, county_name, county_id, town_id, origin, *flags in rows:
        townships = {towns.get(town_id, "")} | {t for t in by_county.get(county_id, [])
                                                if t in (origin or "")}
        out.append(Listing(pid, name, code, county_name, tuple(sorted(townships)),
                           tuple(m for m, f in zip(MARKS, flags, strict=True) if f)))
    return out


def dcg(grades) -> float:
    return sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(grades))


@dataclass
class Score:
    query: str
    kind: str
    ndcg: float
    rr: float
    top: list  # (grade, name) of the first ten


def evaluate(judged: list[Judged], catalogue: list[Listing], ranked_ids) -> list[Score]:
    """`ranked_ids(query)` -> the product ids the search shows first (at least ten)."""
    by_id = {x.id: x for x in catalogue}
    scores = []
    for j in judged:
        grades = sorted((j.grade(x) for x in catalogue), reverse=True)[:10]
        ideal = dcg(grades)
        top = [by_id[i] for i in ranked_ids(j.query)[:10] if i in by_id]
        got = [j.grade(x) for x in top]
        ndcg = dcg(got) / ideal if ideal else 1.0
        rr = next((1 / (k + 1) for k, g in enumerate(got) if g == 3), 0.0)
        scores.append(Score(j.query, j.kind, ndcg, rr, [(g, x.name) for g, x in zip(
            got, top, strict=True)]))
    return scores


def summary(scores: list[Score]) -> dict:
    kinds = sorted({s.kind for s in scores})
    out = {"queries": len(scores),
           "ndcg10": round(sum(s.ndcg for s in scores) / len(scores), 3),
           "mrr": round(sum(s.rr for s in scores) / len(scores), 3)}
    out["by_kind"] = {k: round(sum(s.ndcg for s in scores if s.kind == k)
                               / sum(1 for s in scores if s.kind == k), 3) for k in kinds}
    return out
