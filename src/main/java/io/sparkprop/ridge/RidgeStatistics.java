package io.sparkprop.ridge;

import java.io.Serializable;

import io.sparkprop.linalg.Gemm;
import org.ejml.data.DMatrixRMaj;

/**
 * The sufficient statistics of weighted least squares, summed over examples in one pass:
 * {@code S_xx = Σ_i w_i x_i x_iᵀ} (n×n), {@code S_xy = Σ_i w_i x_i y_iᵀ} (n×m), {@code s_x = Σ_i w_i x_i},
 * {@code s_y = Σ_i w_i y_i}, {@code s_yy = Σ_i w_i y_i ∘ y_i}, {@code W = Σ_i w_i} and the example count.
 *
 * <p>A block of examples, stored as rows ({@code X} B×n, {@code Y} B×m, see
 * {@link io.sparkprop.data.ShardPacker.Layout#ROWS}), is added with two BLAS-3 calls,
 * {@code S_xx += X_sᵀ X_s} (SYRK, lower triangle only) and {@code S_xy += X_sᵀ Y_s} (GEMM), where
 * {@code X_s}, {@code Y_s} are the block's rows scaled by {@code √w_i} — not with one rank-1 update per
 * row. {@link #symmetrise()} fills the upper triangle once the sums are complete.
 */
public final class RidgeStatistics implements Serializable {
    private static final long serialVersionUID = 1L;

    final int n;
    final int m;
    final DMatrixRMaj xx;
    final DMatrixRMaj xy;
    final double[] sx;
    final double[] sy;
    final double[] syy;
    double weightSum;
    long count;

    /** Empty statistics for {@code n} features and {@code m} outputs. */
    public RidgeStatistics(int n, int m) {
        this.n = n;
        this.m = m;
        this.xx = new DMatrixRMaj(n, n);
        this.xy = new DMatrixRMaj(n, m);
        this.sx = new double[n];
        this.sy = new double[m];
        this.syy = new double[m];
    }

    /** Bytes one instance takes, for the driver-memory estimate. */
    public static long bytes(int n, int m) {
        return 8L * ((long) n * n + (long) n * m + n + 2L * m) + 256;
    }

    /**
     * Adds a block of examples as rows ({@code x} B×n, {@code y} B×m). Their rows are scaled in place by
     * {@code √w} when weights are given (modified); {@code weights} {@code null} means all 1.
     */
    public void addBlockInPlace(DMatrixRMaj x, DMatrixRMaj y, double[] weights, Gemm gemm) {
        int b = x.numRows;
        if (b == 0) {
            return;
        }
        for (int j = 0; j < b; j++) {
            weightSum += weights == null ? 1.0 : weights[j];
        }
        count += b;
        weightedColumnSums(x, weights, sx, false);
        weightedColumnSums(y, weights, sy, false);
        weightedColumnSums(y, weights, syy, true);
        if (weights != null) {
            scaleRowsBySqrt(x, weights);
            scaleRowsBySqrt(y, weights);
        }
        gemm.syrkLower(true, 1.0, x, 1.0, xx);
        gemm.gemm(true, false, 1.0, x, y, 1.0, xy);
    }

    /** {@code this ← this + other}; returns {@code this}. */
    public RidgeStatistics mergeInPlace(RidgeStatistics other) {
        add(xx.data, other.xx.data);
        add(xy.data, other.xy.data);
        add(sx, other.sx);
        add(sy, other.sy);
        add(syy, other.syy);
        weightSum += other.weightSum;
        count += other.count;
        return this;
    }

    /** Copies the lower triangle of {@code S_xx} into its upper triangle. */
    public void symmetrise() {
        double[] d = xx.data;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < i; j++) {
                d[j * n + i] = d[i * n + j];
            }
        }
    }

    /** Number of examples added. */
    public long count() {
        return count;
    }

    /** {@code Σ w_i}. */
    public double weightSum() {
        return weightSum;
    }

    /** {@code out_i += Σ_j w_j a_ji} (or {@code w_j a_ji²}) over the rows {@code j} of {@code a}. */
    private static void weightedColumnSums(DMatrixRMaj a, double[] w, double[] out, boolean squared) {
        int cols = a.numCols;
        for (int j = 0; j < a.numRows; j++) {
            double wj = w == null ? 1.0 : w[j];
            int base = j * cols;
            for (int i = 0; i < cols; i++) {
                double v = a.data[base + i];
                out[i] += wj * (squared ? v * v : v);
            }
        }
    }

    private static void scaleRowsBySqrt(DMatrixRMaj a, double[] w) {
        int cols = a.numCols;
        for (int j = 0; j < a.numRows; j++) {
            double s = Math.sqrt(w[j]);
            int base = j * cols;
            for (int i = 0; i < cols; i++) {
                a.data[base + i] *= s;
            }
        }
    }

    private static void add(double[] into, double[] from) {
        for (int i = 0; i < into.length; i++) {
            into[i] += from[i];
        }
    }
}
