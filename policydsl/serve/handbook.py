"""The rendered handbook beside the service (`policydsl serve --docs DIR`): DIR's files under /docs/, `/`
redirecting there, so a policy page's "try it" panel reaches /v1/… on its own origin.

Only files are served, and only files inside DIR, by Starlette's StaticFiles: the path is normalised (`..`
dropped as far as it goes), absolute paths are refused, and (follow_symlink=False, its default) every path is
resolved with realpath and served only when the result still lies within DIR's own realpath, so a traversal or
a symlink pointing outside is a 404 like a missing file: the service's 404 error JSON (app.py's handler of
HTTPException). The files are served from a plain route, `/docs/{path:path}`, not a Mount: a Mount rewrites
the request's root_path, and the metrics would then count /docs/ as `/`."""
from __future__ import annotations

import os
from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.staticfiles import StaticFiles

from policydsl import i18n
from policydsl.errors import PolicyDslError
from policydsl.fsutil import os_reason

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
    try:
        found = (root / "index.html").is_file() and any(root.glob("*/html/index.html"))
    except OSError as exc:  # a name too long: raised, not False
        raise PolicyDslError("E.unreadable", path=path, reason=os_reason(exc)) from None
    if not found:
        raise PolicyDslError("serve.E.no_handbook", path=path)


def routes(docs: str) -> list[Route]:
    """The handbook in `docs` under /docs/, `/` sent there, and a browser's /favicon.ico answered."""
    static = StaticFiles(directory=docs, html=True)

    async def page(request: Request) -> Response:
        # as StaticFiles.get_path normalises the path below its mount point; lookup_path then confines it
        path = os.path.normpath(os.path.join(*request.path_params["path"].split("/")))
        return await static.get_response(path, request.scope)

    async def home(request: Request) -> Response:
        return RedirectResponse("docs/", status_code=307)  # relative: right behind a proxy's path prefix too

    async def no_icon(request: Request) -> Response:  # a browser asks every origin for one: none, not an error
        return Response(status_code=204)

    return [Route("/docs/{path:path}", page, methods=["GET"]), Route("/", home, methods=["GET"]),
            Route("/favicon.ico", no_icon, methods=["GET"])]
