package io.sparkprop.train;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

import org.apache.spark.HashPartitioner;
import org.apache.spark.SparkConf;
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
 * last bits from run to run. Here the members of group {@code g} (the keys {@code k ≡ g mod groups})
 * reach their merge task sorted by key ({@code repartitionAndSortWithinPartitions}) and are merged
 * left to right as they stream in, and the last level is merged by key as well, so the same inputs
 * always give bit-identical sums, whatever the timing and whichever tasks Spark re-runs.
 *
 * <p>Memory: a merge task holds the members of its group (Spark's shuffle sorter checks its memory
 * only every 32 records, {@code Spillable.maybeSpill}, so large members are not spilled in time), and
 * the driver holds the last level's {@code k} partial results. Both are fine for small partial
 * results. When {@code k} large ones would take more than {@code min(driver heap, spark.driver.maxResultSize) / 4}, {@link #plan}
 * merges them pairwise instead — levels of {@code ⌈n/2⌉} groups of at most two down to one group,
 * all on the executors — so that a merge task holds two partial results and the driver receives one.
 * Either way the merge order is a function of the plan alone.
 */
public final class OrderedTreeAggregate {
    /** The share of {@code min(driver heap, spark.driver.maxResultSize)} the collected partials may take. */
    static final int DRIVER_SHARE = 4;

    private OrderedTreeAggregate() {
    }

    /** {@code (a, b) → a + b}; may modify and return {@code a}. */
    @FunctionalInterface
    public interface Merge<T> extends java.io.Serializable {
        T mergeInPlace(T a, T b);
    }

    /**
     * Merges all values of {@code partials} (keyed by partition index, at most one per key), the last
     * level on the driver.
     *
     * @param numPartitions the number of partitions of {@code partials}
     * @param depth         tree depth, ≥ 1 (1: every partial result goes to the driver)
     * @param mergeInPlace  {@code (a, b) → a + b}, may modify and return {@code a}
     * @return the merged value, or {@code null} if {@code partials} is empty
     */
    public static <T> T aggregate(JavaPairRDD<Integer, T> partials, int numPartitions, int depth,
                                  Merge<T> mergeInPlace) {
        return new Plan(numPartitions, depth, false, 0).aggregate(partials, mergeInPlace);
    }

    /**
     * The plan for partial results of about {@code partialBytes} each: the tree of depth {@code depth}, or,
     * when its last level would bring the driver more than {@code min(driver heap,
     * spark.driver.maxResultSize) / 4} at once, pairwise merges down to one partial result on the executors.
     *
     * @throws IllegalArgumentException if one partial result alone exceeds {@code spark.driver.maxResultSize}
     */
    public static Plan plan(int numPartitions, int depth, long partialBytes, SparkConf conf, String what) {
        long maxResult = conf.getSizeAsBytes("spark.driver.maxResultSize", "1g");
        if (maxResult > 0 && partialBytes > maxResult) {
            throw new IllegalArgumentException(String.format(Locale.ROOT, "each partial %s is %.1f MB, more than "
                    + "spark.driver.maxResultSize (%.1f MB): raise spark.driver.maxResultSize (and spark.driver.memory)",
                    what, partialBytes / 1e6, maxResult / 1e6));
        }
        long limit = Math.min(Runtime.getRuntime().maxMemory(), maxResult > 0 ? maxResult : Long.MAX_VALUE);
        long budget = limit / DRIVER_SHARE;
        int atDriver = finalLevelSize(numPartitions, depth);
        return new Plan(numPartitions, depth, atDriver > 1 && (double) atDriver * partialBytes > budget, budget);
    }

    /**
     * How many partial results the tree of depth {@code depth} brings the driver: the number of groups
     * of its last level (or of partitions, without levels).
     */
    public static int finalLevelSize(int numPartitions, int depth) {
        int[] levels = levels(numPartitions, depth, false);
        return levels.length == 0 ? numPartitions : levels[levels.length - 1];
    }

    /**
     * The number of groups of each level below the partitions: the tree's ({@code n ← n/s} while
     * {@code n > s + ⌈n/s⌉}), or, pairwise, {@code n ← ⌈n/2⌉} down to one.
     */
    private static int[] levels(int numPartitions, int depth, boolean pairwise) {
        List<Integer> levels = new ArrayList<>();
        int n = numPartitions;
        int scale = scale(n, depth);
        while (pairwise ? n > 1 : n > scale + (int) Math.ceil((double) n / scale)) {
            n = pairwise ? (n + 1) / 2 : n / scale;
            levels.add(n);
        }
        return levels.stream().mapToInt(Integer::intValue).toArray();
    }

    private static int scale(int numPartitions, int depth) {
        return Math.max((int) Math.ceil(Math.pow(numPartitions, 1.0 / Math.max(depth, 1))), 2);
    }

    /** How one aggregation runs: the tree of a depth, or pairwise merges on the executors. */
    public static final class Plan implements java.io.Serializable {
        private final int numPartitions;
        private final int depth;
        private final boolean pairwiseOnExecutors;
        private final long driverBudget;

        Plan(int numPartitions, int depth, boolean pairwiseOnExecutors, long driverBudget) {
            if (depth < 1) {
                throw new IllegalArgumentException("aggregationDepth must be >= 1, found " + depth);
            }
            this.numPartitions = numPartitions;
            this.depth = depth;
            this.pairwiseOnExecutors = pairwiseOnExecutors;
            this.driverBudget = driverBudget;
        }

        /** The tree's depth (the setting; unused when {@link #pairwiseOnExecutors()}). */
        public int depth() {
            return depth;
        }

        /**
         * Whether the partial results are merged pairwise down to one on the executors (instead of the tree of
         * {@link #depth()}), so that a merge task holds two and the driver receives one.
         */
        public boolean pairwiseOnExecutors() {
            return pairwiseOnExecutors;
        }

        /** Partial results the driver holds at once. */
        public int partialsAtDriver() {
            return pairwiseOnExecutors ? 1 : finalLevelSize(numPartitions, depth);
        }

        /** The most the collected partial results may take: {@code min(driver heap, maxResultSize) / 4}; 0 if unplanned. */
        public long driverBudget() {
            return driverBudget;
        }

        /** Merges all values of {@code partials} (keyed by partition index, at most one per key). */
        public <T> T aggregate(JavaPairRDD<Integer, T> partials, Merge<T> mergeInPlace) {
            JavaPairRDD<Integer, T> level = partials;
            for (int groups : levels(numPartitions, depth, pairwiseOnExecutors)) {
                level = mergeGroups(level, groups, mergeInPlace);
            }
            return mergeByKey(level.collect(), mergeInPlace);
        }

        @Override
        public String toString() {
            return pairwiseOnExecutors
                    ? String.format(Locale.ROOT, "pairwise merges of %d partial results on the executors, 1 at the driver",
                            numPartitions)
                    : String.format(Locale.ROOT, "depth %d, %d partial result(s) at the driver", depth,
                            partialsAtDriver());
        }
    }

    /**
     * Groups keys by {@code key mod groups} (what {@link HashPartitioner} does with Integer keys), sorts
     * each group by key and merges it left to right as it streams in; the result is keyed by group.
     */
    private static <T> JavaPairRDD<Integer, T> mergeGroups(JavaPairRDD<Integer, T> level, int groups,
                                                           Merge<T> mergeInPlace) {
        return JavaPairRDD.fromJavaRDD(level.repartitionAndSortWithinPartitions(new HashPartitioner(groups))
                .mapPartitionsWithIndex((group, members) -> mergeInOrder(group, members, mergeInPlace), true));
    }

    private static <T> Iterator<Tuple2<Integer, T>> mergeInOrder(int group, Iterator<Tuple2<Integer, T>> sorted,
                                                                 Merge<T> mergeInPlace) {
        T result = null;
        while (sorted.hasNext()) {
            T member = sorted.next()._2;
            result = result == null ? member : mergeInPlace.mergeInPlace(result, member);
        }
        return result == null ? Collections.emptyIterator()
                : Collections.singletonList(new Tuple2<>(group, result)).iterator();
    }

    private static <T> T mergeByKey(Iterable<Tuple2<Integer, T>> members, Merge<T> mergeInPlace) {
        List<Tuple2<Integer, T>> sorted = new ArrayList<>();
        members.forEach(sorted::add);
        sorted.sort(Comparator.comparing(Tuple2::_1));
        Iterator<Tuple2<Integer, T>> merged = mergeInOrder(0, sorted.iterator(), mergeInPlace);
        return merged.hasNext() ? merged.next()._2 : null;
    }
}
