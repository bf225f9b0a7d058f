package io.sparkprop.nn;

/**
 * Element-wise activation functions {@code a = f(z)} of a dense layer, and their derivatives
 * expressed through the activation's output {@code a}, so that the kernel can keep only
 * {@code a_l} per layer and still form {@code δ_l = f'(z_l) ∘ (W_{l+1}ᵀ δ_{l+1})}:
 * <ul>
 *   <li>{@link #IDENTITY}: {@code f(z) = z}, {@code f' = 1};</li>
 *   <li>{@link #SIGMOID}: {@code f(z) = 1 / (1 + e^{-z})}, {@code f' = a (1 − a)};</li>
 *   <li>{@link #TANH}: {@code f(z) = tanh z}, {@code f' = 1 − a²};</li>
 *   <li>{@link #RELU}: {@code f(z) = max(0, z)}, {@code f' = [a > 0]} (0 at the kink);</li>
 *   <li>{@link #SOFTMAX}: {@code f(z)_k = e^{z_k} / Σ_j e^{z_j}} over one example's outputs; output layer
 *       only, and only with {@link Loss#SOFTMAX_CROSS_ENTROPY}, whose output delta {@code a − y}
 *       already contains the softmax Jacobian.</li>
 * </ul>
 */
public enum Activation {
    IDENTITY,
    SIGMOID,
    TANH,
    RELU,
    SOFTMAX;

    /** Whether weights feeding this activation are initialised with He (ReLU) rather than Glorot scaling. */
    public boolean usesHeInitialisation() {
        return this == RELU;
    }

    /**
     * Parses a name such as {@code "relu"} (case-insensitive).
     *
     * @throws IllegalArgumentException naming the accepted values when {@code name} is none of them
     */
    public static Activation fromName(String name) {
        return io.sparkprop.util.Names.parse(Activation.class, "activation", name);
    }

    /** Lower-case name, as used in configuration and model files. */
    public String lowerName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
