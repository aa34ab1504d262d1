from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from marketplace.forms import choices, optional_int


class AddToCartForm(FlaskForm):
    quantity = StringField(_l("数量"), validators=[DataRequired(), Length(max=20)])
    submit = SubmitField(_l("加入购物车"))


class CartQuantityForm(FlaskForm):
    quantity = StringField(_l("数量"), validators=[DataRequired(), Length(max=20)])
    submit = SubmitField(_l("更新"))


class CheckoutForm(FlaskForm):
    address_id = SelectField(_l("收货地址"), coerce=optional_int, validate_choice=False)
    delivery_date = DateField(_l("要求送达日期"), validators=[DataRequired(_l("请选择送达日期。"))])
    window = SelectField(_l("送达时段"))
    invoice_title = StringField(_l("发票抬头"), validators=[Length(max=120)])
    tax_number = StringField(_l("纳税人识别号"), validators=[Length(max=20)])
    notes = TextAreaField(_l("备注"), validators=[Length(max=1000)])
    idempotency_key = HiddenField()
    submit = SubmitField(_l("提交采购单"))

    def __init__(self, *args, addresses=(), windows=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.address_id.choices = choices([(a.id, str(a)) for a in addresses])
        self.window.choices = choices([("", _l("不限"))] + [(w, w) for w in windows])


class RatingForm(FlaskForm):
    score = SelectField(_l("评分"), choices=choices([(str(n), "★" * n) for n in (5, 4, 3, 2, 1)]))
    comment = TextAreaField(_l("评价"), validators=[Length(max=500)])
    submit = SubmitField(_l("提交评价"))


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("理由"), validators=[Length(max=2000)])
    submit = SubmitField(_l("确认"))


class DateFilterForm(FlaskForm):
    day = DateField(validators=[Optional()])
