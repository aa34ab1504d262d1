from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from marketplace.forms import optional_int


class InvoiceForm(FlaskForm):
    number = StringField(_l("发票号码"), validators=[InputRequired(), Length(max=40)])
    issued_on = DateField(_l("开票日期"), validators=[InputRequired()])
    file = FileField(_l("发票文件（PDF 或图片，可不传）"))
    submit = SubmitField(_l("保存发票"))


class TransferForm(FlaskForm):
    value_date = DateField(_l("到账日期"), validators=[InputRequired()])
    amount = StringField(_l("金额（元）"), validators=[InputRequired(), Length(max=32)])
    payer_org_id = SelectField(_l("付款单位"), coerce=optional_int, validate_choice=False)
    payer_name = StringField(_l("付款人户名"), validators=[Optional(), Length(max=120)])
    reference = StringField(_l("付款参考号 / 附言"), validators=[Optional(), Length(max=200)],
                            description=_l("没有参考号也可记录，款项进入待认领，由人工认领。"))
    bank_reference = StringField(_l("银行流水号"), validators=[Optional(), Length(max=64)])
    idempotency_key = HiddenField()
    submit = SubmitField(_l("记录转账"))


class StatementForm(FlaskForm):
    file = FileField(_l("银行流水文件（CSV 或 .xlsx）"))
    submit = SubmitField(_l("导入"))


class PayoutForm(FlaskForm):
    producer_org_id = SelectField(_l("供应商"), coerce=optional_int, validate_choice=False)
    amount = StringField(_l("金额（元）"), validators=[InputRequired(), Length(max=32)])
    paid_on = DateField(_l("付款日期"), validators=[InputRequired()])
    bank_reference = StringField(_l("银行流水号"), validators=[Optional(), Length(max=64)])
    note = StringField(_l("备注"), validators=[Optional(), Length(max=300)])
    idempotency_key = HiddenField()
    submit = SubmitField(_l("记录结算付款"))


class IssueForm(FlaskForm):
    action = HiddenField()
    target = StringField(_l("订单号或付款参考号"), validators=[Optional(), Length(max=60)])
    note = TextAreaField(_l("说明"), validators=[Optional(), Length(max=300)])
