package io.sparkprop.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

/**
 * What Spark alone takes, in a session, to move a round's bytes through the driver: one broadcast of {@code out}
 * doubles, and a job of {@code tasks} tasks that each read it and return {@code back} doubles to the driver — no
 * arithmetic, no merge, one array each way where a round ships rows and partial sums. Any round that ships the
 * changed parameters by broadcast and returns its partial results as task results costs at least this much
 * (the trainer's rounds with the driver's merge are such rounds), so it is the floor under a bench's ratio
 * before any of the trainer's own work.
 */
final class ExchangeFloor {
    private ExchangeFloor() {
    }

    /**
     * The median wall time in milliseconds of {@code reps} such rounds after {@code warmUp} untimed ones: from
     * the broadcast to the last result on the driver (making the broadcast's array and removing the broadcast
     * afterwards are not timed).
     */
    static double medianMillis(JavaSparkContext sc, int out, int back, int tasks, int warmUp, int reps) {
        List<Integer> ids = new ArrayList<>();
        for (int t = 0; t < tasks; t++) {
            ids.add(t);
        }
        JavaRDD<Integer> rdd = sc.parallelize(ids, tasks);
        double[] millis = new double[reps];
        for (int r = 0; r < warmUp + reps; r++) {
            double[] shipped = new double[out];
            Arrays.fill(shipped, 1.0 + r);
            long start = System.nanoTime();
            Broadcast<double[]> b = sc.broadcast(shipped);
            List<double[]> results = rdd.map(task -> {
                double[] read = b.value();
                double[] result = new double[back];
                result[0] = read[0] + task;
                return result;
            }).collect();
            double elapsed = (System.nanoTime() - start) / 1e6;
            if (results.size() != tasks) {
                throw new IllegalStateException(results.size() + " results of " + tasks + " tasks");
            }
            b.destroy();
            if (r >= warmUp) {
                millis[r - warmUp] = elapsed;
            }
        }
        return RoundCost.median(millis);
    }

    /**
     * The expected number of distinct features among {@code rows} rows of {@code nonZeros} distinct features each,
     * drawn uniformly from {@code features}: {@code n (1 − (1 − k/n)^rows)}.
     */
    static double expectedTouched(int features, int nonZeros, int rows) {
        return features * (1 - Math.pow(1 - nonZeros / (double) features, rows));
    }
}
