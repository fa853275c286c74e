"""The static diff archive editors browse and link to (``trustwatch archive build``, ``serve``)."""

from trustwatch.archive.build import BuildReport, build_archive
from trustwatch.archive.serve import serve_archive

__all__ = ["BuildReport", "build_archive", "serve_archive"]
