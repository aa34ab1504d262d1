from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_login import login_required

from marketplace import uploads
from marketplace.catalog import fragments, services, stock
from marketplace.catalog.forms import MarkClaimForm, PhotoForm, ProductForm, StockAdjustmentForm
from marketplace.catalog.queries import category_facets, county_facets
from marketplace.certification.marks import approved_claims, mark_claims_of_product
from marketplace.certification.services import pending_application
from marketplace.clock import today
from marketplace.errors import Invalid
from marketplace.forms import ConfirmForm, show_errors
from marketplace.money import fen_to_yuan, format_quantity
from marketplace.orders.forms import AddToCartForm
from marketplace.organisations.services import own_organisation
from marketplace.params import int_arg, page_arg
from marketplace.permissions import authorize
from marketplace.views_common import actor

bp = Blueprint("catalog", __name__)


@bp.get("/products")
def catalogue():
    county_id, category_id, number = int_arg("county"), int_arg("category"), page_arg()
    per_page = current_app.config["CATALOGUE_PAGE_SIZE"]

    def render(version: int) -> str:
        page = services.browse_catalogue(county_id=county_id, category_id=category_id,
                                         page=number, per_page=per_page, version=version)
        return render_template(
            "catalog/_listing.html", page=page, county_id=county_id, category_id=category_id,
            counties=county_facets(page.grid), categories=category_facets(page.grid))

    listing = fragments.cached("catalogue", (county_id, category_id, number, per_page), render)
    return render_template("catalog/catalogue.html", listing=listing)


@bp.get("/products/<int:product_id>")
def product_page(product_id: int):
    product = services.get_product_for_viewer(actor(), product_id)
    return render_template("catalog/product.html", product=product,
                           certificate=product.live_certificate(today()),
                           on_sale=product.is_on_sale(today()),
                           mark_claims=approved_claims(product), cart_form=AddToCartForm())


@bp.get("/media/photos/<name>")
def photo(name: str):
    if not services.can_see_photo(actor(), name):
        abort(404)
    response = send_from_directory(uploads.upload_dir("photos"), name)
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.get("/my/products")
@login_required
def my_products():
    org = own_organisation(actor())
    products = services.organisation_products(actor(), org)
    return render_template("catalog/my_products.html", org=org, products=products,
                           confirm=ConfirmForm(), pending=pending_application)


@bp.route("/my/products/new", methods=["GET", "POST"])
@login_required
def new_product():
    org = own_organisation(actor())
    authorize("product.create", actor(), org)
    form = ProductForm(categories=services.categories())
    if form.validate_on_submit():
        try:
            product = services.create_product(actor(), org, form.data)
        except Invalid as exc:
            show_errors(form, exc)
        else:
            flash(_("产品已创建。可以上传照片并申请认定。"), "success")
            return redirect(url_for("catalog.edit_product", product_id=product.id))
    return render_template("catalog/product_form.html", form=form, product=None)


def _product_form(product) -> ProductForm:
    """The edit form as the listing stands (on GET, or beside another form's errors)."""
    form = ProductForm(obj=product, categories=services.categories(), formdata=None)
    form.category_id.data = product.category_id
    form.price_yuan.data = str(fen_to_yuan(product.price_fen))
    form.min_order_qty.data = format_quantity(product.min_order_qty)
    form.qty_step.data = format_quantity(product.qty_step)
    return form


def _render_edit(product, form, stock_form=None):
    return render_template("catalog/product_form.html", form=form, product=product,
                           photo_form=PhotoForm(), confirm=ConfirmForm(),
                           pending=pending_application(product),
                           ceiling=services.price_ceiling(product),
                           marks=mark_claims_of_product(product), mark_form=MarkClaimForm(),
                           stock_form=stock_form or StockAdjustmentForm(formdata=None),
                           movements=stock.movements(product))


@bp.route("/my/products/<int:product_id>/edit", methods=["GET", "POST"])
@login_required
def edit_product(product_id: int):
    product = services.get_editable_product(actor(), product_id)
    if request.method == "GET":
        return _render_edit(product, _product_form(product))
    form = ProductForm(categories=services.categories())
    if form.validate_on_submit():
        try:
            changed = services.update_product(actor(), product, form.data)
        except Invalid as exc:
            show_errors(form, exc)
        else:
            flash(_("已保存。") if changed else _("没有修改。"), "success")
            return redirect(url_for("catalog.edit_product", product_id=product.id))
    return _render_edit(product, form)


def _listing_action(product_id: int, service, done: str):
    product = services.get_editable_product(actor(), product_id)
    if ConfirmForm().validate_on_submit():
        service(actor(), product)
        flash(done, "success")
    return redirect(url_for("catalog.my_products"))


@bp.post("/my/products/<int:product_id>/archive")
@login_required
def archive(product_id: int):
    return _listing_action(product_id, services.archive_product, _("产品已归档，不再展示。"))


@bp.post("/my/products/<int:product_id>/restore")
@login_required
def restore(product_id: int):
    return _listing_action(product_id, services.restore_product, _("产品已恢复。"))


@bp.post("/my/products/<int:product_id>/photos")
@login_required
def upload_photo(product_id: int):
    product = services.get_editable_product(actor(), product_id)
    form = PhotoForm()
    if form.validate_on_submit():
        try:
            services.add_photo(actor(), product, form.photo.data)
        except Invalid as exc:
            show_errors(form, exc)
        else:
            flash(_("照片已上传。"), "success")
    else:
        for message in form.photo.errors:
            flash(message, "error")
    return redirect(url_for("catalog.edit_product", product_id=product.id))


@bp.post("/my/photos/<int:photo_id>/delete")
@login_required
def delete_photo(photo_id: int):
    photo = services.get_photo(actor(), photo_id)
    product_id = photo.product_id
    if ConfirmForm().validate_on_submit():
        services.remove_photo(actor(), photo)
        flash(_("照片已删除。"), "success")
    return redirect(url_for("catalog.edit_product", product_id=product_id))


@bp.post("/my/products/<int:product_id>/stock")
@login_required
def adjust_stock(product_id: int):
    product = services.get_editable_product(actor(), product_id)
    form = StockAdjustmentForm()
    if form.validate_on_submit():
        try:
            balance = stock.adjust_stock(actor(), product, form.reason.data, form.quantity.data,
                                         form.note.data)
        except Invalid as exc:
            show_errors(form, exc)
        else:
            flash(_("库存已调整为 %(q)s。", q=format_quantity(balance)), "success")
            return redirect(url_for("catalog.edit_product", product_id=product.id) + "#stock")
    return _render_edit(product, _product_form(product), stock_form=form), 400
