package io.sparkprop.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.SplittableRandom;

import io.sparkprop.testutil.TestData;
import org.junit.jupiter.api.Test;

/**
 * What the exchanges send write their arrays as raw bytes: a round trip through Java serialisation gives back every
 * bit, absent arrays stay absent, and the scalars beside them come back too.
 */
class SerialFormsTest {
    @SuppressWarnings("unchecked")
    private static <T> T roundTrip(T o) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(o);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            return (T) in.readObject();
        }
    }

    private static void assertSameBits(double[] expected, double[] actual) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(Double.doubleToRawLongBits(expected[i]), Double.doubleToRawLongBits(actual[i]), "value " + i);
        }
    }

    @Test
    void aSlicedExchangesPartsAndSlicesKeepEveryBit() throws Exception {
        SplittableRandom random = new SplittableRandom(4);
        double[] values = TestData.uniform(random, 5000, -1, 1);
        values[7] = Double.NaN;
        values[8] = -0.0;
        SlicedExchange.Part part = roundTrip(new SlicedExchange.Part(values, 1.25, 3.5, 7));
        assertSameBits(values, part.values);
        assertEquals(1.25, part.lossSum);
        assertEquals(3.5, part.weightSum);
        assertEquals(7, part.count);

        double[] theta = TestData.uniform(random, 300, -1, 1);
        double[] first = TestData.uniform(random, 300, -1, 1);
        double[] second = TestData.uniform(random, 300, 0, 1);
        SlicedExchange.Slice slice = roundTrip(new SlicedExchange.Slice(3, theta, first, second));
        assertEquals(3, slice.index);
        assertSameBits(theta, slice.theta);
        assertSameBits(first, slice.first);
        assertSameBits(second, slice.second);
        SlicedExchange.Slice thetaOnly = roundTrip(slice.withoutState());
        assertSameBits(theta, thetaOnly.theta);
        assertNull(thetaOnly.first);
        assertNull(thetaOnly.second);
        SlicedExchange.Slice momentum = roundTrip(new SlicedExchange.Slice(0, theta, first, null));
        assertArrayEquals(first, momentum.first, 0.0);
        assertNull(momentum.second);
    }
}
