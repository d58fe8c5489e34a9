"""Block coordinate descent: problems, partitions, greedy selection rules, matrix and
message-passing updates, and proximal L1 with active-set Newton steps.

After Nutini, Laradji and Schmidt, "Let's Make Block Coordinate Descent Converge Faster", JMLR 2022.
"""

from ..utils._lazy import lazy_exports
from .framework import BCDResult, block_coordinate_descent
from .l1_logistic import L1LogisticResult, l1_logistic_duality_gap, solve_l1_logistic
from .lasso import LassoResult, lasso_duality_gap, solve_lasso
from .linear_problems import BinaryLogistic, LeastSquares, MultinomialLogistic
from .problems import BCDProblem, ProblemState
from .quadratic_problems import LabelPropagationProblem, SparseQuadratic

__all__ = [
    "BCDLabelPropagation",
    "BCDLasso",
    "BCDLogisticRegression",
    "BCDProblem",
    "BCDResult",
    "BinaryLogistic",
    "L1LogisticResult",
    "LabelPropagationProblem",
    "LassoResult",
    "LeastSquares",
    "MultinomialLogistic",
    "ProblemState",
    "SparseQuadratic",
    "block_coordinate_descent",
    "l1_logistic_duality_gap",
    "lasso_duality_gap",
    "solve_l1_logistic",
    "solve_lasso",
]

#: the former name of :class:`LabelPropagationProblem` (not the estimator, BCDLabelPropagation)
LabelPropagation = LabelPropagationProblem

# estimators import scikit-learn: loaded when first used
__getattr__, __dir__ = lazy_exports(__name__, {
    "BCDLabelPropagation": ".estimators",
    "BCDLasso": ".estimators",
    "BCDLogisticRegression": ".estimators",
})
