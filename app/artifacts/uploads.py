"""Resumable uploads over the tus protocol (1.0.0: core, creation and termination), as IVCAP had:
POST /1/artifacts/uploads with Upload-Length begins one, HEAD on its URL tells its offset, PATCH
appends a piece at that offset, DELETE abandons it.

A resource of its own rather than tus headers on POST /1/artifacts: each operation keeps one
documented request and response (a tus creation has no body and answers with the upload's URL,
an upload has a body and answers with the artifact), and any tus client works unchanged."""
from __future__ import annotations

import base64
import binascii

import marshmallow as ma
from flask import Response, current_app, request, url_for
from flask.views import MethodView

from app import examples
from app.api_errors import ApiError, BadRequest, InvalidParameterValue
from app.artifacts import logic, resumable
from app.artifacts.models import NAME_LENGTH
from app.artifacts.schemas import NAME, ArtifactRTSchema
from app.auth import current_account
from app.extensions import Blueprint, artifact_store, db_session
from app.request_guards import accept_raw_body, raw_body_chunks

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination"
PIECE_MEDIA_TYPE = "application/offset+octet-stream"
MAX_DIGITS = 18  # a byte count below 10**18

blp = Blueprint("uploads", __name__, url_prefix="/1/artifacts/uploads",
                description=f"Resumable uploads of artifacts with the tus protocol {TUS_VERSION} "
                            f"(https://tus.io/protocols/resumable-upload; extensions {TUS_EXTENSIONS}).")


@blp.before_request
def _speaks_tus():
    """Every request but OPTIONS names the protocol's version: none is a 400, another one a 412
    (as tus says), both naming the version spoken here."""
    given = request.headers.get("Tus-Resumable")
    if request.method == "OPTIONS" or given == TUS_VERSION:
        return
    message = f"Tus-Resumable: this server speaks tus {TUS_VERSION}"
    raise ApiError(message if given is None else f"{message}, not {given}", name="Tus-Resumable", value=given,
                   status_code=400 if given is None else 412, headers={"Tus-Version": TUS_VERSION})


@blp.after_request
def _says_tus(response):
    response.headers["Tus-Resumable"] = TUS_VERSION
    return response


class ByteCount(ma.fields.Integer):
    """A byte count in a tus header: decimal digits and nothing else."""

    def __init__(self, **kwargs):
        super().__init__(validate=ma.validate.Range(0, 10**MAX_DIGITS - 1), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not (isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= MAX_DIGITS):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


BASE64 = "(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?"
METADATA_PAIR = f"[\\x21-\\x2b\\x2d-\\x7e]+(?: {BASE64})?"  # a key of printable ASCII but space and comma


class TusMetadata(ma.fields.String):
    """Upload-Metadata: comma-separated pairs of a key and its value in base64."""

    def _deserialize(self, value, attr, data, **kwargs):
        pairs = {}
        for pair in value.split(","):
            key, _, encoded = pair.strip().partition(" ")
            if not key or key in pairs or " " in encoded:
                raise ma.ValidationError("comma-separated pairs of a key (once each) and its value in base64")
            try:
                pairs[key] = base64.b64decode(encoded, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise ma.ValidationError(f"the value of {key} is not UTF-8 text in base64") from None
        return pairs


class TusHeadersSchema(ma.Schema):
    tus_resumable = ma.fields.String(data_key="Tus-Resumable", required=True, validate=ma.validate.OneOf([TUS_VERSION]),
                                     metadata={"description": "The version of the tus protocol the client speaks."})


class CreationHeadersSchema(TusHeadersSchema):
    upload_length = ByteCount(data_key="Upload-Length", required=True,
                              metadata={"description": "The size of the whole content in bytes (at most the "
                                                       "Tus-Max-Size that OPTIONS tells, and within your quota)."})
    upload_metadata = TusMetadata(data_key="Upload-Metadata", metadata={
        "description": "`filename` (the artifact's name: printable characters) and `filetype` (its mime-type), "
                       "each UTF-8 text in base64; each key once.",
        "example": "filename ZmllbGRzLmNzdg==,filetype dGV4dC9jc3Y=",
        "pattern": f"^{METADATA_PAIR}(?:, ?{METADATA_PAIR})*$"})


class PieceHeadersSchema(TusHeadersSchema):
    upload_offset = ByteCount(data_key="Upload-Offset", required=True,
                              metadata={"description": "Where this piece goes: the offset HEAD told."})


def _offset_headers(offset: int, length: int) -> dict:
    return {"Upload-Offset": str(offset), "Upload-Length": str(length), "Cache-Control": "no-store"}


MEDIA_TYPE = [ma.validate.Length(min=3, max=255), ma.validate.Regexp(r"^[^/\s]+/[^/\s]+$")]
METADATA_RULES = {"filename": (NAME, "a name of 1 to 1024 printable characters"),
                  "filetype": (MEDIA_TYPE, "a media type such as text/csv")}


def checked_metadata(metadata: dict[str, str]) -> tuple[str | None, str | None]:
    """The artifact's name and mime-type from Upload-Metadata, each checked (422 naming it)."""
    for key, (validators, rule) in METADATA_RULES.items():
        if (value := metadata.get(key)) is None:
            continue
        try:
            for validator in validators:
                validator(value)
        except ma.ValidationError:
            raise InvalidParameterValue(f"Upload-Metadata.{key}: {rule}", name=f"Upload-Metadata.{key}",
                                        value=value[:NAME_LENGTH]) from None
    return metadata.get("filename"), metadata.get("filetype")


UPLOAD_URL = {"Location": {"description": "URL of the upload (HEAD, PATCH, DELETE)", "schema": {"type": "string"}}}
OFFSET = {name: {"description": description, "schema": {"type": "integer"}} for name, description in (
    ("Upload-Offset", "Bytes the server holds."), ("Upload-Length", "Bytes of the whole content."))}
PIECE_BODY = {"required": True, "description": "A piece of the content, from Upload-Offset on.",
              "content": {PIECE_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}}}
TUS_RESUMABLE = {"in": "header", "name": "Tus-Resumable", "required": True,  # where no other header is read
                 "schema": {"type": "string", "enum": [TUS_VERSION]}}


@blp.route("")
class Uploads(MethodView):
    @accept_raw_body
    @blp.arguments(CreationHeadersSchema, location="headers", error_status_code=400)
    @blp.response(201, ArtifactRTSchema, headers=UPLOAD_URL, example={**examples.ARTIFACT, "status": "uploading"})
    @blp.documented_errors(400, 401, 412, 413, 422)
    @blp.doc(operationId="beginUpload")
    def post(self, headers):
        """Begin a resumable upload (tus creation): Upload-Length announces its size"""
        if request.content_length or request.headers.get("Transfer-Encoding"):
            raise BadRequest("a creation carries no content here: PATCH it to the upload's URL")
        name, mime_type = checked_metadata(headers.get("upload_metadata", {}))
        artifact = resumable.begin_upload(db_session(), artifact_store(), current_app.config["MARKETPLACE"].artifacts,
                                          current_account(), headers["upload_length"], name, mime_type)
        return artifact, 201, {"Location": url_for("uploads.UploadById", artifact_id=artifact.id, _external=True)}

    @blp.doc(security=[])
    @blp.response(204, headers={name: {"schema": {"type": "string"}} for name in (
        "Tus-Version", "Tus-Extension", "Tus-Max-Size")})
    @blp.doc(operationId="getUploadOptions")
    def options(self):
        """Tell the tus versions, extensions and largest upload this server takes"""
        return None, 204, {"Tus-Version": TUS_VERSION, "Tus-Extension": TUS_EXTENSIONS,
                           "Tus-Max-Size": str(current_app.config["MARKETPLACE"].artifacts.max_bytes)}


@blp.route("/<artifact_id>")
class UploadById(MethodView):
    @blp.doc(parameters=[TUS_RESUMABLE])
    @blp.response(200, headers=OFFSET)
    @blp.documented_errors(401, 404, 412)
    @blp.doc(operationId="getUploadOffset")
    def head(self, artifact_id):
        """Tell how much of an upload the server holds (Upload-Offset)"""
        artifact, offset = resumable.upload_offset(db_session(), artifact_store(), current_account(), artifact_id)
        return Response(status=200, headers=_offset_headers(offset, artifact.upload_length or artifact.size))

    @accept_raw_body
    @blp.arguments(PieceHeadersSchema, location="headers", error_status_code=400)
    @blp.doc(requestBody=PIECE_BODY)
    @blp.response(204, headers=OFFSET)
    @blp.documented_errors(400, 401, 404, 409, 412, 413, 415, 423)
    @blp.doc(operationId="appendToUpload")
    def patch(self, headers, artifact_id):
        """Add a piece at the upload's offset (tus core); the piece that ends it makes the artifact ready"""
        if request.mimetype != PIECE_MEDIA_TYPE:
            raise ApiError(f"Content-Type: a piece of an upload is {PIECE_MEDIA_TYPE}", name="Content-Type",
                           value=request.mimetype, status_code=415)
        artifact, offset = resumable.append_to_upload(db_session(), artifact_store(), current_account(), artifact_id,
                                                      headers["upload_offset"], raw_body_chunks(),
                                                      request.content_length)
        return None, 204, _offset_headers(offset, artifact.upload_length or artifact.size)

    @blp.doc(parameters=[TUS_RESUMABLE])
    @blp.response(204)
    @blp.documented_errors(401, 404, 412)
    @blp.doc(operationId="abandonUpload")
    def delete(self, artifact_id):
        """Abandon an upload and what it holds (tus termination)"""
        logic.delete_artifact(db_session(), artifact_store(), current_account(), artifact_id)
