package io.sparkprop.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import io.sparkprop.data.Example;
import io.sparkprop.linalg.Precision;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import io.sparkprop.testutil.LocalSpark;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import scala.Tuple2;

/** The packed training data of a fit: its one counting pass, its refusals, its one kind of job, its release. */
@ExtendWith(LocalSpark.class)
class PackedDataTest {
    private static SparkSession spark;
    private static JavaSparkContext sc;
    private static final NetworkSpec SPEC = NetworkSpec.builder().input(2).dense(3, Activation.TANH)
            .dense(3, Activation.SOFTMAX).build();

    /** {@code n} rows of class {@code i mod 3} (one more of class 0 when n is not a multiple), weight 0.5 or 2. */
    private static List<Example> rows(int n) {
        List<Example> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            rows.add(Example.weighted(i % 4 == 0 ? 2.0 : 0.5, org.apache.spark.ml.linalg.Vectors.dense(i, -i / 3.0),
                    i % 3));
        }
        return rows;
    }

    private static PackedData pack(JavaRDD<Example> data, int block, Precision precision) {
        return PackedData.pack(sc, data, SPEC, block, precision, 0.0, "training", null, null);
    }

    @Test
    void thePackingPassCountsWhatTheFitNeeds() {
        List<Example> rows = rows(103);
        double weightSum = 0;
        for (Example e : rows) {
            weightSum += e.weight();
        }
        // 103 rows over 3 partitions of 34, 34, 35 rows: blocks of 10 → 4 blocks each
        try (PackedData packed = pack(sc.parallelize(rows, 3).repartition(3), 10, Precision.FLOAT64)) {
            assertEquals(103, packed.count());
            assertEquals(3, packed.partitions());
            assertEquals(10, packed.blockSize());
            assertEquals(weightSum, packed.weightSum(), 1e-12);
            assertTrue(packed.maxBlocks() >= 4, "max blocks " + packed.maxBlocks());
            assertArrayEquals(new long[] {35, 34, 34}, packed.classCounts());
            // features and targets as doubles, weights (not all 1) as doubles: 8·(2 + 3 + 1) bytes a row
            assertEquals(103L * 8 * 6, packed.payloadBytes());
            assertTrue(packed.cachedBytes() > 0, "cached " + packed.cachedBytes());
            assertEquals(Precision.FLOAT64, packed.precision());
        }
        try (PackedData narrow = pack(sc.parallelize(rows, 3), 10, Precision.FLOAT32)) {
            // features and targets as floats, weights as doubles
            assertEquals(103L * (4 * 5 + 8), narrow.payloadBytes());
        }
    }

    @Test
    void aJobOnTheShardsShipsTheParametersAndMergesEveryShard() {
        try (PackedData packed = pack(sc.parallelize(rows(50), 4).repartition(4), 8, Precision.FLOAT64)) {
            Parameters at = Parameters.initialise(SPEC, 3);
            // each shard returns its partition, its examples and the first shipped value; merged in order
            long[] merged = packed.onShards(at, shipped -> (partition, shards) -> {
                Shard s = shards.next();
                long[] r = {1L << s.partition(), s.count(), Double.doubleToLongBits(shipped.value().values()[0])};
                return Collections.singletonList(new Tuple2<>(partition, r)).iterator();
            }, partials -> {
                List<Tuple2<Integer, long[]>> all = new ArrayList<>(partials.collect());
                all.sort((a, b) -> Integer.compare(a._1, b._1));
                long[] sum = new long[3];
                for (Tuple2<Integer, long[]> t : all) {
                    sum[0] |= t._2[0];
                    sum[1] += t._2[1];
                    assertEquals(Double.doubleToLongBits(at.values()[0]), t._2[2]);
                }
                return sum;
            });
            assertEquals(0b1111, merged[0]);
            assertEquals(50, merged[1]);
        }
    }

    @Test
    void closeReleasesTheCachedShards() {
        PackedData packed = pack(sc.parallelize(rows(20), 2), 4, Precision.FLOAT64);
        int id = packed.shards().id();
        assertTrue(sc.getPersistentRDDs().containsKey(id));
        packed.close();
        assertFalse(sc.getPersistentRDDs().containsKey(id));
    }

    @Test
    void emptyDataAndZeroWeightsAreRefusedAndReleased() {
        int before = sc.getPersistentRDDs().size();
        IllegalArgumentException empty = assertThrows(IllegalArgumentException.class,
                () -> pack(sc.parallelize(new ArrayList<Example>(), 2), 4, Precision.FLOAT64));
        assertEquals("the training data is empty: no examples in any of 2 partitions", empty.getMessage());
        List<Example> zero = new ArrayList<>();
        for (Example e : rows(9)) {
            zero.add(Example.weighted(0.0, e.features(), e.target()));
        }
        IllegalArgumentException weights = assertThrows(IllegalArgumentException.class,
                () -> pack(sc.parallelize(zero, 2), 4, Precision.FLOAT64));
        assertEquals("every example weight is 0: nothing to train on (9 examples)", weights.getMessage());
        assertEquals(before, sc.getPersistentRDDs().size(), "nothing left cached");
    }

    @Test
    void shardPartitionsAreContiguousRangesOfTheInput() {
        JavaRDD<Example> input = sc.parallelize(rows(70), 7);
        JavaRDD<Example> shards = PackedData.toShardPartitions(sc, input, 3);
        assertEquals(3, shards.getNumPartitions());
        // ranges [0, 2), [2, 4), [4, 7) of the 7 input partitions, in order, every run alike
        List<List<Example>> parts = shards.glom().collect();
        List<List<Example>> inputParts = input.glom().collect();
        List<Example> expected = new ArrayList<>(inputParts.get(4));
        expected.addAll(inputParts.get(5));
        expected.addAll(inputParts.get(6));
        assertEquals(expected.size(), parts.get(2).size());
        for (int i = 0; i < expected.size(); i++) {
            assertArrayEquals(expected.get(i).features().toArray(), parts.get(2).get(i).features().toArray(), 0.0);
        }
        // as many partitions as asked or more: kept as they are
        assertEquals(7, PackedData.toShardPartitions(sc, input, 9).getNumPartitions());
    }
}
