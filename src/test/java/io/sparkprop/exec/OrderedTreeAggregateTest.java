package io.sparkprop.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import io.sparkprop.testutil.LocalSpark;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import scala.Tuple2;

/** The merge order is a function of the keys and the depth only, never of task timing. */
@ExtendWith(LocalSpark.class)
class OrderedTreeAggregateTest {
    private static SparkSession spark;
    private static JavaSparkContext sc;

    private static JavaPairRDD<Integer, String> partials(int partitions, int skip) {
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < partitions; i++) {
            ids.add(i);
        }
        return sc.parallelize(ids, partitions)
                .filter(i -> i != skip)
                .mapToPair(i -> new Tuple2<>(i, Integer.toString(i)));
    }

    @Test
    void mergesInKeyOrderThroughThePairwiseLevels() {
        // 9 partials: levels of 5 groups {0,5} {1,6} {2,7} {3,8} {4}; 3 groups {0,3} {1,4} {2}; 2 groups {0,2} {1};
        // 1. At depth 2 the first two levels run on the executors (3 partials reach the driver, as many as
        // Spark's treeAggregate would bring it), the rest on the driver — in the same order.
        for (int run = 0; run < 3; run++) {
            assertEquals("0.5.3.8.2.7.1.6.4",
                    OrderedTreeAggregate.aggregate(partials(9, -1), 9, 2, (a, b) -> a + "." + b));
        }
        assertEquals(3, new OrderedTreeAggregate.Plan(9, 2, false, 0).partialsAtDriver());
        // depth 1: everything to the driver, and still the same order
        assertEquals(9, new OrderedTreeAggregate.Plan(9, 1, false, 0).partialsAtDriver());
        assertEquals("0.5.3.8.2.7.1.6.4",
                OrderedTreeAggregate.aggregate(partials(9, -1), 9, 1, (a, b) -> a + "." + b));
        // a partition without a partial result is simply absent
        assertEquals("0.5.3.8.2.7.1.6", OrderedTreeAggregate.aggregate(partials(9, 4), 9, 2, (a, b) -> a + "." + b));
        assertNull(OrderedTreeAggregate.aggregate(partials(1, 0), 1, 2, (a, b) -> a + "." + b));
    }

    /** The association of the sum depends on the number of partitions alone: not on depth, nor on the plan. */
    @Test
    void depthAndPlanChangeWhereLevelsRunButNotTheOrder() {
        for (int n : new int[] {1, 2, 3, 4, 7, 16, 33}) {
            String expected = new OrderedTreeAggregate.Plan(n, 2, true, 0).aggregate(partials(n, -1), (a, b) -> a + "." + b);
            for (int depth = 1; depth <= 4; depth++) {
                assertEquals(expected, OrderedTreeAggregate.aggregate(partials(n, -1), n, depth, (a, b) -> a + "." + b),
                        n + " partitions, depth " + depth);
            }
        }
    }

    @Test
    void pairwiseMergesOnTheExecutorsFollowTheKeys() {
        // 9 partials: 5 groups {0,5} {1,6} {2,7} {3,8} {4}; 3 groups {0,3} {1,4} {2}; 2 groups {0,2} {1}; 1
        OrderedTreeAggregate.Plan pairwise = new OrderedTreeAggregate.Plan(9, 2, true, 0);
        assertEquals(1, pairwise.partialsAtDriver());
        for (int run = 0; run < 2; run++) {
            assertEquals("0.5.3.8.2.7.1.6.4", pairwise.aggregate(partials(9, -1), (a, b) -> a + "." + b));
        }
        // an absent partial result, and a single one
        assertEquals("0.5.3.2.7.1.6.4", pairwise.aggregate(partials(9, 8), (a, b) -> a + "." + b));
        assertEquals("0", new OrderedTreeAggregate.Plan(1, 2, true, 0).aggregate(partials(1, -1), (a, b) -> a + "." + b));
        // every one of 64 partials is merged exactly once
        String all = new OrderedTreeAggregate.Plan(64, 2, true, 0).aggregate(partials(64, -1), (a, b) -> a + "." + b);
        assertEquals(64, java.util.Arrays.stream(all.split("\\.")).distinct().count());
    }

    /**
     * Floating-point sums whose value depends on their association: merged all on the executors
     * (the plan for gradients too large for the driver), partly there, or all on the driver, they are
     * the same bits — so driver memory cannot change a model.
     */
    @Test
    void theSameBitsWhereverTheLevelsRun() {
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            ids.add(i);
        }
        JavaPairRDD<Integer, double[]> sums = sc.parallelize(ids, 9).mapToPair(i -> {
            double[] v = new double[64];
            java.util.SplittableRandom r = new java.util.SplittableRandom(i);
            for (int k = 0; k < v.length; k++) {
                v[k] = Math.pow(10, r.nextInt(-8, 9)) * r.nextDouble();
            }
            return new Tuple2<>(i, v);
        });
        OrderedTreeAggregate.Merge<double[]> add = (a, b) -> {
            for (int k = 0; k < a.length; k++) {
                a[k] += b[k];
            }
            return a;
        };
        double[] executors = new OrderedTreeAggregate.Plan(9, 2, true, 0).aggregate(sums, add);
        double[] driver = new OrderedTreeAggregate.Plan(9, 1, false, 0).aggregate(sums, add);
        double[] both = new OrderedTreeAggregate.Plan(9, 2, false, 0).aggregate(sums, add);
        org.junit.jupiter.api.Assertions.assertArrayEquals(executors, driver, 0.0);
        org.junit.jupiter.api.Assertions.assertArrayEquals(executors, both, 0.0);
        // and the association does matter for these values: another order gives other bits
        double[] leftToRight = new double[64];
        for (Tuple2<Integer, double[]> t : sums.sortByKey().collect()) {
            add.mergeInPlace(leftToRight, t._2);
        }
        assertFalse(java.util.Arrays.equals(executors, leftToRight), "the test data must be order-sensitive");
    }

    /** A handful of small partials needs no merge stage on the executors: the driver takes them all. */
    @Test
    void smallPartialsGoStraightToTheDriver() {
        SparkConf conf = new SparkConf();
        OrderedTreeAggregate.Plan few = OrderedTreeAggregate.plan(8, 2, 1_900_000, conf, "gradient");
        assertFalse(few.pairwiseOnExecutors());
        assertEquals(8, few.partialsAtDriver());
        // 64 partials of 1.9 MB are 122 MB: the tree of depth 2 brings the driver 8 of them
        OrderedTreeAggregate.Plan many = OrderedTreeAggregate.plan(64, 2, 1_900_000, conf, "gradient");
        assertEquals(8, many.partialsAtDriver());
    }

    @Test
    void thePlanKeepsTheDriverWithinAQuarterOfMaxResultSize() {
        SparkConf conf = new SparkConf().set("spark.driver.maxResultSize", "1m");
        // 9 partitions at depth 2 bring 3 partials to the driver: 3 x 80 KB fits in 256 KB, 3 x 100 KB does not
        OrderedTreeAggregate.Plan small = OrderedTreeAggregate.plan(9, 2, 80_000, conf, "gradient");
        assertFalse(small.pairwiseOnExecutors());
        assertEquals(3, small.partialsAtDriver());
        OrderedTreeAggregate.Plan large = OrderedTreeAggregate.plan(9, 2, 100_000, conf, "gradient");
        assertTrue(large.pairwiseOnExecutors());
        assertEquals(1, large.partialsAtDriver());
        // one partial alone larger than maxResultSize can never be collected: said before any job
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OrderedTreeAggregate.plan(9, 2, 2_000_000, conf, "gradient"));
        assertEquals("each partial gradient is 2.0 MB, more than spark.driver.maxResultSize (1.0 MB): raise "
                + "spark.driver.maxResultSize (and spark.driver.memory)", e.getMessage());
        // unlimited maxResultSize: the driver heap alone bounds the budget
        long heap = Runtime.getRuntime().maxMemory();
        assertEquals(heap / 4, OrderedTreeAggregate.plan(9, 2, 1, new SparkConf().set("spark.driver.maxResultSize", "0"),
                "gradient").driverBudget());
    }
}
