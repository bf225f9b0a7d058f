package io.sparkprop.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import io.sparkprop.data.Example;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.optim.Optimizer;
import org.apache.spark.ExceptionFailure;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Training is bit-identical when Spark re-runs failed tasks ({@code local[2,4]} allows 4 attempts). */
class TrainerRetryTest {
    private static SparkSession spark;
    private static JavaSparkContext sc;

    @BeforeAll
    static void start() {
        spark = SparkSession.builder().master("local[2,4]").appName("TrainerRetryTest")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
        sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    @Test
    void tasksThatFailOnceAndRerunGiveTheSameWeights() throws InterruptedException {
        List<Example> data = TrainerTest.classificationData(400, 6);
        NetworkSpec spec = NetworkSpec.builder().input(4).dense(6, Activation.TANH).dense(3, Activation.SOFTMAX).build();
        // with dropout, whose masks are keyed by (seed, update, shard, block), not drawn from a task's state
        Trainer trainer = new Trainer(spec).setOptimizer(Optimizer.adam(0.01)).setBatchSize(50).setMaxEpochs(3)
                .setTol(0).setNumShards(4);
        trainer.setSettings(trainer.settings().toBuilder().dropout(0.2).build());
        double[] clean = trainer.fit(sc.parallelize(data, 4)).parameters().toFlat();

        // every task of partitions 1 and 3 fails on its first attempt while the shards are packed
        AtomicInteger failures = new AtomicInteger();
        SparkListener countFailures = new SparkListener() {
            @Override
            public void onTaskEnd(SparkListenerTaskEnd end) {
                if (end.reason() instanceof ExceptionFailure) {
                    failures.incrementAndGet();
                }
            }
        };
        sc.sc().addSparkListener(countFailures);
        JavaRDD<Example> flaky = sc.parallelize(data, 4).mapPartitionsWithIndex((p, it) -> {
            if (p % 2 == 1 && TaskContext.get().attemptNumber() == 0) {
                throw new IllegalStateException("injected failure of partition " + p);
            }
            return it;
        }, true);
        double[] retried = trainer.fit(flaky).parameters().toFlat();
        // listener events arrive asynchronously
        for (int wait = 0; wait < 100 && failures.get() < 2; wait++) {
            Thread.sleep(100);
        }
        sc.sc().removeSparkListener(countFailures);
        assertTrue(failures.get() >= 2, "the injected failures happened: " + failures.get());
        assertArrayEquals(clean, retried, 0.0);
    }
}
