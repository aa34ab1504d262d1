from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(), Length(max=40)])
    password = PasswordField(_l("密码"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("登录"))


class RegisterForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(), Length(min=3, max=40)])
    display_name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("密码"), validators=[DataRequired(), Length(min=8, max=200)])
    confirm = PasswordField(
        _l("确认密码"), validators=[DataRequired(), EqualTo("password", _l("两次密码不一致。"))]
    )
    submit = SubmitField(_l("注册"))
