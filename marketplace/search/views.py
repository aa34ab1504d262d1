from flask import Blueprint, current_app, jsonify, render_template, request, url_for

from marketplace.search import services
from marketplace.search.highlight import highlight
from marketplace.views_common import id_arg, page_arg

bp = Blueprint("search", __name__)
bp.add_app_template_filter(highlight, "highlight")


@bp.app_template_global()
def search_url(**changes) -> str:
    """The current search with some parameters changed (None removes one); back to page 1."""
    args = request.args.to_dict(flat=False)
    args.pop("page", None)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return url_for("search.results", **args)


@bp.get("/search")
def results():
    page = services.search_products(
        request.args.get("q", ""),
        county_id=id_arg(request, "county"),
        category_id=id_arg(request, "category"),
        marks=request.args.getlist("mark"),
        price=request.args.get("price") or None,
        sort=request.args.get("sort", "relevance"),
        page=page_arg(request),
        per_page=current_app.config["SEARCH_PAGE_SIZE"],
    )
    return render_template("search/results.html", result=page)


@bp.get("/search/suggest")
def suggest():
    """Suggestions as you type: {"q": …, "suggestions": [names]}."""
    prefix = request.args.get("q", "")
    response = jsonify(q=prefix[:100], suggestions=services.suggestions(prefix))
    response.headers["Cache-Control"] = "public, max-age=60"
    return response
