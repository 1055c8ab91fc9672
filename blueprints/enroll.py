"""The enrollment landing page at /enroll/<token>: the right store, a QR code, the deep link.

Looking at the page never uses the token up; only the app's POST /api/v1/enrollments does.
The token is in the URL, so it is never logged here, responses are not cached, and no
Referer carries it to the stores.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import segno
from flask import Blueprint, Response, abort, render_template, request
from flask.typing import ResponseReturnValue
from markupsafe import Markup, escape

from services.email.branding import Branding, darker
from services.email.enrollment_links import (
    LinkState,
    Platform,
    deep_link,
    detect_platform,
    inspect_link,
    link_url,
)
from services.email.i18n import format_datetime, negotiate, translate, translator
from services.platform.settings import public_base_url

bp = Blueprint("enroll", __name__)

# Nothing inline, nothing that runs: the QR code is inline SVG markup (not a fetch), and the
# only thing from elsewhere is the integration's logo (an https image; no Referer goes with
# it, so the token stays here).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' https:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
_HEX_COLOR = re.compile(r"[0-9a-f]{6}")


@dataclass(frozen=True)
class Store:
    """One store button."""

    id: str
    url: str
    label: str


@bp.after_request
def _keep_the_token_private(response: Response) -> Response:
    # The token is in the URL: no Referer may carry it to a store or anywhere else, and
    # no shared cache or browser history snapshot may keep the page.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.vary.update(("Accept-Language", "User-Agent"))
    return response


def _qr_svg(url: str, label: str) -> Markup:
    """``url`` as an inline SVG QR code with an accessible name (no image request)."""
    svg = segno.make(url, error="m").svg_inline(
        scale=1, border=4, dark="#000", light="#fff", omitsize=True, svgclass="qr-code"
    )
    attributes = f'role="img" aria-label="{escape(label)}" shape-rendering="crispEdges" '
    return Markup(svg.replace("<svg ", f"<svg {attributes}", 1))  # noqa: S704 (segno's own markup)


@bp.get("/enroll/<token>")
def landing(token: str) -> ResponseReturnValue:
    """The landing page of an enrollment link, or a page saying why the link cannot be used."""
    link = inspect_link(token)
    language = negotiate(request.headers.get("Accept-Language"))
    branding = link.branding
    product = branding.product(language)
    context = {
        "language": language,
        "t": translator(language, markup=True),
        "product": product,
        "company": branding.company_name,
        "heading": branding.heading(language),
        "support": branding.support_contact,
        "logo_url": branding.logo_url,
        "brand_css": brand_stylesheet_name(branding),
    }
    if link.state is not LinkState.USABLE:
        status = 404 if link.state is LinkState.UNKNOWN else 410
        page = render_template("enroll/link_error.html", state=link.state.value, **context)
        return page, status, {"Content-Language": language}

    platform = detect_platform(request.headers.get("User-Agent"))
    app_store = Store("app-store", branding.app_store_url, translate(language, "store.app_store"))
    play_store = Store(
        "play-store", branding.play_store_url, translate(language, "store.play_store")
    )
    stores = [play_store, app_store] if platform is Platform.ANDROID else [app_store, play_store]
    # The same URL as the email's link, so a phone scanning the code lands on this page.
    page_url = link_url(public_base_url() or request.host_url.rstrip("/"), token)
    # No automatic redirect to the store, not even on a phone: the user would leave with
    # nothing but a store page, and after installing there is no way back to the deep link
    # that carries the token. The store is a button, and this page stays one tap away.
    page = render_template(
        "enroll/landing.html",
        platform=platform.value,
        stores=stores,
        deep_link=deep_link(branding.deep_link_scheme, token),
        page_url=page_url,
        qr_svg=_qr_svg(page_url, translate(language, "page.qr_label"))
        if platform is Platform.DESKTOP
        else None,
        expires_at_text=format_datetime(link.expires_at, language) if link.expires_at else "",
        **context,
    )
    return page, 200, {"Content-Language": language}


def brand_stylesheet_name(branding: Branding) -> str:
    """The name of the stylesheet that gives a page this brand's colour."""
    return f"{branding.brand_color.removeprefix('#')}.css"


@bp.get("/enroll/brand/<name>")
def brand_stylesheet(name: str) -> ResponseReturnValue:
    """The brand colour as CSS variables: a stylesheet, since the page allows no inline style.

    Named by the colour alone, so it carries no token and every browser may keep it.
    """
    color = name.removesuffix(".css")
    if not name.endswith(".css") or not _HEX_COLOR.fullmatch(color):
        abort(404)
    branding_color = f"#{color}"
    on_brand = Branding.text_on(branding_color)
    css = (
        f":root {{ --accent: {Branding.readable_on_white(branding_color)}; "
        f"--accent-strong: {darker(Branding.readable_on_white(branding_color))}; "
        f"--brand: {branding_color}; --on-brand: {on_brand}; }}\n"
        ".site-header { border-top: 6px solid var(--brand); }\n"
        ".button-primary, .button-primary:hover { background: var(--brand); "
        "border-color: var(--brand); color: var(--on-brand); }\n"
    )
    response = Response(css, mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
