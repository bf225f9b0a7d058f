package io.sparkprop.nn.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import io.sparkprop.linalg.GemmBackend;
import io.sparkprop.linalg.Precision;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.GradientSum;
import io.sparkprop.nn.Loss;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import io.sparkprop.testutil.TestData;
import io.sparkprop.testutil.Tolerances;
import org.ejml.data.DMatrixRMaj;
import org.ejml.data.Matrix;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The kernel's training terms ({@link TrainingTerms}): dropout, label smoothing and class factors each
 * change the objective as documented — checked against the textbook network with the documented masks, against
 * the plain kernel on transformed targets or weights, and by central differences with the mask held fixed — and
 * leave the plain pass's bits alone when off.
 */
class TrainingTermsKernelTest {
    private static final int BLOCK = 7;

    static Stream<Arguments> dropoutCases() {
        List<Arguments> cases = new ArrayList<>();
        for (Object[] pair : GradientCheckTest.validOutputs()) {
            for (Activation h : new Activation[] {Activation.SIGMOID, Activation.TANH, Activation.RELU}) {
                for (int[] hidden : new int[][] {{5}, {6, 4}}) {
                    for (boolean sparse : new boolean[] {false, true}) {
                        cases.add(Arguments.of(pair[0], pair[1], h, hidden, sparse));
                    }
                }
            }
        }
        return cases.stream();
    }

    /**
     * With a fixed key the dropped network is a fixed function of θ: its loss is the textbook network's with the
     * documented masks, and its gradient matches central differences of that loss.
     */
    @ParameterizedTest(name = "{0}+{1} {2} hidden={3} sparse={4}")
    @MethodSource("dropoutCases")
    void dropoutGradientMatchesCentralDifferencesWithTheMaskFixed(Activation output, Loss loss, Activation hidden,
                                                                  int[] widths, boolean sparse) {
        int outputs = output == Activation.SOFTMAX ? 3 : 2;
        NetworkSpec spec = NetworkSpec.of(4, widths, hidden, outputs, output, loss);
        BackpropKernel kernel = new BackpropKernel(spec, GemmBackend.EJML.gemm());
        TrainingTerms terms = TrainingTerms.of(0.3, 0.0, null);
        long key = TrainingTerms.blockKey(11, 3, 1, 2);
        Parameters params = null;
        DMatrixRMaj xs = null;
        SplittableRandom random = null;
        // the first seed whose ReLU pre-activations (masks applied) stay off the kink, where differences are exact
        for (int seed = 0; params == null; seed++) {
            assertTrue(seed < 100, "no seed kept the ReLU units off the kink");
            random = new SplittableRandom(widths.length * 31L + hidden.ordinal() + 1000L * seed);
            Parameters p = Parameters.initialise(spec, seed);
            DMatrixRMaj x = TestData.uniform(random, 4, BLOCK, -2, 2);
            DMatrixRMaj candidate = sparse ? TestData.sparsify(random, x, 0.5) : x;
            if (new ReferenceNetwork(p).withDropout(0.3, key, BLOCK).minAbsReluPreActivation(candidate)
                    > Tolerances.RELU_KINK_MARGIN) {
                params = p;
                xs = candidate;
            }
        }
        Matrix input = sparse ? TestData.sparseColumns(xs) : xs;
        DMatrixRMaj y = loss == Loss.HALF_SQUARED_ERROR ? TestData.uniform(random, outputs, BLOCK, -1, 1)
                : TestData.oneHot(random, outputs, BLOCK);
        double[] w = TestData.uniform(random, BLOCK, 0.5, 2.0);

        GradientSum sum = new GradientSum(spec);
        double l0 = kernel.lossAndGradient(kernel.load(params), input, y, w, sum, terms, key);
        double reference = new ReferenceNetwork(params).withDropout(0.3, key, BLOCK).lossSum(xs, y, w);
        assertEquals(reference, l0, 1e-12 * Math.max(1, Math.abs(l0)), "the dropped loss is the textbook one");
        double plain = kernel.loss(params, input, y, w);
        assertTrue(Math.abs(plain - l0) > 1e-9, "dropout changes the loss");

        double[] analytic = sum.gradient().toFlat();
        double[] theta = params.toFlat();
        double eps = Tolerances.GRADIENT_CHECK_STEP;
        for (int i = 0; i < theta.length; i++) {
            double saved = theta[i];
            theta[i] = saved + eps;
            double plus = lossWith(kernel, spec, theta, input, y, w, terms, key);
            theta[i] = saved - eps;
            double minus = lossWith(kernel, spec, theta, input, y, w, terms, key);
            theta[i] = saved;
            double numeric = (plus - minus) / (2 * eps);
            double scale = Math.max(1.0, Math.max(Math.abs(analytic[i]), Math.abs(numeric)));
            assertTrue(Math.abs(analytic[i] - numeric) <= Tolerances.GRADIENT_CHECK_RELATIVE * scale,
                    "parameter " + i + ": analytic " + analytic[i] + " vs numeric " + numeric);
        }
    }

    private static double lossWith(BackpropKernel kernel, NetworkSpec spec, double[] theta, Matrix x, DMatrixRMaj y,
                                   double[] w, TrainingTerms terms, long key) {
        return kernel.lossAndGradient(kernel.load(Parameters.fromFlat(spec, theta)), x, y, w, new GradientSum(spec),
                terms, key);
    }

    @Test
    void masksDependOnTheKeyAloneAndDropTheRateOfUnits() {
        NetworkSpec spec = NetworkSpec.of(6, new int[] {50, 40}, Activation.TANH, 3, Activation.SOFTMAX, null);
        SplittableRandom random = new SplittableRandom(3);
        Parameters params = Parameters.initialise(spec, 3);
        DMatrixRMaj x = TestData.uniform(random, 6, 64, -1, 1);
        DMatrixRMaj y = TestData.oneHot(random, 3, 64);
        TrainingTerms terms = TrainingTerms.of(0.25, 0.0, null);
        BackpropKernel a = new BackpropKernel(spec, GemmBackend.EJML.gemm());
        BackpropKernel b = new BackpropKernel(spec, GemmBackend.EJML.gemm());
        long key = TrainingTerms.blockKey(42, 17, 2, 5);
        double[] first = gradient(a, params, x, y, terms, key);
        // another kernel, after other blocks: no state carries over, the same key draws the same masks
        gradient(b, params, x, y, terms, TrainingTerms.blockKey(42, 16, 2, 5));
        assertArrayEquals(first, gradient(b, params, x, y, terms, key), 0.0);
        // every part of the key matters
        for (long other : new long[] {TrainingTerms.blockKey(43, 17, 2, 5), TrainingTerms.blockKey(42, 18, 2, 5),
            TrainingTerms.blockKey(42, 17, 3, 5), TrainingTerms.blockKey(42, 17, 2, 6)}) {
            assertFalse(Arrays.equals(first, gradient(b, params, x, y, terms, other)));
        }
        // the units dropped: within 5 standard deviations of the rate over 10^6 draws
        long layerKey = TrainingTerms.layerKey(key, 0);
        int n = 1_000_000;
        int dropped = 0;
        for (int k = 0; k < n; k++) {
            dropped += TrainingTerms.uniform(layerKey, k) < 0.25 ? 1 : 0;
        }
        assertEquals(0.25, dropped / (double) n, 5 * Math.sqrt(0.25 * 0.75 / n));
        // the kernel's branch-free draw keeps exactly the units U ≥ p keeps, at the edges of the rate too
        double[] mask = new double[100_000];
        for (double rate : new double[] {0.0, 0x1p-53, 0.25, 0.5, 1 - 0x1p-53}) {
            TrainingTerms.fillMask(layerKey, rate, 3.0, mask, mask.length);
            for (int k = 0; k < mask.length; k++) {
                assertEquals(TrainingTerms.uniform(layerKey, k) >= rate ? 3.0 : 0.0, mask[k], 0.0, "unit " + k);
            }
        }
    }

    @Test
    void offTermsGiveThePlainPassesBitsAndScoringIgnoresThem() {
        NetworkSpec spec = NetworkSpec.of(5, new int[] {8, 6}, Activation.SIGMOID, 4, Activation.SOFTMAX, null);
        SplittableRandom random = new SplittableRandom(8);
        Parameters params = Parameters.initialise(spec, 8);
        DMatrixRMaj x = TestData.uniform(random, 5, 30, -1, 1);
        DMatrixRMaj y = TestData.oneHot(random, 4, 30);
        BackpropKernel kernel = new BackpropKernel(spec, GemmBackend.EJML.gemm());
        GradientSum plain = new GradientSum(spec);
        kernel.lossAndGradient(params, x, y, null, plain);
        GradientSum off = new GradientSum(spec);
        kernel.lossAndGradient(kernel.load(params), x, y, null, off, TrainingTerms.of(0, 0, null), 99L);
        assertArrayEquals(plain.gradient().toFlat(), off.gradient().toFlat(), 0.0);
        assertEquals(plain.lossSum(), off.lossSum(), 0.0);
        // a training pass with dropout leaves predictions (no dropout, no rescaling) as they were
        DMatrixRMaj before = new DMatrixRMaj(1, 1);
        kernel.predict(params, x, before);
        kernel.lossAndGradient(kernel.load(params), x, y, null, new GradientSum(spec),
                TrainingTerms.of(0.5, 0.1, null), 1L);
        DMatrixRMaj after = new DMatrixRMaj(1, 1);
        kernel.predict(params, x, after);
        assertArrayEquals(before.data, after.data, 0.0);
    }

    /** Inverted dropout keeps the expected input of the next layer: the mean dropped activation is the kept one. */
    @Test
    void invertedDropoutKeepsTheExpectedActivation() {
        NetworkSpec spec = NetworkSpec.of(3, new int[] {200}, Activation.SIGMOID, 1, Activation.IDENTITY, null);
        Parameters params = Parameters.initialise(spec, 1);
        DMatrixRMaj x = TestData.uniform(new SplittableRandom(1), 3, 1, -1, 1);
        ReferenceNetwork plain = new ReferenceNetwork(params);
        double[] a = plain.preActivations(ReferenceNetwork.column(x, 0))[0];
        double kept = 0;
        double expected = 0;
        for (int i = 0; i < a.length; i++) {
            expected += 1 / (1 + Math.exp(-a[i]));
        }
        int draws = 2000;
        for (int d = 0; d < draws; d++) {
            long layerKey = TrainingTerms.layerKey(TrainingTerms.blockKey(1, d, 0, 0), 0);
            for (int i = 0; i < a.length; i++) {
                double s = 1 / (1 + Math.exp(-a[i]));
                kept += TrainingTerms.uniform(layerKey, i) >= 0.4 ? s / 0.6 : 0.0;
            }
        }
        assertEquals(expected, kept / draws, 0.01 * expected);
    }

    /** Float32 with dropout follows float64 with dropout: the same masks, the float kernel's rounding. */
    @Test
    void float32DropoutFollowsFloat64() {
        NetworkSpec spec = NetworkSpec.of(6, new int[] {9, 7}, Activation.TANH, 3, Activation.SOFTMAX, null);
        SplittableRandom random = new SplittableRandom(21);
        Parameters params = Parameters.initialise(spec, 21);
        params = Parameters.fromFlat(spec, TestData.floatExact(params.toFlat()));
        DMatrixRMaj x = TestData.floatExact(TestData.uniform(random, 6, 16, -1, 1));
        DMatrixRMaj y = TestData.oneHot(random, 3, 16);
        TrainingTerms terms = TrainingTerms.of(0.2, 0.0, null);
        long key = TrainingTerms.blockKey(1, 2, 3, 4);
        double[] wide = gradient(new BackpropKernel(spec, GemmBackend.EJML.gemm()), params, x, y, terms, key);
        BackpropKernel f = new BackpropKernel(spec, GemmBackend.EJML.gemm(), Precision.FLOAT32);
        GradientSum s = new GradientSum(spec);
        f.lossAndGradient(f.load(params), TestData.narrow(x), TestData.narrow(y), null, s, terms, key);
        assertTrue(TestData.relativeNormError(s.gradient().toFlat(), wide) < 1e-5,
                "float32 " + TestData.relativeNormError(s.gradient().toFlat(), wide));
    }

    private static double[] gradient(BackpropKernel kernel, Parameters params, DMatrixRMaj x, DMatrixRMaj y,
                                     TrainingTerms terms, long key) {
        GradientSum sum = new GradientSum(params.spec());
        kernel.lossAndGradient(kernel.load(params), x, y, null, sum, terms, key);
        return sum.gradient().toFlat();
    }

    /**
     * Label smoothing is the plain loss on the smoothed targets {@code (1 − ε)y + ε(Σy)/K} (softmax) or
     * {@code (1 − ε)y + ε/2} (sigmoid), loss and gradient; a squared error refuses it.
     */
    @Test
    void labelSmoothingIsThePlainLossOfTheSmoothedTargets() {
        for (Activation out : new Activation[] {Activation.SOFTMAX, Activation.SIGMOID}) {
            NetworkSpec spec = NetworkSpec.of(4, new int[] {5}, Activation.TANH, 3, out,
                    out == Activation.SOFTMAX ? Loss.SOFTMAX_CROSS_ENTROPY : Loss.SIGMOID_CROSS_ENTROPY);
            SplittableRandom random = new SplittableRandom(4);
            Parameters params = Parameters.initialise(spec, 4);
            DMatrixRMaj x = TestData.uniform(random, 4, BLOCK, -1, 1);
            DMatrixRMaj y = TestData.oneHot(random, 3, BLOCK);
            double[] w = TestData.uniform(random, BLOCK, 0.5, 2);
            double eps = 0.1;
            DMatrixRMaj smoothed = y.copy();
            for (int k = 0; k < smoothed.data.length; k++) {
                smoothed.data[k] = (1 - eps) * y.data[k] + (out == Activation.SOFTMAX ? eps / 3 : eps / 2);
            }
            BackpropKernel kernel = new BackpropKernel(spec, GemmBackend.EJML.gemm());
            GradientSum expected = new GradientSum(spec);
            double lossExpected = kernel.lossAndGradient(params, x, smoothed, w, expected);
            GradientSum actual = new GradientSum(spec);
            double loss = kernel.lossAndGradient(kernel.load(params), x, y, w, actual, TrainingTerms.of(0, eps, null),
                    0L);
            assertEquals(lossExpected, loss, 1e-13 * Math.abs(loss), out.name());
            assertTrue(TestData.relativeNormError(expected.gradient().toFlat(), actual.gradient().toFlat()) < 1e-13);
            assertTrue(Math.abs(loss - kernel.loss(params, x, y, w)) > 1e-6, "smoothing changes the loss");
        }
        NetworkSpec regression = NetworkSpec.of(2, new int[] {}, Activation.RELU, 1, Activation.IDENTITY, null);
        BackpropKernel kernel = new BackpropKernel(regression, GemmBackend.EJML.gemm());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> kernel.lossAndGradient(
                kernel.load(Parameters.initialise(regression, 1)), new DMatrixRMaj(2, 3), new DMatrixRMaj(1, 3), null,
                new GradientSum(regression), TrainingTerms.of(0, 0.1, null), 0L));
        assertEquals("label smoothing applies to the cross-entropy losses, not to half_squared_error", e.getMessage());
    }

    /** Class factors are the example weights {@code w_j κ_{c_j}}: the same bits as passing those weights. */
    @Test
    void classFactorsAreExampleWeights() {
        for (int outputs : new int[] {3, 1}) {
            NetworkSpec spec = NetworkSpec.of(4, new int[] {5}, Activation.TANH, outputs,
                    outputs == 1 ? Activation.SIGMOID : Activation.SOFTMAX,
                    outputs == 1 ? Loss.SIGMOID_CROSS_ENTROPY : Loss.SOFTMAX_CROSS_ENTROPY);
            SplittableRandom random = new SplittableRandom(outputs);
            Parameters params = Parameters.initialise(spec, 4);
            DMatrixRMaj x = TestData.uniform(random, 4, BLOCK, -1, 1);
            DMatrixRMaj y = outputs == 1 ? TestData.uniform(random, 1, BLOCK, 0, 1) : TestData.oneHot(random, 3, BLOCK);
            double[] w = TestData.uniform(random, BLOCK, 0.5, 2);
            double[] factors = outputs == 1 ? new double[] {0.5, 4.0} : new double[] {0.5, 4.0, 1.5};
            double[] combined = new double[BLOCK];
            for (int j = 0; j < BLOCK; j++) {
                combined[j] = w[j] * factors[TrainingTerms.classOf(y, j)];
            }
            BackpropKernel kernel = new BackpropKernel(spec, GemmBackend.EJML.gemm());
            GradientSum expected = new GradientSum(spec);
            kernel.lossAndGradient(params, x, y, combined, expected);
            GradientSum actual = new GradientSum(spec);
            kernel.lossAndGradient(kernel.load(params), x, y, w, actual, TrainingTerms.of(0, 0, factors), 0L);
            assertArrayEquals(expected.gradient().toFlat(), actual.gradient().toFlat(), 0.0);
            assertEquals(expected.lossSum(), actual.lossSum(), 0.0);
            assertEquals(expected.weightSum(), actual.weightSum(), 0.0);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> kernel.lossAndGradient(
                    kernel.load(params), x, y, w, new GradientSum(spec), TrainingTerms.of(0, 0, new double[] {1, 2, 3, 4}),
                    0L));
            assertEquals("expected " + (outputs == 1 ? 2 : 3) + " class factors for " + outputs + " output"
                    + (outputs == 1 ? "" : "s") + ", found 4", e.getMessage());
        }
        // the class of one output is its 0/1 target's side of 0.5; of several, the first largest
        DMatrixRMaj one = new DMatrixRMaj(new double[][] {{0.2, 0.5, 1.0}});
        assertArrayEquals(new int[] {0, 1, 1}, new int[] {TrainingTerms.classOf(one, 0), TrainingTerms.classOf(one, 1),
            TrainingTerms.classOf(one, 2)});
        DMatrixRMaj many = new DMatrixRMaj(new double[][] {{0, 0.5}, {1, 0.5}, {0, 0}});
        assertEquals(1, TrainingTerms.classOf(many, 0));
        assertEquals(0, TrainingTerms.classOf(many, 1));
        assertEquals(1, TrainingTerms.classOf(TestData.narrow(many), 0));
    }

    @Test
    void badTermsAreRefused() {
        assertEquals("dropout must be in [0, 1), found 1.0",
                assertThrows(IllegalArgumentException.class, () -> TrainingTerms.of(1.0, 0, null)).getMessage());
        assertEquals("labelSmoothing must be in [0, 1), found -0.1",
                assertThrows(IllegalArgumentException.class, () -> TrainingTerms.of(0, -0.1, null)).getMessage());
        assertEquals("class factors must be finite and >= 0, found [1.0, -2.0]", assertThrows(
                IllegalArgumentException.class, () -> TrainingTerms.of(0, 0, new double[] {1, -2})).getMessage());
        assertEquals("dropout must be in [0, 1), found NaN",
                assertThrows(IllegalArgumentException.class, () -> TrainingTerms.of(Double.NaN, 0, null)).getMessage());
    }
}
