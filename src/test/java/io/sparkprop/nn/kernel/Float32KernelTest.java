package io.sparkprop.nn.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
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
import org.ejml.data.FMatrixRMaj;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The float32 kernel against the float64 one on the same values: inputs, targets and parameters that
 * floats hold exactly, so that what differs is the float32 arithmetic alone (single-precision GEMMs,
 * activations and deltas rounded to float between them). Its loss and gradient must agree with the
 * float64 kernel's — which {@link GradientCheckTest} checks against central differences — to a relative
 * error of the order of float epsilon times the depth ({@link Tolerances#FLOAT32_KERNEL_RELATIVE}).
 */
class Float32KernelTest {
    private static final int INPUTS = 24;
    private static final int BLOCK = 40;

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (Object[] pair : GradientCheckTest.validOutputs()) {
            for (Activation hidden : new Activation[] {Activation.RELU, Activation.TANH, Activation.SIGMOID}) {
                for (GemmBackend backend : new GemmBackend[] {GemmBackend.EJML, GemmBackend.NETLIB}) {
                    cases.add(Arguments.of(pair[0], pair[1], hidden, backend));
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}+{1} hidden {2} {3}")
    @MethodSource("cases")
    void lossAndGradientAgreeWithFloat64ToFloatEpsilonTimesDepth(Activation output, Loss loss, Activation hidden,
                                                                 GemmBackend backend) {
        int outputs = output == Activation.SOFTMAX ? 4 : 3;
        NetworkSpec spec = NetworkSpec.of(INPUTS, new int[] {32, 16}, hidden, outputs, output, loss);
        SplittableRandom random = new SplittableRandom(17);
        Parameters params = Parameters.initialise(spec, 5);
        TestData.floatExact(params.values());
        for (int l = 0; l < spec.numLayers(); l++) {
            for (int i = 0; i < spec.width(l); i++) {
                params.values()[params.biasOffset(l) + i] = (float) (0.2 * random.nextDouble() - 0.1);
            }
        }
        DMatrixRMaj x = TestData.floatExact(TestData.uniform(random, INPUTS, BLOCK, -2, 2));
        DMatrixRMaj y = loss == Loss.HALF_SQUARED_ERROR
                ? TestData.floatExact(TestData.uniform(random, outputs, BLOCK, -1, 1))
                : TestData.oneHot(random, outputs, BLOCK);
        double[] w = TestData.uniform(random, BLOCK, 0.5, 2);

        GradientSum reference = new GradientSum(spec);
        double referenceLoss = new BackpropKernel(spec, backend.gemm()).lossAndGradient(params, x, y, w, reference);
        GradientSum single = new GradientSum(spec);
        BackpropKernel kernel = new BackpropKernel(spec, backend.gemm(), Precision.FLOAT32);
        double singleLoss = kernel.lossAndGradient(kernel.load(params), TestData.narrow(x), TestData.narrow(y), w,
                single);

        double tolerance = Tolerances.FLOAT32_KERNEL_RELATIVE * spec.numLayers();
        assertEquals(referenceLoss, singleLoss, tolerance * Math.abs(referenceLoss), "loss");
        double g = TestData.relativeNormError(reference.gradient().values(), single.gradient().values());
        assertTrue(g <= tolerance, "gradient relative error " + g + " > " + tolerance);
        assertEquals(reference.count(), single.count());
        assertEquals(reference.weightSum(), single.weightSum());
    }

    /** The float32 kernel's sigmoid: within 1e-10 relative of the logistic function over float's range. */
    @Test
    void theFloat32SigmoidIsTheLogisticFunctionFarBelowFloatRounding() {
        int n = 200001;
        DMatrixRMaj z = new DMatrixRMaj(1, n);
        for (int k = 0; k < n; k++) {
            z.data[k] = -100 + 200.0 * k / (n - 1);
        }
        DMatrixRMaj a = z.copy();
        Activations.sigmoidForFloat32(a);
        double worst = 0;
        for (int k = 0; k < n; k++) {
            double exact = Activations.sigmoid(z.data[k]);
            if (Math.abs(z.data[k]) <= 88) {
                worst = Math.max(worst, Math.abs(a.data[k] - exact) / exact);
            } else {
                // clamped: σ is 0 or 1 to far below float precision
                assertEquals(exact, a.data[k], 1e-38, "z = " + z.data[k]);
            }
        }
        assertTrue(worst < 1e-10, "worst relative error " + worst);
    }

    /** Logits of ±80: e^80 overflows nothing in the max-shifted, double-precision log-sum-exp. */
    @Test
    void softmaxCrossEntropyStaysFiniteAtLogitsOfPlusMinus80() {
        NetworkSpec spec = NetworkSpec.of(2, new int[0], Activation.RELU, 3, Activation.SOFTMAX,
                Loss.SOFTMAX_CROSS_ENTROPY);
        Parameters params = Parameters.zeros(spec);
        // z = W x with x = (1, 1): logits 80, −80, 0 for the first column, the negatives for the second
        double[] v = params.values();
        v[0] = 40;
        v[1] = 40;
        v[2] = -40;
        v[3] = -40;
        DMatrixRMaj x = new DMatrixRMaj(new double[][] {{1, -1}, {1, -1}});
        DMatrixRMaj y = new DMatrixRMaj(new double[][] {{0, 0}, {1, 1}, {0, 0}});
        GradientSum reference = new GradientSum(spec);
        double referenceLoss = new BackpropKernel(spec, GemmBackend.EJML.gemm()).lossAndGradient(params, x, y, null,
                reference);
        for (GemmBackend backend : new GemmBackend[] {GemmBackend.EJML, GemmBackend.NETLIB}) {
            BackpropKernel kernel = new BackpropKernel(spec, backend.gemm(), Precision.FLOAT32);
            GradientSum sum = new GradientSum(spec);
            double l = kernel.lossAndGradient(kernel.load(params), TestData.narrow(x), TestData.narrow(y), null,
                    sum);
            // column 1: logits (80, −80, 0), target 2: C = lse − z_2 = 80 + 80 + log(1 + e^-80 + e^-160) ≈ 160;
            // column 2: logits (−80, 80, 0): C = log(1 + e^-80 + e^-160) ≈ 2e-35
            assertEquals(160.0, l, 1e-12, backend + " loss");
            assertEquals(referenceLoss, l, 1e-12 * referenceLoss);
            assertTrue(sum.gradient().isFinite(), backend + " gradient finite");
            assertTrue(TestData.relativeNormError(reference.gradient().values(), sum.gradient().values()) <= 1e-6);
        }
    }

    /** Predictions and evaluation in float32 follow the same forward pass. */
    @Test
    void predictAndEvaluateAgreeWithFloat64() {
        NetworkSpec spec = NetworkSpec.of(INPUTS, new int[] {20}, Activation.RELU, 5, Activation.SOFTMAX,
                Loss.SOFTMAX_CROSS_ENTROPY);
        SplittableRandom random = new SplittableRandom(3);
        Parameters params = Parameters.initialise(spec, 9);
        TestData.floatExact(params.values());
        DMatrixRMaj x = TestData.floatExact(TestData.uniform(random, INPUTS, BLOCK, -1, 1));
        DMatrixRMaj y = TestData.oneHot(random, 5, BLOCK);
        BackpropKernel f64 = new BackpropKernel(spec, GemmBackend.EJML.gemm());
        BackpropKernel f32 = new BackpropKernel(spec, GemmBackend.EJML.gemm(), Precision.FLOAT32);
        DMatrixRMaj expected = new DMatrixRMaj(1, 1);
        DMatrixRMaj found = new DMatrixRMaj(1, 1);
        f64.predict(params, x, expected);
        f32.predict(f32.load(params), TestData.narrow(x), found);
        assertTrue(TestData.maxRelativeDifference(expected.data, found.data) <= Tolerances.FLOAT32_KERNEL_RELATIVE);
        double[] c64 = new double[1];
        double[] c32 = new double[1];
        double l64 = f64.evaluate(f64.load(params), x, y, null, c64);
        assertEquals(f64.loss(params, x, y, null), l64, "evaluate's loss is loss's");
        double l32 = f32.evaluate(f32.load(params), TestData.narrow(x), TestData.narrow(y), null, c32);
        assertEquals(l64, l32, Tolerances.FLOAT32_KERNEL_RELATIVE * l64);
        assertEquals(c64[0], c32[0]);
    }

    /** A float32 kernel copies the parameters when they are loaded: a change is seen after the next load. */
    @Test
    void theFloatCopyIsTakenWhenTheParametersAreLoaded() {
        NetworkSpec spec = NetworkSpec.of(3, new int[0], Activation.RELU, 1, Activation.IDENTITY,
                Loss.HALF_SQUARED_ERROR);
        Parameters params = Parameters.zeros(spec);
        BackpropKernel kernel = new BackpropKernel(spec, GemmBackend.EJML.gemm(), Precision.FLOAT32);
        FMatrixRMaj x = new FMatrixRMaj(new float[][] {{1}, {2}, {3}});
        DMatrixRMaj out = new DMatrixRMaj(1, 1);
        BackpropKernel.Weights loaded = kernel.load(params);
        params.values()[1] = 1.5;
        kernel.predict(loaded, x, out);
        assertEquals(0.0, out.get(0, 0));
        kernel.predict(kernel.load(params), x, out);
        assertEquals(3.0, out.get(0, 0));
    }

    @Test
    void blocksOfTheOtherPrecisionAreRefused() {
        NetworkSpec spec = NetworkSpec.of(3, new int[0], Activation.RELU, 2, Activation.SOFTMAX,
                Loss.SOFTMAX_CROSS_ENTROPY);
        Parameters params = Parameters.zeros(spec);
        BackpropKernel f32 = new BackpropKernel(spec, GemmBackend.EJML.gemm(), Precision.FLOAT32);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> f32.lossAndGradient(
                f32.load(params), new DMatrixRMaj(3, 2), new FMatrixRMaj(2, 2), null, new GradientSum(spec)));
        assertEquals("a float32 kernel expects FMatrixRMaj inputs, found DMatrixRMaj", e.getMessage());
        BackpropKernel f64 = new BackpropKernel(spec, GemmBackend.EJML.gemm());
        e = assertThrows(IllegalArgumentException.class, () -> f64.loss(f64.load(params), new DMatrixRMaj(3, 2),
                new FMatrixRMaj(2, 2), null));
        assertEquals("a float64 kernel expects DMatrixRMaj targets, found FMatrixRMaj", e.getMessage());
    }
}
