"""``.. runblock::``: a code block the docs build runs, shown with what it printed.

User guides open with a quick start that readers copy and paste. Running it at build time keeps
it true: a snippet that raises fails the build (``sphinx-build -W``), and the output shown is
the output the code printed. Each block runs in a fresh namespace (snippets are self-contained)
with the working directory set to a temporary folder.

.. code-block:: rst

   .. runblock::

      import numpy as np
      print(np.arange(3))
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import traceback

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.errors import ExtensionError


class RunBlock(Directive):
    has_content = True
    optional_arguments = 0

    def run(self):
        code = "\n".join(self.content)
        out = io.StringIO()
        namespace = {"__name__": "__main__"}
        cwd = os.getcwd()
        with tempfile.TemporaryDirectory() as folder:
            try:
                os.chdir(folder)
                with contextlib.redirect_stdout(out):
                    exec(compile(code, f"<runblock in {self.state.document.current_source}>",
                                 "exec"), namespace)
            except Exception as exc:
                raise ExtensionError(
                    f"a runblock in {self.state.document.current_source} (line {self.lineno}) "
                    f"raised:\n{traceback.format_exc()}") from exc
            finally:
                os.chdir(cwd)
                with contextlib.suppress(Exception):
                    import matplotlib.pyplot as plt

                    plt.close("all")
        source = nodes.literal_block(code, code)
        source["language"] = "python"
        result = [source]
        printed = out.getvalue().rstrip()
        if printed:
            output = nodes.literal_block(printed, printed)
            output["language"] = "none"
            output["classes"].append("runblock-output")
            result.append(output)
        return result


def setup(app):
    app.add_directive("runblock", RunBlock)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
