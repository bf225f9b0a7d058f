package io.sparkprop.nn.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import io.sparkprop.linalg.GemmBackend;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.GradientSum;
import io.sparkprop.nn.Loss;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import io.sparkprop.testutil.TestData;
import io.sparkprop.testutil.Tolerances;
import org.ejml.data.DMatrixRMaj;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Central-difference gradient checks of the kernel for every valid output activation × loss pair,
 * every hidden activation, 0, 1 and 3 hidden layers, with and without example weights, on both
 * GEMM backends: {@code ∂J/∂θ_i ≈ (J(θ + ε e_i) − J(θ − ε e_i)) / 2ε} for every weight and bias,
 * with {@code J = Σ_j w_j C_j} the block's loss.
 */
class GradientCheckTest {
    private static final int INPUTS = 3;
    private static final int BLOCK = 5;
    private static final int[][] HIDDEN = {{}, {4}, {4, 3, 5}};
    private static final Activation[] HIDDEN_ACTIVATIONS = {
        Activation.IDENTITY, Activation.SIGMOID, Activation.TANH, Activation.RELU};

    /** Every output activation with every loss the spec accepts for it. */
    static List<Object[]> validOutputs() {
        List<Object[]> pairs = new ArrayList<>();
        for (Activation out : Activation.values()) {
            for (Loss loss : Loss.values()) {
                try {
                    NetworkSpec.builder().input(1).dense(2, out).loss(loss).build();
                    pairs.add(new Object[] {out, loss});
                } catch (IllegalArgumentException invalid) {
                    // not a valid pair: the spec tests cover its message
                }
            }
        }
        return pairs;
    }

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (Object[] pair : validOutputs()) {
            for (int[] hidden : HIDDEN) {
                for (Activation h : HIDDEN_ACTIVATIONS) {
                    if (hidden.length == 0 && h != Activation.IDENTITY) {
                        continue; // no hidden layer: the hidden activation is irrelevant
                    }
                    for (boolean weighted : new boolean[] {false, true}) {
                        for (GemmBackend backend : new GemmBackend[] {GemmBackend.EJML, GemmBackend.NETLIB}) {
                            cases.add(Arguments.of(pair[0], pair[1], hidden, h, weighted, backend));
                        }
                    }
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}+{1} hidden={2} {3} weighted={4} {5}")
    @MethodSource("cases")
    void analyticGradientMatchesCentralDifference(Activation output, Loss loss, int[] hidden, Activation hiddenAct,
                                                  boolean weighted, GemmBackend backend) {
        int outputs = output == Activation.SOFTMAX ? 3 : 2;
        NetworkSpec spec = NetworkSpec.of(INPUTS, hidden, hiddenAct, outputs, output, loss);
        BackpropKernel kernel = new BackpropKernel(spec, backend.gemm());

        Problem p = Problem.awayFromReluKink(spec, 1234 + hidden.length, weighted);

        GradientSum sum = new GradientSum(spec);
        double loss0 = kernel.lossAndGradient(p.params, p.x, p.y, p.weights, sum);
        assertEquals(new ReferenceNetwork(p.params).lossSum(p.x, p.y, p.weights), loss0,
                1e-12 * Math.max(1, Math.abs(loss0)), "kernel loss equals the textbook formula");
        assertEquals(weighted ? sum(p.weights) : BLOCK, sum.weightSum(), 1e-12);
        assertEquals(BLOCK, sum.count());

        double[] analytic = sum.gradient().toFlat();
        double[] theta = p.params.toFlat();
        double[] numeric = new double[theta.length];
        double eps = Tolerances.GRADIENT_CHECK_STEP;
        for (int i = 0; i < theta.length; i++) {
            double saved = theta[i];
            theta[i] = saved + eps;
            double plus = kernel.loss(Parameters.fromFlat(spec, theta), p.x, p.y, p.weights);
            theta[i] = saved - eps;
            double minus = kernel.loss(Parameters.fromFlat(spec, theta), p.x, p.y, p.weights);
            theta[i] = saved;
            numeric[i] = (plus - minus) / (2 * eps);
        }
        double normDiff = 0;
        double normSum = 0;
        for (int i = 0; i < theta.length; i++) {
            double d = analytic[i] - numeric[i];
            normDiff += d * d;
            normSum += analytic[i] * analytic[i] + numeric[i] * numeric[i];
            // element-wise, relative to the entry or to 1 for entries near zero
            double scale = Math.max(1.0, Math.max(Math.abs(analytic[i]), Math.abs(numeric[i])));
            assertTrue(Math.abs(d) <= Tolerances.GRADIENT_CHECK_RELATIVE * scale,
                    "parameter " + i + ": analytic " + analytic[i] + " vs numeric " + numeric[i]);
        }
        double relative = Math.sqrt(normDiff) / Math.max(Math.sqrt(normSum), Double.MIN_NORMAL);
        assertTrue(relative <= Tolerances.GRADIENT_CHECK_RELATIVE,
                "relative error of the whole gradient " + relative);
        assertTrue(normSum > 0, "the gradient is not identically zero");
    }

    private static double sum(double[] v) {
        double s = 0;
        for (double d : v) {
            s += d;
        }
        return s;
    }

    /** A network's parameters (random biases too) and a block of data with targets fitting its loss. */
    static final class Problem {
        final Parameters params;
        final DMatrixRMaj x;
        final DMatrixRMaj y;
        final double[] weights;

        private Problem(Parameters params, DMatrixRMaj x, DMatrixRMaj y, double[] weights) {
            this.params = params;
            this.x = x;
            this.y = y;
            this.weights = weights;
        }

        static Problem random(NetworkSpec spec, long seed, boolean weighted) {
            SplittableRandom random = new SplittableRandom(seed);
            Parameters params = Parameters.initialise(spec, seed);
            for (int l = 0; l < spec.numLayers(); l++) {
                for (int i = 0; i < spec.width(l); i++) {
                    params.values()[params.biasOffset(l) + i] = random.nextDouble() - 0.5;
                }
            }
            DMatrixRMaj x = TestData.uniform(random, spec.inputSize(), BLOCK, -2, 2);
            DMatrixRMaj y;
            switch (spec.loss()) {
                case SOFTMAX_CROSS_ENTROPY:
                    // soft targets that do not sum to 1 also exercise the general delta a·Σy − y
                    y = TestData.uniform(random, spec.outputSize(), BLOCK, 0, 1);
                    break;
                case SIGMOID_CROSS_ENTROPY:
                    y = TestData.uniform(random, spec.outputSize(), BLOCK, 0, 1);
                    break;
                default:
                    y = TestData.uniform(random, spec.outputSize(), BLOCK, -1, 1);
            }
            double[] w = weighted ? TestData.uniform(random, BLOCK, 0.5, 2.0) : null;
            return new Problem(params, x, y, w);
        }

        /** The first seed from {@code seed} whose ReLU pre-activations all stay off the kink. */
        static Problem awayFromReluKink(NetworkSpec spec, long seed, boolean weighted) {
            for (int attempt = 0; attempt < 100; attempt++) {
                Problem p = random(spec, seed + attempt, weighted);
                if (new ReferenceNetwork(p.params).minAbsReluPreActivation(p.x) > Tolerances.RELU_KINK_MARGIN) {
                    return p;
                }
            }
            throw new AssertionError("no seed kept the ReLU units off the kink");
        }
    }
}
