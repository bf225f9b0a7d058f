package io.sparkprop.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import io.sparkprop.data.Example;
import org.apache.spark.ml.linalg.Vectors;
import org.ejml.data.DMatrixRMaj;
import org.junit.jupiter.api.Test;

class ShardPackerTest {
    private static final List<Example> EXAMPLES = Arrays.asList(
            Example.of(new double[] {1, 2, 3}, 2),
            Example.of(Vectors.sparse(3, new int[] {1}, new double[] {5}), 0),
            Example.weighted(2.0, Vectors.dense(7, 8, 9), 1));

    /** Example {@code i} of {@link #EXAMPLES} as packed: features, one-hot target, weight. */
    private static final double[][][] PACKED = {
        {{1, 2, 3}, {0, 0, 1}, {1}},
        {{0, 5, 0}, {1, 0, 0}, {1}},
        {{7, 8, 9}, {0, 1, 0}, {2}},
    };

    private static double[] column(DMatrixRMaj m, int j) {
        double[] c = new double[m.numRows];
        for (int i = 0; i < m.numRows; i++) {
            c[i] = m.get(i, j);
        }
        return c;
    }

    @Test
    void columnsLayoutPacksExamplesAsColumnsWithOneHotTargets() {
        Shard shard = new ShardPacker(3, 3, 2).pack(4, EXAMPLES.iterator());
        assertEquals(4, shard.partition());
        assertEquals(2, shard.numBlocks());
        assertEquals(3, shard.count());
        assertEquals(4.0, shard.weightSum());
        // the short last block is exactly sized
        assertEquals(2, shard.features(0).getNumCols());
        assertEquals(1, shard.features(1).getNumCols());
        int[] order = CanonicalOrder.of(EXAMPLES);
        for (int k = 0; k < 3; k++) {
            int block = k / 2;
            int j = k % 2;
            double[][] expected = PACKED[order[k]];
            assertArrayEquals(expected[0], column((DMatrixRMaj) shard.features(block), j));
            assertArrayEquals(expected[1], column((DMatrixRMaj) shard.targets(block), j));
            assertEquals(expected[2][0], shard.weights(block)[j]);
        }
        assertEquals(8 * (9 + 9 + 3), shard.payloadBytes());
    }

    /** Spark does not fix the order of a shuffled partition's rows; the shard must not depend on it. */
    @Test
    void theShardDoesNotDependOnTheOrderTheExamplesArriveIn() {
        int[][] permutations = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
        Shard first = null;
        for (int[] p : permutations) {
            List<Example> delivered = Arrays.asList(EXAMPLES.get(p[0]), EXAMPLES.get(p[1]), EXAMPLES.get(p[2]),
                    EXAMPLES.get(0));
            Shard shard = new ShardPacker(3, 3, 2).pack(0, delivered.iterator());
            if (first == null) {
                first = shard;
                continue;
            }
            for (int b = 0; b < 2; b++) {
                assertArrayEquals(((DMatrixRMaj) first.features(b)).data, ((DMatrixRMaj) shard.features(b)).data);
                assertArrayEquals(((DMatrixRMaj) first.targets(b)).data, ((DMatrixRMaj) shard.targets(b)).data);
                assertArrayEquals(first.weights(b), shard.weights(b));
            }
        }
        // a dense and a sparse form of one vector are the same example
        assertEquals(CanonicalOrder.hash(Example.of(new double[] {0, 5, 0}, 0)), CanonicalOrder.hash(EXAMPLES.get(1)));
    }

    /** A bad example is named by its position as delivered, whatever its place in the canonical order. */
    @Test
    void aBadExampleIsNamedByItsDeliveredRow() {
        List<Example> delivered = Arrays.asList(EXAMPLES.get(0), EXAMPLES.get(2),
                Example.of(new double[] {1, Double.NaN, 3}, 0), EXAMPLES.get(1));
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new ShardPacker(3, 3, 2).pack(6, delivered.iterator()));
        assertEquals("feature 1 is NaN in row 2 of partition 6; remove or impute non-finite values before training",
                e.getMessage());
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

    /** Canonical streaming: the same blocks, in rows or columns, whatever order the rows arrive in. */
    @Test
    void canonicalStreamingDoesNotDependOnTheDeliveredOrder() {
        List<Example> examples = new ArrayList<>();
        java.util.SplittableRandom random = new java.util.SplittableRandom(2);
        for (int i = 0; i < 23; i++) {
            double[] x = {random.nextDouble(), i % 3 == 0 ? 0 : random.nextDouble(), 1e6 + i};
            examples.add(i % 5 == 0 ? Example.weighted(0.5, Vectors.dense(x), new double[] {i})
                    : Example.of(x, new double[] {i}));
        }
        examples.add(examples.get(4)); // a duplicate: equal rows are interchangeable
        for (ShardPacker.Layout layout : ShardPacker.Layout.values()) {
            String reference = null;
            for (long seed = 0; seed < 5; seed++) {
                List<Example> shuffled = new ArrayList<>(examples);
                java.util.Collections.shuffle(shuffled, new java.util.Random(seed));
                StringBuilder blocks = new StringBuilder();
                long count = new ShardPacker(3, 1, 5, layout).forEachBlockCanonical(0, shuffled.iterator(),
                        (x, y, w) -> blocks.append(Arrays.toString(x.data)).append(Arrays.toString(y.data))
                                .append(Arrays.toString(w)).append('|'));
                assertEquals(24, count);
                if (reference == null) {
                    reference = blocks.toString();
                } else {
                    assertEquals(reference, blocks.toString(), layout + ", order " + seed);
                }
            }
        }
        List<Example> delivered = Arrays.asList(EXAMPLES.get(0), Example.of(new double[] {1, Double.NaN, 3}, 0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new ShardPacker(3, 3, 2)
                .withColumnNames("f", "y").forEachBlockCanonical(7, delivered.iterator(), (x, y, w) -> { }));
        assertEquals("feature 1 of column 'f' is NaN in row 1 of partition 7; remove or impute non-finite values "
                + "before training", e.getMessage());
    }
}
