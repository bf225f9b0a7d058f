package io.sparkprop.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ParametersTest {
    private static final NetworkSpec SPEC = NetworkSpec.builder().input(50).dense(40, Activation.RELU)
            .dense(30, Activation.TANH).dense(3, Activation.SOFTMAX).build();

    @Test
    void initialisationIsReproducibleFromTheSeed() {
        assertArrayEquals(Parameters.initialise(SPEC, 42).toFlat(), Parameters.initialise(SPEC, 42).toFlat());
        assertFalse(java.util.Arrays.equals(Parameters.initialise(SPEC, 42).toFlat(),
                Parameters.initialise(SPEC, 43).toFlat()));
    }

    @Test
    void heForReluGlorotOtherwiseBiasesZero() {
        Parameters p = Parameters.initialise(SPEC, 7);
        double[] bounds = {Math.sqrt(6.0 / 50), Math.sqrt(6.0 / (40 + 30)), Math.sqrt(6.0 / (30 + 3))};
        for (int l = 0; l < SPEC.numLayers(); l++) {
            double max = 0;
            double sumSq = 0;
            double[] w = p.weights(l).values();
            for (double v : w) {
                max = Math.max(max, Math.abs(v));
                sumSq += v * v;
            }
            assertTrue(max <= bounds[l], "layer " + l + " within ±" + bounds[l]);
            assertTrue(max > 0.9 * bounds[l], "layer " + l + " fills its range");
            // U(−r, r) has variance r²/3; with ≥ 90 draws the sample variance is within 40 %
            double variance = sumSq / w.length;
            assertEquals(bounds[l] * bounds[l] / 3, variance, 0.4 * bounds[l] * bounds[l] / 3, "layer " + l);
            for (double b : p.biases(l).values()) {
                assertEquals(0.0, b);
            }
        }
    }

    @Test
    void flatLayoutRoundTripsLayerByLayerWeightsThenBiases() {
        NetworkSpec small = NetworkSpec.builder().input(2).dense(2, Activation.TANH).dense(1, Activation.IDENTITY).build();
        double[] flat = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        Parameters p = Parameters.fromFlat(small, flat);
        assertEquals(2.0, p.weights(0).apply(0, 1));
        assertEquals(3.0, p.weights(0).apply(1, 0));
        assertArrayEquals(new double[] {5, 6}, p.biases(0).values());
        assertArrayEquals(new double[] {7, 8}, p.weights(1).values());
        assertArrayEquals(new double[] {9}, p.biases(1).values());
        assertArrayEquals(flat, p.toFlat());
        double[] withOffset = new double[12];
        assertEquals(11, p.copyToFlat(withOffset, 2));
        Parameters q = Parameters.zeros(small);
        assertEquals(11, q.copyFromFlat(withOffset, 2));
        assertArrayEquals(flat, q.toFlat());
        assertEquals("expected 9 parameters for network 2-2(tanh)-1(identity), half_squared_error, found 8",
                assertThrows(IllegalArgumentException.class, () -> Parameters.fromFlat(small, new double[8]))
                        .getMessage());
    }

    /** Floats round to nearest and widen back exactly; a float array of another size is refused. */
    @Test
    void floatsRoundToNearestAndWidenExactly() {
        Parameters p = Parameters.initialise(SPEC, 3);
        p.values()[0] = 1.0 + 0x1p-30; // between two floats, nearer 1.0
        float[] f = new float[p.size()];
        p.copyToFloats(f);
        assertEquals(1.0f, f[0]);
        Parameters back = Parameters.fromFloats(SPEC, f);
        for (int i = 0; i < f.length; i++) {
            assertEquals((double) (float) p.values()[i], back.values()[i]);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.copyToFloats(new float[3]));
        assertEquals("expected " + p.size() + " floats, found 3", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Parameters.fromFloats(SPEC, new float[3]));
    }

    @Test
    void inPlaceHelpers() {
        Parameters p = Parameters.initialise(SPEC, 1);
        p.values()[p.biasOffset(2) + 1] = 0.25;
        Parameters q = Parameters.initialise(SPEC, 2);
        double[] pf = p.toFlat();
        double[] qf = q.toFlat();

        Parameters r = p.copy();
        r.axpyInPlace(-0.5, q);
        double[] rf = r.toFlat();
        for (int i = 0; i < rf.length; i++) {
            assertEquals(pf[i] - 0.5 * qf[i], rf[i], 0.0);
        }
        r.scaleInPlace(2.0);
        assertEquals(2 * (pf[0] - 0.5 * qf[0]), r.toFlat()[0], 0.0);

        // the ridge term touches weights only
        Parameters g = Parameters.zeros(SPEC);
        g.axpyWeightsInPlace(0.1, p);
        assertEquals(0.1 * p.weights(0).apply(3, 4), g.weights(0).apply(3, 4), 0.0);
        assertEquals(0.0, g.biases(2).apply(1));
        assertEquals(0.01 * p.weightNormSquared(), g.weightNormSquared(), 1e-15 * p.weightNormSquared());

        assertEquals(0.0, p.maxAbsDifference(p.copy()));
        g.setZeroInPlace();
        assertEquals(0.0, g.weightNormSquared());
        assertTrue(p.isFinite());
        p.values()[p.weightOffset(1) + 5] = Double.NaN;
        assertFalse(p.isFinite());
    }

    @Test
    void shapesMustMatch() {
        NetworkSpec other = NetworkSpec.builder().input(50).dense(3, Activation.SOFTMAX).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Parameters.zeros(SPEC).axpyInPlace(1.0, Parameters.zeros(other)));
        assertEquals("expected parameters of layer sizes [50, 40, 30, 3], found [50, 3]", e.getMessage());
    }

    @Test
    void gradientSumsMergeInPlace() {
        GradientSum a = new GradientSum(SPEC);
        GradientSum b = new GradientSum(SPEC);
        a.addTotalsInPlace(1.5, 2.0, 2);
        b.addTotalsInPlace(0.5, 3.0, 3);
        b.gradient().values()[b.gradient().biasOffset(0)] = 4.0;
        assertEquals(a, a.mergeInPlace(b));
        assertEquals(2.0, a.lossSum());
        assertEquals(5.0, a.weightSum());
        assertEquals(5, a.count());
        assertEquals(4.0, a.gradient().biases(0).apply(0));
        a.resetInPlace();
        assertEquals(0, a.count());
        assertEquals(0.0, a.gradient().biases(0).apply(0));
    }

    @Test
    void javaSerialisationKeepsEveryBitAndTheLayout() throws Exception {
        Parameters p = Parameters.initialise(SPEC, 9);
        p.values()[3] = Double.NaN;
        p.values()[4] = -0.0;
        p.values()[5] = Double.MIN_VALUE;
        Parameters back = roundTrip(p);
        assertEquals(SPEC, back.spec());
        assertEquals(p.size(), back.size());
        for (int i = 0; i < p.size(); i++) {
            assertEquals(Double.doubleToRawLongBits(p.values()[i]), Double.doubleToRawLongBits(back.values()[i]),
                    "value " + i);
        }
        for (int l = 0; l < SPEC.numLayers(); l++) {
            assertEquals(p.weightOffset(l), back.weightOffset(l));
            assertEquals(p.biasOffset(l), back.biasOffset(l));
        }
        Parameters rest = Parameters.initialise(SPEC, 10).withoutFirstLayerWeights();
        Parameters restBack = roundTrip(rest);
        assertArrayEquals(rest.values(), restBack.values(), 0.0);
        assertFalse(restBack.holdsFirstLayerWeights());
        assertEquals(rest.biasOffset(0), restBack.biasOffset(0));
        assertEquals(rest.weightOffset(1), restBack.weightOffset(1));
    }

    private static Parameters roundTrip(Parameters p) throws Exception {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (java.io.ObjectOutputStream out = new java.io.ObjectOutputStream(bytes)) {
            out.writeObject(p);
        }
        try (java.io.ObjectInputStream in = new java.io.ObjectInputStream(
                new java.io.ByteArrayInputStream(bytes.toByteArray()))) {
            return (Parameters) in.readObject();
        }
    }
}
