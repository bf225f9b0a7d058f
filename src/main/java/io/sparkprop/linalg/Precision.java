package io.sparkprop.linalg;

/**
 * The floating-point format a network is trained in. {@link #FLOAT64} (the default) keeps everything in
 * doubles. {@link #FLOAT32} is mixed precision: the cached shards hold features and targets as floats
 * (half the bytes), the kernel's GEMMs run in single precision ({@code sgemm}, twice the lanes per vector
 * of {@code dgemm}) on a float copy of the parameters, and everything that is summed or kept stays in
 * doubles — the element-wise activations, the loss and its log-sum-exp, each shard's gradient across
 * blocks, the merge, the master weights and the optimiser's state. A model trained in float32 is stored
 * and scored in doubles like any other.
 */
public enum Precision {
    FLOAT64,
    FLOAT32;

    /**
     * Parses {@code float64} or {@code float32} (case-insensitive).
     *
     * @throws IllegalArgumentException naming the accepted values when {@code name} is neither
     */
    public static Precision fromName(String name) {
        return io.sparkprop.util.Names.parse(Precision.class, "precision", name);
    }

    /** Lower-case name, as used in params, configuration and model files. */
    public String lowerName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Bytes of one stored value. */
    public int bytes() {
        return this == FLOAT32 ? 4 : 8;
    }
}
