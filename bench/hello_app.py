"""The baseline: a Flask hello-world JSON endpoint, served under the same gunicorn config.

gunicorn -c deploy/gunicorn.conf.py 'bench.hello_app:create_app()'
"""

from __future__ import annotations

from flask import Flask, Response, jsonify


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/hello")
    def hello() -> Response:
        response = jsonify({"banner": None, "reason": "hello"})
        response.headers["Cache-Control"] = "no-store"
        return response

    return app
