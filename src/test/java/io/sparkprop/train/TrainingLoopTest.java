package io.sparkprop.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.sparkprop.nn.Activation;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The driver loop alone, without Spark: its rounds are a quadratic {@code J(θ) = ½‖θ − θ*‖²} computed here, so
 * what is tested is the loop's own bookkeeping — the history, the epoch loss, the stopping rules, divergence,
 * the listener and the checkpoints.
 */
class TrainingLoopTest {
    private static final NetworkSpec NET = NetworkSpec.builder().input(2).dense(1, Activation.IDENTITY).build();

    @TempDir
    Path dir;

    /**
     * Gradient steps on {@code ½‖θ − θ*‖²}, the round's weight {@code t + 1}; round {@code (divergeEpoch,
     * divergeRound)} reports a divergence; rounds of {@code emptyRound} find nothing to learn.
     */
    private static final class Quadratic implements Round {
        final double[] target = {1.0, -2.0, 0.5};
        final MlpSettings settings;
        int divergeEpoch = -1;
        int divergeRound = -1;
        int emptyRound = -1;
        final List<String> describedJobs = new ArrayList<>();

        Quadratic(MlpSettings settings) {
            this.settings = settings;
        }

        @Override
        public Outcome run(ModelState state, int epoch, int t) {
            double eta = settings.stepSize();
            if (epoch == divergeEpoch && t == divergeRound) {
                return new Outcome(Double.NaN, 1, 1, 1, eta, Double.NaN, 0, "the loss is not finite (loss NaN)");
            }
            if (t == emptyRound) {
                return new Outcome(Double.NaN, 0, 3, 1, eta, Double.NaN, 0, null);
            }
            double[] theta = state.current.toFlat();
            double[] g = new double[theta.length];
            double objective = 0;
            for (int i = 0; i < g.length; i++) {
                g[i] = theta[i] - target[i];
                objective += 0.5 * g[i] * g[i];
            }
            state.updater.update(theta, g, eta, state.updates);
            state.current = Parameters.fromFlat(NET, theta);
            state.updates++;
            return new Outcome(objective, t + 1, 10, 2, eta, Double.NaN, 0, null);
        }

        @Override
        public ModelState newState(Parameters initial) {
            return new ModelState(initial, settings.updateRule(), null);
        }

        @Override
        public int stepsIn(int t) {
            return 1;
        }

        @Override
        public List<String> otherFingerprints() {
            return List.of();
        }
    }

    private static MlpSettings.Builder settings() {
        return MlpSettings.builder().optimizer("sgd").stepSize(0.25).maxEpochs(5).tol(0);
    }

    private TrainingLoop loop(Quadratic round, int rounds, Checkpoints checkpoints, boolean resume,
                              EpochListener listener) {
        Map<String, String> identity = new LinkedHashMap<>();
        identity.put("test", "quadratic");
        return new TrainingLoop(round.describedJobs::add, NET, round.settings, round, rounds, null, checkpoints, 1,
                resume, identity, listener);
    }

    private static Parameters start() {
        return Parameters.fromFlat(NET, new double[] {0, 0, 0});
    }

    @Test
    void everyRoundIsRecordedAndTheEpochLossIsTheirWeightedMean() {
        Quadratic q = new Quadratic(settings().build());
        q.emptyRound = 2;
        TrainingLoop.Result r = loop(q, 3, null, false, null).run(start());
        List<IterationRecord> its = r.history().iterations();
        assertEquals(15, its.size());
        assertEquals(5, r.history().epochs().size());
        for (int e = 0; e < 5; e++) {
            // rounds 0 and 1 learn with weights 1 and 2; round 2 finds nothing and is left out of the mean
            IterationRecord a = its.get(3 * e);
            IterationRecord b = its.get(3 * e + 1);
            IterationRecord c = its.get(3 * e + 2);
            assertEquals(0, c.updates());
            assertEquals((a.loss() * 1 + b.loss() * 2) / 3, r.history().epochs().get(e).loss(), 1e-15);
            assertEquals(3 * e + 2, c.iteration());
        }
        assertFalse(r.converged());
        assertEquals(-1, r.bestEpoch());
        // θ after 10 updates of θ ← θ − ¼(θ − θ*) from 0: θ* (1 − (3/4)^10)
        double shrink = 1 - Math.pow(0.75, 10);
        assertArrayEquals(new double[] {shrink, -2 * shrink, 0.5 * shrink}, r.parameters().toFlat(), 1e-15);
        assertEquals("sparkprop epoch 1/5 round 1/3", q.describedJobs.get(0));
    }

    @Test
    void aSmallRelativeChangeOfTheEpochLossConverges() {
        Quadratic q = new Quadratic(settings().stepSize(1.0).maxEpochs(50).tol(1e-3).build());
        // η = 1 reaches θ* in one update: the loss is 0 from the second epoch on, a change of 0 relative to 0
        TrainingLoop.Result r = loop(q, 1, null, false, null).run(start());
        assertTrue(r.converged());
        assertEquals(3, r.history().epochs().size());
    }

    @Test
    void aDivergedRoundEndsTheRunWithTheLastFiniteParameters() {
        Quadratic q = new Quadratic(settings().build());
        q.divergeEpoch = 1;
        q.divergeRound = 1;
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class,
                () -> loop(q, 2, null, false, null).run(start()));
        assertEquals(1, e.epoch());
        assertEquals(3, e.iteration());
        assertTrue(e.getMessage().startsWith("training diverged at epoch 2, iteration 4: the loss is not finite"),
                e.getMessage());
        double shrink = 1 - Math.pow(0.75, 3);
        assertArrayEquals(new double[] {shrink, -2 * shrink, 0.5 * shrink}, e.lastFiniteParameters().toFlat(), 1e-15);
        assertEquals(3, e.history().iterations().size());
    }

    @Test
    void aRunStoppedByItsListenerResumesToTheUninterruptedBits() {
        MlpSettings s = settings().optimizer("momentum").momentum(0.9).build();
        TrainingLoop.Result whole = loop(new Quadratic(s), 2, null, false, null).run(start());
        String folder = dir.resolve("checkpoints").toString();
        Checkpoints checkpoints = new Checkpoints(folder, new Configuration());
        List<Integer> seen = new ArrayList<>();
        TrainingLoop.Result stopped = loop(new Quadratic(s), 2, checkpoints, false, (record, params) -> {
            seen.add(record.epoch());
            return record.epoch() < 1;
        }).run(start());
        assertEquals(List.of(0, 1), seen);
        assertEquals(2, stopped.history().epochs().size());
        // the velocity is part of the checkpoint: the resumed run follows the uninterrupted one bit for bit
        TrainingLoop.Result resumed = loop(new Quadratic(s), 2, checkpoints, true, null).run(start());
        assertEquals(3, resumed.history().epochs().size());
        assertEquals(2, resumed.history().epochs().get(0).epoch());
        assertArrayEquals(whole.parameters().toFlat(), resumed.parameters().toFlat(), 0.0);
    }
}
