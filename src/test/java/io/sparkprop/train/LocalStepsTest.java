package io.sparkprop.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import io.sparkprop.data.Example;
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
 * Rounds of {@code localSteps} mini-batch steps per shard between merges ({@link LocalStepsRound}): what
 * they compute, what they count, and that everything a synchronous run keeps (the penalty, weights,
 * resume, determinism, divergence checks) still holds.
 */
@ExtendWith(LocalSpark.class)
class LocalStepsTest {
    private static SparkSession spark;
    private static JavaSparkContext sc;
    private static final NetworkSpec SPEC = NetworkSpec.builder().input(4).dense(6, Activation.TANH)
            .dense(3, Activation.SOFTMAX).build();

    @TempDir
    Path dir;

    private static JavaRDD<Example> data(int partitions) {
        return sc.parallelize(TrainerTest.classificationData(400, 11), partitions);
    }

    /** {@code localSteps = 1} is the synchronous trainer: the same rounds, the same bits. */
    @Test
    void oneLocalStepIsTheSynchronousTrainerBitForBit() {
        Trainer sync = new Trainer(SPEC).setOptimizer(Optimizer.adam(0.02)).setBatchSize(40).setMaxEpochs(3).setTol(0);
        TrainingResult a = sync.fit(data(2));
        TrainingResult b = new Trainer(SPEC, sync.settings().toBuilder().localSteps(1).outerStepSize(0.5)
                .outerMomentum(0.9).build()).fit(data(2));
        assertArrayEquals(a.parameters().toFlat(), b.parameters().toFlat(), 0.0);
        assertEquals(a.history().iterations().size(), b.history().iterations().size());
        for (IterationRecord r : b.history().iterations()) {
            assertEquals(1, r.updates(), r.toString());
        }
    }

    /**
     * On one shard a round of {@code k} plain SGD steps is {@code k} synchronous updates on the same slices,
     * with the same decayed steps and ridge term: equal up to the rounding of {@code θ + W(θ_k − θ)/W}.
     */
    @Test
    void onOneShardLocalSgdStepsAreTheSynchronousUpdates() {
        MlpSettings s = MlpSettings.builder().updateRule(Optimizer.sgd(0.2).withDecay(0.05)).regParam(1e-2)
                .batchSize(30).maxEpochs(3).tol(0).numShards(1).seed(5).build();
        double[] sync = new Trainer(SPEC, s).fit(data(1)).parameters().toFlat();
        TrainingResult local = new Trainer(SPEC, s.toBuilder().localSteps(4).build()).fit(data(1));
        double[] l = local.parameters().toFlat();
        for (int i = 0; i < sync.length; i++) {
            assertEquals(sync[i], l[i], 1e-12 * Math.max(1, Math.abs(sync[i])), "parameter " + i);
        }
        assertNotEquals(0, Arrays.stream(sync).map(Math::abs).sum());
    }

    /**
     * The shards continue the run's optimiser state (velocity, Adam's moments and bias correction) rather than
     * restart it every round, so on one shard rounds of {@code k} steps of any rule are the synchronous updates,
     * up to the rounding of the delta; a state restarted every round misses this by far (each round's first Adam
     * step would be a sign step).
     */
    @Test
    void onOneShardLocalStepsOfAnyRuleAreTheSynchronousUpdates() {
        for (Optimizer rule : new Optimizer[] {Optimizer.adam(0.02), Optimizer.momentum(0.05, 0.9),
                Optimizer.nesterov(0.05, 0.9)}) {
            MlpSettings s = MlpSettings.builder().updateRule(rule).regParam(1e-3).batchSize(30).maxEpochs(3).tol(0)
                    .numShards(1).seed(9).build();
            double[] sync = new Trainer(SPEC, s).fit(data(1)).parameters().toFlat();
            double[] local = new Trainer(SPEC, s.toBuilder().localSteps(4).build()).fit(data(1)).parameters()
                    .toFlat();
            for (int i = 0; i < sync.length; i++) {
                assertEquals(sync[i], local[i], 1e-9 * Math.max(1, Math.abs(sync[i])), rule + ", parameter " + i);
            }
        }
    }

    /**
     * The same on a table-shaped regression (DESIGN §9): a label offset by 1e4, a constant column of 12.34
     * beside a 0/1 flag and a unit-scale feature. The delta {@code θ_k − θ} of parameters that grow large is
     * formed and added back without losing more than rounding.
     */
    @Test
    void onOneShardLocalStepsMatchOnLargeOffsetsAndMixedScales() {
        java.util.SplittableRandom random = new java.util.SplittableRandom(17);
        List<Example> rows = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            double x = random.nextGaussian();
            double flag = random.nextInt(2);
            rows.add(Example.of(new double[] {x, 12.34, flag}, new double[] {1e4 + 3 * x - 2 * flag}));
        }
        NetworkSpec linear = NetworkSpec.builder().input(3).dense(4, Activation.TANH).dense(1, Activation.IDENTITY)
                .build();
        MlpSettings s = MlpSettings.builder().updateRule(Optimizer.sgd(1e-3)).regParam(1e-3).batchSize(25)
                .maxEpochs(3).tol(0).numShards(1).seed(2).build();
        double[] sync = new Trainer(linear, s).fit(sc.parallelize(rows, 1)).parameters().toFlat();
        double[] local = new Trainer(linear, s.toBuilder().localSteps(5).build()).fit(sc.parallelize(rows, 1))
                .parameters().toFlat();
        assertTrue(Arrays.stream(sync).map(Math::abs).max().orElse(0) > 10, "the parameters grew large");
        for (int i = 0; i < sync.length; i++) {
            assertEquals(sync[i], local[i], 1e-12 * Math.max(1, Math.abs(sync[i])), "parameter " + i);
        }
    }

    /** 14 updates an epoch in rounds of 4: 4 rounds of 4, 4, 4 and 2 updates; the step follows the updates. */
    @Test
    void theHistoryCountsRoundsAndUpdates() {
        Optimizer decayed = Optimizer.sgd(0.1).withDecay(0.5);
        TrainingResult r = new Trainer(SPEC).setOptimizer(decayed).setBatchSize(29).setBlockSize(10).setTol(0)
                .setMaxEpochs(2).setLocalSteps(4).fit(data(2));
        assertEquals(14, r.iterationsPerEpoch());
        List<Long> updates = new ArrayList<>();
        long applied = 0;
        for (IterationRecord it : r.history().iterations()) {
            updates.add(it.updates());
            assertEquals(decayed.stepSizeAt(applied), it.stepSize(), 0.0, it.toString());
            applied += it.updates();
        }
        assertEquals(List.of(4L, 4L, 4L, 2L, 4L, 4L, 4L, 2L), updates);
        assertEquals(400 * 2, r.history().iterations().stream().mapToLong(IterationRecord::examples).sum());
    }

    /** Local steps learn what synchronous steps learn, on this easy problem, in a quarter of the rounds. */
    @Test
    void localStepsReachTheSynchronousLoss() {
        Trainer sync = new Trainer(SPEC).setOptimizer(Optimizer.adam(0.02)).setBatchSize(20).setMaxEpochs(12).setTol(0);
        TrainingResult a = sync.fit(data(2));
        for (MlpSettings s : new MlpSettings[] {sync.settings().toBuilder().localSteps(4).build(),
            sync.settings().toBuilder().localSteps(4).outerStepSize(0.7).outerMomentum(0.5).build()}) {
            TrainingResult b = new Trainer(SPEC, s).fit(data(2));
            double la = last(a);
            double lb = last(b);
            assertTrue(lb < 1.5 * la + 0.02, "local steps " + s + ": loss " + lb + ", synchronous " + la);
            assertEquals((a.history().iterations().size() + 3) / 4, b.history().iterations().size());
        }
    }

    private static double last(TrainingResult r) {
        return r.history().epochs().get(r.history().epochs().size() - 1).loss();
    }

    /** The same run twice, and with another aggregation depth: the same bits (the merge order is fixed). */
    @Test
    void localStepsAreDeterministic() {
        MlpSettings s = MlpSettings.builder().batchSize(25).localSteps(3).outerMomentum(0.6).outerStepSize(0.8)
                .maxEpochs(2).tol(0).numShards(4).build();
        double[] a = new Trainer(SPEC, s).fit(data(4)).parameters().toFlat();
        double[] b = new Trainer(SPEC, s).fit(data(4)).parameters().toFlat();
        double[] c = new Trainer(SPEC, s.toBuilder().aggregationDepth(1).build()).fit(data(4)).parameters().toFlat();
        assertArrayEquals(a, b, 0.0);
        assertArrayEquals(a, c, 0.0);
    }

    /** The outer momentum is checkpointed with the inner rule's state: a resume ends on the same bits. */
    @Test
    void aResumedRunOfLocalStepsEqualsAnUninterruptedOne() {
        MlpSettings s = MlpSettings.builder().batchSize(25).localSteps(3).outerMomentum(0.6).maxEpochs(4).tol(0)
                .build();
        double[] uninterrupted = new Trainer(SPEC, s).fit(data(2)).parameters().toFlat();
        String folder = dir.resolve("local").toString();
        new Trainer(SPEC, s.toBuilder().maxEpochs(2).build()).setCheckpointing(folder, 1, false).fit(data(2));
        TrainingResult resumed = new Trainer(SPEC, s).setCheckpointing(folder, 1, true).fit(data(2));
        assertEquals(2, resumed.history().epochs().size());
        assertArrayEquals(uninterrupted, resumed.parameters().toFlat(), 0.0);
        // another k would follow another run: refused
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Trainer(SPEC,
                s.toBuilder().localSteps(5).maxEpochs(6).build()).setCheckpointing(folder, 1, true).fit(data(2)));
        assertTrue(e.getMessage().contains("local steps 3, this run has 5"), e.getMessage());
    }

    /** Early stopping's state (best epoch, best parameters) survives a resume of local steps too. */
    @Test
    void earlyStoppingWithLocalStepsSurvivesAResume() {
        JavaRDD<Example> held = sc.parallelize(TrainerTest.classificationData(120, 12), 2);
        MlpSettings s = MlpSettings.builder().optimizer("adam").stepSize(0.05).batchSize(40).localSteps(3)
                .outerMomentum(0.5).maxEpochs(5).tol(0).patience(10).build();
        TrainingResult uninterrupted = new Trainer(SPEC, s).setValidationData(held).fit(data(2));
        String folder = dir.resolve("patience").toString();
        new Trainer(SPEC, s.toBuilder().maxEpochs(3).build()).setValidationData(held)
                .setCheckpointing(folder, 1, false).fit(data(2));
        TrainingResult resumed = new Trainer(SPEC, s).setValidationData(held).setCheckpointing(folder, 1, true)
                .fit(data(2));
        assertEquals(uninterrupted.bestEpoch(), resumed.bestEpoch());
        assertArrayEquals(uninterrupted.parameters().toFlat(), resumed.parameters().toFlat(), 0.0);
    }

    /**
     * Zero-weight rows take no part in the shards' steps nor in their weight in the mean delta: every row is
     * duplicated with a wrong label at weight 0, which, were it counted, would hold the loss above ln 2.
     */
    @Test
    void zeroWeightsAreIgnoredByLocalSteps() {
        List<Example> doubled = new ArrayList<>();
        for (Example e : TrainerTest.classificationData(200, 3)) {
            doubled.add(Example.weighted(1.0, e.features(), e.target()));
            doubled.add(Example.weighted(0.0, e.features(), new double[] {(e.target()[0] + 1) % 3}));
        }
        TrainingResult r = new Trainer(SPEC).setOptimizer(Optimizer.adam(0.05)).setBatchSize(40).setLocalSteps(3)
                .setMaxEpochs(10).setTol(0).fit(sc.parallelize(doubled, 2));
        double loss = last(r);
        assertTrue(loss < 0.5 * Math.log(2), "epoch loss " + loss);
    }

    @Test
    void aDivergingShardStopsTheRunWithTheLastFiniteParameters() {
        NetworkSpec spec = NetworkSpec.builder().input(5).dense(8, Activation.RELU).dense(1, Activation.IDENTITY).build();
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class, () -> new Trainer(spec)
                .setOptimizer(Optimizer.sgd(1e4)).setBatchSize(20).setLocalSteps(4).setMaxEpochs(50).setTol(0)
                .fit(sc.parallelize(TrainerTest.linearData(200, 5, 0.1, 3), 2)));
        assertTrue(e.getMessage().contains(" on shard "), e.getMessage());
        assertTrue(e.lastFiniteParameters().isFinite());
        assertEquals(e.iteration(), e.history().iterations().size());
    }

    /** Validation runs at round boundaries (after each epoch) and early stopping keeps the best epoch's parameters. */
    @Test
    void validationAndEarlyStoppingWorkWithLocalSteps() {
        JavaRDD<Example> held = sc.parallelize(TrainerTest.classificationData(120, 12), 2);
        TrainingResult r = new Trainer(SPEC).setOptimizer(Optimizer.adam(0.05)).setBatchSize(40).setLocalSteps(3)
                .setMaxEpochs(6).setTol(0).setValidationData(held).setPatience(2).fit(data(2));
        assertTrue(r.bestEpoch() >= 0);
        double best = Double.POSITIVE_INFINITY;
        for (EpochRecord e : r.history().epochs()) {
            assertTrue(Double.isFinite(e.validationLoss()) && e.validationAccuracy() > 0, e.toString());
            best = Math.min(best, e.validationLoss());
        }
        assertEquals(best, r.history().epochs().get(r.bestEpoch()).validationLoss(), 0.0);
    }

    @Test
    void badValuesAreRefusedWithTheSettingsName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MlpSettings.builder().localSteps(0).build());
        assertTrue(e.getMessage().contains("localSteps"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> MlpSettings.builder().outerMomentum(1.0).build());
        assertTrue(e.getMessage().contains("outerMomentum"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> MlpSettings.builder().outerStepSize(0).build());
        assertTrue(e.getMessage().contains("outerStepSize"), e.getMessage());
    }

    /**
     * {@code localSteps = auto} is the default: the trainer takes the rule's {@code k} (here one round an epoch of
     * 10 updates, for a run long enough to be worth it), records it, and the run is that of the explicit {@code k}.
     */
    @Test
    void autoIsTheDefaultAndTrainsWithTheRulesK() {
        assertEquals(MlpSettings.LOCAL_STEPS_AUTO, MlpSettings.defaults().localSteps());
        Trainer auto = new Trainer(SPEC).setOptimizer(Optimizer.adam(0.02)).setBatchSize(40).setMaxEpochs(50).setTol(0);
        TrainingResult a = auto.fit(data(2));
        int k = LocalStepsChoice.choose(SPEC, io.sparkprop.linalg.Precision.FLOAT64, 2, 40, 10, 50,
                LocalStepsChoiceTest.ADAM_STATE).localSteps();
        assertEquals(10, k);
        assertEquals(k, a.localSteps());
        assertEquals(50, a.history().iterations().size(), "one round an epoch");
        TrainingResult explicit = new Trainer(SPEC, auto.settings().toBuilder().localSteps(k).build()).fit(data(2));
        assertArrayEquals(explicit.parameters().toFlat(), a.parameters().toFlat(), 0.0);
        // a short run of the same shape stays synchronous
        TrainingResult shortRun = new Trainer(SPEC).setOptimizer(Optimizer.adam(0.02)).setBatchSize(40).setMaxEpochs(2)
                .setTol(0).fit(data(2));
        assertEquals(1, shortRun.localSteps());
        assertEquals(20, shortRun.history().iterations().size());
    }

    /**
     * A resume under {@code auto} takes the checkpoint's {@code k}, whatever the rule would pick for the rest of the
     * run (here 1: the resumed run is short), so that it ends on the bits of the uninterrupted run.
     */
    @Test
    void aResumeUnderAutoTakesTheCheckpointsK() {
        MlpSettings s = MlpSettings.builder().batchSize(25).localSteps(3).maxEpochs(4).tol(0).build();
        double[] uninterrupted = new Trainer(SPEC, s).fit(data(2)).parameters().toFlat();
        String folder = dir.resolve("auto").toString();
        new Trainer(SPEC, s.toBuilder().maxEpochs(2).build()).setCheckpointing(folder, 1, false).fit(data(2));
        MlpSettings auto = s.toBuilder().localSteps("auto").build();
        assertEquals(1, LocalStepsChoice.choose(SPEC, io.sparkprop.linalg.Precision.FLOAT64, 2, 25, 16, 4,
                LocalStepsChoiceTest.ADAM_STATE).localSteps());
        TrainingResult resumed = new Trainer(SPEC, auto).setCheckpointing(folder, 1, true).fit(data(2));
        assertEquals(3, resumed.localSteps());
        assertEquals(2, resumed.history().epochs().size());
        assertArrayEquals(uninterrupted, resumed.parameters().toFlat(), 0.0);
    }

    /**
     * What a resume under {@code auto} reads of a checkpoint: its {@code k}; 1 when it records none (a synchronous run,
     * or one written before the setting existed); nothing without a checkpoint.
     */
    @Test
    void theLocalStepsOfACheckpoint() {
        Checkpoints none = new Checkpoints(dir.resolve("none").toString(), sc.hadoopConfiguration());
        assertEquals(null, Trainer.resumedLocalSteps(none, SPEC));
        String sync = dir.resolve("sync").toString();
        new Trainer(SPEC).setBatchSize(25).setLocalSteps(1).setMaxEpochs(1).setCheckpointing(sync, 1, false)
                .fit(data(2));
        assertEquals(1, Trainer.resumedLocalSteps(new Checkpoints(sync, sc.hadoopConfiguration()), SPEC));
        String local = dir.resolve("local5").toString();
        new Trainer(SPEC).setBatchSize(25).setLocalSteps(5).setMaxEpochs(1).setCheckpointing(local, 1, false)
                .fit(data(2));
        assertEquals(5, Trainer.resumedLocalSteps(new Checkpoints(local, sc.hadoopConfiguration()), SPEC));
    }
}
