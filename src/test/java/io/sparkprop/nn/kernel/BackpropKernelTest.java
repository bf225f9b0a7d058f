package io.sparkprop.nn.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.util.SplittableRandom;

import io.sparkprop.linalg.GemmBackend;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.GradientSum;
import io.sparkprop.nn.Loss;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import io.sparkprop.testutil.TestData;
import io.sparkprop.testutil.Tolerances;
import org.ejml.data.DMatrixRMaj;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class BackpropKernelTest {
    private static final NetworkSpec DEEP = NetworkSpec.builder().input(6)
            .dense(8, Activation.TANH).dense(5, Activation.RELU).dense(7, Activation.SIGMOID)
            .dense(4, Activation.SOFTMAX).build();

    private static Parameters randomParams(NetworkSpec spec, long seed) {
        Parameters p = Parameters.initialise(spec, seed);
        SplittableRandom random = new SplittableRandom(seed + 1);
        for (int l = 0; l < spec.numLayers(); l++) {
            for (int i = 0; i < spec.width(l); i++) {
                p.values()[p.biasOffset(l) + i] = random.nextDouble() - 0.5;
            }
        }
        return p;
    }

    /** The block gradient {@code Δ Aᵀ} equals the sum of the per-example outer products {@code δ aᵀ}. */
    @ParameterizedTest
    @EnumSource(value = GemmBackend.class, names = {"EJML", "NETLIB"})
    void blockGradientIsTheSumOfSingleExampleGradients(GemmBackend backend) {
        SplittableRandom random = new SplittableRandom(11);
        Parameters params = randomParams(DEEP, 3);
        int b = 9;
        DMatrixRMaj x = TestData.uniform(random, 6, b, -1, 1);
        DMatrixRMaj y = TestData.oneHot(random, 4, b);
        double[] w = TestData.uniform(random, b, 0.1, 3);
        BackpropKernel kernel = new BackpropKernel(DEEP, backend.gemm());

        GradientSum block = new GradientSum(DEEP);
        double blockLoss = kernel.lossAndGradient(params, x, y, w, block);

        GradientSum singles = new GradientSum(DEEP);
        double singlesLoss = 0;
        for (int j = 0; j < b; j++) {
            singlesLoss += kernel.lossAndGradient(params, TestData.column(x, j), TestData.column(y, j),
                    new double[] {w[j]}, singles);
        }
        assertEquals(singlesLoss, blockLoss, Tolerances.REORDERED_SUM_RELATIVE * Math.abs(blockLoss));
        assertEquals(singles.weightSum(), block.weightSum(), 1e-12);
        assertEquals(b, block.count());
        assertTrue(TestData.maxRelativeDifference(singles.gradient().toFlat(), block.gradient().toFlat())
                < Tolerances.REORDERED_SUM_RELATIVE);
    }

    /**
     * A kernel's workspace carries nothing from one block to the next: a kernel that has just run
     * larger and smaller blocks gives the same bits as a fresh one (a re-run task may land on a new
     * executor thread with a fresh kernel).
     */
    @ParameterizedTest
    @EnumSource(value = GemmBackend.class, names = {"EJML", "NETLIB"})
    void aReusedKernelGivesTheBitsOfAFreshOne(GemmBackend backend) {
        SplittableRandom random = new SplittableRandom(5);
        Parameters params = randomParams(DEEP, 8);
        BackpropKernel used = new BackpropKernel(DEEP, backend.gemm());
        for (int b : new int[] {13, 2, 7}) {
            GradientSum warmUp = new GradientSum(DEEP);
            used.lossAndGradient(params, TestData.uniform(random, 6, b, -1, 1), TestData.oneHot(random, 4, b),
                    TestData.uniform(random, b, 0.1, 3), warmUp);
        }
        int b = 5;
        DMatrixRMaj x = TestData.uniform(random, 6, b, -1, 1);
        DMatrixRMaj y = TestData.oneHot(random, 4, b);
        GradientSum fromUsed = new GradientSum(DEEP);
        double usedLoss = used.lossAndGradient(params, x, y, null, fromUsed);
        GradientSum fromFresh = new GradientSum(DEEP);
        double freshLoss = new BackpropKernel(DEEP, backend.gemm()).lossAndGradient(params, x, y, null, fromFresh);
        assertEquals(freshLoss, usedLoss, 0.0);
        assertArrayEquals(fromFresh.gradient().toFlat(), fromUsed.gradient().toFlat(), 0.0);
    }

    /** An example of weight 2 counts as the same example twice. */
    /** Scoring's layout, one example per row, gives what the columns layout gives, outputs and logits. */
    @ParameterizedTest
    @EnumSource(value = GemmBackend.class, names = {"EJML", "NETLIB"})
    void examplesAsRowsPredictAsExamplesAsColumns(GemmBackend backend) {
        Parameters params = randomParams(DEEP, 4);
        SplittableRandom random = new SplittableRandom(12);
        DMatrixRMaj x = TestData.uniform(random, 6, 9, -1, 1);
        DMatrixRMaj rows = new DMatrixRMaj(9, 6);
        org.ejml.dense.row.CommonOps_DDRM.transpose(x, rows);
        BackpropKernel kernel = new BackpropKernel(DEEP, backend.gemm());
        for (boolean raw : new boolean[] {false, true}) {
            DMatrixRMaj expected = new DMatrixRMaj(1, 1);
            DMatrixRMaj found = new DMatrixRMaj(1, 1);
            if (raw) {
                kernel.predictRaw(params, x, expected);
            } else {
                kernel.predict(params, x, expected);
            }
            kernel.predictRows(kernel.load(params), rows, found, raw);
            assertEquals(expected.numRows, found.numRows);
            assertEquals(9, found.numCols);
            assertTrue(TestData.maxRelativeDifference(expected.data, found.data) <= Tolerances.REORDERED_SUM_RELATIVE,
                    backend + " raw=" + raw);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> kernel.predictRows(kernel.load(params), x, new DMatrixRMaj(1, 1), false));
        assertEquals("expected 6 features per example, found 9", e.getMessage());
    }

    @Test
    void weightTwoEqualsTheExampleTwice() {
        SplittableRandom random = new SplittableRandom(5);
        Parameters params = randomParams(DEEP, 8);
        DMatrixRMaj x = TestData.uniform(random, 6, 1, -1, 1);
        DMatrixRMaj y = TestData.oneHot(random, 4, 1);
        BackpropKernel kernel = new BackpropKernel(DEEP, GemmBackend.EJML.gemm());
        GradientSum weighted = new GradientSum(DEEP);
        kernel.lossAndGradient(params, x, y, new double[] {2.0}, weighted);
        GradientSum twice = new GradientSum(DEEP);
        DMatrixRMaj x2 = new DMatrixRMaj(6, 2);
        DMatrixRMaj y2 = new DMatrixRMaj(4, 2);
        for (int j = 0; j < 2; j++) {
            for (int i = 0; i < 6; i++) {
                x2.set(i, j, x.get(i, 0));
            }
            for (int i = 0; i < 4; i++) {
                y2.set(i, j, y.get(i, 0));
            }
        }
        kernel.lossAndGradient(params, x2, y2, null, twice);
        assertEquals(twice.lossSum(), weighted.lossSum(), 1e-12 * twice.lossSum());
        assertEquals(2.0, weighted.weightSum());
        assertEquals(1, weighted.count());
        assertTrue(TestData.maxRelativeDifference(twice.gradient().toFlat(), weighted.gradient().toFlat()) < 1e-12);
    }

    /** Both backends give the same gradients on the MLP's real shapes. */
    @Test
    void backendsAgreeOnMnistShapes() {
        NetworkSpec spec = NetworkSpec.builder().input(784).dense(256, Activation.RELU)
                .dense(128, Activation.RELU).dense(10, Activation.SOFTMAX).build();
        SplittableRandom random = new SplittableRandom(2);
        Parameters params = Parameters.initialise(spec, 4);
        DMatrixRMaj x = TestData.uniform(random, 784, 128, 0, 1);
        DMatrixRMaj y = TestData.oneHot(random, 10, 128);
        GradientSum ejml = new GradientSum(spec);
        GradientSum netlib = new GradientSum(spec);
        new BackpropKernel(spec, GemmBackend.EJML.gemm()).lossAndGradient(params, x, y, null, ejml);
        new BackpropKernel(spec, GemmBackend.NETLIB.gemm()).lossAndGradient(params, x, y, null, netlib);
        assertEquals(ejml.lossSum(), netlib.lossSum(), Tolerances.REORDERED_SUM_RELATIVE * ejml.lossSum());
        double[] a = ejml.gradient().toFlat();
        double[] b = netlib.gradient().toFlat();
        for (int l = 0, off = 0; l < spec.numLayers(); l++) {
            // compare layer by layer, relative to each layer's scale
            int n = spec.width(l) * (spec.fanIn(l) + 1);
            double[] la = java.util.Arrays.copyOfRange(a, off, off + n);
            double[] lb = java.util.Arrays.copyOfRange(b, off, off + n);
            assertTrue(TestData.maxRelativeDifference(la, lb) < Tolerances.REORDERED_SUM_RELATIVE,
                    "layer " + l + ": " + TestData.maxRelativeDifference(la, lb));
            off += n;
        }
    }

    @Test
    void softmaxCrossEntropyIsFiniteAtExtremeLogits() {
        NetworkSpec spec = NetworkSpec.builder().input(1).dense(2, Activation.SOFTMAX).build();
        Parameters params = Parameters.zeros(spec);
        params.values()[params.weightOffset(0)] = 1000; // W(0, 0) of a 2×1 matrix
        params.values()[params.weightOffset(0) + 1] = -1000; // W(1, 0)
        DMatrixRMaj x = new DMatrixRMaj(new double[][] {{1, -1}});
        // column 0: logits (1000, −1000), target class 1 → C = 2000; column 1: logits (−1000, 1000), target 1 → C ≈ 0
        DMatrixRMaj y = new DMatrixRMaj(new double[][] {{0, 0}, {1, 1}});
        GradientSum sum = new GradientSum(spec);
        double loss = new BackpropKernel(spec, GemmBackend.EJML.gemm()).lossAndGradient(params, x, y, null, sum);
        assertEquals(2000.0, loss, 1e-9);
        // δ = a − y: column 0 (1, −1), column 1 (0, 0); flat layout W (2×1) then b: ∇W = Δ xᵀ, ∇b = Δ 1
        assertArrayEquals(new double[] {1, -1, 1, -1}, sum.gradient().toFlat(), 1e-12);
        DMatrixRMaj out = new DMatrixRMaj(1, 1);
        new BackpropKernel(spec, GemmBackend.EJML.gemm()).predict(params, x, out);
        assertArrayEquals(new double[] {1, 0, 0, 1}, out.data, 1e-300);
    }

    @Test
    void sigmoidCrossEntropyIsFiniteAtExtremeLogits() {
        NetworkSpec spec = NetworkSpec.builder().input(1).dense(1, Activation.SIGMOID)
                .loss(Loss.SIGMOID_CROSS_ENTROPY).build();
        Parameters params = Parameters.zeros(spec);
        params.values()[params.weightOffset(0)] = 1000; // W(0, 0)
        DMatrixRMaj x = new DMatrixRMaj(new double[][] {{1, -1, 1}});
        DMatrixRMaj y = new DMatrixRMaj(new double[][] {{0, 1, 1}});
        GradientSum sum = new GradientSum(spec);
        double loss = new BackpropKernel(spec, GemmBackend.EJML.gemm()).lossAndGradient(params, x, y, null, sum);
        assertEquals(2000.0, loss, 1e-9);
        // δ = σ(z) − y = (1, −1, 0); ∇w = Σ δ x = 1 + 1 + 0; ∇b = Σ δ = 0
        assertArrayEquals(new double[] {2, 0}, sum.gradient().toFlat(), 1e-12);
    }

    @Test
    void predictionsMatchTheReferenceAndSoftmaxColumnsSumToOne() {
        SplittableRandom random = new SplittableRandom(9);
        Parameters params = randomParams(DEEP, 21);
        DMatrixRMaj x = TestData.uniform(random, 6, 12, -3, 3);
        DMatrixRMaj out = new DMatrixRMaj(1, 1);
        new BackpropKernel(DEEP, GemmBackend.AUTO.gemm()).predict(params, x, out);
        assertEquals(4, out.numRows);
        assertEquals(12, out.numCols);
        ReferenceNetwork reference = new ReferenceNetwork(params);
        for (int j = 0; j < 12; j++) {
            double[] expected = reference.output(ReferenceNetwork.column(x, j));
            assertArrayEquals(expected, ReferenceNetwork.column(out, j), 1e-14);
            double s = 0;
            for (double v : expected) {
                s += v;
            }
            assertEquals(1.0, s, 1e-14);
        }
    }

    @Test
    void anEmptyBlockContributesNothing() {
        GradientSum sum = new GradientSum(DEEP);
        double loss = new BackpropKernel(DEEP, GemmBackend.EJML.gemm()).lossAndGradient(randomParams(DEEP, 1),
                new DMatrixRMaj(6, 0), new DMatrixRMaj(4, 0), null, sum);
        assertEquals(0.0, loss);
        assertEquals(0, sum.count());
        assertEquals(0.0, sum.gradient().weightNormSquared());
    }

    @Test
    void mismatchedShapesAreRejectedWithExpectedAndFound() {
        BackpropKernel kernel = new BackpropKernel(DEEP, GemmBackend.EJML.gemm());
        Parameters params = randomParams(DEEP, 1);
        GradientSum sum = new GradientSum(DEEP);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> kernel.lossAndGradient(params, new DMatrixRMaj(5, 3), new DMatrixRMaj(4, 3), null, sum));
        assertEquals("expected 6 features per example, found 5", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> kernel.lossAndGradient(params, new DMatrixRMaj(6, 3), new DMatrixRMaj(4, 2), null, sum));
        assertEquals("expected targets of 4x3 (outputs x examples), found 4x2", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> kernel.lossAndGradient(params, new DMatrixRMaj(6, 3), new DMatrixRMaj(4, 3), new double[2], sum));
        assertEquals("expected at least 3 example weights, found 2", e.getMessage());
        NetworkSpec other = NetworkSpec.builder().input(6).dense(3, Activation.SOFTMAX).build();
        e = assertThrows(IllegalArgumentException.class,
                () -> kernel.loss(Parameters.zeros(other), new DMatrixRMaj(6, 3), new DMatrixRMaj(4, 3), null));
        assertEquals("expected parameters of layer sizes [6, 8, 5, 7, 4], found [6, 3]", e.getMessage());
    }

    /**
     * After the widest block has been seen, neither a block of that width nor a narrower one
     * allocates: the workspace is reused (measured with the JVM's per-thread allocation counter).
     */
    @ParameterizedTest
    @EnumSource(value = GemmBackend.class, names = {"EJML", "NETLIB"})
    void workspaceIsReusedWithoutAllocation(GemmBackend backend) {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        SplittableRandom random = new SplittableRandom(3);
        Parameters params = randomParams(DEEP, 2);
        DMatrixRMaj wide = TestData.uniform(random, 6, 64, -1, 1);
        DMatrixRMaj wideY = TestData.oneHot(random, 4, 64);
        DMatrixRMaj narrow = TestData.uniform(random, 6, 17, -1, 1);
        DMatrixRMaj narrowY = TestData.oneHot(random, 4, 17);
        double[] w = TestData.uniform(random, 64, 0.5, 1.5);
        BackpropKernel kernel = new BackpropKernel(DEEP, backend.gemm());
        GradientSum sum = new GradientSum(DEEP);
        for (int i = 0; i < 200; i++) { // warm up, including the JIT
            kernel.lossAndGradient(params, wide, wideY, w, sum);
            kernel.lossAndGradient(params, narrow, narrowY, null, sum);
        }
        long thread = Thread.currentThread().getId();
        // A one-off allocation (class init, deoptimisation) can land in any round; an allocation per
        // block lands in all of them. So the quietest of several rounds must be below one object
        // (≥ 16 bytes) per block — the smallest per-block matrix here is 6×17 doubles, 816 bytes.
        long quietest = Long.MAX_VALUE;
        int blocksPerRound = 20;
        for (int round = 0; round < 5; round++) {
            long before = threads.getThreadAllocatedBytes(thread);
            for (int i = 0; i < blocksPerRound / 2; i++) {
                kernel.lossAndGradient(params, wide, wideY, w, sum);
                kernel.lossAndGradient(params, narrow, narrowY, null, sum);
            }
            quietest = Math.min(quietest, threads.getThreadAllocatedBytes(thread) - before);
        }
        assertTrue(quietest < 16L * blocksPerRound, "the quietest round of " + blocksPerRound + " blocks allocated "
                + quietest + " bytes");
    }
}
