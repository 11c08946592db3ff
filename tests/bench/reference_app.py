"""The reference of `make bench-api`: a bare flask-smorest app with one schema, no database, no
auth, served by gunicorn with the same settings as the marketplace. What the stack itself costs."""
from __future__ import annotations

import marshmallow as ma
from flask import Flask
from flask.views import MethodView
from flask_smorest import Api, Blueprint

ITEM = {"id": "urn:bench:item:1", "name": "an item", "description": "what the reference answers",
        "tags": ["a", "b"], "version": 1}


class ItemSchema(ma.Schema):
    id = ma.fields.String(dump_only=True)
    name = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    tags = ma.fields.List(ma.fields.String(), load_default=list)
    version = ma.fields.Integer(dump_only=True)


app = Flask(__name__)
app.config.update(API_TITLE="reference", API_VERSION="1", OPENAPI_VERSION="3.0.3")
api = Api(app)
blp = Blueprint("items", __name__)


@blp.route("/items/<item_id>")
class Item(MethodView):
    @blp.response(200, ItemSchema)
    def get(self, item_id):
        return {**ITEM, "id": item_id}


@blp.route("/items")
class Items(MethodView):
    @blp.arguments(ItemSchema)
    @blp.response(201, ItemSchema)
    def post(self, item):
        return {**ITEM, **item}


api.register_blueprint(blp)
