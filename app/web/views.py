"""The pages: read the query or the form, call the same domain logic as the API, render a template.

Ownership, checks and paging are the API's own (services, orders and artifacts `logic`,
app.query): a page never decides anything the API decides differently."""
from __future__ import annotations

import functools
import secrets
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import marshmallow as ma
import sqlalchemy as sa
import yaml
from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from sqlalchemy.orm import lazyload, load_only, selectinload
from werkzeug.exceptions import HTTPException

from app.api_errors import ApiError, BadRequest, Forbidden, NotFound
from app.artifacts import logic as artifacts
from app.artifacts.views import download
from app.auth import InvalidToken, IssuerUnavailable
from app.bounded_json import NUL
from app.extensions import artifact_store, db_session
from app.orders import logic as orders
from app.orders import streams
from app.orders.listing import ORDER_LIST
from app.orders.models import Order, OrderEvent, OrderLogLine
from app.orders.views import event_stream
from app.request_guards import reject_nul_characters
from app.services import logic as services
from app.services.listing import SERVICE_LIST
from app.services.models import Service, ServiceTag
from app.status import FINISHED_ORDER_STATUSES, OrderStatus, ServiceStatus
from app.web import csrf
from app.web.forms import OrderForm
from app.web.oidc import OidcSignIn, SignInUnavailable
from app.web.signin import embedded_sign_in_allowed, safe_next, sign_in, signed_in_account
from app.workload_tokens import workload_order

web = Blueprint("web", __name__, template_folder="templates", static_folder="static",
                static_url_path="/web/static")

CATALOGUE_PAGE_SIZE = 24
ORDERS_PAGE_SIZE = 25
MAX_SEARCH_CHARS = 200
MAX_TAG_FILTERS = 10
LOG_TAIL_LINES = 200
MAX_ARTIFACT_CHOICES = 100
FINISHED = sorted(FINISHED_ORDER_STATUSES)
# A card shows these: no JSON documents (parameters, workflow, references) for a page of the catalogue.
CATALOGUE_ITEMS = sa.select(Service).options(
    load_only(Service.id, Service.name, Service.description, Service.provider_id, Service.banner,
              Service.status),
    selectinload(Service.tag_rows), lazyload("*"))


class SignInRequired(Exception):
    """The page needs an account: the person is sent to sign in, and back here afterwards."""


@web.before_request
def _check_csrf_and_account():
    reject_nul_characters()  # as for the API: no text column can hold one
    if any(NUL in key or NUL in value for key, value in request.form.items(multi=True)):
        raise BadRequest("NUL characters are not allowed", name="form")
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()
    g.account = signed_in_account()


# Only this site's own scripts, styles and forms; banners may come from any http(s) site.
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' https: http: data:; script-src 'self'; "
                           "style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                           "frame-ancestors 'none'")


@web.after_request
def _page_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "web.static":  # the pages show one account's orders: never kept by a shared cache
        response.headers.setdefault("Cache-Control", "private, no-store")
    return response


@web.errorhandler(SignInRequired)
def _to_sign_in(_error):
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("web.sign_in_page", next=target) if target else url_for("web.sign_in_page"))


@web.errorhandler(ApiError)
def _error_page(error: ApiError):
    return render_template("web/error.html", error=error, status=int(error.status_code)), int(error.status_code), \
        error.headers


@web.errorhandler(HTTPException)
def _http_error_page(error: HTTPException):
    """werkzeug's own refusals on a page (a form too large, a bad request) as a page, not JSON."""
    if isinstance(error, CSRFError):
        return _csrf_error(error)
    status = error.code or 500
    message = "the form is too large" if status == 413 else (error.description or error.name)
    return render_template("web/error.html", status=status, error=ApiError(message, status_code=status)), status


@web.errorhandler(CSRFError)
def _csrf_error(error: CSRFError):
    message = (f"The form is out of date or was not sent by this site ({error.description}). "
               "Go back, reload the page and try again.")
    return render_template("web/error.html", status=400, error=ApiError(message, status_code=400)), 400


def _account() -> str:
    if g.account is None:
        raise SignInRequired()
    return g.account


def account_required(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        _account()
        return view(*args, **kwargs)
    return wrapper


def _secret() -> str:
    return current_app.config["SECRET_KEY"]


def _page_token(page) -> str | None:
    """The next page's token, from the link the list builder made for the API."""
    if "next" not in page.links:
        return None
    return (parse_qs(urlsplit(page.links["next"]).query).get("pageToken") or [None])[0]


def _odata_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def catalogue_filter(search: str, tags: list[str], expert: str) -> str:
    """The catalogue's $filter: ready services, matching the words searched and carrying every
    tag chosen; an OData expression of the person's own is added as it is."""
    terms = ["status eq 'ready'"]
    for word in search.lower().split():
        text = _odata_text(word)
        terms.append(f"(contains(tolower(name),{text}) or contains(tolower(description),{text}) "
                     f"or contains(tolower(provider-id),{text}))")
    terms += [f"tags/any(t: t eq {_odata_text(tag)})" for tag in tags]
    if expert:
        terms.append(f"({expert})")
    return " and ".join(terms)


# --- the catalogue and a service -----------------------------------------------------------------

POPULAR_TAGS = 12
POPULAR_TAGS_SECONDS = 60


def popular_tags() -> list[str]:
    """The tags most ready services carry, offered as filters; counted at most once a minute
    per process, so a page of the catalogue costs no more than its list call."""
    cached = current_app.extensions.get("web_popular_tags")
    if cached and time.monotonic() - cached[0] < POPULAR_TAGS_SECONDS:
        return cached[1]
    count = sa.func.count().label("services")
    tags = list(db_session().scalars(
        sa.select(ServiceTag.tag).join(Service, Service.id == ServiceTag.service_id)
        .where(Service.status == ServiceStatus.READY).group_by(ServiceTag.tag)
        .order_by(count.desc(), ServiceTag.tag).limit(POPULAR_TAGS)))
    current_app.extensions["web_popular_tags"] = (time.monotonic(), tags)
    return tags


@web.get("/")
@account_required
def catalogue():
    search = request.args.get("q", "")[:MAX_SEARCH_CHARS]
    tags = list(dict.fromkeys(tag for tag in request.args.getlist("tag") if tag))[:MAX_TAG_FILTERS]
    expert = request.args.get("filter", "").strip()
    args = [("$filter", catalogue_filter(search, tags, expert)), ("$top", str(CATALOGUE_PAGE_SIZE))]
    if token := request.args.get("page"):
        args.append(("pageToken", token))
    page, problem = None, None
    try:
        page = SERVICE_LIST.fetch(db_session(), CATALOGUE_ITEMS, args, _secret(), request.base_url)
    except BadRequest as error:
        problem = error
    next_token = page and _page_token(page)
    return render_template("web/catalogue.html", page=page, problem=problem, search=search, tags=tags,
                           popular=[tag for tag in popular_tags() if tag not in tags],
                           expert=expert, next_url=next_token and url_for(
                               "web.catalogue", q=search or None, tag=tags, filter=expert or None, page=next_token),
                           first_url=token and url_for("web.catalogue", q=search or None, tag=tags,
                                                       filter=expert or None)), 400 if problem else 200


def _artifact_choices(account: str) -> list:
    return list(db_session().scalars(artifacts.visible_artifacts(account).order_by(
        sa.desc("created_at")).limit(MAX_ARTIFACT_CHOICES)))


def _service_page(service: Service, form: OrderForm, status: int = 200, dry_run=None):
    needs_artifacts = any(item.kind == "artifact" for item in form.parameters)
    return render_template("web/service.html", service=service, form=form, dry_run=dry_run,
                           idempotency_key=uuid.uuid4().hex,
                           artifact_choices=_artifact_choices(g.account) if needs_artifacts else []), status


@web.get("/services/<service_id>")
@account_required
def service_page(service_id: str):
    service = services.get_service(db_session(), service_id)
    return _service_page(service, OrderForm.of(service.parameters))


@web.post("/services/<service_id>/order")
@account_required
def place_order(service_id: str):
    service = services.get_service(db_session(), service_id)
    form = OrderForm.of(service.parameters, request.form)
    config = current_app.config["MARKETPLACE"]
    dry = request.form.get("action") == "dry-run"
    try:
        order_request = form.order_request(service.id)
        if dry:
            result = orders.dry_run_order(db_session(), order_request, config.compile)
            manifest = yaml.safe_dump(result["manifest"], sort_keys=False) if result["manifest"] else None
            return _service_page(service, form, dry_run={"parameters": result["parameters"],
                                                         "manifest": manifest, "problems": result["problems"]})
        key = request.form.get("idempotency-key", "")[:255] or None
        order, _created = orders.place_order(db_session(), g.account, order_request, config.accounts, key)
    except (ApiError, ma.ValidationError) as error:
        if isinstance(error, ApiError) and error.status_code not in (409, 422, 429):
            raise
        db_session().rollback()
        form.refuse(error)
        return _service_page(service, form, status=422 if not isinstance(error, ApiError) else int(error.status_code))
    return redirect(url_for("web.order_page", order_id=order.id), 303)


# --- orders -------------------------------------------------------------------------------------

def _order_view(order_id: str) -> dict:
    session, account = db_session(), g.account
    # The newest event first: the page shows at least what happened up to it, the stream the rest.
    last_event = session.scalar(sa.select(sa.func.max(OrderEvent.id)).where(OrderEvent.order_id == order_id)) or 0
    order = orders.get_order(session, account, order_id)
    logs = list(session.scalars(orders.order_logs(session, account, order.id)
                                .order_by(OrderLogLine.seq.desc()).limit(LOG_TAIL_LINES)))[::-1]
    products = list(session.scalars(orders.products_of_order(session, account, order.id))) \
        if order.account == account else []
    return {"order": order, "tasks": orders.order_tasks(session, account, order.id), "logs": logs,
            "products": products, "last_event": last_event, "finished": order.status in FINISHED_ORDER_STATUSES,
            "may_cancel": order.account == account and order.status not in FINISHED_ORDER_STATUSES}


@web.get("/orders/<order_id>")
@account_required
def order_page(order_id: str):
    view = _order_view(order_id)
    if request.args.get("fragment") == "live":
        return render_template("web/_order_live.html", **view)
    return render_template("web/order.html", final_statuses=FINISHED, **view)


@web.get("/orders/<order_id>/events")
@account_required
def order_events(order_id: str):
    """The order's event stream, for the page's script: the API's stream, with the session's account."""
    order = orders.get_order(db_session(), g.account, order_id)
    after = request.headers.get("Last-Event-ID") or request.args.get("after") or "0"
    if not after.isdigit() or len(after) > 19:
        raise BadRequest("after: an event id, a whole number", name="after", value=after[:40])
    return event_stream(streams.order_reader(order.id), int(after))


@web.post("/orders/<order_id>/cancel")
@account_required
def cancel_order(order_id: str):
    try:
        order = orders.cancel_order(db_session(), g.account, order_id)
    except ApiError as error:
        if error.status_code not in (403, 409):
            raise
        db_session().rollback()
        flash(error.message, "error")
    else:
        flash("The order is cancelled." if order.status == OrderStatus.CANCELLED
              else "Cancelling: the order stops within a moment.", "info")
    return redirect(url_for("web.order_page", order_id=order_id), 303)


@web.get("/artifacts/<artifact_id>/download")
@account_required
def download_artifact(artifact_id: str):
    artifact = artifacts.readable_content(artifacts.get_artifact(db_session(), g.account, artifact_id))
    return download(artifact_store(), artifact, redirect=True)


def _orders_page(base: sa.Select, title: str, service: Service | None = None):
    status = request.args.get("status", "")
    if status and status not in set(OrderStatus):
        raise BadRequest(f"status: one of {', '.join(OrderStatus)}", name="status", value=status[:40])
    args = [("$top", str(ORDERS_PAGE_SIZE))]
    if status:
        args.append(("$filter", f"status eq '{status}'"))
    if token := request.args.get("page"):
        args.append(("pageToken", token))
    page = ORDER_LIST.fetch(db_session(), base, args, _secret(), request.base_url)
    next_token = _page_token(page)
    return render_template("web/orders.html", page=page, title=title, service=service, status=status,
                           statuses=list(OrderStatus),
                           next_url=next_token and url_for(request.endpoint, **request.view_args,
                                                           status=status or None, page=next_token))


@web.get("/orders")
@account_required
def my_orders():
    return _orders_page(orders.own_orders(g.account), "My orders")


@web.get("/services/<service_id>/orders")
@account_required
def service_orders(service_id: str):
    service = services.get_service(db_session(), service_id)
    return _orders_page(orders.service_orders(db_session(), g.account, service_id),
                        f"Orders of {service.name or service.id}", service)


@web.get("/my/services")
@account_required
def my_services():
    session = db_session()
    mine = list(session.scalars(sa.select(Service).where(Service.owner == g.account).order_by(Service.name, Service.id)
                                .options(load_only(Service.id, Service.name, Service.status, Service.status_message,
                                                   Service.updated_at, Service.incarnation, Service.version))))
    counts = dict(session.execute(
        sa.select(Order.service_id, sa.func.count()).join(Service, sa.and_(
            Service.id == Order.service_id, Service.incarnation == Order.service_incarnation))
        .where(Service.owner == g.account).group_by(Order.service_id)).all())
    return render_template("web/my_services.html", services=mine, counts=counts, ERROR=ServiceStatus.ERROR)


# --- signing in and out -----------------------------------------------------------------------

@web.route("/sign-in", methods=["GET", "POST"])
def sign_in_page():
    target = safe_next(request.values.get("next"))
    allowed = embedded_sign_in_allowed()
    problem = None
    if request.method == "POST":
        if not allowed:
            raise Forbidden("signing in with a pasted token is for the embedded default; this server signs "
                            "people in through its OIDC issuer")
        token = request.form.get("token", "").strip()
        try:
            if not token or len(token) > 8192:
                raise InvalidToken("paste the whole token that `marketplace token` printed")
            if workload_order(_secret(), token) is not None:
                raise InvalidToken("this is an order's workload token, not an account's")
            account = current_app.extensions["token_verifier"].verify(token)
        except InvalidToken as error:
            problem = f"This token cannot sign you in: {error}"
        except IssuerUnavailable:
            problem = "The token issuer cannot be asked now; try again in a moment."
        else:
            sign_in(account)
            return redirect(target, 303)
    return render_template("web/sign_in.html", allowed=allowed, problem=problem, next=target,
                           oidc=current_app.extensions.get("web_oidc") is not None), \
        400 if problem else 200


@web.get("/sign-in/oidc")
def oidc_sign_in():
    """Off to the issuer's sign-in, with a state and a PKCE verifier kept in the session."""
    sign_in_flow = _oidc()
    try:
        url, kept = sign_in_flow.start(url_for("web.oidc_callback", _external=True))
    except SignInUnavailable as error:
        raise ApiError(f"Signing in is not possible now: {error}", status_code=503) from None
    session["oidc"] = {**kept, "next": safe_next(request.args.get("next"))}
    return redirect(url, 303)


@web.get("/sign-in/oidc/callback")
def oidc_callback():
    """Back from the issuer: the same state, then the code (with the verifier) for a token."""
    sign_in_flow = _oidc()
    kept = session.pop("oidc", None)
    state = request.args.get("state", "")
    if not isinstance(kept, dict) or not secrets.compare_digest(state.encode(), str(kept.get("state")).encode()):
        raise BadRequest("This sign-in was not started here, or has already been used: sign in again.")
    if request.args.get("error"):
        raise BadRequest(f"The identity provider refused the sign-in: {request.args.get('error')[:100]} "
                         f"{request.args.get('error_description', '')[:300]}".strip())
    code = request.args.get("code", "")
    if not code or len(code) > 4096:
        raise BadRequest("The identity provider sent no authorization code: sign in again.")
    try:
        token = sign_in_flow.finish(url_for("web.oidc_callback", _external=True), code, kept)
        account = current_app.extensions["token_verifier"].verify(token)
    except (SignInUnavailable, IssuerUnavailable) as error:
        raise ApiError(f"Signing in is not possible now: {error}", status_code=503) from None
    except InvalidToken as error:
        raise BadRequest(f"The identity provider's token is not one for this marketplace: {error}") from None
    sign_in(account)
    return redirect(kept.get("next") or url_for("web.catalogue"), 303)


def _oidc() -> OidcSignIn:
    sign_in_flow = current_app.extensions.get("web_oidc")
    if sign_in_flow is None:
        raise NotFound("this server has no sign-in through an identity provider (MARKETPLACE_OIDC_CLIENT_ID)")
    return sign_in_flow


@web.post("/sign-out")
def sign_out():
    session.clear()
    return redirect(url_for("web.sign_in_page"), 303)


# --- what the templates format ------------------------------------------------------------------

@web.app_template_filter("when")
def _when(moment) -> Markup:
    """A time for people (UTC, to the second), machine-readable in its <time> element."""
    if moment is None:
        return Markup('<span class="muted">—</span>')
    return Markup('<time datetime="{}">{}</time>').format(moment.isoformat(), moment.strftime("%Y-%m-%d %H:%M:%S UTC"))


@web.app_template_filter("http_url")
def _http_url(value: str | None) -> str | None:
    """The value when it is an http(s) URL (safe in href and src), else None."""
    return value if isinstance(value, str) and value.lower().startswith(("http://", "https://")) else None
