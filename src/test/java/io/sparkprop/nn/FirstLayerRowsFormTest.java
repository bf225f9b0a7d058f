package io.sparkprop.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.Arrays;
import java.util.SplittableRandom;

import io.sparkprop.linalg.GemmBackend;
import io.sparkprop.nn.kernel.BackpropKernel;
import io.sparkprop.testutil.TestData;
import org.ejml.data.DMatrixRMaj;
import org.junit.jupiter.api.Test;

/**
 * Parameters without the first layer's weights and the sums that keep its gradient as touched rows: the offsets
 * and sums of what they hold, the kernel's gradient in that form equal to the dense form's, its exchange and
 * merge, and the misuses refused with a message.
 */
class FirstLayerRowsFormTest {
    private static final NetworkSpec NET = NetworkSpec.builder().input(40).dense(6, Activation.TANH)
            .dense(2, Activation.SOFTMAX).build();

    @Test
    void parametersWithoutTheFirstLayerHoldTheRestAtShiftedOffsets() {
        Parameters full = Parameters.initialise(NET, 2);
        Parameters rest = full.withoutFirstLayerWeights();
        int w0 = Parameters.firstLayerWeightCount(NET);
        assertEquals(40 * 6, w0);
        assertFalse(rest.holdsFirstLayerWeights());
        assertEquals(full.size() - w0, rest.size());
        for (int l = 0; l < NET.numLayers(); l++) {
            assertEquals(full.biasOffset(l) - w0, rest.biasOffset(l));
        }
        assertArrayEquals(Arrays.copyOfRange(full.values(), w0, full.size()), rest.values(), 0.0);
        double w0Squares = 0;
        for (int i = 0; i < w0; i++) {
            w0Squares += full.values()[i] * full.values()[i];
        }
        assertEquals(full.weightNormSquared() - w0Squares, rest.weightNormSquared(), 1e-12);
        assertFalse(rest.copy().holdsFirstLayerWeights());
        assertEquals(full.weights(1), rest.weights(1));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> rest.weights(0));
        assertTrue(e.getMessage().contains("do not hold the first layer's weights"), e.getMessage());
        IllegalArgumentException shape = assertThrows(IllegalArgumentException.class, () -> full.checkSameShape(rest));
        assertTrue(shape.getMessage().contains("expected parameters with the first layer's weights"), shape.getMessage());
    }

    @Test
    void theKernelsTouchedRowsAreTheDenseGradientsColumnsAndTravelAndMergeAsThey() throws Exception {
        SplittableRandom random = new SplittableRandom(8);
        Parameters full = Parameters.initialise(NET, 3);
        Parameters rest = full.withoutFirstLayerWeights();
        double[][] rows = new double[40][6];
        for (int f = 0; f < 40; f++) {
            for (int i = 0; i < 6; i++) {
                rows[f][i] = full.values()[i * 40 + f];
            }
        }
        BackpropKernel kernel = new BackpropKernel(NET, GemmBackend.EJML.gemm());
        GradientSum[] denseParts = {new GradientSum(NET), new GradientSum(NET)};
        GradientSum[] parts = {GradientSum.withFirstLayerRows(NET), GradientSum.withFirstLayerRows(NET)};
        for (int part = 0; part < 2; part++) {
            DMatrixRMaj x = TestData.sparsify(random, TestData.uniform(random, 40, 9, -1, 1), 0.1);
            DMatrixRMaj y = TestData.oneHot(random, 2, 9);
            kernel.lossAndGradient(kernel.load(full), TestData.sparseColumns(x), y, null, denseParts[part]);
            kernel.lossAndGradient(kernel.load(rest, rows), TestData.sparseColumns(x), y, null, parts[part]);
        }
        // merged as the rounds merge them: the two parts' sums added (the dense form through its own path)
        GradientSum dense = denseParts[0].mergeInPlace(denseParts[1]);
        GradientSum merged = roundTrip(parts[0]).mergeInPlace(roundTrip(parts[1]));
        assertTrue(merged.keepsFirstLayerRows());
        assertEquals(dense.lossSum(), merged.lossSum(), 0.0);
        assertEquals(dense.count(), merged.count());
        double[] g = dense.gradient().values();
        int w0 = Parameters.firstLayerWeightCount(NET);
        assertArrayEquals(Arrays.copyOfRange(g, w0, g.length), merged.gradientWithoutFirstLayer().values(), 0.0);
        int[] features = merged.touchedFeatures();
        double[] touched = merged.touchedRows();
        boolean[] isTouched = new boolean[40];
        for (int k = 0; k < features.length; k++) {
            isTouched[features[k]] = true;
            for (int i = 0; i < 6; i++) {
                assertEquals(g[i * 40 + features[k]], touched[k * 6 + i], 0.0, "feature " + features[k]);
            }
        }
        for (int f = 0; f < 40; f++) {
            for (int i = 0; !isTouched[f] && i < 6; i++) {
                assertEquals(0.0, g[i * 40 + f], 0.0, "an untouched feature's gradient");
            }
        }
        IllegalStateException read = assertThrows(IllegalStateException.class, merged::gradient);
        assertTrue(read.getMessage().contains("touchedFeatures()"), read.getMessage());
        assertThrows(IllegalArgumentException.class, () -> merged.mergeInPlace(new GradientSum(NET)));
        IllegalArgumentException denseBlock = assertThrows(IllegalArgumentException.class,
                () -> kernel.lossAndGradient(kernel.load(rest, rows), new DMatrixRMaj(40, 3), new DMatrixRMaj(2, 3),
                        null, GradientSum.withFirstLayerRows(NET)));
        assertTrue(denseBlock.getMessage().contains("a dense block needs the first layer's weights"),
                denseBlock.getMessage());
        IllegalArgumentException noRows = assertThrows(IllegalArgumentException.class, () -> kernel.load(rest));
        assertTrue(noRows.getMessage().contains("need its rows"), noRows.getMessage());
    }

    private static GradientSum roundTrip(GradientSum sum) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(sum);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            return (GradientSum) in.readObject();
        }
    }
}
