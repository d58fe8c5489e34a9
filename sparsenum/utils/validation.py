"""Input validation for every public function of sparsenum, in one place.

Each check returns the validated (possibly converted) value and raises ``TypeError`` for a wrong
kind of object or ``ValueError`` for a wrong value, with a message naming the argument, the rule
and the value received. Arrays are converted (never modified in place); a copy is made only when
conversion needs one or ``copy=True``.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Iterable

import numpy as np
import scipy.sparse as sp

__all__ = [
    "check_array",
    "check_bool",
    "check_consistent_length",
    "check_int",
    "check_marginals",
    "check_n_jobs",
    "check_one_of",
    "check_probability_vector",
    "check_scalar",
    "check_shape",
    "check_sparse",
    "describe_value",
    "renamed_argument",
]


def describe_value(value) -> str:
    """Short description of a value for error messages (arrays by shape and dtype, not contents)."""
    if isinstance(value, np.ndarray):
        if value.size <= 6:
            entries = np.array2string(value.ravel(), precision=4, separator=", ")
            return f"array({entries}, shape={value.shape})"
        return f"array of shape {value.shape} and dtype {value.dtype}"
    if sp.issparse(value):
        return f"sparse {value.format} matrix of shape {value.shape}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_real_number(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))


def check_scalar(
    x,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    include_low: bool = True,
    include_high: bool = True,
    allow_none: bool = False,
) -> float | None:
    """Validate a real scalar in an interval; returns it as ``float``.

    Examples
    --------
    >>> check_scalar(0.1, "reg", low=0, include_low=False)
    0.1
    >>> check_scalar(-1, "reg", low=0, include_low=False)
    Traceback (most recent call last):
    ...
    ValueError: reg must be a finite number > 0; got -1
    """
    if x is None and allow_none:
        return None
    if not _is_real_number(x):
        raise TypeError(f"{name} must be a real number; got {describe_value(x)} "
                        f"of type {type(x).__name__}")
    rule = _interval_rule(low, high, include_low, include_high)
    value = float(x)
    ok = np.isfinite(value)
    if low is not None:
        ok = ok and (value >= low if include_low else value > low)
    if high is not None:
        ok = ok and (value <= high if include_high else value < high)
    if not ok:
        raise ValueError(f"{name} must be a finite number{rule}; got {x!r}")
    return value


def _interval_rule(low, high, include_low, include_high) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>=' if include_low else '>'} {low:g}")
    if high is not None:
        parts.append(f"{'<=' if include_high else '<'} {high:g}")
    return (" " + " and ".join(parts)) if parts else ""


def check_bool(x, name: str) -> bool:
    """Validate a boolean flag; returns it as ``bool``.

    Only ``True``/``False`` (or NumPy's booleans) are accepted: a string such as ``"False"`` is
    truthy, and ``0``/``1`` usually mean a misplaced number.

    Examples
    --------
    >>> check_bool(True, "fit_intercept")
    True
    >>> check_bool("no", "fit_intercept")
    Traceback (most recent call last):
    ...
    TypeError: fit_intercept must be True or False; got 'no' of type str
    """
    if not isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {describe_value(x)} "
                        f"of type {type(x).__name__}")
    return bool(x)


def check_int(
    x,
    name: str,
    *,
    low: int | None = None,
    high: int | None = None,
    allow_none: bool = False,
) -> int | None:
    """Validate an integer in the closed range ``[low, high]``; returns it as ``int``.

    Booleans and floats (even ``3.0``) are rejected: they are almost always a mistake.

    Examples
    --------
    >>> check_int(5, "max_nz", low=1, high=10)
    5
    >>> check_int(0, "max_nz", low=1, high=10)
    Traceback (most recent call last):
    ...
    ValueError: max_nz must be an integer >= 1 and <= 10; got 0
    """
    if x is None and allow_none:
        return None
    if not isinstance(x, numbers.Integral) or isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer; got {describe_value(x)} "
                        f"of type {type(x).__name__}")
    value = int(x)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be an integer{_interval_rule(low, high, True, True)}; "
                         f"got {value}")
    return value


def check_one_of(x, name: str, options: Iterable):
    """Validate that ``x`` is one of ``options`` (strings compared exactly).

    Examples
    --------
    >>> check_one_of("dual", "formulation", ("dual", "semi_dual"))
    'dual'
    """
    options = tuple(options)
    if not any(x is o or (type(x) is type(o) and x == o) for o in options):
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; got {x!r}")
    return x


def check_array(
    x,
    name: str,
    *,
    ndim: int | tuple[int, ...] | None = None,
    dtype=np.float64,
    allow_nan: bool = False,
    allow_inf: bool | None = None,
    nonnegative: bool = False,
    allow_complex: bool = False,
    min_size: int = 1,
    copy: bool = False,
    order: str = "C",
) -> np.ndarray:
    """Convert to a dense array of ``dtype`` and check dimension, finiteness and sign.

    Parameters
    ----------
    x : array-like
        The value to check. Sparse matrices are rejected (see :func:`check_sparse`).
    name : str
        Argument name used in error messages.
    ndim : int or tuple of int, optional
        Allowed number(s) of dimensions.
    dtype : numpy dtype or None, default=float64
        Target dtype; ``None`` keeps a numeric dtype as it is. Float32 input is upcast unless
        ``dtype=np.float32`` is asked for.
    allow_nan, allow_inf : bool
        Whether NaN / infinite entries are accepted (``allow_inf`` defaults to ``allow_nan``).
    nonnegative : bool, default=False
        Reject negative entries.
    allow_complex : bool, default=False
        Accept complex entries; with ``dtype=None`` a complex array keeps its dtype.
    min_size : int, default=1
        Minimum number of entries.
    copy : bool, default=False
        Always return a new array (for functions that work in place on their copy).
    order : {"C", "F", "A"}, default="C"
        Memory layout of the result.

    Returns
    -------
    array : ndarray

    Examples
    --------
    >>> check_array([[1, 2], [3, 4]], "C", ndim=2).dtype
    dtype('float64')
    >>> check_array([1.0, float("nan")], "a")
    Traceback (most recent call last):
    ...
    ValueError: a must not contain NaN; got 1 NaN entries in array([ 1., nan], shape=(2,))
    """
    if sp.issparse(x):
        raise TypeError(f"{name} must be a dense array; got {describe_value(x)} "
                        "(convert with .toarray())")
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be array-like of numbers; got {describe_value(x)}")
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be array-like of numbers; got {describe_value(x)} "
                        f"({exc})") from None
    if arr.dtype.kind not in ("biufc" if allow_complex else "biuf"):
        kind = "real or complex numbers" if allow_complex else "real numbers"
        raise TypeError(f"{name} must hold {kind}; got dtype {arr.dtype} "
                        f"in {describe_value(arr)}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(map(str, allowed))
            raise ValueError(f"{name} must be a {want}-dimensional array; got {arr.ndim} "
                             f"dimensions, shape {arr.shape}")
    if arr.size < min_size:
        raise ValueError(f"{name} must have at least {min_size} entries; got shape {arr.shape}")
    target = arr.dtype if dtype is None and arr.dtype.kind in "fc" else (dtype or np.float64)
    original = arr
    arr = np.array(arr, dtype=target, order=order, copy=None if not copy else True)
    if copy and np.shares_memory(arr, original):
        arr = arr.copy(order=order)
    allow_inf = allow_nan if allow_inf is None else allow_inf
    # a finite sum proves every entry finite (NaN and inf propagate): one cheap reduction
    # instead of two elementwise passes on the common, clean input
    if arr.dtype.kind in "fc" and not (allow_nan and allow_inf) and not np.isfinite(arr.sum()):
        n_nan = 0 if allow_nan else int(np.count_nonzero(np.isnan(arr)))
        if n_nan:
            raise ValueError(f"{name} must not contain NaN; got {n_nan} NaN entries in "
                             f"{describe_value(arr)}")
        if not allow_inf:
            n_inf = int(np.count_nonzero(np.isinf(arr)))
            if n_inf:
                raise ValueError(f"{name} must be finite; got {n_inf} infinite entries in "
                                 f"{describe_value(arr)}")
    if nonnegative:
        n_neg = int(np.count_nonzero(arr < 0))
        if n_neg:
            raise ValueError(f"{name} must be nonnegative; got {n_neg} negative entries "
                             f"(min {np.nanmin(arr):.6g}) in {describe_value(arr)}")
    return arr


def check_shape(arr: np.ndarray, name: str, shape: tuple[int | None, ...]) -> np.ndarray:
    """Check ``arr.shape`` against ``shape`` (``None`` matches any length).

    Examples
    --------
    >>> import numpy as np
    >>> check_shape(np.zeros((3, 4)), "C", (3, 5))
    Traceback (most recent call last):
    ...
    ValueError: C must have shape (3, 5); got (3, 4)
    """
    ok = len(arr.shape) == len(shape) and all(
        want is None or want == got for want, got in zip(shape, arr.shape)
    )
    if not ok:
        want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + \
            ("," if len(shape) == 1 else "") + ")"
        raise ValueError(f"{name} must have shape {want}; got {tuple(arr.shape)}")
    return arr


def check_consistent_length(**arrays) -> int:
    """Check that all given arrays have the same first dimension; returns it.

    Examples
    --------
    >>> check_consistent_length(X=[[1], [2]], y=[1, 2, 3])
    Traceback (most recent call last):
    ...
    ValueError: inconsistent numbers of samples: X has 2, y has 3
    """
    lengths = {name: (a.shape[0] if hasattr(a, "shape") else len(a)) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{k} has {v}" for k, v in lengths.items())
        raise ValueError(f"inconsistent numbers of samples: {detail}")
    return next(iter(lengths.values())) if lengths else 0


def check_probability_vector(a, name: str, *, size: int | None = None) -> np.ndarray:
    """A 1-D, finite, nonnegative float64 vector with positive total mass (zeros allowed).

    Examples
    --------
    >>> check_probability_vector([0.5, 0.5], "a")
    array([0.5, 0.5])
    >>> check_probability_vector([0.0, 0.0], "a")
    Traceback (most recent call last):
    ...
    ValueError: a must have positive total mass; got sum 0
    """
    arr = check_array(a, name, ndim=1, nonnegative=True)
    if size is not None and arr.shape[0] != size:
        raise ValueError(f"{name} must have length {size}; got {arr.shape[0]}")
    total = float(arr.sum())
    if not total > 0:
        raise ValueError(f"{name} must have positive total mass; got sum {total:g}")
    return arr


def check_marginals(a, b, *, rtol: float = 1e-6, a_name: str = "a", b_name: str = "b"):
    """Validate two measures of equal total mass (relative tolerance ``rtol``).

    Examples
    --------
    >>> a, b = check_marginals([0.5, 0.5], [0.2, 0.3, 0.5])
    >>> check_marginals([0.5, 0.5], [0.2, 0.3])
    Traceback (most recent call last):
    ...
    ValueError: a and b must have the same total mass (relative tolerance 1e-06); got ...=0.5
    """
    a = check_probability_vector(a, a_name)
    b = check_probability_vector(b, b_name)
    sa, sb = float(a.sum()), float(b.sum())
    if abs(sa - sb) > rtol * max(sa, sb):
        raise ValueError(
            f"{a_name} and {b_name} must have the same total mass (relative tolerance {rtol:g}); "
            f"got sum({a_name})={sa:.10g} and sum({b_name})={sb:.10g}"
        )
    return a, b


def check_sparse(
    x,
    name: str,
    *,
    format: str = "csr",
    accept_dense: bool = False,
    dtype=np.float64,
    allow_nan: bool = False,
    copy: bool = False,
):
    """Convert a scipy.sparse matrix or array to ``format`` (``"csr"`` or ``"csc"``) and check it.

    Dense input is converted with :func:`check_array` when ``accept_dense`` (and returned dense);
    otherwise it is rejected. Indices are made canonical (sorted, no duplicates) on a copy.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> check_sparse(sp.eye(3, format="coo"), "A").format
    'csr'
    """
    if format not in ("csr", "csc"):
        raise ValueError(f"format must be 'csr' or 'csc'; got {format!r}")
    if not sp.issparse(x):
        if accept_dense:
            return check_array(x, name, ndim=2, dtype=dtype, allow_nan=allow_nan, copy=copy)
        raise TypeError(f"{name} must be a scipy.sparse matrix; got {describe_value(x)}")
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-dimensional; got shape {x.shape}")
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers; got dtype {x.dtype}")
    converted = x.asformat(format)
    out = converted.astype(dtype, copy=copy or converted is x)
    if not out.has_canonical_format:
        out = out.copy() if out is x else out
        out.sum_duplicates()
        out.sort_indices()
    if not allow_nan and out.nnz and not np.isfinite(out.data).all():
        n_bad = int(np.count_nonzero(~np.isfinite(out.data)))
        raise ValueError(f"{name} must be finite; got {n_bad} NaN or infinite stored entries")
    return out


def check_n_jobs(n_jobs, name: str = "n_jobs") -> int | None:
    """``None``, a positive integer, or a negative one counting back from all cores (-1 = all).

    Examples
    --------
    >>> check_n_jobs(0)
    Traceback (most recent call last):
    ...
    ValueError: n_jobs must be None, a positive integer, or negative (-1 means all cores); got 0
    """
    if n_jobs is None:
        return None
    if not isinstance(n_jobs, numbers.Integral) or isinstance(n_jobs, (bool, np.bool_)):
        raise TypeError(f"{name} must be None or an integer; got {describe_value(n_jobs)}")
    if n_jobs == 0:
        raise ValueError(f"{name} must be None, a positive integer, or negative "
                         f"(-1 means all cores); got 0")
    return int(n_jobs)


def check_verbose(verbose, name: str = "verbose") -> int:
    """A ``verbose`` level: a nonnegative integer, or ``True``/``False`` for 1/0 (as in
    scikit-learn).

    Examples
    --------
    >>> from sparsenum.utils import check_verbose
    >>> check_verbose(True), check_verbose(2)
    (1, 2)
    """
    if isinstance(verbose, (bool, np.bool_)):
        return int(verbose)
    if not isinstance(verbose, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= 0 or a bool; got "
                        f"{describe_value(verbose)} of type {type(verbose).__name__}")
    return check_int(verbose, name, low=0)


def renamed_argument(value, old_value, name: str, old_name: str, *, reason: str,
                     stacklevel: int):
    """``(value, name)`` of an argument renamed from ``old_name``.

    The former name is still accepted, with a FutureWarning that points ``stacklevel`` frames
    up from here (at the user's call) and says why (``reason``, e.g. ``"as in scikit-learn"``);
    the value then keeps its former name, so that error messages name what the user wrote.
    Giving both names is a TypeError.
    """
    if old_value is None:
        return value, name
    warnings.warn(f"{old_name} is renamed {name}, {reason}; the name {old_name} will be "
                  "removed in the next release", FutureWarning, stacklevel=stacklevel)
    if value is not None:
        raise TypeError(f"give {name} or its former name {old_name}, not both")
    return old_value, old_name


def check_callback(callback, name: str = "callback"):
    """``None`` or a callable ``callback(iteration, state)``.

    Examples
    --------
    >>> from sparsenum.utils import check_callback
    >>> check_callback(None) is None
    True
    """
    if callback is not None and not callable(callback):
        raise TypeError(f"{name} must be None or a callable {name}(iteration, state); got "
                        f"{describe_value(callback)} of type {type(callback).__name__}")
    return callback
