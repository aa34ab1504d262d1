"""What picture a product shows: its producer's photo, else an illustration of its product line.

Demo products (and any producer who has not uploaded a photo yet) would otherwise all show the
same grey box. Illustrations come from OpenMoji (CC BY-SA 4.0, vendored unchanged from the npm
package into static/img/lines/, see NOTICE.txt there) and are chosen by the product line named
in the product's name, else by its category. An uploaded photo always takes precedence. The
alt text of an illustration says it is one ("蜂蜜（示意图）"), never passes it off as the
product itself.
"""

from dataclasses import dataclass

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from marketplace.extensions import static_digest

#: Where the vendored illustrations live, under static/.
FOLDER = "img/lines"


@dataclass(frozen=True)
class Line:
    """A product line: the word that names it in a product's name, and its illustration."""

    keyword: str
    label: object  # lazy string
    image: str  # OpenMoji hexcode, the file name under static/img/lines/


# First match wins, so the more specific word comes first: "林下土鸡蛋" is eggs, not a chicken;
# "红薯粉条" is vermicelli, not a sweet potato; "花生油" is oil, not peanuts.
LINES: tuple[Line, ...] = (
    Line("粉条", _l("粉条"), "1F35C"),
    Line("粉皮", _l("粉皮"), "1FAD3"),
    Line("挂面", _l("挂面"), "1F35D"),
    Line("面粉", _l("面粉"), "1F33E"),
    Line("小麦粉", _l("面粉"), "1F33E"),
    Line("馒头", _l("馒头"), "E0CA"),
    Line("鸭蛋", _l("鸭蛋"), "1FABA"),
    Line("鸡蛋", _l("鸡蛋"), "1F95A"),
    Line("土鸡", _l("土鸡"), "1F414"),
    Line("猪", _l("猪肉"), "1F969"),
    Line("白菜", _l("白菜"), "1F96C"),
    Line("西红柿", _l("西红柿"), "1F345"),
    Line("番茄", _l("西红柿"), "1F345"),
    Line("黄瓜", _l("黄瓜"), "1F952"),
    Line("山药", _l("山药"), "1FADC"),
    Line("大葱", _l("大葱"), "1F9C5"),
    Line("香菇", _l("香菇"), "1F344-200D-1F7EB"),
    Line("平菇", _l("平菇"), "E0C9"),
    Line("木耳", _l("木耳"), "E0C8"),
    Line("金银花", _l("金银花"), "1F33C"),
    Line("菊花", _l("菊花茶"), "1F375"),
    Line("丹参", _l("丹参"), "1FADA"),
    Line("白芷", _l("白芷"), "1F33F"),
    Line("马铃薯", _l("土豆"), "1F954"),
    Line("土豆", _l("土豆"), "1F954"),
    Line("薯", _l("红薯"), "1F360"),  # before 蜜: "蜜薯" is a sweet potato
    Line("蜂胶", _l("蜂胶"), "1F41D"),
    Line("蜂蜡", _l("蜂蜡"), "1F56F"),
    Line("蜜", _l("蜂蜜"), "1F36F"),
    Line("盆景", _l("盆景"), "1FAB4"),
    Line("蜡梅", _l("蜡梅"), "1F338"),
    Line("月季", _l("月季"), "1F339"),
    Line("桂花", _l("桂花"), "1F333"),
    Line("腐竹", _l("腐竹"), "1FAD8"),
    Line("豆腐", _l("豆制品"), "1FAD8"),
    Line("黄豆", _l("黄豆"), "1FAD8"),
    Line("油", _l("食用油"), "1FAD9-200D-1F7E8"),
    Line("花生", _l("花生"), "1F95C"),
    Line("辣椒酱", _l("辣椒酱"), "1FAD9-200D-1F7E5"),
    Line("尖椒", _l("鲜辣椒"), "1FAD1"),
    Line("辣椒", _l("辣椒"), "1F336"),
)

#: Category code -> illustration, for a product whose name names no known line.
CATEGORY_IMAGES = {
    "flour": "1F33E", "meat": "1F969", "vegetable": "1F96C", "fungi": "1F344-200D-1F7EB",
    "herb": "1F33F", "bee": "1F36F", "flower": "1F33B", "starch": "1F35C", "yuba": "1FAD8",
    "grain_oil": "1F95C", "pepper": "1F336", "sweet_potato": "1F360",
}

#: Every illustration file the site uses (a test checks each is vendored).
IMAGES = frozenset({line.image for line in LINES} | set(CATEGORY_IMAGES.values()))


@dataclass(frozen=True)
class Picture:
    url: str
    alt: str
    is_photo: bool


def line_of(name: str) -> Line | None:
    """The product line a product's name belongs to, if it names a known one."""
    for line in LINES:
        if line.keyword in name:
            return line
    return None


def illustration_path(image: str) -> str:
    return f"{FOLDER}/{image}.svg"


def picture_for(product) -> Picture | None:
    """The picture a product shows: its first photo, else its line's or category's illustration."""
    if product.photos:
        return Picture(url_for("catalog.photo", name=product.photos[0].stored_name),
                       product.name, True)
    line = line_of(product.name)
    if line is not None:
        image, label = line.image, str(line.label)
    else:
        category = product.category
        image = CATEGORY_IMAGES.get(getattr(category, "code", None))
        label = getattr(category, "name", "")
        if image is None:
            return None
    # Under its content-hashed name once `flask digest compile` has run (a year's cache).
    return Picture(static_digest.static_url_for("static", filename=illustration_path(image)),
                   _("%(line)s（示意图）", line=label), False)
