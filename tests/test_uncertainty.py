"""Error bars of the calibration: the Laplace covariance against the closed-form least-squares
one, interval propagation against the analytic interval of a linear metric, coverage counted by
hand, the fitted file's uncertainty schema, and the evaluate CLI's energy boundary and interval
flags (bad names exit 2)."""
import json
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from codesign.calibration import params as P
from codesign.calibration import uncertainty as U
from codesign.config.calibrated import check_uncertainty
from codesign.errors import ConfigError
from codesign.workflows.evaluate import check_energy_boundary, check_interval


@pytest.fixture(scope="module")
def linear_fit():
    """y = A z + noise, 12 rows, 3 parameters; z_hat by normal equations."""
    rng = np.random.default_rng(3)
    a = rng.normal(size=(12, 3))
    y = a @ np.array([0.5, -1.0, 2.0]) + 0.1 * rng.normal(size=12)
    z_hat = np.linalg.solve(a.T @ a, a.T @ y)
    sse = float(np.sum((a @ z_hat - y) ** 2))
    return a, y, z_hat, sse


def test_laplace_covariance_is_the_least_squares_covariance(linear_fit):
    """Loss = SSE / n (the fit's mean squared error): 2 s^2 / n x H^-1 = s^2 (A^T A)^-1 with
    s^2 = SSE / (n - p), the textbook covariance of ordinary least squares."""
    a, y, z_hat, sse = linear_fit
    n = len(y)
    loss = lambda z: jnp.mean((jnp.asarray(a) @ z - jnp.asarray(y)) ** 2)  # noqa: E731
    with jax.enable_x64(True):
        cov = U.laplace_covariance(loss, z_hat, n, sse)
    golden = sse / (n - 3) * np.linalg.inv(a.T @ a)
    np.testing.assert_allclose(cov, golden, rtol=1e-9)
    sd, corr = U.sd_and_correlation(cov)
    np.testing.assert_allclose(U.covariance_of(sd, corr), golden, rtol=1e-9)
    assert np.allclose(np.diag(corr), 1.0) and np.all(np.abs(corr) <= 1.0)


def test_flat_direction_gets_a_large_positive_variance():
    h = np.diag([2.0, 0.0])  # the data say nothing about the second parameter
    cov = U.covariance_from_hessian(h, 10.0, 1.0, 2)
    assert np.all(np.linalg.eigvalsh(cov) > 0) and cov[1, 1] > 1e6 * cov[0, 0]


def test_interval_of_a_linear_metric_matches_the_analytic_one():
    """m = c^T z + b with z ~ N(mu, Sigma): the interval is m(mu) -/+ 1.2816 sqrt(c^T Sigma c)
    (Phi^-1(0.9) = 1.2815516); sampled and linearised propagation both give it."""
    mu = np.array([0.3, -0.2])
    cov = np.array([[0.04, 0.01], [0.01, 0.09]])
    c, b = np.array([2.0, -1.0]), 5.0
    half = 1.2815516 * np.sqrt(c @ cov @ c)  # sqrt(0.16 - 0.04 + 0.09) = 0.458
    center = c @ mu + b  # 5.8
    assert U.normal_quantile(0.9) == pytest.approx(1.2815516, abs=1e-6)
    lo, hi = U.linear_interval(center, c, cov, 0.8)
    assert (float(lo), float(hi)) == pytest.approx((center - half, center + half), rel=1e-6)
    z = np.asarray(U.sample_normal(jax.random.PRNGKey(0), mu, cov, 40_000))
    np.testing.assert_allclose(np.cov(z.T), cov, rtol=0.05, atol=2e-3)
    slo, shi = U.quantile_interval(z @ c + b, 0.8)
    assert float(slo) == pytest.approx(center - half, abs=0.02) and float(shi) == pytest.approx(center + half, abs=0.02)


def test_coverage_counts_points_inside_their_interval():
    measured = [1.0, 2.0, 3.0, 4.0, 5.0]
    lower = [0.5, 2.5, 2.0, 4.0, np.nan]
    upper = [1.5, 3.0, 2.9, 4.5, 6.0]
    kinds = ["speed", "speed", "energy", "energy", "energy"]
    c = U.coverage(measured, lower, upper, kinds)
    # inside: row 1 (0.5 <= 1 <= 1.5), row 4 (on the bound); row 2 below, row 3 above, NaN outside
    assert c["speed"] == {"n": 2, "inside": 1, "fraction": 0.5}
    assert c["energy"]["inside"] == 1 and c["energy"]["fraction"] == pytest.approx(1 / 3)
    assert c["overall"] == {"n": 5, "inside": 2, "fraction": 0.4}


def test_sampled_calibrated_theta_is_relative_to_the_fitted_values():
    """A multiplier draw is a ratio to the fitted value (the chip already carries it), an
    absolute draw is the value; with sd 0 the draw is the fitted value itself."""
    import codesign as cd

    chip = cd.load_hardware("h100-sxm").chip
    mult = next(p for p in P.PARAMS if p.kind == "multiplier")
    absolute = next(p for p in P.PARAMS if p.kind == "absolute")
    fitted = {mult.name: 0.5 * (mult.lo + mult.hi), absolute.name: 0.5 * (absolute.lo + absolute.hi)}
    z = P.to_unconstrained(np.array([fitted.get(p.name, p.init) for p in P.PARAMS]))
    names = [mult.name, absolute.name]
    entry = {"values": {k: {"value": v} for k, v in fitted.items()},
             "uncertainty": {"params": names, "z": [float(z[P.NAMES.index(k)]) for k in names],
                             "sd_z": [0.0, 0.0], "correlation": [[1.0, 0.0], [0.0, 1.0]]}}
    theta = U.sample_calibrated_theta(chip, entry, jax.random.PRNGKey(0), 3)
    assert theta.shape == (3, len(P.PARAMS))
    np.testing.assert_allclose(theta[:, P.NAMES.index(mult.name)], 1.0, rtol=1e-6)
    np.testing.assert_allclose(theta[:, P.NAMES.index(absolute.name)], fitted[absolute.name], rtol=1e-6)
    check_uncertainty(entry["uncertainty"], entry["values"], "u")
    with pytest.raises(ConfigError, match=r"u.correlation: expected a symmetric 2 x 2 matrix"):
        check_uncertainty(entry["uncertainty"] | {"correlation": [[1.0, 0.5], [0.4, 1.0]]}, entry["values"], "u")
    with pytest.raises(ConfigError, match=r"u.sd_z\[1\] = -1.0; allowed: a finite number >= 0"):
        check_uncertainty(entry["uncertainty"] | {"sd_z": [0.1, -1.0]}, entry["values"], "u")
    with pytest.raises(ConfigError, match=r"u.params = \['nope'\]; allowed"):
        check_uncertainty(entry["uncertainty"] | {"params": ["nope"]}, entry["values"], "u")


def test_boundary_and_interval_arguments_are_checked_by_name():
    assert [check_energy_boundary(b) for b in ("chip", "node", "facility")] == ["chip", "node", "facility"]
    with pytest.raises(ConfigError, match=r"energy_boundary = 'rack'; allowed: chip, node, facility"):
        check_energy_boundary("rack")
    assert check_interval(None, True) == 0.8 and check_interval(None, False) is None
    assert check_interval(0.9, True) == 0.9
    for bad in (0.0, 1.0, 1.5, True, "x"):
        with pytest.raises(ConfigError, match=r"interval = .*; allowed: a number in \(0, 1\)"):
            check_interval(bad, True)
    with pytest.raises(ConfigError, match=r"needs calibrated: true"):
        check_interval(0.8, False)


def test_evaluate_cli_energy_boundary_and_bad_names():
    """One process: --energy-boundary chip reports joules_per_token at the chip boundary (the
    accelerators' figure, below node); a bad boundary and a bad interval exit 2 by name."""
    base = [sys.executable, "-m", "codesign", "evaluate", "--hardware", "h100-sxm", "--model", "llama-3.1-8b",
            "--tp", "1"]
    procs = [subprocess.Popen(base + extra, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for extra in (["--energy-boundary", "chip", "--json"], ["--energy-boundary", "rack"],
                           ["--calibrated", "--interval", "1.5"])]
    outs = [p.communicate(timeout=300) for p in procs]
    (rc, out, err), (rc_bad, _, err_bad), (rc_iv, _, err_iv) = [(p.returncode, *o) for p, o in zip(procs, outs)]
    assert rc == 0, err
    r = json.loads(out)
    assert r["energy_boundary"] == "chip" and r["joules_per_token"] == r["joules_per_token_chip"]
    assert r["joules_per_token_chip"] < r["joules_per_token_node"] < r["joules_per_token_facility"]
    assert rc_bad == 2 and "energy_boundary = 'rack'; allowed: chip, node, facility" in err_bad
    assert "Traceback" not in err_bad
    assert rc_iv == 2 and "interval = 1.5; allowed: a number in (0, 1)" in err_iv and "Traceback" not in err_iv
