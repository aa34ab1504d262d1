from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from marketplace.forms import choices, optional_int
from marketplace.reports.models import TokenScope

SCOPE_LABELS = {TokenScope.CITY: _l("全市"), TokenScope.COUNTY: _l("一个县区"),
                TokenScope.ORGANISATION: _l("一个单位（经营主体或采购单位）")}


class TokenForm(FlaskForm):
    name = StringField(_l("用途"), validators=[DataRequired(), Length(max=80)],
                       description=_l("例如：省消费帮扶监测系统对接"))
    scope = SelectField(_l("可读范围"), choices=choices(SCOPE_LABELS.items()))
    county_id = SelectField(_l("县区"), coerce=optional_int, validate_choice=False)
    organisation_id = IntegerField(_l("单位编号"), validators=[Optional()],
                                   description=_l("范围为单位时填写，见经营主体或采购单位页面地址中的编号"))
    submit = SubmitField(_l("签发令牌"))


class ReferencePriceForm(FlaskForm):
    category_id = SelectField(_l("品类"), coerce=optional_int, validate_choice=False)
    unit = SelectField(_l("计量单位"), validate_choice=False)
    price_yuan = StringField(_l("参考价（元）"), validators=[DataRequired(), Length(max=32)])
    note = StringField(_l("来源说明"), validators=[Length(max=120)],
                       description=_l("例如：许昌市场 2026 年 11 月均价"))
    submit = SubmitField(_l("保存参考价"))
