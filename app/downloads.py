"""Streamed file downloads, shared by the admin pages and the API."""
from flask import Response, stream_with_context


def csv_download(filename, chunks):
    """A streamed text/csv attachment; `chunks` runs inside the request context."""
    response = Response(stream_with_context(chunks), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
