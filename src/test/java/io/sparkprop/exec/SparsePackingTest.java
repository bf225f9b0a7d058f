package io.sparkprop.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;

import io.sparkprop.data.Example;
import io.sparkprop.linalg.Precision;
import org.apache.spark.ml.linalg.SparseVector;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.ejml.data.DMatrixRMaj;
import org.ejml.data.DMatrixSparseCSC;
import org.ejml.data.FMatrixRMaj;
import org.ejml.data.FMatrixSparseCSC;
import org.junit.jupiter.api.Test;

/**
 * Packing sparse rows: blocks below the sparse threshold hold {@code X} compressed, with the same values,
 * order, targets, weights and totals as when packed dense; 12 bytes a non-zero (8 in a float32 shard); bad rows
 * named as for dense ones.
 */
class SparsePackingTest {
    private static final int FEATURES = 1000;

    /** Rows of {@code nonZeros} random features each (some given as dense vectors), class targets, some weights. */
    static List<Example> rows(long seed, int count, int nonZeros) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Example> rows = new ArrayList<>();
        for (int r = 0; r < count; r++) {
            double[] dense = new double[FEATURES];
            for (int k = 0; k < nonZeros; k++) {
                dense[random.nextInt(FEATURES)] = random.nextDouble() * 4 - 2;
            }
            Vector v = Vectors.dense(dense);
            Vector features = r % 5 == 0 ? v : v.toSparse();
            double weight = r % 7 == 0 ? 2.5 : 1.0;
            rows.add(Example.weighted(weight, features, random.nextInt(3)));
        }
        return rows;
    }

    @Test
    void sparseBlocksHoldTheSameValuesOrderTargetsAndWeightsAsDenseOnes() {
        List<Example> examples = rows(1, 70, 8);
        Shard sparse = new ShardPacker(FEATURES, 3, 16).pack(2, examples.iterator());
        Shard dense = new ShardPacker(FEATURES, 3, 16).withSparseThreshold(0).pack(2, examples.iterator());
        assertEquals(5, sparse.numBlocks());
        assertEquals(5, sparse.sparseBlocks());
        assertEquals(0, dense.sparseBlocks());
        assertEquals(dense.count(), sparse.count());
        assertEquals(dense.weightSum(), sparse.weightSum(), 0.0);
        for (int k = 0; k < dense.numBlocks(); k++) {
            DMatrixSparseCSC x = (DMatrixSparseCSC) sparse.features(k);
            DMatrixRMaj d = (DMatrixRMaj) dense.features(k);
            assertEquals(d.numCols, x.numCols);
            assertEquals(FEATURES, x.numRows);
            assertEquals(x.nz_length, x.nz_values.length, "exactly sized");
            assertEquals(x.nz_length, x.nz_rows.length, "exactly sized");
            DMatrixRMaj back = new DMatrixRMaj(FEATURES, x.numCols);
            for (int j = 0; j < x.numCols; j++) {
                for (int p = x.col_idx[j]; p < x.col_idx[j + 1]; p++) {
                    assertTrue(p == x.col_idx[j] || x.nz_rows[p] > x.nz_rows[p - 1], "ascending feature indices");
                    assertTrue(x.nz_values[p] != 0.0, "zeros dropped");
                    back.set(x.nz_rows[p], j, x.nz_values[p]);
                }
            }
            assertArrayEquals(d.data, back.data, "block " + k);
            assertArrayEquals(((DMatrixRMaj) dense.targets(k)).data, ((DMatrixRMaj) sparse.targets(k)).data);
            assertArrayEquals(dense.weights(k), sparse.weights(k));
        }
        long nonZeros = sparse.featureValues();
        long expected = 12 * nonZeros + 4L * (70 + 5) + 8L * 3 * 70 + 8L * 70;
        assertEquals(expected, sparse.payloadBytes(), "12 bytes a non-zero, 4 an example, plus targets and weights");
    }

    @Test
    void theThresholdDecidesPerBlock() {
        List<Example> examples = new ArrayList<>(rows(3, 16, 4)); // 0.4 % non-zero: sparse
        examples.addAll(rows(4, 16, 600)); // about 45 % non-zero: dense
        Shard light = new ShardPacker(FEATURES, 3, 16).withSparseThreshold(0.1).pack(0, rows(3, 16, 4).iterator());
        Shard heavy = new ShardPacker(FEATURES, 3, 16).withSparseThreshold(0.1).pack(0, rows(4, 16, 600).iterator());
        assertTrue(light.features(0) instanceof DMatrixSparseCSC);
        assertTrue(heavy.features(0) instanceof DMatrixRMaj);
        Shard mixed = new ShardPacker(FEATURES, 3, 8).withSparseThreshold(0.1).pack(0, examples.iterator());
        assertTrue(mixed.sparseBlocks() > 0 && mixed.sparseBlocks() < mixed.numBlocks(),
                "a shard may hold both kinds: " + mixed.sparseBlocks() + " of " + mixed.numBlocks());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ShardPacker(FEATURES, 3, 16).withSparseThreshold(1.5));
        assertEquals("sparseThreshold must be in [0, 1], found 1.5", e.getMessage());
    }

    @Test
    void theOrderDoesNotDependOnWhetherARowCameSparseOrDense() {
        List<Example> examples = rows(5, 40, 6);
        List<Example> allDense = new ArrayList<>();
        for (Example e : examples) {
            allDense.add(Example.weighted(e.weight(), e.features().toDense(), e.target()));
        }
        Collections.reverse(allDense);
        Shard a = new ShardPacker(FEATURES, 3, 16).pack(0, examples.iterator());
        Shard b = new ShardPacker(FEATURES, 3, 16).pack(0, allDense.iterator());
        for (int k = 0; k < a.numBlocks(); k++) {
            DMatrixSparseCSC x = (DMatrixSparseCSC) a.features(k);
            DMatrixSparseCSC y = (DMatrixSparseCSC) b.features(k);
            assertArrayEquals(x.col_idx, y.col_idx);
            assertArrayEquals(x.nz_rows, y.nz_rows);
            assertArrayEquals(x.nz_values, y.nz_values);
        }
    }

    @Test
    void float32ShardsKeepSparseValuesAndTargetsInFloat() {
        List<Example> examples = rows(6, 20, 5);
        Shard shard = new ShardPacker(FEATURES, 3, 16).withPrecision(Precision.FLOAT32).pack(0, examples.iterator());
        Shard wide = new ShardPacker(FEATURES, 3, 16).pack(0, examples.iterator());
        long nonZeros = 0;
        for (int k = 0; k < shard.numBlocks(); k++) {
            FMatrixSparseCSC x = (FMatrixSparseCSC) shard.features(k);
            DMatrixSparseCSC d = (DMatrixSparseCSC) wide.features(k);
            assertTrue(shard.targets(k) instanceof FMatrixRMaj);
            assertArrayEquals(Arrays.copyOf(d.col_idx, d.numCols + 1), Arrays.copyOf(x.col_idx, x.numCols + 1));
            assertArrayEquals(Arrays.copyOf(d.nz_rows, d.nz_length), Arrays.copyOf(x.nz_rows, x.nz_length));
            for (int i = 0; i < d.nz_length; i++) {
                assertEquals((float) d.nz_values[i], x.nz_values[i], 0.0f, "non-zero " + i + " of block " + k);
            }
            nonZeros += x.nz_length;
        }
        // 8 bytes a non-zero (a float and its index) against 12, the column starts and targets alike
        assertEquals(4 * nonZeros, wide.payloadBytes() - shard.payloadBytes() - 4L * 3 * examples.size(),
                "bytes saved: 4 a non-zero, and 4 a target value");
    }

    @Test
    void float32RefusesASparseFeatureItCannotHoldCountingItsImplicitZeros() {
        // two timestamp-like values that round to one float: the feature's variation would be lost
        List<Example> stamps = Arrays.asList(
                Example.of(Vectors.sparse(FEATURES, new int[] {3, 7}, new double[] {1.7e9 + 1, 1}), 1),
                Example.of(Vectors.sparse(FEATURES, new int[] {3, 8}, new double[] {1.7e9 + 3, 1}), 0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ShardPacker(FEATURES, 3, 16).withPrecision(Precision.FLOAT32).pack(2, stamps.iterator()));
        assertTrue(e.getMessage().contains("cannot be held in float32") && e.getMessage().contains("partition 2"),
                e.getMessage());
        // the same values beside a row without the feature: its 0 makes the range 1.7e9, which float32 holds
        List<Example> withZero = new ArrayList<>(stamps);
        withZero.add(Example.of(Vectors.sparse(FEATURES, new int[] {5}, new double[] {2}), 1));
        Shard shard = new ShardPacker(FEATURES, 3, 16).withPrecision(Precision.FLOAT32).pack(2, withZero.iterator());
        assertEquals(3, shard.count());
        // the implicit zero is counted across blocks too: blocks of one row each
        Shard oneRowBlocks = new ShardPacker(FEATURES, 3, 1).withPrecision(Precision.FLOAT32)
                .pack(2, withZero.iterator());
        assertEquals(3, oneRowBlocks.numBlocks());
        // a value beyond float's range is named
        Example huge = Example.of(Vectors.sparse(FEATURES, new int[] {4}, new double[] {1e300}), 1);
        IllegalArgumentException range = assertThrows(IllegalArgumentException.class,
                () -> new ShardPacker(FEATURES, 3, 16).withPrecision(Precision.FLOAT32)
                        .pack(0, Collections.singletonList(huge).iterator()));
        assertTrue(range.getMessage().contains("beyond float32's range"), range.getMessage());
    }

    @Test
    void badSparseRowsAreNamed() {
        // Spark's constructor refuses such indices; a vector whose index array was changed afterwards (or that
        // a serialiser built without its constructor) is still caught, never written outside the block
        assertBad(withIndices(new int[] {4, 5}, new int[] {4, -1}),
                "feature index -1 is outside 0..999 in row 1 of partition 3");
        assertBad(withIndices(new int[] {4, 5}, new int[] {4, 1000}),
                "feature index 1000 is outside 0..999 in row 1 of partition 3");
        assertBad(withIndices(new int[] {6, 7}, new int[] {7, 7}),
                "feature indices must be strictly increasing, found 7 after 7 in row 1 of partition 3");
        assertBad(new SparseVector(FEATURES, new int[] {2, 9}, new double[] {1, Double.NaN}),
                "feature 9 is NaN in row 1 of partition 3; " + ShardPacker.NON_FINITE_ADVICE);
        assertBad(Vectors.sparse(FEATURES + 1, new int[] {2}, new double[] {1}),
                "expected 1000 features, found 1001 in row 1 of partition 3");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new ShardPacker(FEATURES, 3, 16)
                .pack(3, List.of(Example.of(Vectors.sparse(FEATURES, new int[] {1}, new double[] {1}), 0),
                        Example.weighted(-1, Vectors.sparse(FEATURES, new int[] {1}, new double[] {1}), 0)).iterator()));
        assertTrue(e.getMessage().startsWith("expected a finite weight >= 0, found -1.0 in row 1 of partition 3"),
                e.getMessage());
        // the dense path checks indices too rather than writing outside the block
        e = assertThrows(IllegalArgumentException.class, () -> new ShardPacker(FEATURES, 3, 16).withSparseThreshold(0)
                .pack(3, List.of(Example.of(withIndices(new int[] {2}, new int[] {-1}), 0)).iterator()));
        assertEquals("feature index -1 is outside 0..999 in row 0 of partition 3", e.getMessage());
    }

    /** A sparse vector made with {@code valid} indices whose index array then holds {@code changed}. */
    private static SparseVector withIndices(int[] valid, int[] changed) {
        SparseVector v = new SparseVector(FEATURES, valid, new double[valid.length]);
        java.util.Arrays.fill(v.values(), 1.0);
        System.arraycopy(changed, 0, v.indices(), 0, changed.length);
        return v;
    }

    private static void assertBad(Vector bad, String message) {
        List<Example> examples = List.of(Example.of(Vectors.sparse(FEATURES, new int[] {1}, new double[] {1}), 0),
                Example.of(bad, 0));
        // row 1 as delivered, wherever the canonical order puts it
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ShardPacker(FEATURES, 3, 16).pack(3, examples.iterator()));
        assertEquals(message, e.getMessage());
    }
}
