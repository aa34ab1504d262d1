from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length


class ApplicationForm(FlaskForm):
    annual_supply_capacity = StringField(
        _l("年供应能力"), validators=[DataRequired(), Length(max=60)],
        description=_l("例如：50 吨"),
    )
    benefit_mechanism = TextAreaField(
        _l("带贫益贫机制"), validators=[DataRequired(), Length(max=4000)],
        description=_l("如何带动脱贫户增收：务工、土地流转、分红、订单收购，涉及户数"),
    )
    test_report = FileField(_l("检测报告（PDF 或图片）"))
    mark_documents = MultipleFileField(_l("绿色食品 / 有机 / 地理标志证明"))
    other_documents = MultipleFileField(_l("其他证明材料"))
    submit = SubmitField(_l("提交申请"))
