package io.sparkprop.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import io.sparkprop.data.Example;
import io.sparkprop.linalg.GemmBackend;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.kernel.BackpropKernel;
import io.sparkprop.optim.Optimizer;
import io.sparkprop.testutil.LocalSpark;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.ejml.data.DMatrixRMaj;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a run carries from one epoch to the next, and across an interruption: early-stopping and
 * convergence state, the run's identity, the optimiser's step counter, the epoch objective, the
 * merge order, the validation metrics.
 */
@ExtendWith(LocalSpark.class)
class TrainingStateTest {
    private static SparkSession spark;
    private static JavaSparkContext sc;
    private static final NetworkSpec SPEC = NetworkSpec.builder().input(4).dense(6, Activation.TANH)
            .dense(3, Activation.SOFTMAX).build();

    @TempDir
    Path dir;

    /** Validation rows whose labels are the training rule shifted by one class: the better the fit, the worse. */
    private static JavaRDD<Example> adversarialValidation() {
        List<Example> shifted = new ArrayList<>();
        for (Example e : TrainerTest.classificationData(120, 77)) {
            shifted.add(Example.of(e.features().toArray(), (e.target()[0] + 1) % 3));
        }
        return sc.parallelize(shifted, 2);
    }

    private Trainer trainer() {
        return new Trainer(SPEC).setOptimizer(Optimizer.adam(0.05)).setBatchSize(60).setTol(0).setSeed(3);
    }

    @Test
    void earlyStoppingStateSurvivesAResume() {
        JavaRDD<Example> data = sc.parallelize(TrainerTest.classificationData(300, 4), 2);
        JavaRDD<Example> validation = adversarialValidation();
        TrainingResult uninterrupted = trainer().setValidationData(validation).setPatience(20).setMaxEpochs(6)
                .fit(data);
        assertTrue(uninterrupted.bestEpoch() < 3, "the best epoch must lie before the interruption, found "
                + uninterrupted.bestEpoch());
        String folder = dir.resolve("patience").toString();
        trainer().setValidationData(validation).setPatience(20).setMaxEpochs(3).setCheckpointing(folder, 1, false).fit(data);
        TrainingResult resumed = trainer().setValidationData(validation).setPatience(20).setMaxEpochs(6)
                .setCheckpointing(folder, 1, true).fit(data);
        assertEquals(uninterrupted.bestEpoch(), resumed.bestEpoch());
        assertArrayEquals(uninterrupted.parameters().toFlat(), resumed.parameters().toFlat(), 0.0);
    }

    @Test
    void aRunThatStoppedOnTolStaysStopped() {
        JavaRDD<Example> data = sc.parallelize(TrainerTest.classificationData(300, 4), 2);
        String folder = dir.resolve("tol").toString();
        Trainer converging = trainer().setTol(0.2).setMaxEpochs(30).setCheckpointing(folder, 100, false);
        TrainingResult first = converging.fit(data);
        assertTrue(first.converged());
        int epochs = first.history().epochs().size();
        assertTrue(epochs < 30, "converged after " + epochs + " epochs");
        TrainingResult resumed = trainer().setTol(0.2).setMaxEpochs(30).setCheckpointing(folder, 100, true)
                .fit(data);
        assertTrue(resumed.converged());
        assertEquals(0, resumed.history().epochs().size(), "no epoch after the stop");
        assertArrayEquals(first.parameters().toFlat(), resumed.parameters().toFlat(), 0.0);
    }

    @Test
    void aResumeOnAnotherScheduleIsRefusedNamingBothValues() {
        JavaRDD<Example> data = sc.parallelize(TrainerTest.classificationData(300, 4), 4);
        String folder = dir.resolve("identity").toString();
        trainer().setNumShards(2).setMaxEpochs(1).setCheckpointing(folder, 1, false).fit(data);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> trainer().setNumShards(4).setMaxEpochs(2).setCheckpointing(folder, 1, true).fit(data));
        assertTrue(e.getMessage().contains("was written with shards 2, this run has 4"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> trainer().setNumShards(2).setSeed(4).setMaxEpochs(2)
                .setOptimizer(Optimizer.sgd(0.1)).setCheckpointing(folder, 1, true).fit(data));
        assertTrue(e.getMessage().contains("seed 3, this run has 4"), e.getMessage());
        assertTrue(e.getMessage().contains("optimizer adam(stepSize=0.05, beta1=0.9, beta2=0.999, epsilon=1.0E-8), "
                + "this run has sgd(stepSize=0.1)"), e.getMessage());
        // what only decides when to stop may change: the run goes on
        TrainingResult more = trainer().setNumShards(2).setMaxEpochs(2).setTol(1e-9).setCheckpointing(folder, 1, true)
                .fit(data);
        assertEquals(1, more.history().epochs().size());
    }

    /**
     * Adam's bias correction and the decay schedule count applied updates: iterations whose slice holds
     * only zero-weight examples change nothing, not even the step counter.
     */
    @Test
    void skippedIterationsDoNotAdvanceTheStepCounter() {
        List<Example> examples = new ArrayList<>();
        for (Example e : TrainerTest.classificationData(400, 8)) {
            // a few examples carry weight; most slices of 20 hold none
            examples.add(Example.weighted(examples.size() % 50 == 0 ? 1.0 : 0.0, e.features(), e.target()));
        }
        Optimizer decayed = Optimizer.sgd(0.1).withDecay(0.5);
        TrainingResult r = new Trainer(SPEC).setOptimizer(decayed).setBatchSize(20).setBlockSize(10).setTol(0)
                .setMaxEpochs(2).setSeed(1).fit(sc.parallelize(examples, 2));
        int applied = 0;
        int skipped = 0;
        for (IterationRecord it : r.history().iterations()) {
            if (Double.isNaN(it.loss())) {
                skipped++;
            } else {
                assertEquals(decayed.stepSizeAt(applied), it.stepSize(), 0.0, "update " + applied);
                applied++;
            }
        }
        assertTrue(skipped > 0 && applied > 0, applied + " applied, " + skipped + " skipped");
    }

    /** One parameter state for both terms: full batch, the epoch loss is J(θ) at the epoch's start. */
    @Test
    void theEpochLossIsTheObjectiveOfOneParameterState() {
        JavaRDD<Example> data = sc.parallelize(TrainerTest.classificationData(200, 6), 2);
        TrainingResult r = new Trainer(SPEC).setOptimizer(Optimizer.sgd(0.5)).setBatchSize(0).setRegParam(0.3)
                .setTol(0).setMaxEpochs(4).setSeed(2).fit(data);
        for (EpochRecord e : r.history().epochs()) {
            assertEquals(r.history().iterations().get(e.epoch()).loss(), e.loss(), 0.0, "epoch " + e.epoch());
        }
    }

    /** The bits of the sum depend on the number of shards only: not on the tree's depth nor where it runs. */
    @Test
    void theAggregationDepthChangesNoBit() {
        JavaRDD<Example> data = sc.parallelize(TrainerTest.classificationData(900, 12), 9);
        double[] reference = null;
        for (int depth = 1; depth <= 3; depth++) {
            double[] p = trainer().setNumShards(9).setAggregationDepth(depth).setMaxEpochs(2).fit(data)
                    .parameters().toFlat();
            if (reference == null) {
                reference = p;
            } else {
                assertArrayEquals(reference, p, 0.0, "depth " + depth);
            }
        }
    }

    @Test
    void theGemmIsChosenOnTheDriverAndRecorded() {
        JavaRDD<Example> data = sc.parallelize(TrainerTest.classificationData(100, 2), 2);
        TrainingResult r = trainer().setGemmBackend(GemmBackend.EJML).setMaxEpochs(1).fit(data);
        assertEquals("ejml (pure Java)", r.gemm());
        assertTrue(r.bitsPortable());
        TrainingResult auto = trainer().setMaxEpochs(1).fit(data);
        assertTrue(auto.gemm().startsWith(GemmBackend.AUTO.gemm().name() + " ("), auto.gemm());
    }

    /** Accuracy is a classifier's metric: threshold 0.5 for one sigmoid unit, absent for a regression. */
    @Test
    void accuracyIsThresholdedForOneSigmoidAndAbsentForRegression() {
        SplittableRandom random = new SplittableRandom(5);
        List<Example> train = new ArrayList<>();
        List<Example> held = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            double[] x = {TrainerTest.gaussian(random), TrainerTest.gaussian(random)};
            double label = x[0] + 0.3 * TrainerTest.gaussian(random) > 0 ? 1 : 0;
            (i % 4 == 0 ? held : train).add(Example.of(x, label));
        }
        NetworkSpec binary = NetworkSpec.builder().input(2).dense(1, Activation.SIGMOID).build();
        TrainingResult r = new Trainer(binary).setOptimizer(Optimizer.adam(0.05)).setBatchSize(50).setTol(0)
                .setMaxEpochs(3).setValidationData(sc.parallelize(held, 2)).fit(sc.parallelize(train, 2));
        double accuracy = r.history().epochs().get(2).validationAccuracy();
        // the direct count with the final parameters
        BackpropKernel kernel = new BackpropKernel(binary, GemmBackend.EJML.gemm());
        DMatrixRMaj x = new DMatrixRMaj(2, held.size());
        for (int j = 0; j < held.size(); j++) {
            x.set(0, j, held.get(j).features().apply(0));
            x.set(1, j, held.get(j).features().apply(1));
        }
        DMatrixRMaj out = new DMatrixRMaj(1, held.size());
        kernel.predict(r.parameters(), x, out);
        int correct = 0;
        for (int j = 0; j < held.size(); j++) {
            correct += (out.get(0, j) >= 0.5) == (held.get(j).target()[0] >= 0.5) ? 1 : 0;
        }
        assertEquals((double) correct / held.size(), accuracy, 1e-12);
        assertNotEquals(1.0, accuracy);

        NetworkSpec regression = NetworkSpec.builder().input(2).dense(1, Activation.IDENTITY).build();
        TrainingResult reg = new Trainer(regression).setOptimizer(Optimizer.adam(0.05)).setBatchSize(50).setTol(0)
                .setMaxEpochs(2).setValidationData(sc.parallelize(held, 2)).fit(sc.parallelize(train, 2));
        for (EpochRecord e : reg.history().epochs()) {
            assertTrue(Double.isNaN(e.validationAccuracy()), "regression accuracy " + e.validationAccuracy());
            assertFalse(Double.isNaN(e.validationLoss()));
        }
    }

    /** Features of ~1e300 make the loss meaningless: never "converged", however flat it looks. */
    @Test
    void aMeaninglessLossIsNeverCalledConverged() {
        List<Example> huge = new ArrayList<>();
        SplittableRandom random = new SplittableRandom(9);
        for (int i = 0; i < 100; i++) {
            huge.add(Example.of(new double[] {1e149 * (1 + random.nextDouble()), random.nextDouble()}, random.nextDouble()));
        }
        NetworkSpec linear = NetworkSpec.builder().input(2).dense(1, Activation.IDENTITY).build();
        // losses of ~1e298: finite, and flat to far below any tol relative to themselves
        TrainingResult r = new Trainer(linear).setOptimizer(Optimizer.sgd(1e-300)).setBatchSize(0).setTol(0.5)
                .setMaxEpochs(3).fit(sc.parallelize(huge, 2));
        assertTrue(r.history().epochs().get(0).loss() > 1e200);
        assertFalse(r.converged(), "a loss of " + r.history().epochs().get(0).loss() + " converged");
        assertEquals(3, r.history().epochs().size());
    }
}
