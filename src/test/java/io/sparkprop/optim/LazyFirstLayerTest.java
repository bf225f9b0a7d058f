package io.sparkprop.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import io.sparkprop.linalg.GemmBackend;
import io.sparkprop.linalg.Precision;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.GradientSum;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import io.sparkprop.nn.kernel.BackpropKernel;
import io.sparkprop.testutil.TestData;
import org.ejml.data.DMatrixRMaj;
import org.ejml.data.DMatrixSparseCSC;
import org.junit.jupiter.api.Test;

/**
 * The lazy first layer: a row every step touches takes the dense rule's bits, through the kernel, the touched-rows
 * sum and the step; rows that steps miss follow the documented rule, checked against a formulation of it that
 * loops over every row at every step (zero data gradient and the penalty's plain-SGD shrink for an untouched
 * row), not over the touched rows with catch-up factors.
 */
class LazyFirstLayerTest {
    private static final int FEATURES = 9;
    private static final int UNITS = 5;
    private static final NetworkSpec NET = NetworkSpec.builder().input(FEATURES).dense(UNITS, Activation.RELU)
            .dense(3, Activation.SOFTMAX).build();

    private static Optimizer[] rules() {
        return new Optimizer[] {Optimizer.sgd(0.05), Optimizer.momentum(0.05, 0.9), Optimizer.nesterov(0.05, 0.8),
            Optimizer.adam(0.01)};
    }

    /** A sparse block in which every feature has a non-zero, at about half the entries. */
    private static DMatrixSparseCSC everyFeature(SplittableRandom random, int examples) {
        DMatrixRMaj x = new DMatrixRMaj(FEATURES, examples);
        for (int f = 0; f < FEATURES; f++) {
            for (int j = 0; j < examples; j++) {
                if (j == f % examples || random.nextDouble() < 0.4) {
                    x.set(f, j, random.nextDouble() * 4 - 2);
                }
            }
        }
        return TestData.sparseColumns(x);
    }

    /** In float32 too: the kernel reads the rows rounded to float, as it reads its float copy of {@code W_0}. */
    @Test
    void aRowTouchedAtEveryStepTakesTheDenseRulesBits() {
        for (Precision precision : Precision.values()) {
            for (Optimizer rule : rules()) {
                for (double lambda : new double[] {0.0, 0.02}) {
                    touchedAtEveryStep(precision, rule, lambda);
                }
            }
        }
    }

    private static void touchedAtEveryStep(Precision precision, Optimizer rule, double lambda) {
        SplittableRandom random = new SplittableRandom(11);
        Parameters dense = Parameters.initialise(NET, 3);
        Optimizer.Updater denseState = rule.newUpdater(dense.size());
        Parameters rest = dense.withoutFirstLayerWeights();
        Optimizer.Updater restState = rule.newUpdater(rest.size());
        LazyFirstLayer rows = LazyFirstLayer.initial(rule, lambda, NET, dense.values());
        BackpropKernel kernel = new BackpropKernel(NET, GemmBackend.EJML.gemm(), precision);
        GradientStep step = new GradientStep(lambda, 0);
        for (int t = 0; t < 6; t++) {
            DMatrixSparseCSC x = everyFeature(random, 7);
            DMatrixRMaj wideY = TestData.oneHot(random, 3, 7);
            org.ejml.data.Matrix y = precision == Precision.FLOAT32 ? TestData.narrow(wideY) : wideY;
            GradientSum a = new GradientSum(NET);
            kernel.lossAndGradient(kernel.load(dense), x, y, null, a);
            GradientSum b = GradientSum.withFirstLayerRows(NET);
            kernel.lossAndGradient(kernel.load(rest, rows.rows()), x, y, null, b);
            assertEquals(a.lossSum(), b.lossSum(), 0.0, precision + " " + rule + " loss at step " + t);
            GradientStep.Result ra = step.apply(a, dense, denseState, 0.05, t);
            GradientStep.Result rb = step.apply(b, rest, restState, rows, 0.05, t);
            assertEquals(GradientStep.Status.UPDATED, rb.status());
            assertEquals(ra.meanLoss(), rb.meanLoss(), 0.0);
            assertEquals(ra.objective(), rb.objective(), 1e-14 * Math.abs(ra.objective()));
        }
        assertArrayEquals(dense.values(), flat(rows, rest), 0.0, precision + " " + rule + ", λ " + lambda);
    }

    /**
     * A float32 kernel keeps the rows it rounded and rounds again those that are new arrays: after loads of
     * versions that change some rows, it computes what a kernel that never saw the earlier versions computes.
     */
    @Test
    void aFloat32KernelReadsEveryLoadedVersionsRows() {
        SplittableRandom random = new SplittableRandom(21);
        Parameters p = Parameters.initialise(NET, 6);
        Parameters rest = p.withoutFirstLayerWeights();
        double[][] rows = new double[FEATURES][];
        for (int f = 0; f < FEATURES; f++) {
            rows[f] = TestData.uniform(random, UNITS, -1, 1);
        }
        BackpropKernel kept = new BackpropKernel(NET, GemmBackend.EJML.gemm(), Precision.FLOAT32);
        for (int version = 0; version < 5; version++) {
            DMatrixSparseCSC x = everyFeature(random, 6);
            DMatrixRMaj out = new DMatrixRMaj(1, 1);
            kept.predict(kept.load(rest, rows), x, out);
            BackpropKernel fresh = new BackpropKernel(NET, GemmBackend.EJML.gemm(), Precision.FLOAT32);
            DMatrixRMaj expected = new DMatrixRMaj(1, 1);
            fresh.predict(fresh.load(rest, rows), x, expected);
            assertArrayEquals(expected.data, out.data, 0.0, "version " + version);
            // the next version: some rows replaced by new arrays, the others the same arrays
            double[][] next = rows.clone();
            for (int f = version % 2; f < FEATURES; f += 2) {
                next[f] = TestData.uniform(random, UNITS, -1, 1);
            }
            rows = next;
        }
    }

    /** Rows and the other values in the flat layout. */
    private static double[] flat(LazyFirstLayer rows, Parameters rest) {
        double[] flat = new double[Parameters.firstLayerWeightCount(NET) + rest.size()];
        rows.writeWeights(flat);
        System.arraycopy(rest.values(), 0, flat, flat.length - rest.size(), rest.size());
        return flat;
    }

    @Test
    void rowsThatStepsMissFollowTheDocumentedRule() {
        for (Optimizer rule : rules()) {
            for (double lambda : new double[] {0.0, 0.03}) {
                SplittableRandom random = new SplittableRandom(5);
                double eta = 0.04;
                double[] init = TestData.uniform(random, FEATURES * UNITS, -1, 1);
                LazyFirstLayer lazy = LazyFirstLayer.initial(rule, lambda, NET, init);
                // the reference: θ_f, and the rule's state, of every row at every step
                double[][] theta = new double[FEATURES][UNITS];
                double[][][] state = new double[2][FEATURES][UNITS];
                for (int f = 0; f < FEATURES; f++) {
                    for (int i = 0; i < UNITS; i++) {
                        theta[f][i] = init[i * FEATURES + f];
                    }
                }
                boolean[] everTouched = new boolean[FEATURES];
                int steps = 12;
                for (int t = 0; t < steps; t++) {
                    int[] touched = random.ints(0, FEATURES).distinct().limit(1 + random.nextInt(4)).sorted()
                            .toArray();
                    double[] g = TestData.uniform(random, touched.length * UNITS, -1, 1);
                    double[] gLazy = g.clone();
                    double[][] next = lazy.catchUp(touched, t, eta);
                    if (lambda > 0) {
                        lazy.addRidge(next, touched, gLazy);
                    }
                    assertTrue(lazy.update(next, touched, gLazy, eta, t));
                    lazy.publish(next, touched);
                    for (int f = 0, k = 0; f < FEATURES; f++) {
                        if (k < touched.length && touched[k] == f) {
                            double[] gf = new double[UNITS];
                            for (int i = 0; i < UNITS; i++) {
                                gf[i] = g[k * UNITS + i] + lambda * theta[f][i];
                            }
                            rule.updateRow(theta[f], gf, state[0][f], state[1][f], eta, rule.biasCorrections(t));
                            everTouched[f] = true;
                            k++;
                        } else {
                            // a step without data gradient for the state; the penalty's shrink alone for the weights
                            for (int a = 0; a < rule.stateArrays(); a++) {
                                for (int i = 0; i < UNITS; i++) {
                                    state[a][f][i] *= rule.stateDecay(a, 1);
                                }
                            }
                            for (int i = 0; i < UNITS; i++) {
                                theta[f][i] *= 1 - eta * lambda;
                            }
                        }
                    }
                }
                int[] changed = lazy.catchUpAll(steps, eta);
                if (lambda == 0) {
                    assertEquals(0, changed.length, rule + ": without a ridge term no weight changes at the catch-up");
                }
                double[][] rows = lazy.rows();
                for (int f = 0; f < FEATURES; f++) {
                    double[] expected = theta[f];
                    assertTrue(TestData.maxRelativeDifference(expected, rows[f]) <= 1e-12, rule + ", λ " + lambda
                            + ", row " + f + ": " + java.util.Arrays.toString(rows[f]) + " against "
                            + java.util.Arrays.toString(expected));
                    for (int a = 0; a < rule.stateArrays(); a++) {
                        double[] s = new double[FEATURES * UNITS];
                        lazy.writeState(a, s);
                        for (int i = 0; i < UNITS; i++) {
                            assertEquals(state[a][f][i], s[i * FEATURES + f], 1e-12 * Math.abs(state[a][f][i]),
                                    rule + " state " + a + " row " + f);
                        }
                    }
                    if (!everTouched[f] && lambda == 0) {
                        for (int i = 0; i < UNITS; i++) {
                            assertEquals(init[i * FEATURES + f], rows[f][i], 0.0, "a row never touched keeps its weights");
                        }
                    }
                }
            }
        }
    }

    /**
     * A step that does not clip catches up, penalises and updates each row in one pass: the rows, the state and the
     * penalty's norm take the bits of the passes one after the other, also for rows that missed steps.
     */
    @Test
    void theOnePassStepTakesTheBitsOfTheSeparatePasses() {
        for (Optimizer rule : rules()) {
            for (double lambda : new double[] {0.0, 0.03}) {
                SplittableRandom random = new SplittableRandom(8);
                double[] init = TestData.uniform(random, FEATURES * UNITS, -1, 1);
                LazyFirstLayer passes = LazyFirstLayer.initial(rule, lambda, NET, init);
                LazyFirstLayer onePass = LazyFirstLayer.initial(rule, lambda, NET, init);
                for (int t = 0; t < 12; t++) {
                    double eta = 0.04 / (1 + 0.1 * t);
                    int[] touched = random.ints(0, FEATURES).distinct().limit(1 + random.nextInt(4)).sorted()
                            .toArray();
                    double[] g = TestData.uniform(random, touched.length * UNITS, -1, 1);
                    double[] g2 = g.clone();
                    double[][] next = passes.catchUp(touched, t, eta);
                    double norm = Double.NaN;
                    if (lambda > 0) {
                        passes.addRidge(next, touched, g);
                        norm = passes.normSquared(next, touched, t, eta);
                    }
                    assertTrue(passes.update(next, touched, g, eta, t));
                    passes.publish(next, touched);
                    double[] squares = new double[touched.length];
                    double[][] next2 = onePass.catchUpAndUpdate(touched, g2, eta, t, squares);
                    if (lambda > 0) {
                        assertEquals(norm, onePass.normSquared(squares, touched, t, eta), 0.0, rule + " norm, step " + t);
                    }
                    onePass.publish(next2, touched);
                    assertArrayEquals(g, g2, 0.0, rule + " gradients with the ridge term, step " + t);
                }
                double[] a = new double[FEATURES * UNITS];
                double[] b = new double[FEATURES * UNITS];
                passes.writeWeights(a);
                onePass.writeWeights(b);
                assertArrayEquals(a, b, 0.0, rule + ", λ " + lambda + ": weights");
                for (int s = 0; s < rule.stateArrays(); s++) {
                    passes.writeState(s, a);
                    onePass.writeState(s, b);
                    assertArrayEquals(a, b, 0.0, rule + ", λ " + lambda + ": state " + s);
                }
            }
        }
        LazyFirstLayer lazy = LazyFirstLayer.initial(Optimizer.adam(0.1), 0.01, NET, new double[FEATURES * UNITS]);
        double[][] before = lazy.rows();
        double[] g = new double[2 * UNITS];
        g[3] = Double.POSITIVE_INFINITY;
        assertTrue(lazy.catchUpAndUpdate(new int[] {1, 4}, g, 0.1, 0, new double[2]) == null,
                "a non-finite one-pass step gives no version");
        assertTrue(lazy.rows() == before, "nothing published");
    }

    @Test
    void aPublishedVersionIsNeverWrittenAndAFailedStepPublishesNothing() {
        Parameters p = Parameters.initialise(NET, 4);
        LazyFirstLayer lazy = LazyFirstLayer.initial(Optimizer.adam(0.1), 0.01, NET, p.values());
        double[][] before = lazy.rows();
        double[][] copy = new double[FEATURES][];
        for (int f = 0; f < FEATURES; f++) {
            copy[f] = before[f].clone();
        }
        int[] touched = {1, 4};
        double[][] next = lazy.catchUp(touched, 0, 0.1);
        lazy.addRidge(next, touched, new double[2 * UNITS]);
        double[] g = new double[2 * UNITS];
        g[3] = Double.POSITIVE_INFINITY;
        assertTrue(!lazy.update(next, touched, g, 0.1, 0), "a non-finite update is reported");
        assertTrue(lazy.rows() == before, "nothing published");
        for (int f = 0; f < FEATURES; f++) {
            assertArrayEquals(copy[f], before[f], 0.0, "row " + f + " of the published version");
        }
        assertThrows(IllegalArgumentException.class, () -> LazyFirstLayer.fromFlat(Optimizer.adam(0.1), 0, NET,
                p.values(), new double[1][p.size()], 0));
    }
}
