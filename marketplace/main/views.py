from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from marketplace.catalog import fragments
from marketplace.main import services
from marketplace.safe_redirect import same_site_path

bp = Blueprint("main", __name__)


@bp.get("/")
def home():
    listing = fragments.cached("home", (), lambda version: render_template(
        "main/_listing.html", **services.home_listing(version)))
    return render_template("main/home.html", listing=listing, **services.producer_figures())


@bp.get("/lang/<code>")
def set_language(code: str):
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    session["lang"] = code
    return redirect(same_site_path(request.referrer) or url_for("main.home"))


@bp.get("/healthz")
def health():
    return {"ok": services.database_ok()}
