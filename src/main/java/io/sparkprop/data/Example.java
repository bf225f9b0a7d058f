package io.sparkprop.data;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Objects;

import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;

/**
 * One training example: a feature vector (dense or sparse), a target and a weight.
 *
 * <p>The target is either the network's {@code m} outputs ({@code y} itself), or — for a network
 * with {@code m > 1} outputs — a single class index {@code k ∈ {0, …, m−1}}, which packing turns into
 * the one-hot column {@code e_k}. The weight {@code w ≥ 0} multiplies the example's cost in
 * {@code Σ_i w_i C_i}; 1 unless given.
 */
public final class Example implements Serializable {
    private static final long serialVersionUID = 1L;

    private final Vector features;
    private final double[] target;
    private final double weight;

    private Example(Vector features, double[] target, double weight) {
        this.features = Objects.requireNonNull(features, "features");
        this.target = Objects.requireNonNull(target, "target");
        this.weight = weight;
    }

    /** An example of weight 1 with target {@code y} (the outputs, or one class index). */
    public static Example of(Vector features, double... target) {
        return new Example(features, target.clone(), 1.0);
    }

    /** An example of weight 1 with dense features. */
    public static Example of(double[] features, double... target) {
        return new Example(Vectors.dense(features.clone()), target.clone(), 1.0);
    }

    /** An example with weight {@code weight}. */
    public static Example weighted(double weight, Vector features, double... target) {
        return new Example(features, target.clone(), weight);
    }

    /** The features. */
    public Vector features() {
        return features;
    }

    /** The target values (not copied; do not modify). */
    public double[] target() {
        return target;
    }

    /** The weight. */
    public double weight() {
        return weight;
    }

    @Override
    public String toString() {
        return "Example(" + features + ", " + Arrays.toString(target) + (weight == 1.0 ? "" : ", w=" + weight) + ")";
    }
}
