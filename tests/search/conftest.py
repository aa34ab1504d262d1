"""A small, labelled Xuchang catalogue for search tests."""

import pytest

from marketplace.extensions import db
from marketplace.places.models import Township
from tests import factories

# (county attr, producer name, township, [(product name, category attr, price fen, marks)])
CATALOGUE = [
    ("yuzhou", "禹州市方山红薯专业合作社", "方山镇", [
        ("禹州粉条", "starch", 2800, ()), ("红薯粉条", "starch", 1200, ("green_food",)),
        ("红薯粉皮", "starch", 2200, ()), ("禹白芷", "herb", 4200, ("geo_indication",)),
        ("金银花", "herb", 6800, ("organic",)),
    ]),
    ("yuzhou", "禹州鸿畅菌业家庭农场", "鸿畅镇", [
        ("鲜香菇", "fungi", 900, ()), ("干香菇", "fungi", 4800, ("green_food",)),
    ]),
    ("yanling", "鄢陵陶城花木专业合作社", "陶城镇", [
        ("鄢陵蜡梅", "flower", 16800, ("geo_indication",)), ("蜡梅盆景", "flower", 38800, ()),
        ("月季苗", "flower", 1500, ()),
    ]),
    ("changge", "长葛佛耳湖蜂业合作社", "佛耳湖镇", [
        ("枣花蜜", "bee", 6800, ("green_food",)), ("槐花蜂蜜", "bee", 5800, ()),
        ("蜂胶", "bee", 12800, ()), ("长葛蜂蜡", "bee", 9800, ()),
    ]),
    ("jianan", "许昌河街腐竹有限公司", "河街乡", [
        ("许昌腐竹", "yuba", 2600, ("geo_indication",)), ("豆腐皮", "yuba", 1200, ()),
    ]),
]

RELEVANCE = {  # query -> products that must be in the top five
    "粉条": ["禹州粉条", "红薯粉条"],
    "蜂蜜": ["枣花蜜", "槐花蜂蜜"],
    "蜡梅": ["鄢陵蜡梅", "蜡梅盆景"],
    "腐竹": ["许昌腐竹"],
    "中药材": ["禹白芷", "金银花"],
    "香菇": ["鲜香菇", "干香菇"],
    "鄢陵": ["鄢陵蜡梅", "蜡梅盆景", "月季苗"],
    "陶城镇": ["鄢陵蜡梅"],
    "河街": ["许昌腐竹", "豆腐皮"],
    "方山红薯专业合作社": ["禹州粉条", "红薯粉条"],
    "佛耳湖蜂业": ["枣花蜜", "蜂胶"],
    "fentiao": ["禹州粉条", "红薯粉条"],
    "ft": ["禹州粉条", "红薯粉条"],
    "yanling": ["鄢陵蜡梅"],
    "fengmi": ["槐花蜂蜜", "枣花蜜"],
    "禹州 粉条": ["禹州粉条"],
    "长葛 蜂蜡": ["长葛蜂蜡"],
    "禹州粉条": ["禹州粉条"],
}


@pytest.fixture
def catalogue(app, places):
    """Certified products across four counties; returns {name: product}."""
    changge = factories.County(code="411082", name="长葛市", kind="city", position=3)
    jianan = factories.County(code="411003", name="建安区", kind="district", position=4)
    db.session.add_all([changge, jianan])
    categories = {"starch": places.starch, "bee": places.bee}
    for code, name in (("herb", "中药材"), ("fungi", "食用菌"), ("flower", "花木"),
                       ("yuba", "腐竹豆制品")):
        categories[code] = factories.Category(code=code, name=name, position=9)
        db.session.add(categories[code])
    db.session.commit()
    counties = {"yuzhou": places.yuzhou, "yanling": places.yanling, "changge": changge,
                "jianan": jianan}
    products = {}
    for county_key, producer, township_name, items in CATALOGUE:
        county = counties[county_key]
        township = db.session.scalar(db.select(Township).where(
            Township.county_id == county.id, Township.name == township_name))
        if township is None:
            township = Township(county=county, name=township_name)
            db.session.add(township)
            db.session.commit()
        org = factories.make_producer(county, name=producer)
        org.township_id = township.id
        db.session.commit()
        for name, category, price, marks in items:
            product = factories.make_certified_product(org, categories[category], name=name)
            product.price_fen = price  # certified at this price, as a real listing would be
            product.certificates[0].certified_price_fen = price
            for mark in marks:
                setattr(product, mark, True)
            db.session.commit()
            products[name] = product
    return products
