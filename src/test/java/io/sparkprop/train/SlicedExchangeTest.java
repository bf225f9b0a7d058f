package io.sparkprop.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;

import io.sparkprop.data.Example;
import io.sparkprop.exec.SlicedExchange;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.optim.Optimizer;
import io.sparkprop.testutil.LocalSpark;
import io.sparkprop.testutil.SparkTestSupport;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sliced exchange ({@link SlicedExchange}: merge and step as a reduce-scatter on the executors) against the
 * driver's merge: the same bits of {@code θ} and of every epoch's loss, for each update rule, with the ridge term,
 * in mini-batches and full batch, over uneven partitions and in several slices; a checkpoint of its sharded
 * state resumes bit-identically; what it cannot do is refused by name.
 */
@ExtendWith(LocalSpark.class)
class SlicedExchangeTest {
    private static SparkSession spark;
    private static JavaSparkContext sc;

    /** 8 inputs, 1600 tanh units, one output: 16,001 parameters, so 3 partitions make 3 slices. */
    private static final NetworkSpec REGRESSOR = NetworkSpec.builder().input(8).dense(1600, Activation.TANH)
            .dense(1, Activation.IDENTITY).build();
    /** 4 inputs, 2048 tanh units, 3 classes: 16,387 parameters. */
    private static final NetworkSpec CLASSIFIER = NetworkSpec.builder().input(4).dense(2048, Activation.TANH)
            .dense(3, Activation.SOFTMAX).build();

    @TempDir
    Path dir;

    /**
     * Rows of ordinary hostility: an id-like column (offset 1000), a column a million times smaller, a constant
     * 12.34 (whose sums do not round exactly), the rest Gaussian; partitions of 50, 400 and 150 rows.
     */
    private static JavaRDD<Example> hostileRegression() {
        SplittableRandom random = new SplittableRandom(11);
        List<Example> rows = new ArrayList<>();
        for (int i = 0; i < 600; i++) {
            double[] x = new double[8];
            x[0] = 1000 + i % 7;
            x[1] = 1e-6 * TrainerTest.gaussian(random);
            x[2] = 12.34;
            for (int j = 3; j < 8; j++) {
                x[j] = TrainerTest.gaussian(random);
            }
            rows.add(Example.of(x, 0.3 * x[3] - 0.7 * x[4] + 0.01 * (x[0] - 1003) + 0.1 * TrainerTest.gaussian(random)));
        }
        return sc.parallelize(rows, 3).mapPartitionsWithIndex((p, it) -> {
            List<Example> kept = new ArrayList<>();
            int k = 0;
            while (it.hasNext()) {
                Example e = it.next();
                // move rows about so that the partitions are uneven
                if (p != 0 || k++ < 50) {
                    kept.add(e);
                }
            }
            return kept.iterator();
        }, true);
    }

    private static <T> T withExchange(String value, Supplier<T> run) {
        return SparkTestSupport.withLocalProperty(sc, SlicedExchange.EXCHANGE_KEY, value, run);
    }

    private static void assertSameRun(TrainingResult driver, TrainingResult sliced, String what) {
        assertTrue(sliced.aggregation().startsWith("reduce-scatter"), what + ": " + sliced.aggregation());
        assertTrue(!driver.aggregation().startsWith("reduce-scatter"), what + ": " + driver.aggregation());
        assertArrayEquals(driver.parameters().toFlat(), sliced.parameters().toFlat(), 0.0, what);
        List<EpochRecord> a = driver.history().epochs();
        List<EpochRecord> b = sliced.history().epochs();
        assertEquals(a.size(), b.size(), what);
        for (int e = 0; e < a.size(); e++) {
            assertEquals(a.get(e).loss(), b.get(e).loss(), 0.0, what + ", epoch " + (e + 1));
        }
    }

    @Test
    void everyRuleTakesTheDriversBitsInSeveralSlices() {
        JavaRDD<Example> data = hostileRegression().cache();
        for (Optimizer rule : new Optimizer[] {Optimizer.sgd(1e-3), Optimizer.nesterov(1e-3, 0.9),
            Optimizer.momentum(1e-3, 0.8), Optimizer.adam(1e-3).withDecay(0.05)}) {
            for (int batch : new int[] {64, 0}) {
                Trainer t = new Trainer(REGRESSOR).setOptimizer(rule).setRegParam(0.01).setBatchSize(batch)
                        .setBlockSize(16).setMaxEpochs(2).setTol(0).setSeed(3).setLocalSteps(1).setNumShards(3);
                TrainingResult driver = withExchange("driver", () -> t.fit(data));
                TrainingResult sliced = withExchange("sliced", () -> t.fit(data));
                assertTrue(Double.isFinite(driver.history().epochs().get(1).loss()));
                assertSameRun(driver, sliced, rule + ", batch " + batch);
                assertTrue(sliced.aggregation().contains("of 3 partial results in 3 slices"), sliced.aggregation());
            }
        }
        data.unpersist();
    }

    @Test
    void weightedSparseClassificationTakesTheDriversBits() {
        JavaRDD<Example> data = sc.parallelize(TrainerTest.classificationData(500, 8), 3);
        Trainer t = new Trainer(CLASSIFIER).setOptimizer(Optimizer.adam(0.01)).setBatchSize(100).setMaxEpochs(2)
                .setTol(0).setSeed(4).setLocalSteps(1).setNumShards(3);
        assertSameRun(withExchange("driver", () -> t.fit(data)), withExchange("sliced", () -> t.fit(data)),
                "classification");
    }

    @Test
    void float32WithTheRecipeTakesTheDriversBits() {
        JavaRDD<Example> data = sc.parallelize(TrainerTest.classificationData(500, 9), 3);
        MlpSettings s = MlpSettings.builder().optimizer("adam").stepSize(0.01).batchSize(100).maxEpochs(2).tol(0)
                .seed(6).localSteps("1").numShards(3).precision(io.sparkprop.linalg.Precision.FLOAT32).dropout(0.1)
                .labelSmoothing(0.05).classWeights("balanced").stepSchedule("cosine").warmupSteps(3).regParam(0.001)
                .build();
        assertSameRun(withExchange("driver", () -> new Trainer(CLASSIFIER, s).fit(data)),
                withExchange("sliced", () -> new Trainer(CLASSIFIER, s).fit(data)), "float32 with the recipe");
    }

    @Test
    void aResumedRunEqualsAnUninterruptedOne() {
        JavaRDD<Example> data = hostileRegression().cache();
        Trainer t = new Trainer(REGRESSOR).setOptimizer(Optimizer.adam(1e-3)).setBatchSize(100).setTol(0).setSeed(5)
                .setLocalSteps(1);
        double[] uninterrupted = withExchange("driver", () -> t.setMaxEpochs(4).fit(data)).parameters().toFlat();
        String folder = dir.resolve("ckpt").toString();
        // the checkpoint after epoch 2 holds the state collected from the slices
        withExchange("sliced", () -> new Trainer(REGRESSOR).setOptimizer(Optimizer.adam(1e-3)).setBatchSize(100)
                .setTol(0).setSeed(5).setLocalSteps(1).setMaxEpochs(2).setCheckpointing(folder, 2, false).fit(data));
        TrainingResult resumed = withExchange("sliced", () -> new Trainer(REGRESSOR).setOptimizer(Optimizer.adam(1e-3))
                .setBatchSize(100).setTol(0).setSeed(5).setLocalSteps(1).setMaxEpochs(4)
                .setCheckpointing(folder, 2, true).fit(data));
        assertEquals(2, resumed.history().epochs().size());
        assertArrayEquals(uninterrupted, resumed.parameters().toFlat(), 0.0);
        data.unpersist();
    }

    @Test
    void whatItCannotDoIsRefusedByName() {
        JavaRDD<Example> data = sc.parallelize(TrainerTest.classificationData(100, 8), 2);
        IllegalArgumentException clip = assertThrows(IllegalArgumentException.class, () -> withExchange("sliced",
                () -> new Trainer(CLASSIFIER, MlpSettings.builder().clipNorm(1.0).maxEpochs(1).localSteps("1").build())
                        .fit(data)));
        assertEquals(SlicedExchange.EXCHANGE_KEY + " is sliced, but clipNorm needs the global norm before any slice "
                + "moves: set it to auto or driver", clip.getMessage());
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> withExchange("tree",
                () -> new Trainer(CLASSIFIER).setMaxEpochs(1).setLocalSteps(1).fit(data)));
        assertEquals(SlicedExchange.EXCHANGE_KEY + " must be auto, driver or sliced, found tree", bad.getMessage());
        // auto in local mode keeps the driver's merge
        assertTrue(withExchange("auto", () -> new Trainer(CLASSIFIER).setMaxEpochs(1).setLocalSteps(1).fit(data))
                .aggregation().startsWith("pairwise"));
    }
}
