#!/usr/bin/env python3
"""Fit q(t) = Phi(-t) * exp(t^2/2) on [0, 15] by a rational function.

geluErfCore in main.go evaluates gelu(x) = x * Phi(x) through q; this script
produced its coefficients (geluErfNum, geluErfDen). It is not part of go
generate: the coefficients are committed in main.go. Needs mpmath.

Method: Loeb's iteration (linearised least squares on the relative error,
reweighted by the previous denominator) on 400 Chebyshev points, then the
maximum relative error on a uniform grid of 1500 points.
"""
import mpmath as mp

mp.mp.dps = 30
M, N = 5, 6  # numerator and denominator degrees
A, B = mp.mpf(0), mp.mpf(15)
K = 400


def q(t):
    return mp.ncdf(-t) * mp.exp(t * t / 2)


pts = [(A + B) / 2 + (B - A) / 2 * mp.cos(mp.pi * (i + 0.5) / K) for i in range(K)]
fs = [q(t) for t in pts]


def fit(m, n, iters=12):
    dk = [mp.mpf(1)] * K
    for _ in range(iters):
        rows, rhs = [], []
        for t, f, d in zip(pts, fs, dk):
            w = 1 / (f * d)
            rows.append([w * t**i for i in range(m + 1)] + [-w * f * t**j for j in range(1, n + 1)])
            rhs.append(w * f)
        x, _ = mp.qr_solve(mp.matrix(rows), mp.matrix(rhs))
        p = [x[i] for i in range(m + 1)]
        d = [mp.mpf(1)] + [x[m + j] for j in range(1, n + 1)]
        dk = [mp.polyval(d[::-1], t) for t in pts]
    return p, d


p, d = fit(M, N)
p = [float(c) for c in p]
d = [float(c) for c in d]
worst = max(
    abs(mp.polyval([mp.mpf(c) for c in p[::-1]], t) / mp.polyval([mp.mpf(c) for c in d[::-1]], t) / q(t) - 1)
    for t in (A + (B - A) * i / 1500 for i in range(1501))
)
print("max relative error %.3g" % worst)
print("geluErfNum = []float64{%s}" % ", ".join(repr(c) for c in p[::-1]))
print("geluErfDen = []float64{%s}" % ", ".join(repr(c) for c in d[::-1]))
