"""The HTML templates of reports and statements, and an office's own in their place.

The bundled templates live in ``scs_cli/templates/``. `Templates(office_dir)` looks each
file up first in the office's folder (``--templates DIR``) and falls back to the bundled
file of the same name, so an office replaces only what it wants (its letterhead, its
wording, its language). Autoescaping is on for every template: text from a catalogue or a
ledger reaches the page escaped by `core.text.escape` (bidi controls removed), and only
what a template marks ``|safe`` is not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from scs_cli.core.errors import ScsError, UsageError
from scs_cli.core.text import day, duration_words, num, sentence, shown, signed

BUNDLED = Path(__file__).resolve().parent.parent / "templates"


class TemplateError(ScsError):
    """A template could not be read or rendered: which file, where, what."""

    def __init__(self, what: str, fix: str = ""):
        self.what, self.fix = what, fix
        super().__init__(what + (f" ({fix})" if fix else ""))


def _finalize(value: Any) -> Any:
    # every {{ value }} passes here before autoescaping: no control or bidi character reaches a page
    if isinstance(value, str) and not isinstance(value, Markup):
        return shown(value)
    return value


class Templates:
    """The template folder of one run: the office's files first, then the bundled ones."""

    def __init__(self, office_dir: str | Path | None = None) -> None:
        folders = [BUNDLED]
        if office_dir is not None:
            office = Path(office_dir)
            if not office.is_dir():
                raise UsageError(f"--templates {office}: no such folder",
                                 "give a folder holding your own statement.html, "
                                 "report.html or any other bundled template's name")
            folders.insert(0, office)
        self.office_dir = Path(office_dir) if office_dir is not None else None
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(f) for f in folders]),
            autoescape=True, undefined=jinja2.StrictUndefined, finalize=_finalize,
            trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
        self.env.filters.update(num=num, signed=signed, day=day, words=duration_words,
                                sentence=sentence)

    def render(self, name: str, **context: Any) -> str:
        """The template ``name`` filled with ``context``; an error names the file and line."""
        try:
            return self.env.get_template(name).render(**context)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"{exc.filename or name}, line {exc.lineno}: {exc.message}",
                                "mend the template, or remove it to use the bundled one"
                                ) from None
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"template {exc.name!r} not found",
                                "name a file of the bundled templates folder") from None
        except jinja2.UndefinedError as exc:
            where = self._source(name)
            raise TemplateError(f"{where}: {exc.message}",
                                "use only the names the bundled template uses") from None

    def _source(self, name: str) -> str:
        if self.office_dir is not None and (self.office_dir / name).is_file():
            return str(self.office_dir / name)
        return name
