package io.sparkprop.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import io.sparkprop.data.Example;
import io.sparkprop.linalg.Precision;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.optim.Optimizer;
import io.sparkprop.testutil.LocalSpark;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Training in float32 end to end on {@code local[2]}: half the shard bytes, the same bits from the same seed
 * and partitioning, a resume that equals the uninterrupted run (and refuses a checkpoint of the other
 * precision), local steps and validation, and a result that stays next to float64's where the problem is
 * well conditioned.
 */
@ExtendWith(LocalSpark.class)
class Float32TrainingTest {
    private static SparkSession spark;
    private static JavaSparkContext sc;
    private static final NetworkSpec SPEC = NetworkSpec.builder().input(4).dense(6, Activation.TANH)
            .dense(5, Activation.RELU).dense(3, Activation.SOFTMAX).build();

    @TempDir
    Path dir;

    private static Trainer trainer(Precision precision) {
        return new Trainer(SPEC).setOptimizer(Optimizer.adam(0.01)).setBatchSize(60).setTol(0).setSeed(3)
                .setPrecision(precision);
    }

    private static JavaRDD<Example> unweighted(int n, long seed) {
        List<Example> data = new ArrayList<>();
        for (Example e : TrainerTest.classificationData(n, seed)) {
            data.add(Example.of(e.features().toArray(), e.target()[0]));
        }
        return sc.parallelize(data, 2);
    }

    @Test
    void shardsHoldHalfTheBytesAndTheSameSeedGivesTheSameBits() {
        JavaRDD<Example> data = unweighted(400, 1);
        TrainingResult f64 = trainer(Precision.FLOAT64).setMaxEpochs(3).fit(data);
        TrainingResult f32 = trainer(Precision.FLOAT32).setMaxEpochs(3).fit(data);
        TrainingResult again = trainer(Precision.FLOAT32).setMaxEpochs(3).fit(data);
        // features and targets only (every weight is 1): exactly half
        assertEquals(f64.payloadBytes(), 2 * f32.payloadBytes());
        assertTrue(f32.cachedBytes() <= 0.55 * f64.cachedBytes(), f32.cachedBytes() + " vs " + f64.cachedBytes());
        assertArrayEquals(f32.parameters().toFlat(), again.parameters().toFlat(), 0.0);
        assertEquals(Precision.FLOAT32, f32.precision());
        assertNotEquals(0.0, f32.parameters().maxAbsDifference(f64.parameters()), "float32 did run");
        // 3 epochs of Adam from the same start: the float32 run stays next to the float64 one
        assertTrue(f32.parameters().maxAbsDifference(f64.parameters()) < 1e-3,
                "max |Δθ| " + f32.parameters().maxAbsDifference(f64.parameters()));
    }

    /**
     * A convex problem, full batch (80 steps of 0.5 on unit-variance features: converged): float32's rounding
     * does not move the optimum it reaches.
     */
    @Test
    void aLinearModelReachesFloat64sOptimumToFloatAccuracy() {
        SplittableRandom random = new SplittableRandom(4);
        List<Example> rows = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            double[] x = {random.nextGaussian(), random.nextGaussian(), random.nextGaussian()};
            rows.add(Example.of(x, new double[] {2 * x[0] - x[1] + 0.5 * x[2] + 1 + 0.1 * random.nextGaussian()}));
        }
        NetworkSpec linear = NetworkSpec.builder().input(3).dense(1, Activation.IDENTITY).build();
        JavaRDD<Example> data = sc.parallelize(rows, 2);
        Trainer t = new Trainer(linear).setOptimizer(Optimizer.sgd(0.5)).setBatchSize(0).setMaxEpochs(80).setTol(0);
        double[] w64 = t.fit(data).parameters().toFlat();
        double[] w32 = t.setPrecision(Precision.FLOAT32).fit(data).parameters().toFlat();
        for (int i = 0; i < w64.length; i++) {
            assertEquals(w64[i], w32[i], 1e-5 * Math.max(1, Math.abs(w64[i])), "parameter " + i);
        }
    }

    @Test
    void resumingEqualsTheUninterruptedRunAndTheOtherPrecisionIsRefused() {
        JavaRDD<Example> data = unweighted(300, 2);
        double[] uninterrupted = trainer(Precision.FLOAT32).setLocalSteps(2).setMaxEpochs(4).fit(data).parameters()
                .toFlat();
        String folder = dir.resolve("f32").toString();
        trainer(Precision.FLOAT32).setLocalSteps(2).setMaxEpochs(2).setCheckpointing(folder, 1, false).fit(data);
        TrainingResult resumed = trainer(Precision.FLOAT32).setLocalSteps(2).setMaxEpochs(4)
                .setCheckpointing(folder, 1, true).fit(data);
        assertArrayEquals(uninterrupted, resumed.parameters().toFlat(), 0.0);
        assertEquals(2, resumed.history().epochs().size());

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> trainer(Precision.FLOAT64)
                .setLocalSteps(2).setMaxEpochs(5).setCheckpointing(folder, 1, true).fit(data));
        assertTrue(e.getMessage().contains("was written with precision float32, this run has the default."),
                e.getMessage());
        String other = dir.resolve("f64").toString();
        trainer(Precision.FLOAT64).setMaxEpochs(1).setCheckpointing(other, 1, false).fit(data);
        e = assertThrows(IllegalArgumentException.class, () -> trainer(Precision.FLOAT32).setMaxEpochs(2)
                .setCheckpointing(other, 1, true).fit(data));
        assertTrue(e.getMessage().contains("precision (not recorded), this run has float32"), e.getMessage());
    }

    /** Early stopping in float32 (validation scored on float32 shards) resumes to the uninterrupted run's bits. */
    @Test
    void earlyStoppingResumesToTheSameBits() {
        JavaRDD<Example> data = unweighted(300, 8);
        JavaRDD<Example> held = unweighted(120, 9);
        TrainingResult uninterrupted = trainer(Precision.FLOAT32).setMaxEpochs(5).setValidationData(held)
                .setPatience(1).fit(data);
        String folder = dir.resolve("f32-patience").toString();
        trainer(Precision.FLOAT32).setMaxEpochs(2).setValidationData(held).setPatience(1)
                .setCheckpointing(folder, 1, false).fit(data);
        TrainingResult resumed = trainer(Precision.FLOAT32).setMaxEpochs(5).setValidationData(held).setPatience(1)
                .setCheckpointing(folder, 1, true).fit(data);
        assertArrayEquals(uninterrupted.parameters().toFlat(), resumed.parameters().toFlat(), 0.0);
        assertEquals(uninterrupted.bestEpoch(), resumed.bestEpoch());
    }

    @Test
    void validationIsScoredInFloat32NextToFloat64() {
        JavaRDD<Example> data = unweighted(300, 5);
        JavaRDD<Example> held = unweighted(120, 6);
        TrainingResult f64 = trainer(Precision.FLOAT64).setMaxEpochs(2).setValidationData(held).fit(data);
        TrainingResult f32 = trainer(Precision.FLOAT32).setMaxEpochs(2).setValidationData(held).fit(data);
        for (int e = 0; e < 2; e++) {
            EpochRecord a = f64.history().epochs().get(e);
            EpochRecord b = f32.history().epochs().get(e);
            assertEquals(a.validationLoss(), b.validationLoss(), 1e-4 * a.validationLoss());
            assertEquals(a.loss(), b.loss(), 1e-4 * a.loss());
        }
    }

    /** A Unix-timestamp column keeps its variation in float64 and would lose it in float32: refused, named. */
    @Test
    void aColumnFloat32CannotHoldIsRefusedWithTheRemedy() {
        SplittableRandom random = new SplittableRandom(7);
        List<Example> rows = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            rows.add(Example.of(new double[] {random.nextDouble(), 1.7e9 + 4 * random.nextDouble(), 1, 0}, i % 3));
        }
        JavaRDD<Example> data = sc.parallelize(rows, 2);
        trainer(Precision.FLOAT64).setMaxEpochs(1).fit(data);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> trainer(Precision.FLOAT32).setMaxEpochs(1).fit(data));
        assertTrue(e.getMessage().contains("feature 1 cannot be held in float32: its values in partition "),
                e.getMessage());
        assertTrue(e.getMessage().endsWith("centre the column (subtract its mean) or train with precision float64"),
                e.getMessage());
    }
}
