"""Evidence for the constants and defaults of hyperlearn.testing (benchmarks/TUNING.md).

Runs the assertions over many hypothesis draws of correct results (false alarms, how close the
observed quantities come to each bound) and of deliberately perturbed ones (detections), and
compares the low-rank assertion with the rule it replaced (HMT's expectation bound times 10,
no check of the singular values).  Prints one table per section; nothing is timed.

    python -m tests.hyperlearn.testing.calibration --draws 2000
    python -m tests.hyperlearn.testing.calibration --section detection --draws 500
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse.linalg as spla
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hyperlearn.testing import (
    LOW_RANK_ROUNDING_SLACK,
    assert_low_rank_accuracy,
    assert_solution_accuracy,
    assert_symmetric_psd,
    hmt_power_bound,
)
from hyperlearn.testing.strategies import matrices_with_spectrum, spd_matrices, spd_systems

ALGORITHMS = ("hyperlearn", "sklearn-LU", "sklearn-QR", "scipy-svd")
OLD_SAFETY = 10.0  # the rule replaced: τ + 10·(E-bound + ρ)


@dataclass
class LowRankCase:
    A: np.ndarray
    sigma: np.ndarray
    k: int
    p: int
    q: int
    seed: int
    algorithm: str
    spectrum: str


def factorise(case):
    """The algorithm's rank-k factorisation of case.A (a correct one)."""
    A, k, p, q, seed = case.A, case.k, case.p, case.q, case.seed
    if case.algorithm == "hyperlearn":
        from hyperlearn.linalg import randomized_svd

        return randomized_svd(A, k, n_oversamples=p, n_iter=q, random_state=seed)
    if case.algorithm.startswith("sklearn"):
        from sklearn.utils.extmath import randomized_svd

        normalizer = case.algorithm.split("-")[1]
        return randomized_svd(
            A,
            k,
            n_oversamples=p,
            n_iter=q,
            random_state=seed,
            power_iteration_normalizer=normalizer,
        )
    U, s, Vt = scipy.linalg.svd(A.astype(np.float64), full_matrices=False)
    return U[:, :k].astype(A.dtype), s[:k].astype(A.dtype), Vt[:k].astype(A.dtype)


@st.composite
def low_rank_cases(draw, spectra=("exact_rank", "fast_decay", "slow_decay"), shape=(10, 80)):
    spectrum = draw(st.sampled_from(spectra))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    A, _, sigma, _ = draw(
        matrices_with_spectrum((shape, shape), spectrum=spectrum, rank=(1, 8), dtype=dtype)
    )
    r = min(A.shape)
    k = draw(st.integers(1, max(1, min(8, r - 1))))
    return LowRankCase(
        A=A,
        sigma=sigma,
        k=k,
        p=draw(st.integers(2, 12)),
        q=draw(st.integers(0, 4)),
        seed=draw(st.integers(0, 2**31 - 1)),
        algorithm=draw(st.sampled_from(ALGORITHMS)),
        spectrum=spectrum,
    )


def each_draw(strategy, draws, run):
    """Call ``run`` on ``draws`` derandomized hypothesis draws of ``strategy``."""

    @settings(
        max_examples=draws,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def loop(value):
        run(value)

    loop()


def old_rule_allowed(case, report):
    """τ + 10·(HMT expectation bound minimised over splits + ρ): the rule replaced."""
    sigma_full = np.r_[case.sigma, 0.0]
    ell = case.k + case.p
    if ell >= min(case.A.shape):
        hmt = 0.0
    else:
        hmt = min(hmt_power_bound(sigma_full, kk, ell - kk, case.q) for kk in range(1, ell - 1))
    return report["truncation"] + OLD_SAFETY * (hmt + report["rounding"])


def _verdict(A, U, s, Vt, case, sigma):
    try:
        return assert_low_rank_accuracy(
            A, U, s, Vt, k=case.k, n_oversamples=case.p, n_iter=case.q, sigma=sigma
        )
    except AssertionError as error:
        return error


# ------------------------------------------------------------------------------------------
# correct factorisations: false alarms, rounding constant, tightness


def false_alarms(draws):
    stats = {"cases": 0, "new_fail": 0, "old_fail": 0, "messages": []}
    ratios = {
        "(E-tau)/(beta+rho)": [],
        "prob_term_new/old p>=4": [],
        "prob_term_new/old p<4": [],
        "c_residual": [],
        "c_upper": [],
        "c_orth": [],
    }

    def run(case):
        U, s, Vt = factorise(case)
        stats["cases"] += 1
        verdict = _verdict(case.A, U, s, Vt, case, case.sigma)
        if isinstance(verdict, AssertionError):
            stats["new_fail"] += 1
            stats["messages"].append((case.algorithm, case.spectrum, str(verdict)[:200]))
            return
        report = verdict
        if report["observed"] > old_rule_allowed(case, report):
            stats["old_fail"] += 1
        m, n = case.A.shape
        eps = float(np.finfo(np.result_type(case.A.dtype, U.dtype)).eps)
        unit = math.sqrt(max(m, n)) * eps
        if report["hmt_bound"] > 0:
            new_term = report["hmt_bound"] + report["rounding"]
            ratios["(E-tau)/(beta+rho)"].append(
                (report["observed"] - report["truncation"]) / new_term
            )
            old_term = old_rule_allowed(case, report) - report["truncation"]
            key = "prob_term_new/old p>=4" if case.p >= 4 else "prob_term_new/old p<4"
            ratios[key].append(new_term / old_term)
        else:  # exact rank or full-width sketch: rounding alone
            ratios["c_residual"].append(
                max(report["observed"] - report["truncation"], 0.0) / (unit * report["norm_A"])
            )
        excess = np.sort(s.astype(np.float64))[::-1] - case.sigma[: s.size]
        ratios["c_upper"].append(max(float(excess.max()), 0.0) / (unit * report["norm_A"]))
        for F in (U, Vt.T):
            F = F.astype(np.float64)
            ratios["c_orth"].append(np.linalg.norm(F.T @ F - np.eye(F.shape[1]), 2) / unit)

    each_draw(low_rank_cases(), draws, run)
    print(f"correct factorisations: {stats['cases']} draws ({', '.join(ALGORITHMS)})")
    print(f"  failures, new rule (δ = 1e-6, safety 1): {stats['new_fail']}")
    print(f"  failures, old rule (10 × expectation):   {stats['old_fail']}")
    for name, values in ratios.items():
        if values:
            v = np.asarray(values)
            print(
                f"  {name:22s} n={v.size:5d}  min={v.min():.3g}  median={np.median(v):.3g}  "
                f"max={v.max():.3g}"
            )
    for message in stats["messages"][:5]:
        print("  ", message)


# ------------------------------------------------------------------------------------------
# perturbed factorisations: detections


def _rotate_u(U, rng, angle):
    """Turn the first column of U by ``angle`` towards a direction outside range(U)."""
    w = rng.standard_normal(U.shape[0])
    w -= U @ (U.T @ w)
    w /= np.linalg.norm(w)
    U = U.copy()
    U[:, 0] = math.cos(angle) * U[:, 0] + math.sin(angle) * w
    return U


def perturbations(U, s, Vt, rng):
    j = int(rng.integers(s.size))
    keep = np.arange(s.size) != j
    return {
        "s x1.5": (U, s * 1.5, Vt),
        "s x1.1": (U, s * 1.1, Vt),
        "s x0.9": (U, s * 0.9, Vt),
        "U rotated 0.1 rad": (_rotate_u(U, rng, 0.1), s, Vt),
        "first column dropped": (U[:, 1:], s[1:], Vt[1:]),
        "random column dropped": (U[:, keep], s[keep], Vt[keep]),
    }


def detection(draws, strategy=None, label="all spectra"):
    counts = {}

    def run(case):
        if case.k < 2:  # dropping a column of a rank-1 factorisation leaves nothing
            return
        U, s, Vt = factorise(case)
        rng = np.random.default_rng(case.seed)
        for name, (U2, s2, Vt2) in perturbations(U, s, Vt, rng).items():
            new = isinstance(_verdict(case.A, U2, s2, Vt2, case, case.sigma), AssertionError)
            report = _report_without_checks(case, U2, s2, Vt2)
            old = report["observed"] > old_rule_allowed(case, report)
            regimes = ["all"] + (["q>=1, p>=4"] if case.q >= 1 and case.p >= 4 else [])
            for regime in regimes:
                row = counts.setdefault((name, regime), [0, 0, 0])
                row[0] += 1
                row[1] += new
                row[2] += old

    each_draw(low_rank_cases() if strategy is None else strategy, draws, run)
    print(f"perturbed factorisations ({label}): detected / draws, new rule vs old rule")
    for (name, regime), (n, new, old) in sorted(counts.items()):
        print(f"  {name:22s} {regime:11s} new {new:5d}/{n}   old {old:5d}/{n}")


def _report_without_checks(case, U, s, Vt):
    """E, τ and ρ as the assertion computes them, without raising."""
    A64 = case.A.astype(np.float64)
    m, n = A64.shape
    observed = float(np.linalg.norm(A64 - (U * s) @ Vt, 2))
    eps = float(np.finfo(np.result_type(case.A.dtype, U.dtype)).eps)
    r = s.size
    sigma_full = np.r_[case.sigma, 0.0]
    truncation = float(sigma_full[r]) if r < case.k + case.p else 0.0
    rounding = LOW_RANK_ROUNDING_SLACK * math.sqrt(max(m, n)) * eps * float(sigma_full[0])
    return {"observed": observed, "truncation": truncation, "rounding": rounding}


def issue_case(draws):
    """The configuration of the issue: fast decay, 60×40, k = 5, p = 10, q = 4."""

    @st.composite
    def cases(draw):
        A, _, sigma, _ = draw(matrices_with_spectrum((60, 40), spectrum="fast_decay", rank=(1, 8)))
        return LowRankCase(
            A, sigma, 5, 10, 4, draw(st.integers(0, 2**31 - 1)), "hyperlearn", "fast_decay"
        )

    detection(draws, cases(), label="fast decay 60×40, k=5, p=10, q=4, hyperlearn")


# ------------------------------------------------------------------------------------------
# pseudo-inverse tails (HMT 2011, Prop. 10.4): the constants of hmt_deviation_bound


def pinv_tails(draws):
    rng = np.random.default_rng(0)
    print(
        "Gaussian k×(k+p) G: P{‖G⁺‖_F ≥ √(3k/(p+1))·t} ≤ t^-p, P{‖G⁺‖ ≥ e√(k+p)/(p+1)·t} ≤ "
        "t^-(p+1): observed frequency vs bound"
    )
    for k, p, t in ((1, 4, 1.2), (3, 4, 1.3), (5, 6, 1.2), (8, 10, 1.1), (2, 4, 1.0)):
        G = rng.standard_normal((draws, k, k + p))
        sv = np.linalg.svd(G, compute_uv=False)
        frob = np.sqrt(np.sum(sv**-2.0, axis=1))
        spec = 1.0 / sv[:, -1]
        f_obs = np.mean(frob >= math.sqrt(3 * k / (p + 1)) * t)
        s_obs = np.mean(spec >= math.e * math.sqrt(k + p) / (p + 1) * t)
        print(
            f"  k={k} p={p} t={t}: Frobenius {f_obs:.4f} ≤ {t**-p:.4f}, "
            f"spectral {s_obs:.4f} ≤ {t ** -(p + 1):.4f}"
        )


# ------------------------------------------------------------------------------------------
# assert_solution_accuracy and assert_symmetric_psd: false alarms and margins


def solves(draws):
    from hyperlearn.linalg import cg

    stats = {"cases": 0, "fail": 0, "forward": [], "residual": []}

    @st.composite
    def cases(draw):
        dtype = draw(st.sampled_from([np.float64, np.float32]))
        system = draw(spd_systems(n=(2, 40), condition_number=(1.0, 1e3), dtype=dtype))
        rtol = draw(st.sampled_from([1e-3, 1e-5] if dtype == np.float32 else [1e-4, 1e-8, 1e-11]))
        solver = draw(st.sampled_from(["hyperlearn cg", "direct"]))
        return system, rtol, solver, draw(st.sampled_from(["explicit", "operator"]))

    def run(case):
        (A, b, x_true), rtol, solver, form = case
        if solver == "direct":
            x = np.linalg.solve(A, b)
        else:
            x, info = cg(A, b, rtol=rtol, maxiter=50 * len(b))
            if info != 0:
                return
        stats["cases"] += 1
        # a LinearOperator hides the entries: the normwise slack c·√n·eps(‖|A|‖‖x‖ + ‖b‖) applies
        op = A if form == "explicit" else spla.aslinearoperator(A)
        try:
            report = assert_solution_accuracy(
                op, x, b, rtol=0.0 if solver == "direct" else rtol, x_true=x_true
            )
        except AssertionError:
            stats["fail"] += 1
            return
        stats["forward"].append(
            float(np.max(report["forward_error"] / report["allowed_forward_error"]))
        )
        if solver == "direct" and form == "operator":  # rtol = 0: the slack alone
            stats["residual"].append(float(np.max(report["residual"] / report["allowed_residual"])))

    each_draw(cases(), draws, run)
    f, r = np.asarray(stats["forward"]), np.asarray(stats["residual"])
    print(f"solves: {stats['cases']} draws, {stats['fail']} failures")
    print(f"  forward error / allowed: median {np.median(f):.3g}, max {f.max():.3g}")
    print(
        f"  direct solve, operator form, residual / c-slack (c = 10): median "
        f"{np.median(r):.3g}, max {r.max():.3g} (n = {r.size})"
    )


def spectra(draws):
    stats = {"cases": 0, "fail": 0, "lam": [], "asym": []}

    @st.composite
    def cases(draw):
        dtype = draw(st.sampled_from([np.float64, np.float32]))
        if draw(st.booleans()):
            return draw(spd_matrices(n=(1, 60), condition_number=(1.0, 1e8), dtype=dtype))
        n = draw(st.integers(2, 60))
        rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
        B = rng.standard_normal((n, draw(st.integers(1, n)))).astype(dtype)
        return B @ B.T  # rank-deficient Gram matrix, exactly PSD before rounding

    def run(A):
        stats["cases"] += 1
        try:
            report = assert_symmetric_psd(A)
        except AssertionError:
            stats["fail"] += 1
            return
        stats["lam"].append(max(-report["lambda_min"], 0.0) / report["tol"])
        stats["asym"].append(report["asymmetry"] / report["tol"])

    each_draw(cases(), draws, run)
    print(
        f"symmetric PSD: {stats['cases']} draws, {stats['fail']} failures; "
        f"-λ_min/tol max {max(stats['lam']):.3g}, asymmetry/tol max {max(stats['asym']):.3g}"
    )


SECTIONS = {
    "false_alarms": false_alarms,
    "detection": detection,
    "issue_case": issue_case,
    "pinv_tails": pinv_tails,
    "solves": solves,
    "spectra": spectra,
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--section", choices=sorted(SECTIONS), action="append")
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        for name in args.section or list(SECTIONS):
            draws = args.draws * 20 if name == "pinv_tails" else args.draws
            SECTIONS[name](draws)


if __name__ == "__main__":
    main()
