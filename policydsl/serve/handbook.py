"""The rendered handbook beside the service (`policydsl serve --docs DIR`): DIR's files under /docs/, `/`
redirecting there, so a policy page's "try it" panel reaches /v1/… on its own origin.

Only files are served, and only files inside DIR: Starlette's StaticFiles drops `..` (normpath), refuses
absolute paths, and (follow_symlink=False, its default) resolves every path with realpath and serves it only
when the result still lies within DIR's own realpath, so a symlink pointing outside is a 404 like a missing
file. Anything not found is the service's 404 error JSON (app.py's handler of HTTPException)."""
from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from policydsl import i18n
from policydsl.errors import PolicyDslError

STRINGS = {
    "E.no_handbook": ("{path} 中没有渲染好的手册（缺少 index.html 与 <语言>/html/index.html）；"
                      "先运行 `policydsl docs --out {path}`",
                      "{path} holds no rendered handbook (no index.html and <lang>/html/index.html); "
                      "run `policydsl docs --out {path}` first"),
}
i18n.register("serve", STRINGS)


def check_handbook(path: str) -> None:
    """A clear error, before the server listens, unless `path` holds a handbook as `policydsl docs --out` writes
    it (its root page and at least one language's HTML pages)."""
    root = Path(path)
    if not (root / "index.html").is_file() or not any(root.glob("*/html/index.html")):
        raise PolicyDslError("serve.E.no_handbook", path=path)


def mount(app: Starlette, docs: str) -> None:
    """Serve the handbook in `docs` under /docs/, send `/` there, and answer a browser's /favicon.ico."""
    async def home(request: Request) -> Response:
        return RedirectResponse("/docs/", status_code=307)

    async def no_icon(request: Request) -> Response:  # a browser asks every origin for one: none, not an error
        return Response(status_code=204)

    app.mount("/docs", StaticFiles(directory=docs, html=True), name="docs")
    app.add_route("/", home, methods=["GET"])
    app.add_route("/favicon.ico", no_icon, methods=["GET"])
