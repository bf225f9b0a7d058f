package io.sparkprop.nn;

import java.io.Serializable;

/**
 * A running sum over examples of what one iteration needs: the weight and bias gradients of the
 * weighted loss sum {@code Σ_i w_i ∇C_i} (same layout as {@link Parameters}), the weighted loss sum
 * {@code Σ_i w_i C_i}, the weight sum {@code Σ_i w_i} and the example count. The kernel adds
 * blocks into it; partial sums {@link #mergeInPlace merge} in place, so aggregation allocates one
 * per task at most.
 */
public final class GradientSum implements Serializable {
    private static final long serialVersionUID = 1L;

    private final Parameters gradient;
    private double lossSum;
    private double weightSum;
    private long count;

    /** An empty sum for a network. */
    public GradientSum(NetworkSpec spec) {
        this.gradient = Parameters.zeros(spec);
    }

    /** The summed gradient {@code Σ_i w_i ∇C_i}, live. */
    public Parameters gradient() {
        return gradient;
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
        gradient.axpyInPlace(1.0, other.gradient);
        lossSum += other.lossSum;
        weightSum += other.weightSum;
        count += other.count;
        return this;
    }

    /** Clears to an empty sum. */
    public void resetInPlace() {
        gradient.setZeroInPlace();
        lossSum = 0;
        weightSum = 0;
        count = 0;
    }
}
