package io.sparkprop.ridge;

import java.io.Serializable;
import java.util.Arrays;

import io.sparkprop.exec.SparseRows;
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
 * {@link io.sparkprop.exec.ShardPacker.Layout#ROWS}), is added with two BLAS-3 calls on its centred
 * rows scaled by {@code √w_i}: {@code C_xx += X_cᵀ X_c} (SYRK, lower triangle only) and
 * {@code C_xy += X_cᵀ Y_c} (GEMM), plus an {@code O(n²)} rank-one correction — not one rank-one update
 * per row. {@link #symmetrise()} fills the upper triangle once the sums are complete.
 *
 * <p>Sparse rows ({@link #addSparseRows}, a whole partition of {@link SparseRows}) are summed as outer
 * products of their non-zeros, cost {@code ∝ Σ_i nnz_i²} rather than {@code rows × n²}, and centred without
 * being made dense: a feature non-zero in more than half the partition's rows is shifted by its partition
 * mean (those rows are dense in it anyway), every other feature by 0. The sums about that shift {@code c}
 * become co-moments about the partition's mean {@code μ} by one rank-one correction
 * {@code C = C_c − W (μ − c)(μ − c)ᵀ} over the features the partition touches. For a shifted feature
 * {@code μ − c} is rounding; for the others {@code μ_f² ≤ (p/(1−p)) σ_f²} with {@code p ≤ 1/2} the share of
 * rows it is non-zero in, so the correction never cancels more than about a bit of the feature's spread
 * — unlike raw moments of a dense feature with a large offset.
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
        if (blockXMean == null) {
            blockXMean = new double[n];
            blockYMean = new double[m];
        }
        // pass 1: the block's weight, each feature's range (rows of positive weight) and the weighted sums
        double blockWeight = 0;
        double[] mx = blockXMean;
        double[] my = blockYMean;
        Arrays.fill(mx, 0.0);
        Arrays.fill(my, 0.0);
        for (int j = 0; j < b; j++) {
            double w = weights == null ? 1.0 : weights[j];
            if (!(w > 0)) {
                continue;
            }
            blockWeight += w;
            int base = j * n;
            for (int i = 0; i < n; i++) {
                double v = x.data[base + i];
                mx[i] += w * v;
                if (v < xMin[i]) {
                    xMin[i] = v;
                }
                if (v > xMax[i]) {
                    xMax[i] = v;
                }
            }
            int baseY = j * m;
            for (int k = 0; k < m; k++) {
                my[k] += w * y.data[baseY + k];
            }
        }
        if (!(blockWeight > 0)) {
            return; // rows of weight 0 add nothing but their count
        }
        for (int i = 0; i < n; i++) {
            mx[i] /= blockWeight;
        }
        for (int k = 0; k < m; k++) {
            my[k] /= blockWeight;
        }
        // pass 2: centre on that mean and scale by √w in place; the residual sums δ·W_b (what rounding
        // left off the mean) correct the mean and, as −W_b δδᵀ, the co-moments — the second step of a
        // two-pass mean without a third pass over the block
        double[] dx = scratch(true);
        double[] dy = scratch(false);
        centreAndScale(x, weights, mx, dx);
        centreAndScale(y, weights, my, dy);
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
        for (int i = 0; i < n; i++) {
            dx[i] /= blockWeight;
        }
        for (int k = 0; k < m; k++) {
            dy[k] /= blockWeight;
        }
        for (int i = 0; i < n; i++) {
            double ci = blockWeight * dx[i];
            int row = i * n;
            for (int j = 0; j <= i; j++) {
                cxx.data[row + j] -= ci * dx[j];
            }
            for (int k = 0; k < m; k++) {
                cxy.data[i * m + k] -= ci * dy[k];
            }
            mx[i] += dx[i];
        }
        for (int k = 0; k < m; k++) {
            cyy[k] -= blockWeight * dy[k] * dy[k];
            my[k] += dy[k];
        }
        // the block's own co-moments are in the sums; the cross term follows from the means
        combineMeans(previousWeight, blockWeight, mx, my);
    }

    /**
     * Adds a partition's rows given sparse (see the class comment): two passes over the non-zeros (the
     * weighted sums, then the shifted outer products), one rank-one correction over the touched features.
     */
    void addSparseRows(SparseRows rows) {
        int count = rows.count();
        this.count += count;
        int[] start = rows.rowStart();
        int[] index = rows.indices();
        double[] value = rows.values();
        double[] target = rows.targets();
        double[] weight = rows.weights();
        // pass 1: weight, weighted sums, how many rows of positive weight each feature is non-zero in, ranges
        double blockWeight = 0;
        long positiveRows = 0;
        double[] mx = new double[n];
        double[] my = new double[m];
        int[] present = new int[n];
        int longestRow = 0;
        for (int i = 0; i < count; i++) {
            double w = weight[i];
            if (!(w > 0)) {
                continue;
            }
            blockWeight += w;
            positiveRows++;
            longestRow = Math.max(longestRow, start[i + 1] - start[i]);
            for (int p = start[i]; p < start[i + 1]; p++) {
                int f = index[p];
                double v = value[p];
                mx[f] += w * v;
                present[f]++;
                xMin[f] = Math.min(xMin[f], v);
                xMax[f] = Math.max(xMax[f], v);
            }
            for (int k = 0; k < m; k++) {
                my[k] += w * target[i * m + k];
            }
        }
        if (!(blockWeight > 0)) {
            return; // rows of weight 0 add nothing but their count
        }
        int shifted = 0;
        for (int f = 0; f < n; f++) {
            if (present[f] < positiveRows) { // a row without the feature holds 0
                xMin[f] = Math.min(xMin[f], 0.0);
                xMax[f] = Math.max(xMax[f], 0.0);
            }
            mx[f] /= blockWeight;
            if (2L * present[f] > positiveRows) {
                shifted++;
            }
        }
        for (int k = 0; k < m; k++) {
            my[k] /= blockWeight;
        }
        // the shift c: the partition mean of the features non-zero in more than half the rows, else 0
        int[] dense = new int[shifted];
        double[] shift = new double[n];
        for (int f = 0, d = 0; f < n; f++) {
            if (2L * present[f] > positiveRows) {
                dense[d++] = f;
                shift[f] = mx[f];
            }
        }
        // pass 2: Σ w (x − c)(x − c)ᵀ over each row's non-zeros merged with the shifted features, and the
        // residual sums Σ w (x − c), Σ w (y − ȳ) that correct the centre afterwards
        double[] rx = new double[n];
        double[] ry = new double[m];
        int[] at = new int[longestRow + shifted];
        double[] sv = new double[longestRow + shifted];
        double[] yc = new double[m];
        double[] xx = cxx.data;
        double[] xy = cxy.data;
        for (int i = 0; i < count; i++) {
            double w = weight[i];
            if (!(w > 0)) {
                continue;
            }
            double root = Math.sqrt(w);
            int k = 0;
            int p = start[i];
            int d = 0;
            while (p < start[i + 1] || d < shifted) {
                int f;
                double v;
                if (d >= shifted || (p < start[i + 1] && index[p] < dense[d])) {
                    f = index[p];
                    v = value[p++] - shift[f];
                } else if (p >= start[i + 1] || dense[d] < index[p]) {
                    f = dense[d++];
                    v = -shift[f];
                } else { // a shifted feature the row has
                    f = index[p];
                    v = value[p++] - shift[f];
                    d++;
                }
                rx[f] += w * v;
                at[k] = f;
                sv[k++] = root * v;
            }
            for (int o = 0; o < m; o++) {
                double c = target[i * m + o] - my[o];
                ry[o] += w * c;
                yc[o] = root * c;
                cyy[o] += yc[o] * yc[o];
            }
            for (int a = 0; a < k; a++) {
                int row = at[a] * n;
                double va = sv[a];
                for (int b = 0; b <= a; b++) { // ascending indices: (at[a], at[b]) is in the lower triangle
                    xx[row + at[b]] += va * sv[b];
                }
                int rowY = at[a] * m;
                for (int o = 0; o < m; o++) {
                    xy[rowY + o] += va * yc[o];
                }
            }
        }
        // C = C_c − W r rᵀ with r = μ − c = (Σ w (x − c)) / W, over the features with r ≠ 0
        int touched = 0;
        int[] nonZero = new int[n];
        for (int f = 0; f < n; f++) {
            rx[f] /= blockWeight;
            if (rx[f] != 0.0) {
                nonZero[touched++] = f;
            }
        }
        for (int o = 0; o < m; o++) {
            ry[o] /= blockWeight;
        }
        for (int a = 0; a < touched; a++) {
            int f = nonZero[a];
            double cf = blockWeight * rx[f];
            int row = f * n;
            for (int b = 0; b <= a; b++) {
                xx[row + nonZero[b]] -= cf * rx[nonZero[b]];
            }
            for (int o = 0; o < m; o++) {
                xy[f * m + o] -= cf * ry[o];
            }
        }
        for (int o = 0; o < m; o++) {
            cyy[o] -= blockWeight * ry[o] * ry[o];
            my[o] += ry[o];
        }
        for (int f = 0; f < n; f++) {
            mx[f] = shift[f] + rx[f];
        }
        // the partition's own co-moments are in the sums; the cross term with the earlier ones follows from the means
        combineMeans(weightSum, blockWeight, mx, my);
    }

    /**
     * {@code a_j ← (a_j − mean)·√w_j} for every row {@code j} (modified), and {@code residual = Σ_j w_j (a_j − mean)}
     * (overwritten).
     */
    private static void centreAndScale(DMatrixRMaj a, double[] w, double[] mean, double[] residual) {
        int cols = a.numCols;
        double[] d = a.data;
        Arrays.fill(residual, 0.0);
        for (int j = 0; j < a.numRows; j++) {
            int base = j * cols;
            if (w == null) {
                for (int i = 0; i < cols; i++) {
                    double c = d[base + i] - mean[i];
                    residual[i] += c;
                    d[base + i] = c;
                }
            } else {
                double wj = w[j];
                double s = Math.sqrt(wj);
                for (int i = 0; i < cols; i++) {
                    double c = d[base + i] - mean[i];
                    residual[i] += wj * c;
                    d[base + i] = s * c;
                }
            }
        }
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

    private static void add(double[] into, double[] from) {
        for (int i = 0; i < into.length; i++) {
            into[i] += from[i];
        }
    }
}
