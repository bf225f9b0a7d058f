package io.sparkprop.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import io.sparkprop.testutil.LocalSpark;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The first layer's rows as rounds ship them: every version an executor builds — brought forward delta by delta,
 * or from nothing (a new executor) out of the snapshot and the deltas since — holds the driver's rows, through
 * merged deltas and new snapshots; a task of an ended round is refused; the rows travel as they are.
 */
@ExtendWith(LocalSpark.class)
class FirstLayerRowsTest {
    private static SparkSession spark;
    private static JavaSparkContext sc;

    private static final int FEATURES = 300;
    private static final int UNITS = 4;

    @Test
    void everyVersionAnExecutorBuildsHoldsTheDriversRows() {
        SplittableRandom random = new SplittableRandom(3);
        double[][] rows = new double[FEATURES][];
        for (int f = 0; f < FEATURES; f++) {
            rows[f] = random.doubles(UNITS).toArray();
        }
        boolean sawMerged = false;
        long snapshots = 0;
        long lastSnapshot = -1;
        try (FirstLayerRows shipping = new FirstLayerRows(sc)) {
            FirstLayerRows.Version v = shipping.publish(rows, null);
            assertSame(rows, FirstLayerRows.onExecutor(v));
            for (int version = 1; version <= 120; version++) {
                // a new version: a few to most rows replaced by new arrays, the published ones never written
                int most = version > 60 && version % 3 == 0 ? 250 : 30;
                int[] changed = random.ints(0, FEATURES).distinct().limit(1 + random.nextInt(most)).sorted().toArray();
                double[][] next = rows.clone();
                for (int f : changed) {
                    next[f] = random.doubles(UNITS).toArray();
                }
                rows = next;
                v = shipping.publish(rows, changed);
                assertTrue(v.deltas.size() < FirstLayerRows.MAX_DELTAS, v.deltas.size() + " deltas");
                sawMerged |= !v.deltas.isEmpty() && v.deltas.get(0).value().from == v.snapshotVersion
                        && v.deltas.get(0).value().version > v.snapshotVersion + 1;
                if (v.snapshotVersion != lastSnapshot) {
                    snapshots++;
                    lastSnapshot = v.snapshotVersion;
                }
                if (version % 7 == 0) {
                    FirstLayerRows.forgetAll(); // a new executor: snapshot and deltas
                }
                assertSame(rows, FirstLayerRows.onExecutor(v));
                if (version % 5 == 0) {
                    FirstLayerRows.Version fixed = v;
                    double[] expected = sums(rows);
                    List<double[]> fromTasks = sc.parallelize(Arrays.asList(0, 1), 2)
                            .map(i -> sums(fixed.rows())).collect();
                    for (double[] s : fromTasks) {
                        assertArrayEquals(expected, s, 0.0, "a task's rows of version " + version);
                    }
                }
            }
            assertTrue(sawMerged, "the deltas were merged at least once");
            assertTrue(snapshots >= 2, snapshots + " snapshots: a new one once the deltas held too many rows");
            FirstLayerRows.Version current = v;
            FirstLayerRows.Version old = shipping.publish(rows, new int[] {3});
            FirstLayerRows.onExecutor(old);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> FirstLayerRows.onExecutor(current));
            assertTrue(e.getMessage().contains("a task of a round that has ended"), e.getMessage());
        }
    }

    private static double[] sums(double[][] rows) {
        double[] s = new double[rows.length];
        for (int f = 0; f < rows.length; f++) {
            for (double x : rows[f]) {
                s[f] += x;
            }
        }
        return s;
    }

    private static void assertSame(double[][] expected, double[][] actual) {
        assertEquals(expected.length, actual.length);
        for (int f = 0; f < expected.length; f++) {
            assertArrayEquals(expected[f], actual[f], 0.0, "row " + f);
        }
    }

    @Test
    void rowsTravelAsTheyAre() throws Exception {
        double[][] rows = {{1.5, -0.0, Double.MIN_VALUE}, {Math.PI, 1e300, -7}};
        FirstLayerRows.Rows delta = new FirstLayerRows.Rows(4, 9, new int[] {2, 17}, rows);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(delta);
        }
        FirstLayerRows.Rows back;
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            back = (FirstLayerRows.Rows) in.readObject();
        }
        assertEquals(4, back.from);
        assertEquals(9, back.version);
        assertArrayEquals(new int[] {2, 17}, back.features);
        assertSame(rows, back.rows);
    }
}
