package io.sparkprop.nn;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * An immutable feed-forward network: an input size, dense layers each with a width and an
 * activation, and a loss on the output layer. Layer {@code l} (0-based here) computes
 * {@code z_l = W_l a_{l-1} + b_l}, {@code a_l = f_l(z_l)} with {@code W_l ∈ R^{n_l × n_{l-1}}} and
 * {@code a_{-1} = x}. A single dense layer (no hidden layers) is linear or logistic regression.
 *
 * <pre>{@code
 * NetworkSpec spec = NetworkSpec.builder()
 *         .input(784)
 *         .dense(128, Activation.RELU)
 *         .dense(10, Activation.SOFTMAX)
 *         .build();                      // loss defaults to softmax cross-entropy
 * }</pre>
 *
 * Specs are validated when built: every width must be positive, softmax may only be the output
 * activation and only with {@link Loss#SOFTMAX_CROSS_ENTROPY}, and a loss that requires an output
 * activation ({@link Loss#requiredOutput()}) must get it.
 */
public final class NetworkSpec implements Serializable {
    private static final long serialVersionUID = 1L;

    private final int inputSize;
    private final int[] widths;
    private final Activation[] activations;
    private final Loss loss;

    private NetworkSpec(int inputSize, int[] widths, Activation[] activations, Loss loss) {
        this.inputSize = inputSize;
        this.widths = widths;
        this.activations = activations;
        this.loss = loss;
    }

    /** A new builder; call {@code input}, then {@code dense} once per layer, optionally {@code loss}, then {@code build}. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * A network with the given hidden layers, all with {@code hiddenActivation}, and an output layer.
     *
     * @param hidden hidden-layer widths, possibly empty
     * @param loss   the loss, or {@code null} for {@link Loss#defaultFor(Activation)} of the output activation
     */
    public static NetworkSpec of(int inputSize, int[] hidden, Activation hiddenActivation,
                                 int outputSize, Activation outputActivation, Loss loss) {
        Builder b = builder().input(inputSize);
        for (int w : hidden) {
            b.dense(w, hiddenActivation);
        }
        return b.dense(outputSize, outputActivation).loss(loss).build();
    }

    /** Number of input features {@code n_0}. */
    public int inputSize() {
        return inputSize;
    }

    /** Number of dense layers {@code L} (hidden layers plus the output layer). */
    public int numLayers() {
        return widths.length;
    }

    /** Width {@code n_l} of dense layer {@code l}, 0-based. */
    public int width(int layer) {
        return widths[layer];
    }

    /** Fan-in of dense layer {@code l}: the input size for layer 0, else the previous layer's width. */
    public int fanIn(int layer) {
        return layer == 0 ? inputSize : widths[layer - 1];
    }

    /** Activation of dense layer {@code l}, 0-based. */
    public Activation activation(int layer) {
        return activations[layer];
    }

    /** Number of outputs {@code m}: the last layer's width. */
    public int outputSize() {
        return widths[widths.length - 1];
    }

    /** The output layer's activation. */
    public Activation outputActivation() {
        return activations[activations.length - 1];
    }

    /** The loss on the output layer. */
    public Loss loss() {
        return loss;
    }

    /** Layer sizes including the input, e.g. {@code [784, 128, 10]}. */
    public int[] layerSizes() {
        int[] sizes = new int[widths.length + 1];
        sizes[0] = inputSize;
        System.arraycopy(widths, 0, sizes, 1, widths.length);
        return sizes;
    }

    /** Number of weights and biases: {@code Σ_l n_l (n_{l-1} + 1)}. */
    public long parameterCount() {
        long count = 0;
        for (int l = 0; l < widths.length; l++) {
            count += (long) widths[l] * (fanIn(l) + 1);
        }
        return count;
    }

    /** Multiply-adds of one example's forward pass: {@code Σ_l n_l n_{l-1}}. */
    public long multiplyAddsPerExample() {
        long count = 0;
        for (int l = 0; l < widths.length; l++) {
            count += (long) widths[l] * fanIn(l);
        }
        return count;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof NetworkSpec)) {
            return false;
        }
        NetworkSpec that = (NetworkSpec) o;
        return inputSize == that.inputSize && Arrays.equals(widths, that.widths)
                && Arrays.equals(activations, that.activations) && loss == that.loss;
    }

    @Override
    public int hashCode() {
        return Objects.hash(inputSize, Arrays.hashCode(widths), Arrays.hashCode(activations), loss);
    }

    /** E.g. {@code 784-128(relu)-10(softmax), softmax_cross_entropy}. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder().append(inputSize);
        for (int l = 0; l < widths.length; l++) {
            sb.append('-').append(widths[l]).append('(').append(activations[l].lowerName()).append(')');
        }
        return sb.append(", ").append(loss.name().toLowerCase(java.util.Locale.ROOT)).toString();
    }

    /** Fluent builder of a {@link NetworkSpec}; not thread-safe. */
    public static final class Builder {
        private Integer inputSize;
        private final List<Integer> widths = new ArrayList<>();
        private final List<Activation> activations = new ArrayList<>();
        private Loss loss;

        private Builder() {
        }

        /** Sets the number of input features. */
        public Builder input(int size) {
            this.inputSize = size;
            return this;
        }

        /** Appends a dense layer of {@code width} units with activation {@code activation}. */
        public Builder dense(int width, Activation activation) {
            widths.add(width);
            activations.add(activation);
            return this;
        }

        /** Sets the loss; without it {@link Loss#defaultFor(Activation)} of the output activation is used. */
        public Builder loss(Loss loss) {
            this.loss = loss;
            return this;
        }

        /**
         * Validates and builds the spec.
         *
         * @throws IllegalArgumentException naming the first problem found
         */
        public NetworkSpec build() {
            if (inputSize == null) {
                throw new IllegalArgumentException("network input size is not set: call input(n) first");
            }
            if (inputSize <= 0) {
                throw new IllegalArgumentException("network input size must be > 0, found " + inputSize);
            }
            int layers = widths.size();
            if (layers == 0) {
                throw new IllegalArgumentException(
                        "a network needs at least one dense layer (its output layer), found none");
            }
            for (int l = 0; l < layers; l++) {
                Activation a = activations.get(l);
                if (a == null) {
                    throw new IllegalArgumentException("layer " + (l + 1) + " of " + layers + " has no activation");
                }
                if (widths.get(l) <= 0) {
                    throw new IllegalArgumentException("layer " + (l + 1) + " of " + layers
                            + " must have width > 0, found " + widths.get(l));
                }
                if (a == Activation.SOFTMAX && l != layers - 1) {
                    throw new IllegalArgumentException("softmax is only allowed on the output layer, found on layer "
                            + (l + 1) + " of " + layers);
                }
            }
            Activation output = activations.get(layers - 1);
            int outputWidth = widths.get(layers - 1);
            if (output == Activation.SOFTMAX && outputWidth < 2) {
                throw new IllegalArgumentException(
                        "a softmax output layer needs at least 2 units, found " + outputWidth);
            }
            Loss chosen = loss != null ? loss : Loss.defaultFor(output);
            Activation required = chosen.requiredOutput();
            if (required != null && output != required) {
                throw new IllegalArgumentException("loss " + chosen.name().toLowerCase(java.util.Locale.ROOT)
                        + " requires a " + required.lowerName() + " output layer, found " + output.lowerName());
            }
            if (output == Activation.SOFTMAX && chosen != Loss.SOFTMAX_CROSS_ENTROPY) {
                throw new IllegalArgumentException("a softmax output layer requires loss softmax_cross_entropy, found "
                        + chosen.name().toLowerCase(java.util.Locale.ROOT));
            }
            int[] w = widths.stream().mapToInt(Integer::intValue).toArray();
            return new NetworkSpec(inputSize, w, activations.toArray(new Activation[0]), chosen);
        }
    }
}
