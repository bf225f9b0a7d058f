package io.sparkprop.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;

import io.sparkprop.testutil.LocalSpark;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Generated rows: slice {@code p} made by its own generator, seeded by the seed and {@code p}, rows in the order it
 * makes them, the slices' sizes differing by at most one; the same rows every time the frame is read.
 */
@ExtendWith(LocalSpark.class)
class GeneratedRowsTest {
    private static SparkSession spark;

    private static Row row(SplittableRandom random) {
        return RowFactory.create(Vectors.dense(random.nextDouble(), random.nextInt(100)), random.nextDouble());
    }

    @Test
    void everySliceMakesItsRowsFromItsOwnSeededGeneratorInOrder() {
        int rows = 2 * GeneratedRows.SLICE + 3;
        long seed = 17;
        List<Row> frame = GeneratedRows.frame(spark, rows, seed, GeneratedRowsTest::row).collectAsList();
        List<Row> expected = new ArrayList<>();
        for (int p = 0; p < 3; p++) {
            SplittableRandom random = new SplittableRandom(seed * 1_000_003L + p);
            int count = rows / 3 + (p < rows % 3 ? 1 : 0);
            for (int i = 0; i < count; i++) {
                expected.add(row(random));
            }
        }
        assertEquals(expected.size(), frame.size());
        for (int i = 0; i < rows; i++) {
            assertEquals(expected.get(i).get(0), (Vector) frame.get(i).get(0), "features of row " + i);
            assertEquals(expected.get(i).getDouble(1), frame.get(i).getDouble(1), 0.0, "label of row " + i);
        }
        assertEquals(3, GeneratedRows.frame(spark, rows, seed, GeneratedRowsTest::row).rdd().getNumPartitions());
        // read again: the generators start over
        assertEquals(frame, GeneratedRows.frame(spark, rows, seed, GeneratedRowsTest::row).collectAsList());
    }

    /** Rows made so far by {@link #counted} (local mode: the tasks run in this JVM). */
    private static final AtomicInteger MADE = new AtomicInteger();

    private static Row counted(SplittableRandom random) {
        MADE.incrementAndGet();
        return row(random);
    }

    @Test
    void rowsAreMadeAsTheyAreRead() {
        MADE.set(0);
        List<Row> first = GeneratedRows.frame(spark, GeneratedRows.SLICE, 3, GeneratedRowsTest::counted).takeAsList(2);
        assertEquals(2, first.size());
        // a slice held whole would have made all its rows before the first was read
        assertTrue(MADE.get() < GeneratedRows.SLICE / 10, MADE.get() + " rows made to read 2");
    }
}
