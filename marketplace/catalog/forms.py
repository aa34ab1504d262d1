from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from marketplace.catalog.models import MARKS, UNITS
from marketplace.forms import choices, optional_int


class ProductForm(FlaskForm):
    name = StringField(_l("产品名称"), validators=[DataRequired(), Length(max=80)])
    category_id = SelectField(_l("品类"), coerce=optional_int, validate_choice=False)
    specification = StringField(_l("规格"), validators=[Length(max=120)],
                                description=_l("例如：500克/袋，一级"))
    origin = StringField(_l("产地"), validators=[Length(max=120)],
                         description=_l("例如：禹州市方山镇"))
    unit = SelectField(_l("计量单位"), choices=choices((u, u) for u in UNITS))
    # Money and quantities are taken as text and parsed exactly (Decimal) by the service.
    price_yuan = StringField(_l("单价（元）"), validators=[DataRequired(), Length(max=32)],
                             description=_l("例如 12.50 或 1,234.50；全角数字会自动转换"))
    min_order_qty = StringField(_l("起订量"), validators=[DataRequired(), Length(max=20)],
                                default="1")
    qty_step = StringField(_l("数量步长"), validators=[Length(max=20)], default="1",
                           description=_l("订购数量须为它的整数倍，例如 0.5 斤"))
    stock = StringField(_l("初始库存"), validators=[Length(max=20)], default="0")
    annual_supply_capacity = StringField(_l("年供应能力"), validators=[Length(max=60)],
                                         description=_l("例如：50 吨"))
    description = TextAreaField(_l("产品介绍"), validators=[Length(max=4000)])
    submit = SubmitField(_l("保存"))

    def __init__(self, *args, categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.category_id.choices = choices([("", _l("请选择"))] + [(c.id, c.name) for c in categories])


class PhotoForm(FlaskForm):
    photo = FileField(_l("产品照片"), validators=[FileRequired(_l("请选择图片。"))])
    submit = SubmitField(_l("上传"))


class MarkClaimForm(FlaskForm):
    """Claim a quality mark with its evidence (reviewed by the county, then the city)."""

    mark = SelectField(_l("标识"), choices=choices((k, v) for k, v in MARKS.items()))
    evidence_number = StringField(_l("标识证书编号"), validators=[DataRequired(), Length(max=60)])
    evidence_valid_until = DateField(_l("证书有效期至"), validators=[Optional()])
    document = FileField(_l("证书扫描件或照片"), validators=[FileRequired(_l("请上传证明文件。"))])
    submit = SubmitField(_l("提交标识申请"))


class StockAdjustmentForm(FlaskForm):
    reason = SelectField(_l("调整原因"))
    quantity = StringField(_l("数量"), validators=[DataRequired(), Length(max=20)],
                           description=_l("盘点填实际库存；损耗、入库填变动数量"))
    note = StringField(_l("说明"), validators=[Length(max=200)])
    submit = SubmitField(_l("调整库存"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from marketplace.catalog.models import MANUAL_STOCK_REASONS

        self.reason.choices = choices((r.value, r.label) for r in MANUAL_STOCK_REASONS)
