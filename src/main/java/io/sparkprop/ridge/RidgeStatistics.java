package io.sparkprop.ridge;

import java.io.Serializable;
import java.util.Arrays;

import io.sparkprop.linalg.Gemm;
import org.ejml.data.DMatrixRMaj;

/**
 * The sufficient statistics of weighted least squares as <em>centred</em> co-moments, summed over
 * examples in one pass: the weight sum {@code W = Σ w_i}, the weighted means {@code x̄}, {@code ȳ}, the
 * co-moments {@code C_xx = Σ w_i (x_i − x̄)(x_i − x̄)ᵀ} (n×n), {@code C_xy = Σ w_i (x_i − x̄)(y_i − ȳ)ᵀ}
 * (n×m), {@code c_yy = Σ w_i (y_i − ȳ)²} (per output), each feature's smallest and largest value over
 * the rows of positive weight, and the example count.
 *
 * <p>Why centred: the raw sums {@code Σ w x xᵀ} of a feature whose mean is large against its spread
 * (ids, Unix timestamps, prices in cents) hold the spread only in their last digits, and the
 * textbook {@code Σwx²/W − x̄²} cancels them away (a feature offset by 1e7 keeps about two of its
 * sixteen digits). Here every block is centred on its own weighted mean before its BLAS-3 products
 * — that subtraction is exact for values within a factor two of the mean (Sterbenz) — and blocks and
 * partitions are combined with the pairwise update of Chan, Golub and LeVeque (1979), weighted:
 * <pre>  W = W_a + W_b,   δ = x̄_b − x̄_a,   x̄ = x̄_a + (W_b/W) δ,
 *  C = C_a + C_b + (W_a W_b / W) δ_x δ_yᵀ</pre>
 * whose correction term is formed from differences of means, never from the raw moments.
 *
 * <p>A block of examples, stored as rows ({@code X} B×n, {@code Y} B×m, see
 * {@link io.sparkprop.data.ShardPacker.Layout#ROWS}), is added with two BLAS-3 calls on its centred
 * rows scaled by {@code √w_i}: {@code C_xx += X_cᵀ X_c} (SYRK, lower triangle only) and
 * {@code C_xy += X_cᵀ Y_c} (GEMM), plus an {@code O(n²)} rank-one correction — not one rank-one update
 * per row. {@link #symmetrise()} fills the upper triangle once the sums are complete.
 */
final class RidgeStatistics implements Serializable {
    private static final long serialVersionUID = 2L;

    final int n;
    final int m;
    /** {@code C_xx}, lower triangle until {@link #symmetrise()}. */
    final DMatrixRMaj cxx;
    final DMatrixRMaj cxy;
    final double[] cyy;
    final double[] xMean;
    final double[] yMean;
    /** Smallest and largest value of each feature over the rows of positive weight (±∞ before any). */
    final double[] xMin;
    final double[] xMax;
    double weightSum;
    long count;

    /** Scratch of the block updates (means, residual sums, differences of means), not part of the statistics. */
    private transient double[] blockXMean;
    private transient double[] blockYMean;
    private transient double[] scratchX;
    private transient double[] scratchY;

    /** Empty statistics for {@code n} features and {@code m} outputs. */
    RidgeStatistics(int n, int m) {
        this.n = n;
        this.m = m;
        this.cxx = new DMatrixRMaj(n, n);
        this.cxy = new DMatrixRMaj(n, m);
        this.cyy = new double[m];
        this.xMean = new double[n];
        this.yMean = new double[m];
        this.xMin = new double[n];
        this.xMax = new double[n];
        Arrays.fill(xMin, Double.POSITIVE_INFINITY);
        Arrays.fill(xMax, Double.NEGATIVE_INFINITY);
    }

    /** Bytes one instance takes, for the driver-memory estimate. */
    static long bytes(int n, int m) {
        return 8L * ((long) n * n + (long) n * m + 3L * n + 2L * m) + 256;
    }

    /**
     * Adds a block of examples as rows ({@code x} B×n, {@code y} B×m). Both are centred on the block's
     * weighted means and scaled by {@code √w} in place (modified); {@code weights} {@code null} means all 1.
     */
    void addBlockInPlace(DMatrixRMaj x, DMatrixRMaj y, double[] weights, Gemm gemm) {
        int b = x.numRows;
        if (b == 0) {
            return;
        }
        count += b;
        double blockWeight = 0;
        for (int j = 0; j < b; j++) {
            double w = weights == null ? 1.0 : weights[j];
            blockWeight += w;
            if (w > 0) {
                int base = j * n;
                for (int i = 0; i < n; i++) {
                    double v = x.data[base + i];
                    if (v < xMin[i]) {
                        xMin[i] = v;
                    }
                    if (v > xMax[i]) {
                        xMax[i] = v;
                    }
                }
            }
        }
        if (!(blockWeight > 0)) {
            return; // rows of weight 0 add nothing but their count
        }
        if (blockXMean == null) {
            blockXMean = new double[n];
            blockYMean = new double[m];
        }
        centreOnWeightedMean(x, weights, blockWeight, blockXMean, scratch(true));
        centreOnWeightedMean(y, weights, blockWeight, blockYMean, scratch(false));
        if (weights != null) {
            scaleRowsBySqrt(x, weights);
            scaleRowsBySqrt(y, weights);
        }
        // the block's own co-moments go straight into the sums; the cross term follows from the means
        double previousWeight = weightSum;
        gemm.syrkLower(true, 1.0, x, 1.0, cxx);
        gemm.gemm(true, false, 1.0, x, y, 1.0, cxy);
        for (int j = 0; j < b; j++) {
            int base = j * m;
            for (int k = 0; k < m; k++) {
                double v = y.data[base + k];
                cyy[k] += v * v;
            }
        }
        combineMeans(previousWeight, blockWeight, blockXMean, blockYMean);
    }

    /** {@code this ← this ∪ other} by the pairwise update; returns {@code this}. */
    RidgeStatistics mergeInPlace(RidgeStatistics other) {
        for (int i = 0; i < n; i++) {
            xMin[i] = Math.min(xMin[i], other.xMin[i]);
            xMax[i] = Math.max(xMax[i], other.xMax[i]);
        }
        count += other.count;
        if (!(other.weightSum > 0)) {
            return this;
        }
        add(cxx.data, other.cxx.data);
        add(cxy.data, other.cxy.data);
        add(cyy, other.cyy);
        combineMeans(weightSum, other.weightSum, other.xMean, other.yMean);
        return this;
    }

    /**
     * Having added the co-moments of a part of weight {@code wb} and means {@code mx}, {@code my} to
     * those of this part (weight {@code wa}, means {@link #xMean}, {@link #yMean}), adds the cross term
     * {@code (wa·wb/W) δ_x δ_yᵀ} (lower triangle of {@code C_xx}) and moves the means and weight.
     */
    private void combineMeans(double wa, double wb, double[] mx, double[] my) {
        double total = wa + wb;
        double[] dx = scratch(true);
        double[] dy = scratch(false);
        for (int i = 0; i < n; i++) {
            dx[i] = mx[i] - xMean[i];
        }
        for (int k = 0; k < m; k++) {
            dy[k] = my[k] - yMean[k];
        }
        if (wa > 0) {
            double c = wa / total * wb;
            double[] xx = cxx.data;
            double[] xy = cxy.data;
            for (int i = 0; i < n; i++) {
                double ci = c * dx[i];
                int row = i * n;
                for (int j = 0; j <= i; j++) {
                    xx[row + j] += ci * dx[j];
                }
                int rowY = i * m;
                for (int k = 0; k < m; k++) {
                    xy[rowY + k] += ci * dy[k];
                }
            }
            for (int k = 0; k < m; k++) {
                cyy[k] += c * dy[k] * dy[k];
            }
        }
        double share = wb / total;
        for (int i = 0; i < n; i++) {
            xMean[i] = wa > 0 ? xMean[i] + share * dx[i] : mx[i];
        }
        for (int k = 0; k < m; k++) {
            yMean[k] = wa > 0 ? yMean[k] + share * dy[k] : my[k];
        }
        weightSum = total;
    }

    /** A reused array of {@code n} (features) or {@code m} (outputs) values; its contents are not kept. */
    private double[] scratch(boolean features) {
        if (scratchX == null) {
            scratchX = new double[n];
            scratchY = new double[m];
        }
        return features ? scratchX : scratchY;
    }

    /** Copies the lower triangle of {@code C_xx} into its upper triangle. */
    void symmetrise() {
        double[] d = cxx.data;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < i; j++) {
                d[j * n + i] = d[i * n + j];
            }
        }
    }

    /**
     * Whether feature {@code j} takes one value on every row of positive weight: decided on the
     * values themselves, not on a computed variance that rounding rarely leaves at exactly 0.
     */
    boolean isConstant(int j) {
        return xMin[j] == xMax[j];
    }

    /** Number of examples added. */
    long count() {
        return count;
    }

    /** {@code Σ w_i}. */
    double weightSum() {
        return weightSum;
    }

    /**
     * Subtracts the weighted column means of {@code a}'s rows from them (modified) and stores the
     * means in {@code mean}. The mean is refined by the mean of the first residuals (the second step
     * of a two-pass mean), so that it is exact to rounding whatever the values' offset.
     */
    private static void centreOnWeightedMean(DMatrixRMaj a, double[] w, double weightSum, double[] mean,
                                             double[] correction) {
        int cols = a.numCols;
        int rows = a.numRows;
        double[] d = a.data;
        Arrays.fill(mean, 0.0);
        for (int j = 0; j < rows; j++) {
            double wj = w == null ? 1.0 : w[j];
            int base = j * cols;
            for (int i = 0; i < cols; i++) {
                mean[i] += wj * d[base + i];
            }
        }
        for (int i = 0; i < cols; i++) {
            mean[i] /= weightSum;
        }
        Arrays.fill(correction, 0.0);
        for (int j = 0; j < rows; j++) {
            double wj = w == null ? 1.0 : w[j];
            int base = j * cols;
            for (int i = 0; i < cols; i++) {
                correction[i] += wj * (d[base + i] - mean[i]);
            }
        }
        for (int i = 0; i < cols; i++) {
            mean[i] += correction[i] / weightSum;
        }
        for (int j = 0; j < rows; j++) {
            int base = j * cols;
            for (int i = 0; i < cols; i++) {
                d[base + i] -= mean[i];
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
