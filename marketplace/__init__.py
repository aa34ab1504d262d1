"""许农优品: the consumption-assistance marketplace of Xuchang."""

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from marketplace.config import BASE_DIR, load_config
from marketplace.params import BoundedIntConverter


def create_app(config=None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
        instance_path=str(BASE_DIR / "instance"),
    )
    app.config.from_mapping(load_config(config))
    trust_proxies(app)
    app.url_map.converters["int"] = BoundedIntConverter
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def trust_proxies(app: Flask) -> None:
    """Read the client's address and scheme from the PROXY_COUNT proxies in front.

    Only the last PROXY_COUNT entries of X-Forwarded-For are believed: with 0 (the default)
    a forged header changes nothing, so the login throttle cannot be dodged with it. The host
    is not taken from X-Forwarded-Host (a proxy that does not overwrite it would pass a
    client's value through); the proxy passes the Host header instead.
    """
    count = app.config["PROXY_COUNT"]
    if count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=0,
                                x_prefix=0)


def register_extensions(app: Flask) -> None:
    from marketplace import security, web
    from marketplace.extensions import (
        babel,
        compress,
        db,
        login_manager,
        migrate,
        static_digest,
    )

    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)
    security.init_app(app)
    babel.init_app(app, locale_selector=web.select_locale)
    login_manager.init_app(app)
    compress.init_app(app)
    static_digest.init_app(app)
    web.init_app(app)


def register_blueprints(app: Flask) -> None:
    from marketplace.accounts.views import bp as accounts
    from marketplace.admin.views import bp as admin
    from marketplace.buyers.views import bp as buyers
    from marketplace.catalog.views import bp as catalog
    from marketplace.certification.views import bp as certification
    from marketplace.main.views import bp as main
    from marketplace.notices.views import bp as notices
    from marketplace.orders.views import bp as orders
    from marketplace.organisations.views import bp as organisations
    from marketplace.payments.views import bp as payments
    from marketplace.reports.api import bp as stats_api
    from marketplace.reports.views import bp as reports
    from marketplace.search.views import bp as search

    for blueprint in (main, accounts, catalog, search, organisations, certification, admin,
                      buyers, orders, notices, reports, stats_api, payments):
        app.register_blueprint(blueprint)


def register_errorhandlers(app: Flask) -> None:
    from marketplace import web

    web.register_errorhandlers(app)


def register_commands(app: Flask) -> None:
    from marketplace.catalog.commands import catalogue
    from marketplace.demo.commands import demo
    from marketplace.notices.commands import mail
    from marketplace.reports.commands import reports
    from marketplace.search.commands import search

    app.cli.add_command(catalogue)
    app.cli.add_command(demo)
    app.cli.add_command(mail)
    app.cli.add_command(search)
    app.cli.add_command(reports)
