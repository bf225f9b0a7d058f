package io.sparkprop.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;

import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.ejml.data.DMatrixSparseCSC;
import org.junit.jupiter.api.Test;

/** The one writer of feature vectors into blocks: the same values whatever the vector's kind and the layout. */
class BlockWriterTest {
    private static final double[] VALUES = {0.0, -1.5, 0.0, 3.25, 0.0};

    private static Vector[] kinds() {
        return new Vector[] {Vectors.dense(VALUES), Vectors.dense(VALUES).toSparse(),
            Vectors.sparse(5, new int[] {1, 2, 3}, new double[] {-1.5, 0.0, 3.25})};
    }

    @Test
    void aRowOfARowsBlockAndAColumnOfAColumnsBlock() {
        for (Vector v : kinds()) {
            // rows layout: row 1 of a 3×5 block, slots primed with garbage that an unzeroed write must clear
            double[] rows = new double[15];
            Arrays.fill(rows, 7.0);
            BlockWriter.put(v, rows, 5, 1, false);
            assertArrayEquals(VALUES, Arrays.copyOfRange(rows, 5, 10), 0.0, v.toString());
            assertEquals(7.0, rows[4], 0.0);
            assertEquals(7.0, rows[10], 0.0);
            // columns layout: column 2 of a 5×4 zeroed block
            double[] columns = new double[20];
            BlockWriter.put(v, columns, 2, 4, true);
            for (int i = 0; i < 5; i++) {
                assertEquals(VALUES[i], columns[i * 4 + 2], 0.0, v + " feature " + i);
                for (int j = 0; j < 4; j++) {
                    if (j != 2) {
                        assertEquals(0.0, columns[i * 4 + j], 0.0);
                    }
                }
            }
        }
    }

    @Test
    void nonZerosAreAppendedInIndexOrderWithoutZeros() {
        for (Vector v : kinds()) {
            DMatrixSparseCSC x = new DMatrixSparseCSC(5, 2, 6);
            x.nz_rows[0] = 4;
            x.nz_values[0] = 9.0;
            int next = BlockWriter.appendNonZeros(v, x, 1);
            assertEquals(3, next, v.toString());
            assertArrayEquals(new int[] {4, 1, 3}, Arrays.copyOf(x.nz_rows, 3));
            assertArrayEquals(new double[] {9.0, -1.5, 3.25}, Arrays.copyOf(x.nz_values, 3), 0.0);
        }
    }
}
