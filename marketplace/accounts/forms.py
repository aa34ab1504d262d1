from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from marketplace.accounts.passwords import MAX_LENGTH, MIN_LENGTH

# The hint sits inside the field's label: it avoids the words 用户名 and 密码 so that other
# fields stay findable by their label.
PASSWORD_HINT = _l("至少 %(n)s 位；不要用 123456、woaini1314 这类常见组合，也不要包含登录名。"
                   "几个词组成的短句好记又难猜。", n=MIN_LENGTH)


def new_password_fields(label=_l("新密码")):
    """The new password and its confirmation; the service judges the password itself."""
    return (
        PasswordField(label, validators=[DataRequired(), Length(max=MAX_LENGTH)],
                      description=PASSWORD_HINT),
        PasswordField(_l("确认密码"),
                      validators=[DataRequired(), EqualTo("password", _l("两次密码不一致。"))]),
    )


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(), Length(max=40)])
    password = PasswordField(_l("密码"), validators=[DataRequired(), Length(max=MAX_LENGTH)])
    remember = BooleanField(_l("在这台设备上保持登录"))
    submit = SubmitField(_l("登录"))


class RegisterForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(), Length(min=3, max=40)])
    display_name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=80)])
    password, confirm = new_password_fields(_l("密码"))
    submit = SubmitField(_l("注册"))


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("当前密码"),
                                     validators=[DataRequired(), Length(max=MAX_LENGTH)])
    password, confirm = new_password_fields()
    submit = SubmitField(_l("修改密码"))


class ResetPasswordForm(FlaskForm):
    password, confirm = new_password_fields()
    submit = SubmitField(_l("设置新密码"))
