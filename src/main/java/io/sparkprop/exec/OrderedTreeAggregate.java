package io.sparkprop.exec;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

import io.sparkprop.util.Internal;
import org.apache.spark.HashPartitioner;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaPairRDD;
import scala.Tuple2;

/**
 * A tree aggregation of partial results keyed by partition index whose merge order — the
 * association of every floating-point sum — is a function of the number of partitions alone: a
 * pairwise tree, level after level {@code n ← ⌈n/2⌉}, in which group {@code g} of a level holds the
 * keys {@code k ≡ g mod ⌈n/2⌉} of the level before, merged in key order. Neither the tree's depth, nor
 * the driver's memory, nor where a level runs changes a bit of the result.
 *
 * <p>Why not {@code RDD.treeAggregate}: it merges partial results in the order they arrive —
 * {@code foldByKey} in shuffle-fetch order and the final {@code fold} in task-completion order — and
 * floating-point addition is not associative, so the same data could give sums that differ in the
 * last bits from run to run. Here the members of a group reach their merge task sorted by key
 * ({@code repartitionAndSortWithinPartitions}) and are merged as they stream in.
 *
 * <p>Where the levels run: nowhere but on the driver when all partial results together are small
 * ({@link #DIRECT_MERGE_BYTES}); else on the executors while more partial results remain than the tree of
 * depth {@code aggregationDepth} of Spark's {@code treeAggregate} would bring the driver (scale
 * {@code s = max(⌈n^{1/d}⌉, 2)}, levels {@code n ← n/s} while {@code n > s + ⌈n/s⌉}); the driver collects
 * the rest and runs the remaining levels itself, in the same order. When the collected partial results
 * would take more than {@code min(driver heap, spark.driver.maxResultSize) / 4}, {@link #plan} runs
 * every level on the executors, so that a merge task holds two partial results and the driver
 * receives one (a merge task holds its group: Spark's shuffle sorter checks its memory only every 32
 * records, {@code Spillable.maybeSpill}, so large members would not be spilled in time).
 */
@Internal
public final class OrderedTreeAggregate {
    /** The share of {@code min(driver heap, spark.driver.maxResultSize)} the collected partials may take. */
    public static final int DRIVER_SHARE = 4;
    /**
     * Partial results of at most this many bytes together go to the driver in the job that makes them:
     * a merge level on the executors is a shuffle stage (tens of milliseconds even for a few bytes), which
     * only pays when the driver would otherwise receive and add much more than this.
     */
    public static final long DIRECT_MERGE_BYTES = 32L << 20;

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
     * The plan for partial results of about {@code partialBytes} each: all of them to the driver when they
     * take at most {@code min(}{@link #DIRECT_MERGE_BYTES}{@code , driver budget)} together; else the tree of
     * depth {@code depth}, or, when its last level would bring the driver more than {@code min(driver heap,
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
        if ((double) numPartitions * partialBytes <= Math.min(budget, DIRECT_MERGE_BYTES)) {
            // a handful of small partials: the driver merges them all, in the same order, with no shuffle stage
            return new Plan(numPartitions, 1, false, budget);
        }
        int atDriver = finalLevelSize(numPartitions, depth);
        return new Plan(numPartitions, depth, atDriver > 1 && (double) atDriver * partialBytes > budget, budget);
    }

    /**
     * How many partial results the tree of depth {@code depth} of Spark's {@code treeAggregate} brings the
     * driver: the number of groups of its last level (or of partitions, without levels).
     */
    public static int finalLevelSize(int numPartitions, int depth) {
        int n = numPartitions;
        int scale = Math.max((int) Math.ceil(Math.pow(numPartitions, 1.0 / Math.max(depth, 1))), 2);
        while (n > scale + (int) Math.ceil((double) n / scale)) {
            n = n / scale;
        }
        return n;
    }

    /** The number of groups of each pairwise level below the partitions: {@code n ← ⌈n/2⌉} down to one. */
    static int[] pairwiseLevels(int numPartitions) {
        List<Integer> levels = new ArrayList<>();
        for (int n = numPartitions; n > 1; ) {
            n = (n + 1) / 2;
            levels.add(n);
        }
        return levels.stream().mapToInt(Integer::intValue).toArray();
    }

    /** How one aggregation runs: which of its levels run on the executors and which on the driver. */
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

        /**
         * Whether every level runs on the executors (instead of the last ones on the driver), so that a merge
         * task holds two partial results and the driver receives one.
         */
        public boolean pairwiseOnExecutors() {
            return pairwiseOnExecutors;
        }

        /** Partial results the driver collects: one, or the first level no larger than the tree's last. */
        public int partialsAtDriver() {
            return numPartitions <= 1 ? numPartitions : levelsOnExecutors() == 0 ? numPartitions
                    : pairwiseLevels(numPartitions)[levelsOnExecutors() - 1];
        }

        /** How many of the pairwise levels run on the executors. */
        private int levelsOnExecutors() {
            int[] levels = pairwiseLevels(numPartitions);
            if (pairwiseOnExecutors) {
                return levels.length;
            }
            int atDriver = finalLevelSize(numPartitions, depth);
            int count = 0;
            for (int n = numPartitions; n > atDriver && count < levels.length; count++) {
                n = levels[count];
            }
            return count;
        }

        /** The most the collected partial results may take: {@code min(driver heap, maxResultSize) / 4}; 0 if unplanned. */
        public long driverBudget() {
            return driverBudget;
        }

        /** Merges all values of {@code partials} (keyed by partition index, at most one per key). */
        public <T> T aggregate(JavaPairRDD<Integer, T> partials, Merge<T> mergeInPlace) {
            int[] levels = pairwiseLevels(numPartitions);
            int onExecutors = levelsOnExecutors();
            JavaPairRDD<Integer, T> level = partials;
            for (int i = 0; i < onExecutors; i++) {
                level = mergeGroups(level, levels[i], mergeInPlace);
            }
            List<Tuple2<Integer, T>> collected = new ArrayList<>(level.collect());
            // the remaining levels on the driver, grouped and ordered exactly as on the executors
            for (int i = onExecutors; i < levels.length; i++) {
                collected = mergeGroupsLocally(collected, levels[i], mergeInPlace);
            }
            return collected.isEmpty() ? null : mergeGroupsLocally(collected, 1, mergeInPlace).get(0)._2;
        }

        @Override
        public String toString() {
            return pairwiseOnExecutors
                    ? String.format(Locale.ROOT, "pairwise merges of %d partial results on the executors, 1 at the driver",
                            numPartitions)
                    : String.format(Locale.ROOT, "pairwise merges of %d partial results, the last %d at the driver",
                            numPartitions, partialsAtDriver());
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

    /**
     * Every level of the tree of {@code numPartitions} partitions run here, on a list of partial results keyed by
     * partition index: the same association as {@link Plan#aggregate}, wherever its levels run, so the same bits.
     * The sliced exchange merges each slice of the partial results so ({@link SlicedExchange}).
     *
     * @return the merged value, or {@code null} if {@code partials} is empty
     */
    static <T> T mergeAllLocally(List<Tuple2<Integer, T>> partials, int numPartitions, Merge<T> mergeInPlace) {
        List<Tuple2<Integer, T>> level = partials;
        for (int groups : pairwiseLevels(numPartitions)) {
            level = mergeGroupsLocally(level, groups, mergeInPlace);
        }
        return level.isEmpty() ? null : mergeGroupsLocally(level, 1, mergeInPlace).get(0)._2;
    }

    /** {@link #mergeGroups} on a list: group {@code g} merges the keys {@code ≡ g mod groups} in key order. */
    private static <T> List<Tuple2<Integer, T>> mergeGroupsLocally(List<Tuple2<Integer, T>> level, int groups,
                                                                   Merge<T> mergeInPlace) {
        List<Tuple2<Integer, T>> sorted = new ArrayList<>(level);
        sorted.sort(Comparator.comparing(Tuple2::_1));
        List<Tuple2<Integer, T>> next = new ArrayList<>();
        for (int g = 0; g < groups; g++) {
            List<Tuple2<Integer, T>> members = new ArrayList<>();
            for (Tuple2<Integer, T> t : sorted) {
                if (t._1 % groups == g) {
                    members.add(t);
                }
            }
            mergeInOrder(g, members.iterator(), mergeInPlace).forEachRemaining(next::add);
        }
        return next;
    }
}
