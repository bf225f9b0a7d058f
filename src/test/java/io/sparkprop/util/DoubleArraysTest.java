package io.sparkprop.util;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/** Rows written one after another read back as the one array {@link DoubleArrays#write} would have written. */
class DoubleArraysTest {
    @Test
    void pickedRowsReadBackAsTheirConcatenationAcrossChunks() throws IOException {
        SplittableRandom random = new SplittableRandom(3);
        // widths that divide the 2^17-value chunk, that do not, and rows wider than a chunk
        for (int width : new int[] {1, 3, 32, 1000, 200_000}) {
            int count = width > 100_000 ? 3 : 400_000 / width + 7;
            double[][] rows = new double[count][];
            for (int r = 0; r < count; r++) {
                rows[r] = random.doubles(width, -1e300, 1e300).toArray();
            }
            int[] picked = random.ints(0, count).distinct().limit(Math.max(1, count / 2)).sorted().toArray();
            double[] expected = new double[picked.length * width];
            for (int k = 0; k < picked.length; k++) {
                System.arraycopy(rows[picked[k]], 0, expected, k * width, width);
            }
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
                DoubleArrays.writeRows(out, rows, picked, width);
                DoubleArrays.writeRows(out, rows, new int[0], width);
                out.writeInt(42);
            }
            try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
                assertArrayEquals(expected, DoubleArrays.read(in), 0.0, "width " + width);
                assertArrayEquals(new double[0], DoubleArrays.read(in), 0.0);
                assertEquals(42, in.readInt());
            }
        }
    }

    @Test
    void arraysWrittenEachReadBackAndACountOverTheLimitIsRefused() throws IOException {
        SplittableRandom random = new SplittableRandom(5);
        double[][] arrays = {random.doubles(300_000, -1, 1).toArray(), new double[0], random.doubles(5).toArray()};
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            DoubleArrays.writeEach(out, arrays);
            DoubleArrays.writeEach(out, new double[0][]);
            DoubleArrays.writeEach(out, arrays);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            double[][] back = DoubleArrays.readEach(in, 3);
            assertEquals(3, back.length);
            for (int a = 0; a < 3; a++) {
                assertArrayEquals(arrays[a], back[a], 0.0, "array " + a);
            }
            assertEquals(0, DoubleArrays.readEach(in, 3).length);
            java.io.InvalidObjectException e = org.junit.jupiter.api.Assertions.assertThrows(
                    java.io.InvalidObjectException.class, () -> DoubleArrays.readEach(in, 2));
            assertEquals("expected at most 2 arrays, found 3", e.getMessage());
        }
    }
}
