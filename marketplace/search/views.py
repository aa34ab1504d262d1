from flask import Blueprint, current_app, jsonify, render_template, request, url_for

from marketplace.catalog.models import MARKS
from marketplace.params import choice_arg, choices_arg, int_arg, page_arg, text_arg
from marketplace.search import services
from marketplace.search.documents import PRICE_BUCKETS
from marketplace.search.highlight import highlight

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
    return url_for("search.results", **args)  # type: ignore[arg-type]  # lists are query values


@bp.get("/search")
def results():
    raw = request.args.get("q", "")
    page = services.search_products(
        text_arg("q", services.MAX_QUERY),
        county_id=int_arg("county"),
        category_id=int_arg("category"),
        marks=choices_arg("mark", MARKS),
        price=choice_arg("price", {key for key, _low, _high in PRICE_BUCKETS}),
        sort=choice_arg("sort", services.SORTS, default="relevance"),
        page=page_arg(),
        per_page=current_app.config["SEARCH_PAGE_SIZE"],
    )
    return render_template("search/results.html", result=page,
                           truncated=len(raw.strip()) > services.MAX_QUERY,
                           max_query=services.MAX_QUERY)


@bp.get("/search/suggest")
def suggest():
    """Suggestions as you type: {"q": …, "suggestions": [names]}."""
    prefix = text_arg("q", services.MAX_QUERY)
    response = jsonify(q=prefix, suggestions=services.suggestions(prefix))
    response.headers["Cache-Control"] = "public, max-age=60"
    return response
