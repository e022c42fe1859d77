"""Build step of clvlab's wheels: the data sets and the report template go into the package.

The data files live once, in ``data/`` at the top of the repository, next to their
sources and citations (``data/README.md``) for people browsing it. Wheels carry a copy as
``clvlab/data/``; a source checkout (editable install) reads ``data/`` itself (see
``clvlab.datasets.data_path``). Likewise the template of ``clvlab report`` lives once, in
``notebooks/``, and wheels carry a copy in ``clvlab/templates/`` (see
``clvlab.report.template_path``). Everything else is declared in ``pyproject.toml``.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DATA = Path("data")  # setuptools builds from the project's root
TEMPLATE = Path("notebooks") / "11_your_data_template.ipynb"


class BuildPyWithData(build_py):
    """``build_py`` that also copies every file of ``data/`` into ``clvlab/data/`` and the
    report template into ``clvlab/templates/``."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads data/ in place
            return
        target = Path(self.build_lib) / "clvlab" / "data"
        self.mkpath(str(target))
        for source in sorted(DATA.iterdir()):
            if source.is_file() and not source.name.startswith("."):
                self.copy_file(str(source), str(target / source.name))
        templates = Path(self.build_lib) / "clvlab" / "templates"
        self.mkpath(str(templates))
        self.copy_file(str(TEMPLATE), str(templates / TEMPLATE.name))


setup(cmdclass={"build_py": BuildPyWithData})
