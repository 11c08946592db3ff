"""HTTP views of the artifacts resource: parse, call the logic, render. Content is streamed both
ways: an upload goes from the request body to the store, a download from the store to the client."""
from __future__ import annotations

from flask import Response, current_app, request, url_for
from flask.views import MethodView
from werkzeug.wsgi import wrap_file

from app import examples
from app.api_errors import Gone
from app.artifacts import logic
from app.artifacts.listing import ARTIFACT_LIST, ARTIFACT_LIST_EXAMPLE
from app.artifacts.schemas import ArtifactListRTSchema, ArtifactRTSchema, UploadHeaderSchema, UploadQuerySchema
from app.artifacts.storage import CHUNK_BYTES, ContentMissing, Store, content_disposition
from app.auth import current_account, current_workload_order
from app.conditional import conditional_get
from app.extensions import Blueprint, artifact_store, db_engine, db_session
from app.request_guards import RAW_BODY, accept_raw_body, raw_body_chunks, raw_body_mime_type

blp = Blueprint("artifacts", __name__, url_prefix="/1/artifacts",
                description="Upload data to order services with, and download what orders produced.")

PRESIGNED_URL_SECONDS = 300


@blp.route("")
class Artifacts(MethodView):
    @blp.list_view(ARTIFACT_LIST, ArtifactListRTSchema, ARTIFACT_LIST_EXAMPLE,
                   response_example=examples.ARTIFACT_LIST, operation_id="listArtifacts")
    def get(self):
        """List your artifacts: uploads and the products of your orders"""
        return logic.visible_artifacts(current_account())

    @accept_raw_body
    @blp.arguments(UploadQuerySchema, location="query")
    @blp.arguments(UploadHeaderSchema, location="headers")
    @blp.doc(requestBody=RAW_BODY)
    @blp.response(201, ArtifactRTSchema, example=examples.ARTIFACT,
                  headers={"Location": {"description": "URL of the artifact", "schema": {"type": "string"}}})
    @blp.documented_errors(400, 413, 422)
    @blp.doc(operationId="uploadArtifact")
    def post(self, query, headers):
        """Upload an artifact: the body is the content, its Content-Type the artifact's mime-type"""
        name = headers.get("x_name") or query.get("name")
        artifact = logic.upload_artifact(db_session(), artifact_store(), current_app.config["MARKETPLACE"].artifacts,
                                         current_account(), name, raw_body_mime_type(), raw_body_chunks(),
                                         request.content_length)
        return artifact, 201, {"Location": url_for("artifacts.ArtifactById", artifact_id=artifact.id,
                                                   _external=True)}


@blp.route("/<artifact_id>")
class ArtifactById(MethodView):
    @blp.operation("getArtifact", 200, ArtifactRTSchema, 404, example=examples.ARTIFACT, conditional=True)
    def get(self, artifact_id):
        """Read an artifact's record"""
        session, account = db_session(), current_account()
        return conditional_get(("artifact", artifact_id, account),
                               lambda: logic.current_artifact_etag_parts(db_engine(), account, artifact_id),
                               lambda: logic.get_artifact(session, account, artifact_id),
                               lambda artifact: logic.artifact_etag_parts(artifact.id, artifact.revision, account))

    @blp.response(204)
    @blp.documented_errors(404)
    @blp.doc(operationId="deleteArtifact")
    def delete(self, artifact_id):
        """Delete an artifact and its content"""
        logic.delete_artifact(db_session(), artifact_store(), current_account(), artifact_id)


@blp.route("/<artifact_id>/blob")
class ArtifactBlob(MethodView):
    @blp.doc(responses={"200": {"description": "The content.", "content": {"*/*": {"schema": {
        "type": "string", "format": "binary"}}}}, "206": {"description": "The range asked for."},
        "302": {"description": "Download it from the object store at Location (a short-lived URL)."},
        "304": {"description": "Not modified (If-None-Match)."},
        "416": {"description": "The range is outside the content."}})
    @blp.documented_errors(404, 409, 410)
    @blp.doc(operationId="downloadArtifact")
    def get(self, artifact_id):
        """Download an artifact's content (Range and If-None-Match welcome)"""
        order_id = current_workload_order()
        if order_id is not None:
            artifact = logic.input_of_order(db_session(), order_id, artifact_id)
        else:
            artifact = logic.get_artifact(db_session(), current_account(), artifact_id)
        logic.readable_content(artifact)
        return download(artifact_store(), artifact, redirect=order_id is None)


def download(store: Store, artifact, redirect: bool) -> Response:
    """The content, whole or one byte range of it, with its hash as the ETag."""
    etag, size = artifact.sha256, artifact.size
    if request.if_none_match.contains(etag):
        return Response(status=304, headers={"ETag": f'"{etag}"'})
    if redirect and (url := store.download_url(artifact.storage_key, file_name=artifact.name or "artifact",
                                               mime_type=artifact.mime_type, seconds=PRESIGNED_URL_SECONDS)):
        return Response(status=302, headers={"Location": url, "Cache-Control": "no-store"})
    headers = {"ETag": f'"{etag}"', "Accept-Ranges": "bytes", "Content-Disposition": content_disposition(artifact.name)}
    start, stop, status = 0, size, 200
    if_range = request.if_range  # a range is honoured only for the content it was asked of
    wanted = request.range if if_range.date is None and if_range.etag in (None, etag) else None
    if wanted is not None and len(wanted.ranges) == 1:
        bounds = wanted.range_for_length(size)
        if bounds is None:
            return Response(status=416, headers={"Content-Range": f"bytes */{size}"})
        (start, stop), status = bounds, 206
        headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    try:
        whole_file = store.local_file(artifact.storage_key) if status == 200 else None
        # A server's file wrapper may send a local file with sendfile (gunicorn's, and the
        # embedded server's: app/server_errors.py); a range, or remote content, goes in chunks.
        body = (wrap_file(request.environ, whole_file, CHUNK_BYTES) if whole_file is not None
                else store.read(artifact.storage_key, start, stop))
    except ContentMissing:
        raise Gone("the artifact's content is gone", id=artifact.id) from None
    headers["Content-Length"] = str(stop - start)
    return Response(body, status=status, headers=headers, mimetype=artifact.mime_type, direct_passthrough=True)
