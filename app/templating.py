"""Jinja filters shared by the admin pages."""


def format_datetime(value):
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


def init_templating(app):
    app.add_template_filter(format_datetime, "datetime")
