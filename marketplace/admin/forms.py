from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from marketplace.accounts.forms import PASSWORD_HINT
from marketplace.accounts.models import Role
from marketplace.accounts.passwords import MAX_LENGTH
from marketplace.forms import choices, optional_int
from marketplace.places.queries import all_counties


class UserForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(), Length(min=3, max=40)])
    display_name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=80)])
    email = StringField(_l("电子邮箱（选填，用于接收通知邮件）"),
                        validators=[Optional(), Length(max=200)])
    password = PasswordField(_l("初始密码"), validators=[DataRequired(), Length(max=MAX_LENGTH)],
                             description=PASSWORD_HINT)
    role = SelectField(_l("角色"))
    county_id = SelectField(_l("所属县区（县级审核人员）"), coerce=optional_int,
                            validate_choice=False)
    submit = SubmitField(_l("创建账号"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = choices([
            (r.value, r.label) for r in (Role.COUNTY_OFFICER, Role.ADMIN, Role.PRODUCER)
        ])
        self.county_id.choices = choices([("", "—")] + [(c.id, c.name) for c in all_counties()])
