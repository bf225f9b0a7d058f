package io.sparkprop.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.ArrayList;
import java.util.List;

import io.sparkprop.testutil.SparkTestSupport;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import scala.Tuple2;

/** The merge order is a function of the keys and the depth only, never of task timing. */
class OrderedTreeAggregateTest {
    private static SparkSession spark;
    private static JavaSparkContext sc;

    @BeforeAll
    static void start() {
        spark = SparkTestSupport.start(OrderedTreeAggregateTest.class);
        sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

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
    void mergesInKeyOrderThroughTheTreeLevels() {
        // 9 partials, depth 2: scale 3, one level of 3 groups (key mod 3), then the driver in key order
        for (int run = 0; run < 3; run++) {
            assertEquals("0.3.6.1.4.7.2.5.8",
                    OrderedTreeAggregate.aggregate(partials(9, -1), 9, 2, (a, b) -> a + "." + b));
        }
        // depth 1: everything to the driver, in key order
        assertEquals("0.1.2.3.4.5.6.7.8", OrderedTreeAggregate.aggregate(partials(9, -1), 9, 1, (a, b) -> a + "." + b));
        // a partition without a partial result is simply absent
        assertEquals("0.3.6.1.7.2.5.8", OrderedTreeAggregate.aggregate(partials(9, 4), 9, 2, (a, b) -> a + "." + b));
        assertNull(OrderedTreeAggregate.aggregate(partials(1, 0), 1, 2, (a, b) -> a + "." + b));
    }
}
