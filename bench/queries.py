"""The fixed query set of bench/search.py: what canteen cooks and buyers type."""

# (query text, filters) — filters use the names of search_products' keyword arguments
WORDS = ["粉条", "蜂蜜", "腐竹", "香菇", "蜡梅", "金银花", "禹白芷", "花生油", "土鸡蛋", "挂面",
         "辣椒", "红薯", "山药", "黄瓜", "西红柿", "面粉", "黑猪肉", "木耳", "枣花蜜", "粉皮",
         "蜂胶", "月季", "大白菜", "黄豆"]
PLACES = ["禹州", "鄢陵", "长葛", "襄城", "建安", "魏都", "方山", "河街", "陶城镇", "神垕"]
PINYIN = ["fentiao", "ft", "yanling", "fengmi", "fuzhu", "lamei", "xianggu", "yuzhou", "jyh",
          "hongshu"]
TWO_WORDS = ["禹州 粉条", "鄢陵 蜡梅", "长葛 蜂蜜", "襄城 辣椒", "建安 腐竹", "许昌 腐竹",
             "有机 香菇", "绿色 面粉"]
FACETED = [
    ("粉条", {"county": "禹州市"}),
    ("蜂蜜", {"sort": "price"}),
    ("", {"county": "鄢陵县", "category": "花木"}),
    ("香菇", {"mark": ["green_food"]}),
    ("", {"price": "10-30"}),
    ("腐竹", {"price": "10-30", "sort": "-price"}),
    ("辣椒", {"county": "襄城县", "mark": ["green_food"]}),
    ("", {"category": "三粉制品", "sort": "price"}),
]

QUERIES = ([(q, {}) for q in WORDS + PLACES + PINYIN + TWO_WORDS] + FACETED)
