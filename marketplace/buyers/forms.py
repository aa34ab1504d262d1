from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from marketplace.forms import choices, optional_int
from marketplace.organisations.models import BUYER_TYPES
from marketplace.places.queries import all_counties


class SettingsFields:
    invoice_title = StringField(_l("发票抬头"), validators=[DataRequired(), Length(max=120)])
    tax_number = StringField(_l("纳税人识别号"), validators=[DataRequired(), Length(max=20)])
    approval_threshold_yuan = StringField(
        _l("审批金额（元）"), validators=[Length(max=32)],
        description=_l("单笔采购单超过此金额需审批人批准；留空表示不需要审批"))
    annual_food_budget_yuan = StringField(_l("年度食堂食材采购预算（元）"),
                                          validators=[Length(max=32)])
    reserved_share_percent = StringField(_l("预留份额比例（%）"), validators=[Length(max=8)],
                                         default="10",
                                         description=_l("预留给脱贫地区农副产品的比例，不低于 10%"))


class AddressFields:
    address_label = StringField(_l("地址名称"), validators=[Length(max=40)],
                                description=_l("例如：食堂后门"))
    delivery_address = StringField(_l("收货地址"), validators=[DataRequired(), Length(max=200)])
    delivery_contact = StringField(_l("收货人"), validators=[DataRequired(), Length(max=40)])
    delivery_phone = StringField(_l("收货电话"), validators=[DataRequired(), Length(max=20)])


class BuyerRegistrationForm(SettingsFields, AddressFields, FlaskForm):
    org_type = SelectField(_l("单位类型"))
    name = StringField(_l("单位名称"), validators=[DataRequired(), Length(max=120)])
    credit_code = StringField(_l("统一社会信用代码"), validators=[DataRequired(), Length(max=30)])
    legal_representative = StringField(_l("法定代表人 / 负责人"),
                                       validators=[DataRequired(), Length(max=40)])
    county_id = SelectField(_l("所在县区"), coerce=optional_int, validate_choice=False)
    address = StringField(_l("单位地址"), validators=[DataRequired(), Length(max=200)])
    contact_name = StringField(_l("联系人"), validators=[DataRequired(), Length(max=40)])
    contact_phone = StringField(_l("联系电话"), validators=[DataRequired(), Length(max=20)])
    username = StringField(_l("管理员用户名"), validators=[DataRequired(), Length(min=3, max=40)])
    display_name = StringField(_l("管理员姓名"), validators=[DataRequired(), Length(max=80)])
    email = StringField(_l("电子邮箱（选填，用于接收通知邮件）"),
                        validators=[Optional(), Length(max=200)])
    password = PasswordField(_l("密码"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(_l("确认密码"),
                            validators=[DataRequired(), EqualTo("password", _l("两次密码不一致。"))])
    submit = SubmitField(_l("提交注册"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.org_type.choices = choices([(t.value, t.label) for t in BUYER_TYPES])
        self.county_id.choices = choices([("", _l("请选择"))] +
                                         [(c.id, c.name) for c in all_counties()])


class SettingsForm(SettingsFields, FlaskForm):
    submit = SubmitField(_l("保存设置"))


class AddressForm(AddressFields, FlaskForm):
    submit = SubmitField(_l("添加地址"))


class MemberForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(), Length(min=3, max=40)])
    display_name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=80)])
    email = StringField(_l("电子邮箱（选填，用于接收通知邮件）"),
                        validators=[Optional(), Length(max=200)])
    password = PasswordField(_l("初始密码"), validators=[DataRequired(), Length(max=200)])
    role = SelectField(_l("角色"))
    submit = SubmitField(_l("添加成员"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from marketplace.accounts.models import Role

        self.role.choices = choices([(r.value, r.label) for r in (Role.BUYER, Role.BUYER_APPROVER)])
