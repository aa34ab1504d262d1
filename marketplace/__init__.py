"""许农优品: the consumption-assistance marketplace of Xuchang."""

from flask import Flask

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
    app.url_map.converters["int"] = BoundedIntConverter
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    from marketplace import security, web
    from marketplace.extensions import babel, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)
    security.init_app(app)
    babel.init_app(app, locale_selector=web.select_locale)
    login_manager.init_app(app)
    web.init_app(app)


def register_blueprints(app: Flask) -> None:
    from marketplace.accounts.views import bp as accounts
    from marketplace.admin.views import bp as admin
    from marketplace.catalog.views import bp as catalog
    from marketplace.certification.views import bp as certification
    from marketplace.main.views import bp as main
    from marketplace.organisations.views import bp as organisations
    from marketplace.search.views import bp as search

    for blueprint in (main, accounts, catalog, search, organisations, certification, admin):
        app.register_blueprint(blueprint)


def register_errorhandlers(app: Flask) -> None:
    from marketplace import web

    web.register_errorhandlers(app)


def register_commands(app: Flask) -> None:
    from marketplace.demo.commands import demo
    from marketplace.search.commands import search

    app.cli.add_command(demo)
    app.cli.add_command(search)
