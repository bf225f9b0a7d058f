package io.sparkprop.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import io.sparkprop.data.Example;
import io.sparkprop.linalg.GemmBackend;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.GradientSum;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import io.sparkprop.optim.Optimizer;
import io.sparkprop.optim.StepSchedule;
import io.sparkprop.testutil.LocalSpark;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The training recipe in the trainer: step schedules with warm-up, dropout, gradient clipping, class weights and
 * label smoothing change what they should — the steps, the masks, the norm, the weights — and, off, nothing.
 */
@ExtendWith(LocalSpark.class)
class TrainingRecipeTest {
    private static SparkSession spark;
    private static JavaSparkContext sc;

    @TempDir
    Path dir;

    static final NetworkSpec NET = NetworkSpec.builder().input(4).dense(6, Activation.TANH)
            .dense(5, Activation.SIGMOID).dense(3, Activation.SOFTMAX).build();

    /** A 64-bit digest of the exact bits of {@code values}. */
    static long digest(double[] values) {
        long h = 1125899906842597L;
        for (double v : values) {
            h = 31 * h + Double.doubleToLongBits(v);
        }
        return h;
    }

    static MlpSettings.Builder base() {
        return MlpSettings.builder().gemmBackend(GemmBackend.EJML).batchSize(60).blockSize(16).maxEpochs(3)
                .tol(0).seed(7);
    }

    private static JavaRDD<Example> data() {
        return sc.parallelize(TrainerTest.classificationData(400, 11), 3);
    }

    private static TrainingResult fit(MlpSettings s) {
        return new Trainer(NET, s).fit(data());
    }

    private static long run(MlpSettings s) {
        return digest(fit(s).parameters().toFlat());
    }

    /**
     * The digests of four runs taken from the code before schedules, dropout, clipping, class weights and
     * label smoothing existed (EJML's GEMM, so the same on any machine): their defaults, and their settings at
     * 0 / none / a constant schedule, still give those bits (the local-steps run's digest is that of the code since
     * rounds carry the rule's state).
     */
    @Test
    void theRecipesDefaultsAndZeroRatesKeepTheBitsOfRunsFromBeforeIt() {
        long adam = 426886844258956398L;
        long sgdDecay = 817357722936069538L;
        // local steps' digest since rounds continue the rule's state (the shards' mean) instead of restarting it: a
        // change of the algorithm, not of the recipe; before it, 1032167557225528125
        long local = -5513299896558152498L;
        long float32 = 5450749529042426973L;
        assertEquals(adam, run(base().build()));
        assertEquals(sgdDecay, run(base().optimizer("sgd").stepSize(0.1).stepDecay(0.01).build()));
        assertEquals(local, run(base().optimizer("momentum").stepSize(0.05).localSteps(3).outerMomentum(0.5).build()));
        assertEquals(float32, run(base().precision("float32").regParam(1e-3).build()));
        // explicitly off, and a clipping norm no gradient reaches (the norm is computed, nothing is scaled)
        MlpSettings off = base().stepSchedule("constant").warmupSteps(0).stepFloor(0).dropout(0).clipNorm(1e300)
                .classWeights("none").labelSmoothing(0).build();
        assertEquals(adam, run(off));
        assertEquals(local, run(off.toBuilder().optimizer("momentum").stepSize(0.05).localSteps(3).outerMomentum(0.5)
                .build()));
        // each of them on changes the bits
        for (MlpSettings on : new MlpSettings[] {base().dropout(0.1).build(), base().clipNorm(0.01).build(),
            base().labelSmoothing(0.1).build(), base().classWeights("balanced").build(),
            base().stepSchedule("cosine").build(), base().warmupSteps(5).build()}) {
            assertTrue(run(on) != adam, on.toString());
        }
    }

    /** The history holds the schedule's value at every round's first update; the shapes are as documented. */
    @Test
    void theScheduleIsFollowedAndRecorded() {
        MlpSettings s = base().optimizer("sgd").stepSize(0.2).stepSchedule("cosine").warmupSteps(4).stepFloor(0.1)
                .maxEpochs(4).build();
        TrainingResult r = fit(s);
        StepSchedule schedule = s.stepSchedule(r.iterationsPerEpoch());
        long applied = 0;
        for (IterationRecord it : r.history().iterations()) {
            assertEquals(schedule.at(applied), it.stepSize(), 0.0, "iteration " + it.iteration());
            applied += it.updates();
        }
        int u = r.iterationsPerEpoch();
        assertEquals(7, u);
        // warm-up 0.05, 0.1, 0.15, 0.2; then the cosine from 0.2 to 0.02 over the 28 − 4 updates left
        assertEquals(0.05, schedule.at(0), 1e-15);
        assertEquals(0.2, schedule.at(3), 0.0);
        assertEquals(0.2, schedule.at(4), 0.0);
        assertEquals(0.02 + 0.18 * 0.5 * (1 + Math.cos(Math.PI * 12 / 24)), schedule.at(16), 1e-15);
        assertEquals(0.02, schedule.at(28), 1e-15);
        assertEquals(0.02, schedule.at(1000), 1e-15);
        // step: ×0.5 every 2 epochs of 7 updates, floored at 0.3·η; inverse: η/(1 + d·s), the optimiser's own bits
        StepSchedule step = base().stepSize(1).stepSchedule("step").stepDropEpochs(2)
                .stepDropFactor(0.5).stepFloor(0.3).build().stepSchedule(7);
        assertArrayEquals(new double[] {1, 1, 0.5, 0.5, 0.3}, new double[] {step.at(0), step.at(13), step.at(14),
            step.at(27), step.at(28)}, 0.0);
        Optimizer decayed = Optimizer.sgd(0.3, 0.07);
        StepSchedule inverse = base().stepSize(0.3).stepDecay(0.07).build().stepSchedule(7);
        for (long t = 0; t < 100; t++) {
            assertEquals(decayed.stepSizeAt(t), inverse.at(t), 0.0);
        }
        // the default: every update takes the step size itself
        StepSchedule defaults = base().build().stepSchedule(7);
        for (long t = 0; t < 100; t++) {
            assertEquals(base().build().stepSize(), defaults.at(t), 0.0);
        }
        // a schedule with another shape refuses the inverse decay rather than ignoring it
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> base().stepSchedule("cosine").stepDecay(0.1).build());
        assertEquals("stepDecay 0.1 is the inverse schedule's decay, but stepSchedule is cosine: set stepSchedule "
                + "inverse, or stepDecay 0", e.getMessage());
        assertEquals("unknown stepSchedule 'linear', expected one of constant, inverse, step, cosine",
                assertThrows(IllegalArgumentException.class, () -> base().stepSchedule("linear").build()).getMessage());
    }

    /**
     * Full batch, plain SGD: the update is exactly {@code θ − η · c · g/‖g‖} when {@code ‖g‖ > c}, and the history
     * records the norm and the clip; a norm above every gradient's leaves the update as it was.
     */
    @Test
    void clippingScalesTheMergedGradientToTheNormAndReportsIt() {
        MlpSettings s = base().optimizer("sgd").stepSize(0.5).batchSize(0).maxEpochs(1).regParam(0.01)
                .clipNorm(0.05).build();
        Parameters start = Parameters.initialise(NET, 7);
        GradientSum sum = new Trainer(NET, s).computeGradient(data(), start);
        Parameters g = sum.gradient();
        g.scaleInPlace(1.0 / sum.weightSum());
        g.axpyWeightsInPlace(0.01, start);
        double norm = 0;
        for (double v : g.values()) {
            norm += v * v;
        }
        norm = Math.sqrt(norm);
        assertTrue(norm > 0.05, "the test needs a gradient above the norm, found " + norm);
        double[] expected = start.toFlat();
        for (int i = 0; i < expected.length; i++) {
            expected[i] -= 0.5 * (g.values()[i] * (0.05 / norm));
        }
        TrainingResult r = fit(s);
        assertArrayEquals(expected, r.parameters().toFlat(), 1e-15);
        IterationRecord it = r.history().iterations().get(0);
        assertEquals(1, it.clipped());
        assertEquals(norm, it.gradientNorm(), 1e-14 * norm);
        // not clipped: the norm is recorded, the update untouched
        TrainingResult free = fit(s.toBuilder().clipNorm(10 * norm).build());
        assertEquals(0, free.history().iterations().get(0).clipped());
        assertArrayEquals(fit(s.toBuilder().clipNorm(0).build()).parameters().toFlat(), free.parameters().toFlat(), 0.0);
        assertTrue(Double.isNaN(fit(s.toBuilder().clipNorm(0).build()).history().iterations().get(0).gradientNorm()));
        // local steps clip every shard's steps and count them
        TrainingResult local = fit(base().localSteps(3).clipNorm(1e-4).build());
        long clipped = local.history().iterations().stream().mapToLong(IterationRecord::clipped).sum();
        long updates = local.history().iterations().stream().mapToLong(IterationRecord::updates).sum();
        assertTrue(clipped >= updates, "every shard's step clipped: " + clipped + " of " + updates + " updates");
        // huge and tiny gradients: GradientStepTest.clippingNeitherOverflowsNorUnderflows
    }

    /** Dropout's masks are keyed by (seed, update, shard, block): runs and resumes repeat them bit for bit. */
    @Test
    void dropoutRunsRepeatTheirBitsAcrossRunsAndResumes() {
        MlpSettings s = base().dropout(0.3).maxEpochs(4).stepSchedule("cosine").warmupSteps(3).build();
        TrainingResult uninterrupted = fit(s);
        assertArrayEquals(uninterrupted.parameters().toFlat(), fit(s).parameters().toFlat(), 0.0);
        String folder = dir.resolve("dropout").toString();
        // stopped after epoch 2 by the listener, the checkpoint written; resumed with the same settings
        new Trainer(NET, s).setCheckpointing(folder, 1, false).setEpochListener((record, params) -> record.epoch() < 1)
                .fit(data());
        TrainingResult resumed = new Trainer(NET, s).setCheckpointing(folder, 1, true).fit(data());
        assertEquals(2, resumed.history().epochs().size());
        assertArrayEquals(uninterrupted.parameters().toFlat(), resumed.parameters().toFlat(), 0.0);
        // a resume with another rate, or another horizon of the cosine, is refused naming both
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Trainer(NET,
                s.toBuilder().dropout(0.2).build()).setCheckpointing(folder, 1, true).fit(data()));
        assertTrue(e.getMessage().contains("dropout 0.3, this run has 0.2"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Trainer(NET, s.toBuilder().maxEpochs(6).build())
                .setCheckpointing(folder, 1, true).fit(data()));
        assertTrue(e.getMessage().contains("step schedule cosine(over 28 updates), warm-up 3 updates, this run has "
                + "cosine(over 42 updates), warm-up 3 updates"), e.getMessage());
        // with early stopping too: the best epoch and its parameters survive the resume
        JavaRDD<Example> held = sc.parallelize(TrainerTest.classificationData(90, 12), 2);
        MlpSettings patient = s.toBuilder().patience(10).build();
        TrainingResult whole = new Trainer(NET, patient).setValidationData(held).fit(data());
        String early = dir.resolve("dropout-patience").toString();
        new Trainer(NET, patient).setValidationData(held).setCheckpointing(early, 1, false)
                .setEpochListener((record, params) -> record.epoch() < 1).fit(data());
        TrainingResult again = new Trainer(NET, patient).setValidationData(held).setCheckpointing(early, 1, true)
                .fit(data());
        assertEquals(whole.bestEpoch(), again.bestEpoch());
        assertArrayEquals(whole.parameters().toFlat(), again.parameters().toFlat(), 0.0);
    }

    /**
     * Explicit class weights train what the same factors given as example weights train. (Full batch: a row's
     * weight is part of the hash that orders the rows in their shard, so weighted rows fall into other
     * mini-batches; over the full batch only the order of the sums differs.)
     */
    @Test
    void classWeightsAreExampleWeightsAndBalancedCountsTheClasses() {
        List<Example> weighted = new ArrayList<>();
        for (Example e : TrainerTest.classificationData(400, 11)) {
            int c = (int) e.target()[0];
            weighted.add(Example.weighted(e.weight() * new double[] {1, 3, 0.5}[c], e.features(), e.target()));
        }
        MlpSettings s = base().batchSize(0).maxEpochs(5).build();
        double[] byColumn = new Trainer(NET, s).fit(sc.parallelize(weighted, 3)).parameters().toFlat();
        double[] byClass = fit(s.toBuilder().classWeights("1, 3, 0.5").build()).parameters().toFlat();
        assertArrayEquals(byColumn, byClass, 1e-12);
        assertFalse(java.util.Arrays.equals(byClass, fit(s).parameters().toFlat()));
        // balanced: n / (k n_c) from the packing pass's counts, a class without examples weighing nothing
        assertArrayEquals(new double[] {400.0 / (2 * 100), 0.0, 400.0 / (2 * 300)},
                ClassWeights.balanced().factors(3, new long[] {100, 0, 300}), 1e-15);
        assertArrayEquals(new double[] {1, 50}, ClassWeights.parse(" 1 ,50").factors(2, null), 0.0);
        assertEquals("1.0,50.0", ClassWeights.parse("1,50").toString());
        assertEquals("balanced", ClassWeights.parse("Balanced").toString());
        assertEquals("none", ClassWeights.parse("").toString());
    }

    @Test
    void whatTheNetworkCannotTrainIsRefusedBeforeAnyJob() {
        NetworkSpec regression = NetworkSpec.builder().input(4).dense(3, Activation.RELU)
                .dense(1, Activation.IDENTITY).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Trainer(regression, base().labelSmoothing(0.1).build()).fit(data()));
        assertEquals("labelSmoothing 0.1 applies to classification networks (a cross-entropy loss); this network's "
                + "loss is half_squared_error", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new Trainer(regression, base().classWeights("balanced").build()).fit(data()));
        assertEquals("classWeights balanced applies to classification networks (a cross-entropy loss); this "
                + "network's loss is half_squared_error", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new Trainer(NET, base().classWeights("1,2").build()).fit(data()));
        assertEquals("classWeights gives 2 weights (1.0,2.0) for a network of 3 classes: give one per class",
                e.getMessage());
        List<Example> twoClasses = new ArrayList<>();
        for (Example x : TrainerTest.classificationData(100, 3)) {
            if (x.target()[0] < 2) {
                twoClasses.add(x);
            }
        }
        e = assertThrows(IllegalArgumentException.class, () -> new Trainer(NET, base().classWeights("0,0,1").build())
                .fit(sc.parallelize(twoClasses, 2)));
        assertTrue(e.getMessage().startsWith("classWeights 0.0,0.0,1.0 give every training example weight 0 "
                + "(training examples per class ["), e.getMessage());
        String[][] bad = {
            {"-1,2", "classWeights: the weight of class 0 must be finite and >= 0, found -1.0"},
            {"0,0", "classWeights: at least one class weight must be positive, found [0.0, 0.0]"},
            {"1,,2", "classWeights: expected none, balanced, or one weight >= 0 per class separated by commas "
                + "(e.g. 1, 50), found '1,,2'"},
            {"balance", "classWeights: expected none, balanced, or one weight >= 0 per class separated by commas "
                + "(e.g. 1, 50), found 'balance'"},
            {"1,Infinity", "classWeights: the weight of class 1 must be finite and >= 0, found Infinity"}};
        for (String[] b : bad) {
            assertEquals(b[1], assertThrows(IllegalArgumentException.class,
                    () -> base().classWeights(b[0]).build()).getMessage());
        }
        assertEquals("dropout must be in [0, 1), found 1.0",
                assertThrows(IllegalArgumentException.class, () -> base().dropout(1).build()).getMessage());
        assertEquals("labelSmoothing must be in [0, 1), found -0.1",
                assertThrows(IllegalArgumentException.class, () -> base().labelSmoothing(-0.1).build()).getMessage());
        assertEquals("clipNorm must be finite and >= 0, found -1.0",
                assertThrows(IllegalArgumentException.class, () -> base().clipNorm(-1).build()).getMessage());
        assertEquals("warmupSteps must be >= 0 (0 = no warm-up), found -1",
                assertThrows(IllegalArgumentException.class, () -> base().warmupSteps(-1).build()).getMessage());
        assertEquals("stepFloor must be in [0, 1), found 1.0",
                assertThrows(IllegalArgumentException.class, () -> base().stepFloor(1).build()).getMessage());
        assertEquals("stepDropFactor must be in (0, 1], found 1.5",
                assertThrows(IllegalArgumentException.class, () -> base().stepDropFactor(1.5).build()).getMessage());
        assertFalse(base().build().toString().isEmpty());
    }
}
