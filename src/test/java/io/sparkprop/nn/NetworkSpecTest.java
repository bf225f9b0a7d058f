package io.sparkprop.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.function.Supplier;

import org.junit.jupiter.api.Test;

class NetworkSpecTest {

    private static String rejection(Supplier<NetworkSpec> build) {
        return assertThrows(IllegalArgumentException.class, build::get).getMessage();
    }

    @Test
    void buildsAFluentSpecWithDerivedSizes() {
        NetworkSpec spec = NetworkSpec.builder().input(784).dense(128, Activation.RELU)
                .dense(10, Activation.SOFTMAX).build();
        assertEquals(2, spec.numLayers());
        assertArrayEquals(new int[] {784, 128, 10}, spec.layerSizes());
        assertEquals(784, spec.fanIn(0));
        assertEquals(128, spec.fanIn(1));
        assertEquals(10, spec.outputSize());
        assertEquals(Loss.SOFTMAX_CROSS_ENTROPY, spec.loss(), "softmax defaults to cross-entropy");
        assertEquals(128 * 785 + 10 * 129, spec.parameterCount());
        assertEquals(128 * 784 + 10 * 128, spec.multiplyAddsPerExample());
        assertEquals("784-128(relu)-10(softmax), softmax_cross_entropy", spec.toString());
    }

    @Test
    void zeroHiddenLayersIsLinearOrLogisticRegression() {
        NetworkSpec linear = NetworkSpec.builder().input(5).dense(1, Activation.IDENTITY).build();
        assertEquals(Loss.HALF_SQUARED_ERROR, linear.loss());
        assertEquals(6, linear.parameterCount());
        NetworkSpec logistic = NetworkSpec.builder().input(5).dense(1, Activation.SIGMOID)
                .loss(Loss.SIGMOID_CROSS_ENTROPY).build();
        assertEquals(1, logistic.numLayers());
    }

    @Test
    void equalSpecsAreEqual() {
        NetworkSpec a = NetworkSpec.of(3, new int[] {4}, Activation.TANH, 2, Activation.IDENTITY, Loss.HALF_SQUARED_ERROR);
        NetworkSpec b = NetworkSpec.builder().input(3).dense(4, Activation.TANH).dense(2, Activation.IDENTITY).build();
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        assertNotEquals(a, NetworkSpec.builder().input(3).dense(4, Activation.RELU).dense(2, Activation.IDENTITY).build());
    }

    @Test
    void invalidSpecsNameTheProblem() {
        assertEquals("network input size is not set: call input(n) first",
                rejection(() -> NetworkSpec.builder().dense(2, Activation.IDENTITY).build()));
        assertEquals("network input size must be > 0, found 0",
                rejection(() -> NetworkSpec.builder().input(0).dense(2, Activation.IDENTITY).build()));
        assertEquals("a network needs at least one dense layer (its output layer), found none",
                rejection(() -> NetworkSpec.builder().input(3).build()));
        assertEquals("layer 2 of 3 must have width > 0, found 0",
                rejection(() -> NetworkSpec.builder().input(3).dense(4, Activation.RELU).dense(0, Activation.RELU)
                        .dense(2, Activation.IDENTITY).build()));
        assertEquals("layer 1 of 2 must have width > 0, found -5",
                rejection(() -> NetworkSpec.builder().input(3).dense(-5, Activation.RELU)
                        .dense(2, Activation.IDENTITY).build()));
        assertEquals("softmax is only allowed on the output layer, found on layer 1 of 2",
                rejection(() -> NetworkSpec.builder().input(3).dense(4, Activation.SOFTMAX)
                        .dense(2, Activation.SOFTMAX).build()));
        assertEquals("a softmax output layer needs at least 2 units, found 1",
                rejection(() -> NetworkSpec.builder().input(3).dense(1, Activation.SOFTMAX).build()));
        assertEquals("loss softmax_cross_entropy requires a softmax output layer, found sigmoid",
                rejection(() -> NetworkSpec.builder().input(3).dense(2, Activation.SIGMOID)
                        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build()));
        assertEquals("loss sigmoid_cross_entropy requires a sigmoid output layer, found identity",
                rejection(() -> NetworkSpec.builder().input(3).dense(2, Activation.IDENTITY)
                        .loss(Loss.SIGMOID_CROSS_ENTROPY).build()));
        assertEquals("a softmax output layer requires loss softmax_cross_entropy, found half_squared_error",
                rejection(() -> NetworkSpec.builder().input(3).dense(2, Activation.SOFTMAX)
                        .loss(Loss.HALF_SQUARED_ERROR).build()));
        assertEquals("layer 1 of 1 has no activation",
                rejection(() -> NetworkSpec.builder().input(3).dense(2, null).build()));
    }

    @Test
    void namesParseCaseInsensitivelyAndUnknownNamesListTheChoices() {
        assertEquals(Activation.RELU, Activation.fromName("ReLU"));
        assertEquals(Loss.SOFTMAX_CROSS_ENTROPY, Loss.fromName("softmax_cross_entropy"));
        assertEquals("unknown activation 'gelu', expected one of identity, sigmoid, tanh, relu, softmax",
                assertThrows(IllegalArgumentException.class, () -> Activation.fromName("gelu")).getMessage());
        assertEquals("unknown loss 'hinge', expected one of half_squared_error, softmax_cross_entropy, "
                        + "sigmoid_cross_entropy",
                assertThrows(IllegalArgumentException.class, () -> Loss.fromName("hinge")).getMessage());
    }
}
