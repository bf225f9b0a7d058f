package io.sparkprop.testutil;

/** The one place for the numeric tolerances the tests use, with the reason for each. */
public final class Tolerances {
    private Tolerances() {
    }

    /** Step of the central difference {@code (J(θ+ε) − J(θ−ε)) / 2ε}: truncation O(ε²), rounding O(u/ε). */
    public static final double GRADIENT_CHECK_STEP = 1e-6;

    /** Relative error allowed between analytic and central-difference gradients. */
    public static final double GRADIENT_CHECK_RELATIVE = 1e-6;

    /** Pre-activations of ReLU units are kept this far from the kink so that ±ε never crosses it. */
    public static final double RELU_KINK_MARGIN = 1e-3;

    /**
     * The float32 kernel against the float64 one on float-exact values, per layer of depth: each layer's GEMMs
     * round their operands and results to float ({@code u = 2^-24 ≈ 6e-8}); the norm-wise error of a sum of
     * {@code k} rounded products grows like {@code √k·u} on random data, and the activations pass it on.
     */
    public static final double FLOAT32_KERNEL_RELATIVE = 64 * 0x1p-24;

    /** Same arithmetic in another order or another GEMM backend: rounding differences only. */
    public static final double REORDERED_SUM_RELATIVE = 1e-12;
}
