from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from marketplace.forms import choices, optional_int
from marketplace.organisations.models import PRODUCER_TYPES, BenefitType
from marketplace.places.queries import all_counties


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class OrganisationForm(FlaskForm):
    org_type = SelectField(_l("主体类型"), validators=[DataRequired()])
    name = StringField(_l("主体名称"), validators=[DataRequired(), Length(max=120)])
    credit_code = StringField(
        _l("统一社会信用代码"), validators=[DataRequired(), Length(max=30)],
        description=_l("18 位，营业执照上可见"),
    )
    legal_representative = StringField(_l("法定代表人"), validators=[DataRequired(), Length(max=40)])
    contact_name = StringField(_l("联系人"), validators=[Length(max=40)])
    contact_phone = StringField(_l("联系电话"), validators=[DataRequired(), Length(max=20)])
    county_id = SelectField(_l("县区"), coerce=optional_int, validate_choice=False)
    township_id = SelectField(_l("乡镇"), coerce=optional_int, validate_choice=False)
    village_id = SelectField(_l("村"), coerce=optional_int, validate_choice=False)
    address = StringField(_l("详细地址"), validators=[Length(max=200)])
    benefit_types = MultiCheckboxField(_l("联农带农方式"))
    poor_households = IntegerField(
        _l("带动脱贫户数"), validators=[Optional(), NumberRange(min=0)], default=0
    )
    benefit_description = TextAreaField(_l("联农带农情况说明"), validators=[Length(max=4000)])
    description = TextAreaField(_l("主体简介"), validators=[Length(max=4000)])
    submit = SubmitField(_l("保存"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.org_type.choices = choices([(t.value, t.label) for t in PRODUCER_TYPES])
        self.benefit_types.choices = choices([(b.value, b.label) for b in BenefitType])
        counties = all_counties()
        poor = str(_l("（脱贫村）"))
        self.county_id.choices = choices([("", _l("请选择"))] + [(c.id, c.name) for c in counties])
        self.township_id.choices = choices([("", _l("请选择"))] + [
            (t.id, f"{c.name} · {t.name}") for c in counties for t in c.townships
        ])
        self.village_id.choices = choices([("", _l("（可不选）"))] + [
            (v.id, f"{t.name} · {v.name}{poor if v.formerly_poor else ''}")
            for c in counties for t in c.townships for v in t.villages
        ])
