package io.sparkprop.train;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import org.apache.spark.HashPartitioner;
import org.apache.spark.api.java.JavaPairRDD;
import scala.Tuple2;

/**
 * A tree aggregation with Spark's level structure ({@code RDD.treeAggregate}: with {@code n} partial
 * results and depth {@code d}, scale {@code s = max(⌈n^{1/d}⌉, 2)}; levels of {@code n ← n/s}
 * groups while {@code n > s + ⌈n/s⌉}) whose merge order is fixed by the partial results' keys.
 *
 * <p>Why not {@code treeAggregate} itself: it merges partial results in the order they arrive —
 * {@code foldByKey} in shuffle-fetch order and the final {@code fold} in task-completion order — and
 * floating-point addition is not associative, so the same data could give sums that differ in the
 * last bits from run to run. Here every group sorts its members by key before merging them left to
 * right, and the driver merges the last level by key, so the same inputs always give bit-identical
 * sums, whatever the timing and whichever tasks Spark re-runs.
 */
public final class OrderedTreeAggregate {
    private OrderedTreeAggregate() {
    }

    /** {@code (a, b) → a + b}; may modify and return {@code a}. */
    @FunctionalInterface
    public interface Merge<T> extends java.io.Serializable {
        T mergeInPlace(T a, T b);
    }

    /**
     * Merges all values of {@code partials} (keyed by partition index, at most one per key).
     *
     * @param numPartitions the number of partitions of {@code partials}
     * @param depth         tree depth, ≥ 1 (1: every partial result goes to the driver)
     * @param mergeInPlace  {@code (a, b) → a + b}, may modify and return {@code a}
     * @return the merged value, or {@code null} if {@code partials} is empty
     */
    public static <T> T aggregate(JavaPairRDD<Integer, T> partials, int numPartitions, int depth,
                           Merge<T> mergeInPlace) {
        if (depth < 1) {
            throw new IllegalArgumentException("aggregationDepth must be >= 1, found " + depth);
        }
        JavaPairRDD<Integer, T> level = partials;
        int n = numPartitions;
        int scale = scale(n, depth);
        while (n > scale + (int) Math.ceil((double) n / scale)) {
            n /= scale;
            final int groups = n;
            level = level.mapToPair(kv -> new Tuple2<>(kv._1 % groups, kv))
                    .groupByKey(new HashPartitioner(groups))
                    .mapToPair(group -> new Tuple2<>(group._1, mergeByKey(group._2, mergeInPlace)));
        }
        return mergeByKey(level.collect(), mergeInPlace);
    }

    /**
     * How many partial results reach the driver: the number of groups of the last tree level (or of
     * partitions, without levels). What the driver must hold at once.
     */
    public static int finalLevelSize(int numPartitions, int depth) {
        int n = numPartitions;
        int scale = scale(n, depth);
        while (n > scale + (int) Math.ceil((double) n / scale)) {
            n /= scale;
        }
        return n;
    }

    private static int scale(int numPartitions, int depth) {
        return Math.max((int) Math.ceil(Math.pow(numPartitions, 1.0 / Math.max(depth, 1))), 2);
    }

    private static <T> T mergeByKey(Iterable<Tuple2<Integer, T>> members, Merge<T> mergeInPlace) {
        List<Tuple2<Integer, T>> sorted = new ArrayList<>();
        members.forEach(sorted::add);
        sorted.sort(Comparator.comparing(Tuple2::_1));
        T result = null;
        for (Tuple2<Integer, T> member : sorted) {
            result = result == null ? member._2 : mergeInPlace.mergeInPlace(result, member._2);
        }
        return result;
    }
}
