package io.sparkprop.train;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Per-class factors of the examples' weights in training, for imbalanced classes: the weight of an example
 * of class {@code c} in the training objective is {@code w_i · κ_c} ({@code w_i} its weight column's, 1
 * without one), so the loss and gradient are {@code Σ_i w_i κ_{c_i} C_i / Σ_i w_i κ_{c_i}}. Three forms, as
 * settings spell them:
 * <ul>
 *   <li>{@code none}: {@code κ = 1} (the default; examples' weights are used untouched);</li>
 *   <li>{@code balanced}: {@code κ_c = n / (k · n_c)}, with {@code n_c} the training examples of class
 *       {@code c} (counted, as scikit-learn does, whatever their weights), {@code n} their total and {@code k}
 *       the classes present, so every present class weighs as much in total; counted in the pass that packs
 *       the data;</li>
 *   <li>explicit: one number {@code ≥ 0} per class, comma-separated ({@code "1, 50"}), at least one positive.</li>
 * </ul>
 * An example's class is the largest of its targets (one-hot targets: the class index; the first on ties);
 * for a network of one output, {@code 1} when its target is at least 0.5, else {@code 0}. The held-out loss
 * and accuracy use the examples' own weights: class weights change what is trained, not how it is measured.
 */
public final class ClassWeights implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The forms. */
    public enum Kind {
        NONE, BALANCED, EXPLICIT
    }

    private static final ClassWeights NONE = new ClassWeights(Kind.NONE, null);
    private static final ClassWeights BALANCED = new ClassWeights(Kind.BALANCED, null);

    private final Kind kind;
    private final double[] weights;

    private ClassWeights(Kind kind, double[] weights) {
        this.kind = kind;
        this.weights = weights;
    }

    /** No class weights. */
    public static ClassWeights none() {
        return NONE;
    }

    /** {@code n / (k · n_c)}, counted from the training data. */
    public static ClassWeights balanced() {
        return BALANCED;
    }

    /**
     * These factors, one per class.
     *
     * @throws IllegalArgumentException for a negative or non-finite factor, or if none is positive
     */
    public static ClassWeights of(double... weights) {
        if (weights == null || weights.length == 0) {
            throw new IllegalArgumentException("classWeights: expected none, balanced, or one weight per class");
        }
        boolean positive = false;
        for (int c = 0; c < weights.length; c++) {
            if (!(weights[c] >= 0) || Double.isInfinite(weights[c])) {
                throw new IllegalArgumentException("classWeights: the weight of class " + c + " must be finite and "
                        + ">= 0, found " + weights[c]);
            }
            positive |= weights[c] > 0;
        }
        if (!positive) {
            throw new IllegalArgumentException("classWeights: at least one class weight must be positive, found "
                    + Arrays.toString(weights));
        }
        return new ClassWeights(Kind.EXPLICIT, weights.clone());
    }

    /**
     * The class weights {@code text} names: {@code none} (or empty), {@code balanced} (any case), or numbers
     * separated by commas.
     *
     * @throws IllegalArgumentException naming the forms, or the bad weight
     */
    public static ClassWeights parse(String text) {
        String t = text == null ? "" : text.trim();
        if (t.isEmpty() || t.equalsIgnoreCase("none")) {
            return NONE;
        }
        if (t.equalsIgnoreCase("balanced")) {
            return BALANCED;
        }
        String[] parts = t.split(",", -1);
        double[] w = new double[parts.length];
        for (int c = 0; c < parts.length; c++) {
            try {
                w[c] = Double.parseDouble(parts[c].trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("classWeights: expected none, balanced, or one weight >= 0 per "
                        + "class separated by commas (e.g. 1, 50), found '" + text + "'");
            }
        }
        return of(w);
    }

    /** The form. */
    public Kind kind() {
        return kind;
    }

    /** Whether every example keeps its own weight. */
    public boolean isNone() {
        return kind == Kind.NONE;
    }

    /**
     * The factor of each of {@code classes} classes given the training examples counted per class
     * ({@code counts}, of length {@code classes}; used by {@code balanced} only), or {@code null} for
     * {@code none}.
     *
     * @throws IllegalArgumentException when explicit weights are not one per class
     */
    public double[] factors(int classes, long[] counts) {
        switch (kind) {
            case NONE:
                return null;
            case EXPLICIT:
                if (weights.length != classes) {
                    throw new IllegalArgumentException("classWeights gives " + weights.length + " weight"
                            + (weights.length == 1 ? "" : "s") + " (" + this + ") for a network of " + classes
                            + " classes: give one per class");
                }
                return weights.clone();
            default:
                long n = 0;
                int present = 0;
                for (long c : counts) {
                    n += c;
                    present += c > 0 ? 1 : 0;
                }
                double[] f = new double[classes];
                for (int c = 0; c < classes; c++) {
                    // a class without training examples weighs nothing whatever its factor
                    f[c] = counts[c] == 0 ? 0.0 : n / ((double) present * counts[c]);
                }
                return f;
        }
    }

    /** {@code none}, {@code balanced}, or the weights as {@code 1.0,50.0}: the form {@link #parse} reads. */
    @Override
    public String toString() {
        switch (kind) {
            case NONE:
                return "none";
            case BALANCED:
                return "balanced";
            default:
                return Arrays.stream(weights).mapToObj(v -> String.format(Locale.ROOT, "%s", v))
                        .collect(Collectors.joining(","));
        }
    }
}
