"""The password rules, where they live and through registration."""

import pytest

from marketplace.accounts import services
from marketplace.accounts.passwords import MIN_LENGTH, is_common, password_problems
from marketplace.errors import Invalid

COMMON = [
    "123456789012", "1234567890", "password123", "qwertyuiop", "iloveyou1314", "5201314520",
    "woaini1314", "Woaini520!!", "qwerty2024!", "1qaz2wsx3edc", "abc123456789", "88888888aa",
    "aaaaaaaaaa", "abcabcabcabc", "19900101ab", "我爱你我爱你1314", "asdfghjkl;'",
]
GOOD = [
    "correct horse battery", "hongshu-fentiao", "fentiao-2026", "zq84729163",
    "许昌鄢陵花木2026", "Mi-Tao-Zao-Hua-Mi",
]


def test_minimum_length_at_its_edge(app):
    assert MIN_LENGTH == 10
    assert password_problems("Zq8#4729k") != []  # 9 characters
    assert password_problems("Zq8#4729kd") == []  # 10 characters


@pytest.mark.parametrize("password", COMMON)
def test_common_passwords_and_chinese_patterns_are_refused(app, password):
    assert is_common(password)
    assert "太常见" in password_problems(password, "someone")[0]


@pytest.mark.parametrize("password", GOOD)
def test_uncommon_passwords_and_phrases_are_accepted(app, password):
    assert password_problems(password, "someone") == []


def test_the_username_may_not_be_in_the_password(app):
    assert "用户名" in password_problems("zhangsan-farm", "zhangsan")[0]
    assert "用户名" in password_problems("Xx-ZhangSan-2031", "zhangsan")[0]
    assert "用户名" in password_problems("nasgnahz-9317", "zhangsan")[0]  # reversed
    assert password_problems("hongshu-fentiao", "zhangsan") == []


def test_registration_explains_a_refused_password(db, places):
    with pytest.raises(Invalid) as exc:
        services.register_producer("zhangsan", "张三", "woaini1314", "1.2.3.4")
    assert "太常见" in exc.value.errors["password"][0]
    with pytest.raises(Invalid) as exc:
        services.register_producer("zhangsan", "张三", "zhangsan-2026", "1.2.3.4")
    assert "用户名" in exc.value.errors["password"][0]


def test_the_admin_form_applies_the_same_rules(db, places, admin):
    with pytest.raises(Invalid) as exc:
        services.create_user(admin, username="officer-x", display_name="x",
                             password="12345678", role="producer")
    assert "password" in exc.value.errors
