package io.sparkprop.ridge;

import java.util.ArrayList;
import java.util.List;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.decomposition.TriangularSolver_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.CholeskyDecomposition_F64;

/**
 * The driver-side algebra of closed-form ridge, apart from the Spark pass that sums the
 * {@link RidgeStatistics} (as MLlib keeps {@code NormalEquationSolver} apart from
 * {@code WeightedLeastSquares}). From the centred co-moments, with intercept,
 * <pre>  (C_xx/W + λD) Wᵀ = C_xy/W,   b = ȳ − W x̄</pre>
 * ({@code D = I}, or {@code diag(σ²)} with standardisation); without intercept the raw moments
 * {@code S_xx = C_xx + W x̄x̄ᵀ}, {@code S_xy = C_xy + W x̄ȳᵀ} take their place. This is the seeds' closed form
 * {@code W = Y Xᵀ (X Xᵀ + λ' I)⁻¹} with {@code λ' = Wλ}, on centred data.
 *
 * <p>Constant features (one value on every row of positive weight, decided exactly from their
 * minimum and maximum) carry no information beside the intercept: they get coefficient 0 and are left
 * out of the system; so, without intercept, are all-zero features. The system is solved after
 * equilibration, {@code Ã = D_a^{-1/2} A D_a^{-1/2}} with {@code D_a = diag(A)}, so that the pivots of
 * its Cholesky factor are {@code 1 − R²} of each feature on the features before it (plus the penalty's
 * share) whatever the features' units: a timestamp beside a 0/1 flag is as solvable as two unit
 * features, and "singular" means a pivot below {@value #SINGULAR_PIVOT} of its diagonal entry.
 */
final class NormalEquations {
    /** An equilibrated pivot {@code L_ii²} below this means feature {@code i} is spanned by the ones before it. */
    static final double SINGULAR_PIVOT = 1e-13;

    private NormalEquations() {
    }

    /** A solved system, or the feature that made it singular. */
    static final class Result {
        /** {@code m×n}; {@code null} when singular. */
        final DMatrixRMaj coefficients;
        final double[] intercepts;
        final double[] rmse;
        final double[] r2;
        /** The number of features left out as constant. */
        final int constantFeatures;
        /** When singular: the feature whose pivot was the smallest, or −1 if none can be named. */
        final int singularFeature;

        private Result(DMatrixRMaj coefficients, double[] intercepts, double[] rmse, double[] r2, int constantFeatures,
                       int singularFeature) {
            this.coefficients = coefficients;
            this.intercepts = intercepts;
            this.rmse = rmse;
            this.r2 = r2;
            this.constantFeatures = constantFeatures;
            this.singularFeature = singularFeature;
        }

        boolean isSingular() {
            return coefficients == null;
        }
    }

    /**
     * Solves from complete statistics ({@code stats} is symmetrised, otherwise unchanged).
     *
     * @param regParam        {@code λ ≥ 0}
     * @param fitIntercept    fit an unpenalised intercept
     * @param standardization penalise {@code σ_j W_j} instead of {@code W_j}
     */
    static Result solve(RidgeStatistics stats, double regParam, boolean fitIntercept, boolean standardization) {
        stats.symmetrise();
        int n = stats.n;
        int m = stats.m;
        double sw = stats.weightSum;
        double[] variance = new double[n];
        for (int j = 0; j < n; j++) {
            variance[j] = stats.isConstant(j) ? 0.0 : stats.cxx.data[j * n + j] / sw;
        }
        // the moments the system uses: centred with intercept, raw (from the centred ones) without
        DMatrixRMaj a = new DMatrixRMaj(n, n);
        DMatrixRMaj rhs = new DMatrixRMaj(n, m);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double v = stats.cxx.data[i * n + j];
                a.data[i * n + j] = (fitIntercept ? v : v + sw * stats.xMean[i] * stats.xMean[j]) / sw;
            }
            for (int k = 0; k < m; k++) {
                double v = stats.cxy.data[i * m + k];
                rhs.data[i * m + k] = (fitIntercept ? v : v + sw * stats.xMean[i] * stats.yMean[k]) / sw;
            }
        }
        List<Integer> kept = new ArrayList<>();
        for (int j = 0; j < n; j++) {
            boolean constant = stats.isConstant(j);
            boolean uninformative = fitIntercept || standardization ? constant
                    : constant && stats.xMin[j] == 0.0; // without intercept a constant c ≠ 0 is a valid regressor
            if (!uninformative) {
                kept.add(j);
            }
        }
        int r = kept.size();
        DMatrixRMaj theta = new DMatrixRMaj(r, m);
        if (r > 0) {
            DMatrixRMaj ar = new DMatrixRMaj(r, r);
            DMatrixRMaj br = new DMatrixRMaj(r, m);
            for (int i = 0; i < r; i++) {
                int fi = kept.get(i);
                for (int j = 0; j < r; j++) {
                    ar.data[i * r + j] = a.data[fi * n + kept.get(j)];
                }
                ar.data[i * r + i] += regParam * (standardization ? variance[fi] : 1.0);
                System.arraycopy(rhs.data, fi * m, br.data, i * m, m);
            }
            int singular = choleskySolveEquilibrated(ar, br, theta);
            if (singular != Integer.MAX_VALUE) {
                return new Result(null, null, null, null, n - r, singular >= 0 ? kept.get(singular) : -1);
            }
        }
        DMatrixRMaj w = new DMatrixRMaj(m, n);
        for (int i = 0; i < r; i++) {
            for (int k = 0; k < m; k++) {
                w.data[k * n + kept.get(i)] = theta.data[i * m + k];
            }
        }
        double[] intercepts = new double[m];
        if (fitIntercept) {
            for (int k = 0; k < m; k++) {
                double s = stats.yMean[k];
                for (int j = 0; j < n; j++) {
                    s -= w.data[k * n + j] * stats.xMean[j];
                }
                intercepts[k] = s;
            }
        }
        double[][] metrics = trainingMetrics(stats, w, intercepts);
        return new Result(w, intercepts, metrics[0], metrics[1], n - r, -1);
    }

    /**
     * {@code A Θ = B} ({@code A} r×r, modified) by Cholesky of the equilibrated {@code Ã = S A S},
     * {@code S = diag(a_ii)^{-1/2}}: {@code Ã (S⁻¹Θ) = S B}. Returns {@code Integer.MAX_VALUE} on success,
     * else the index of the feature with the smallest pivot (−1 if there is none to name).
     */
    private static int choleskySolveEquilibrated(DMatrixRMaj a, DMatrixRMaj b, DMatrixRMaj theta) {
        int r = a.numRows;
        int m = b.numCols;
        double[] s = new double[r];
        for (int i = 0; i < r; i++) {
            double d = a.get(i, i);
            if (!(d > 0) || !Double.isFinite(d)) {
                return i;
            }
            s[i] = 1.0 / Math.sqrt(d);
        }
        for (int i = 0; i < r; i++) {
            for (int j = 0; j < r; j++) {
                a.data[i * r + j] *= s[i] * s[j];
            }
            a.data[i * r + i] = 1.0; // exactly, whatever the rounding of s_i²·a_ii
        }
        // EJML picks a blocked factorisation for large r; through this factory the factor comes back
        // row-major either way
        CholeskyDecomposition_F64<DMatrixRMaj> chol = DecompositionFactory_DDRM.chol(r, true);
        if (!chol.decompose(a.copy())) {
            return firstFailingPivot(a);
        }
        DMatrixRMaj l = chol.getT(null);
        int worst = smallestPivot(l, r);
        if (!(l.get(worst, worst) * l.get(worst, worst) > SINGULAR_PIVOT)) {
            return worst;
        }
        // L Lᵀ θ̃_k = S b_k for every output k: forward, then back substitution; θ_k = S θ̃_k
        double[] column = new double[r];
        for (int k = 0; k < m; k++) {
            for (int i = 0; i < r; i++) {
                column[i] = s[i] * b.data[i * m + k];
            }
            TriangularSolver_DDRM.solveL(l.data, column, r);
            TriangularSolver_DDRM.solveTranL(l.data, column, r);
            for (int i = 0; i < r; i++) {
                theta.data[i * m + k] = s[i] * column[i];
            }
        }
        return Integer.MAX_VALUE;
    }

    /**
     * The row at which an unblocked Cholesky factorisation of {@code a} (modified) meets a pivot
     * {@code L_ii²} that is not above {@value #SINGULAR_PIVOT}: the first feature spanned by the ones before
     * it. Only for the error message (EJML's factorisation does not say where it stopped).
     */
    private static int firstFailingPivot(DMatrixRMaj a) {
        int r = a.numRows;
        double[] d = a.data;
        for (int j = 0; j < r; j++) {
            double pivot = d[j * r + j];
            for (int k = 0; k < j; k++) {
                pivot -= d[j * r + k] * d[j * r + k];
            }
            if (!(pivot > SINGULAR_PIVOT)) {
                return j;
            }
            double l = Math.sqrt(pivot);
            d[j * r + j] = l;
            for (int i = j + 1; i < r; i++) {
                double v = d[i * r + j];
                for (int k = 0; k < j; k++) {
                    v -= d[i * r + k] * d[j * r + k];
                }
                d[i * r + j] = v / l;
            }
        }
        return -1;
    }

    /** The row of the smallest (or first non-positive or NaN) diagonal entry of the factor. */
    private static int smallestPivot(DMatrixRMaj l, int r) {
        int worst = 0;
        double smallest = Double.POSITIVE_INFINITY;
        for (int i = 0; i < r; i++) {
            double p = l.get(i, i);
            double p2 = p * p;
            if (!(p > 0) || Double.isNaN(p2)) {
                return i;
            }
            if (p2 < smallest) {
                smallest = p2;
                worst = i;
            }
        }
        return worst;
    }

    /**
     * Per-output RMSE and R² from the centred statistics: with residual
     * {@code r = (y − ȳ) − W(x − x̄) + e}, {@code e = ȳ − b − W x̄} (0 with intercept),
     * <pre>  Σw r² = c_yy − 2 w_kᵀ C_xy + w_kᵀ C_xx w_k + W e²,   R² = 1 − Σw r² / c_yy</pre>
     * (the cross terms with {@code e} vanish, as centred values sum to 0) — terms of the spread of the
     * data, not of its offset.
     */
    private static double[][] trainingMetrics(RidgeStatistics s, DMatrixRMaj w, double[] b) {
        int n = s.n;
        int m = s.m;
        double[] rmse = new double[m];
        double[] r2 = new double[m];
        DMatrixRMaj wk = new DMatrixRMaj(n, 1);
        DMatrixRMaj cxxW = new DMatrixRMaj(n, 1);
        for (int k = 0; k < m; k++) {
            System.arraycopy(w.data, k * n, wk.data, 0, n);
            CommonOps_DDRM.mult(s.cxx, wk, cxxW);
            double wCxxW = 0;
            double wCxy = 0;
            double offset = s.yMean[k] - b[k];
            for (int j = 0; j < n; j++) {
                wCxxW += wk.data[j] * cxxW.data[j];
                wCxy += wk.data[j] * s.cxy.data[j * m + k];
                offset -= wk.data[j] * s.xMean[j];
            }
            double sse = Math.max(0.0, s.cyy[k] - 2 * wCxy + wCxxW + s.weightSum * offset * offset);
            rmse[k] = Math.sqrt(sse / s.weightSum);
            r2[k] = s.cyy[k] > 0 ? 1 - sse / s.cyy[k] : Double.NaN;
        }
        return new double[][] {rmse, r2};
    }
}
