package io.sparkprop.nn;

/**
 * Per-example cost {@code C(a_L, y)} of the output layer, and the output activation it requires.
 * The output delta {@code δ_L = ∂C/∂z_L} each loss yields (DESIGN §2):
 * <ul>
 *   <li>{@link #HALF_SQUARED_ERROR}: {@code C = ½‖a − y‖²}, {@code δ_L = (a − y) ∘ f'(z_L)}
 *       ({@code = a − y} for the identity output); any output activation but softmax;</li>
 *   <li>{@link #SOFTMAX_CROSS_ENTROPY}: {@code C = −Σ_k y_k log softmax(z)_k}, {@code δ_L = a − y}
 *       (for targets that sum to 1); requires a softmax output;</li>
 *   <li>{@link #SIGMOID_CROSS_ENTROPY}: {@code C = −Σ_k [y_k log σ(z_k) + (1 − y_k) log(1 − σ(z_k))]},
 *       {@code δ_L = a − y}; requires a sigmoid output. Computed as
 *       {@code softplus(z) − y z} so that logits of any size give a finite cost.</li>
 * </ul>
 */
public enum Loss {
    HALF_SQUARED_ERROR,
    SOFTMAX_CROSS_ENTROPY,
    SIGMOID_CROSS_ENTROPY;

    /** The output activation this loss requires, or {@code null} if it accepts any but softmax. */
    public Activation requiredOutput() {
        switch (this) {
            case SOFTMAX_CROSS_ENTROPY:
                return Activation.SOFTMAX;
            case SIGMOID_CROSS_ENTROPY:
                return Activation.SIGMOID;
            default:
                return null;
        }
    }

    /** The loss used when a spec names none: cross-entropy for softmax outputs, half squared error otherwise. */
    public static Loss defaultFor(Activation output) {
        return output == Activation.SOFTMAX ? SOFTMAX_CROSS_ENTROPY : HALF_SQUARED_ERROR;
    }

    /**
     * Parses a name such as {@code "softmax_cross_entropy"} (case-insensitive).
     *
     * @throws IllegalArgumentException naming the accepted values when {@code name} is none of them
     */
    public static Loss fromName(String name) {
        return io.sparkprop.util.Names.parse(Loss.class, "loss", name);
    }
}
