package io.sparkprop.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.apache.spark.ml.linalg.Vectors;
import org.ejml.data.DMatrixRMaj;
import org.junit.jupiter.api.Test;

class ShardPackerTest {
    private static final List<Example> EXAMPLES = Arrays.asList(
            Example.of(new double[] {1, 2, 3}, 2),
            Example.of(Vectors.sparse(3, new int[] {1}, new double[] {5}), 0),
            Example.weighted(2.0, Vectors.dense(7, 8, 9), 1));

    @Test
    void columnsLayoutPacksExamplesAsColumnsWithOneHotTargets() {
        Shard shard = new ShardPacker(3, 3, 2).pack(4, EXAMPLES.iterator());
        assertEquals(4, shard.partition());
        assertEquals(2, shard.numBlocks());
        assertEquals(3, shard.count());
        assertEquals(4.0, shard.weightSum());
        assertArrayEquals(new double[] {1, 0, 2, 5, 3, 0}, shard.features(0).data);
        assertArrayEquals(new double[] {0, 1, 0, 0, 1, 0}, shard.targets(0).data);
        // the short last block is exactly sized
        assertEquals(1, shard.features(1).numCols);
        assertArrayEquals(new double[] {7, 8, 9}, shard.features(1).data);
        assertArrayEquals(new double[] {1, 1}, shard.weights(0));
        assertArrayEquals(new double[] {2}, shard.weights(1));
        assertEquals(8 * (9 + 9 + 3), shard.payloadBytes());
    }

    @Test
    void unitWeightsAreNotStored() {
        Shard shard = new ShardPacker(3, 3, 2).pack(0, EXAMPLES.subList(0, 2).iterator());
        assertNull(shard.weights(0));
    }

    @Test
    void rowsLayoutStreamsReusedBuffersClearedBetweenBlocks() {
        List<double[]> xs = new ArrayList<>();
        List<double[]> ys = new ArrayList<>();
        List<double[]> ws = new ArrayList<>();
        long count = new ShardPacker(3, 3, 2, ShardPacker.Layout.ROWS).forEachBlock(0, EXAMPLES.iterator(),
                (DMatrixRMaj x, DMatrixRMaj y, double[] w) -> {
                    assertEquals(3, x.numCols);
                    xs.add(x.data.clone());
                    ys.add(y.data.clone());
                    ws.add(w == null ? null : w.clone());
                    Arrays.fill(x.data, -1); // the consumer may scribble; the next block starts clean
                });
        assertEquals(3, count);
        assertArrayEquals(new double[] {1, 2, 3, 0, 5, 0}, xs.get(0));
        assertArrayEquals(new double[] {0, 0, 1, 1, 0, 0}, ys.get(0));
        assertNull(ws.get(0));
        assertArrayEquals(new double[] {7, 8, 9}, xs.get(1));
        assertArrayEquals(new double[] {2}, ws.get(1));
    }

    @Test
    void badExamplesNameTheirRow() {
        ShardPacker packer = new ShardPacker(3, 1, 4);
        assertEquals("expected a finite weight >= 0, found -1.0 in row 0 of partition 2",
                assertThrows(IllegalArgumentException.class, () -> packer.pack(2,
                        Arrays.asList(Example.weighted(-1, Vectors.dense(1, 2, 3), 1)).iterator())).getMessage());
        assertEquals("the label is Infinity in row 1 of partition 0; remove or impute non-finite values before training",
                assertThrows(IllegalArgumentException.class, () -> packer.pack(0, Arrays.asList(
                        Example.of(new double[] {1, 2, 3}, 1), Example.of(new double[] {1, 2, 3},
                                Double.POSITIVE_INFINITY)).iterator())).getMessage());
        assertEquals("expected a target of 1 values or one class index, found 2 values in row 0 of partition 0",
                assertThrows(IllegalArgumentException.class, () -> packer.pack(0, Arrays.asList(
                        Example.of(new double[] {1, 2, 3}, 1, 2)).iterator())).getMessage());
        assertEquals("feature 2 is NaN in row 0 of partition 0; remove or impute non-finite values before training",
                assertThrows(IllegalArgumentException.class, () -> packer.pack(0, Arrays.asList(
                        Example.of(Vectors.sparse(3, new int[] {2}, new double[] {Double.NaN}), 1)).iterator()))
                        .getMessage());
    }
}
