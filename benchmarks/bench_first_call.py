"""What a user waits for in a new Python process: import plus the first call of each module.

For every registered module, a fresh interpreter imports ``sparsenum.<module>`` and runs the
module's warm-up (its main functions on a tiny input, the same calls ``python -m sparsenum
compile`` makes), twice over:

* with an empty numba cache: what the first process after an install pays, once;
* with the cache the first process filled: what every later process pays.

Beside them, where one exists, the peer a user would otherwise reach for does the same kind of
call in its own fresh process (no compilation: these are the numbers to come close to). The
wall time of each child is measured inside the child (import and call apart) together with its
CPU time, so a loaded machine shows up as wall time above CPU time.

Run: ``python -m benchmarks.bench_first_call [--quick]`` (both run every module, about a
minute of CPU with an empty cache).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

from benchmarks._harness import BenchmarkReport, parse_args

_CHILD = r"""
import json, resource, sys, time
start = time.perf_counter()
import importlib
importlib.import_module("sparsenum." + sys.argv[1])
imported = time.perf_counter()
from sparsenum.utils.registry import _registration
_registration(sys.argv[1]).warm_up()
called = time.perf_counter()
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"import": imported - start, "call": called - imported,
                  "cpu": usage.ru_utime + usage.ru_stime}))
"""

# The call a user of the peer library makes on a tiny input, in a fresh process.
_PEERS = {
    "ot": ("POT ot.sinkhorn", "import numpy as np, ot\n"
           "a = np.full(8, 1 / 8); C = np.random.default_rng(0).random((8, 8))\n"
           "ot.sinkhorn(a, a, C, 0.1)"),
    "neighbors": ("hnswlib add + knn_query", "import numpy as np, hnswlib\n"
                  "X = np.random.default_rng(0).random((200, 8), dtype=np.float32)\n"
                  "p = hnswlib.Index('l2', 8); p.init_index(200); p.add_items(X)\n"
                  "p.knn_query(X[:5], k=3)"),
    "bcd": ("scikit-learn Lasso", "import numpy as np\n"
            "from sklearn.linear_model import Lasso\n"
            "rng = np.random.default_rng(0)\n"
            "Lasso(alpha=0.1).fit(rng.random((30, 10)), rng.random(30))"),
    "sketch": ("numpy.linalg.lstsq", "import numpy as np\n"
               "rng = np.random.default_rng(0)\n"
               "np.linalg.lstsq(rng.random((50, 5)), rng.random(50), rcond=None)"),
    "dictionary": ("scikit-learn orthogonal_mp", "import numpy as np\n"
                   "from sklearn.linear_model import orthogonal_mp\n"
                   "rng = np.random.default_rng(0)\n"
                   "orthogonal_mp(rng.random((20, 30)), rng.random((20, 4)), "
                   "n_nonzero_coefs=3)"),
    "bayes": ("scikit-learn ARDRegression", "import numpy as np\n"
              "from sklearn.linear_model import ARDRegression\n"
              "rng = np.random.default_rng(0)\n"
              "ARDRegression().fit(rng.random((30, 10)), rng.random(30))"),
    "unmixing": ("scipy.optimize.nnls", "import numpy as np\n"
                 "from scipy.optimize import nnls\n"
                 "rng = np.random.default_rng(0)\n"
                 "nnls(rng.random((50, 4)), rng.random(50))"),
}

_PEER_CHILD = r"""
import json, resource, time
start = time.perf_counter()
exec(compile({code!r}, "peer", "exec"))
done = time.perf_counter()
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({{"import": float("nan"), "call": done - start,
                  "cpu": usage.ru_utime + usage.ru_stime}}))
"""


def _child(code: str, args: list[str], cache: str) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    env.pop("SPARSENUM_CACHE_DIR", None)
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _modules() -> list[str]:
    from sparsenum.utils.registry import _registration, registered_modules

    return [m for m in registered_modules() if hasattr(_registration(m), "warm_up")]


def main(argv=None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    load = os.getloadavg()[0]
    report = BenchmarkReport(
        "first_call", args,
        notes=("Each row is one fresh Python process: import of the module plus its warm-up "
               "(its main functions on a tiny input). 'empty cache' is the first process after "
               "an install (numba compiles); 'warm cache' is every later one. Peers run the "
               "comparable call of their own library in a fresh process. Targets: at most "
               f"10 s with an empty cache, 0.5 s warm. Load average at the start: {load:.1f} "
               "on the machine's cores."))
    for module in _modules():
        problem = f"{module}: import + first call"
        with tempfile.TemporaryDirectory(prefix="sparsenum-first-call-") as cache:
            cold = _child(_CHILD, [module], cache)
            warm = _child(_CHILD, [module], cache)
        report.add(problem, "sparsenum, warm numba cache", warm["import"] + warm["call"],
                   ours=True, import_s=warm["import"], call_s=warm["call"], cpu_s=warm["cpu"])
        report.add(problem, "sparsenum, empty numba cache", cold["import"] + cold["call"],
                   import_s=cold["import"], call_s=cold["call"], cpu_s=cold["cpu"])
        if module in _PEERS:
            label, code = _PEERS[module]
            try:
                peer = _child(_PEER_CHILD.format(code=code), [], tempfile.gettempdir())
            except subprocess.CalledProcessError:
                print(f"  ({label} is not installed)")
                continue
            report.add(problem, label, peer["call"], cpu_s=peer["cpu"])
    report.finish()


if __name__ == "__main__":
    main()
