package io.sparkprop.nn;

import java.io.Serializable;

/**
 * A running sum over examples of what one iteration needs: the weight and bias gradients of the
 * weighted loss sum {@code Σ_i w_i ∇C_i} (same layout as {@link Parameters}), the weighted loss sum
 * {@code Σ_i w_i C_i}, the weight sum {@code Σ_i w_i} and the example count. The kernel adds
 * blocks into it; partial sums {@link #mergeInPlace merge} in place, so aggregation allocates one
 * per task at most.
 *
 * <p>Sparse input blocks. The kernel adds the first layer's gradient of a sparse block,
 * {@code ∇W_0 += Δ_0 Xᵀ}, one non-zero {@code x_{fj}} at a time as {@code ∇W_0[:, f] += x_{fj} δ_0^{(j)}} —
 * a column of the row-major {@code ∇W_0}, {@code n_1} values a stride {@code n_0} apart. It adds into a
 * transposed copy instead ({@link #pendingFirstLayerTransposed}, {@code n_0 × n_1}), where that column is
 * {@code n_1} contiguous values, and the copy is added into {@code ∇W_0} once, by a blocked transpose,
 * before anything reads the gradient ({@link #gradient()}, {@link #mergeInPlace}, serialisation). So a
 * task pays for one pass over {@code ∇W_0} rather than a cache miss per non-zero and unit.
 */
public final class GradientSum implements Serializable {
    private static final long serialVersionUID = 1L;

    private final Parameters gradient;
    /**
     * {@code ∇W_0ᵀ} not yet added into {@link #gradient} ({@code n_0 × n_1}, row-major), kept (zeroed) for
     * the next sparse block once added; {@code null} until a sparse block needs it. Never serialised: it is
     * added first.
     */
    private transient double[] pendingFirstLayerT;
    /** Whether {@link #pendingFirstLayerT} may hold values not yet added into {@link #gradient}. */
    private transient boolean pending;
    private double lossSum;
    private double weightSum;
    private long count;

    /** An empty sum for a network. */
    public GradientSum(NetworkSpec spec) {
        this.gradient = Parameters.zeros(spec);
    }

    /** The summed gradient {@code Σ_i w_i ∇C_i}, live (any pending sparse first-layer part added first). */
    public Parameters gradient() {
        flushPending();
        return gradient;
    }

    /**
     * The gradient as the kernel adds into it: like {@link #gradient()}, but without adding the pending
     * transposed first-layer part, which the kernel may go on adding into. For the kernel only.
     */
    public Parameters accumulator() {
        return gradient;
    }

    /**
     * The transposed first-layer accumulator {@code ∇W_0ᵀ} ({@code n_0 × n_1}, row-major: feature {@code f}'s
     * {@code n_1} values at {@code f·n_1}), allocated zeroed on first use; added into {@code ∇W_0} before the
     * gradient is next read. For the kernel's sparse blocks only.
     */
    public double[] pendingFirstLayerTransposed() {
        if (pendingFirstLayerT == null) {
            NetworkSpec spec = gradient.spec();
            pendingFirstLayerT = new double[Math.multiplyExact(spec.inputSize(), spec.width(0))];
        }
        pending = true;
        return pendingFirstLayerT;
    }

    /** Adds the pending {@code ∇W_0ᵀ} into {@code ∇W_0} by tiles (both sides stay in cache), zeroing it. */
    private void flushPending() {
        if (!pending) {
            return;
        }
        pending = false;
        double[] t = pendingFirstLayerT;
        NetworkSpec spec = gradient.spec();
        int n = spec.inputSize();
        int h = spec.width(0);
        double[] g = gradient.values();
        int off = gradient.weightOffset(0);
        final int tile = 32;
        for (int f0 = 0; f0 < n; f0 += tile) {
            int f1 = Math.min(n, f0 + tile);
            for (int i0 = 0; i0 < h; i0 += tile) {
                int i1 = Math.min(h, i0 + tile);
                for (int i = i0; i < i1; i++) {
                    int row = off + i * n;
                    for (int f = f0; f < f1; f++) {
                        g[row + f] += t[f * h + i];
                        t[f * h + i] = 0.0;
                    }
                }
            }
        }
    }

    private void writeObject(java.io.ObjectOutputStream out) throws java.io.IOException {
        flushPending();
        out.defaultWriteObject();
    }

    /** {@code Σ_i w_i C_i}. */
    public double lossSum() {
        return lossSum;
    }

    /** {@code Σ_i w_i} (the example count when no weights are given). */
    public double weightSum() {
        return weightSum;
    }

    /** Number of examples added. */
    public long count() {
        return count;
    }

    /** Adds one block's loss sum, weight sum and example count (the gradient is added by the kernel directly). */
    public void addTotalsInPlace(double loss, double weight, long examples) {
        lossSum += loss;
        weightSum += weight;
        count += examples;
    }

    /** {@code this ← this + other}; returns {@code this}. */
    public GradientSum mergeInPlace(GradientSum other) {
        flushPending();
        other.flushPending();
        gradient.axpyInPlace(1.0, other.gradient);
        lossSum += other.lossSum;
        weightSum += other.weightSum;
        count += other.count;
        return this;
    }

    /** Clears to an empty sum. */
    public void resetInPlace() {
        if (pending) {
            java.util.Arrays.fill(pendingFirstLayerT, 0.0);
            pending = false;
        }
        gradient.setZeroInPlace();
        lossSum = 0;
        weightSum = 0;
        count = 0;
    }
}
