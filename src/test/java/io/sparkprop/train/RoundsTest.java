package io.sparkprop.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkprop.data.Example;
import io.sparkprop.exec.OrderedTreeAggregate;
import io.sparkprop.exec.PackedData;
import io.sparkprop.linalg.GemmChoice;
import io.sparkprop.linalg.Precision;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.GradientSum;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import io.sparkprop.optim.GradientStep;
import io.sparkprop.testutil.LocalSpark;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The two rounds, each run once by hand on packed data: what a round does to the driver's state. */
@ExtendWith(LocalSpark.class)
class RoundsTest {
    private static SparkSession spark;
    private static JavaSparkContext sc;
    private static final NetworkSpec SPEC = NetworkSpec.builder().input(4).dense(6, Activation.TANH)
            .dense(3, Activation.SOFTMAX).build();

    private static JavaRDD<Example> data() {
        return sc.parallelize(TrainerTest.classificationData(400, 11), 2).repartition(2);
    }

    private static PackedData pack(int block) {
        return PackedData.pack(sc, data(), SPEC, block, Precision.FLOAT64, 0.1, "training", null, null);
    }

    private static OrderedTreeAggregate.Plan plan() {
        return OrderedTreeAggregate.plan(2, 2, 8 * SPEC.parameterCount(), sc.getConf(), "gradient");
    }

    @Test
    void aSynchronousRoundIsOneGradientStepOnTheMergedSums() {
        MlpSettings s = MlpSettings.builder().optimizer("momentum").momentum(0.5).stepSize(0.3).regParam(0.01)
                .clipNorm(0.05).batchSize(0).build();
        try (PackedData packed = pack(128)) {
            SynchronousRound round = new SynchronousRound(sc, packed, plan(), GemmChoice.decide(s.gemmBackend()), s,
                    1, false);
            ModelState state = round.newState(Parameters.initialise(SPEC, 7));
            Parameters before = state.current;
            double[] bits = before.toFlat();
            GradientSum sum = round.gradient(before, 0, 0, 0);
            Parameters expected = before.copy();
            GradientStep.Result step = new GradientStep(0.01, 0.05).apply(sum, expected,
                    s.updateRule().newUpdater(expected.size()), 0.3, 0);
            Round.Outcome o = round.run(state, 0, 0);
            assertTrue(o.updated());
            assertArrayEquals(expected.toFlat(), state.current.toFlat(), 0.0);
            assertArrayEquals(bits, before.toFlat(), 0.0, "θ_t is not changed: it was shipped");
            assertEquals(1, state.updates);
            assertEquals(step.objective(), o.objective(), 0.0);
            assertEquals(step.gradientNorm(), o.gradientNorm(), 0.0);
            assertEquals(1, o.clipped());
            assertEquals(400, o.examples());
            assertEquals(packed.weightSum(), o.weightSum(), 1e-12 * packed.weightSum());
            assertEquals(1, round.stepsIn(0));
            assertNull(o.divergence());
        }
    }

    @Test
    void aRoundOfLocalStepsCountsItsStepsClipsAndLargestNorm() {
        MlpSettings s = MlpSettings.builder().optimizer("sgd").stepSize(0.1).batchSize(40).localSteps(3)
                .clipNorm(1e-4).build();
        try (PackedData packed = pack(20)) {
            // 400 rows in batches of 40: 10 steps an epoch, rounds of 3, 3, 3 and 1
            LocalStepsRound round = new LocalStepsRound(sc, packed, plan(), GemmChoice.decide(s.gemmBackend()), s, 10);
            assertArrayEquals(new int[] {3, 3, 3, 1}, new int[] {round.stepsIn(0), round.stepsIn(1), round.stepsIn(2),
                round.stepsIn(3)});
            ModelState state = round.newState(Parameters.initialise(SPEC, 7));
            Round.Outcome o = round.run(state, 0, 0);
            assertTrue(o.updated());
            assertEquals(3, state.updates);
            // both shards clip each of their 3 steps, and the largest norm met is recorded
            assertEquals(6, o.clipped());
            assertTrue(o.gradientNorm() > 1e-4 && Double.isFinite(o.gradientNorm()), "norm " + o.gradientNorm());
            assertEquals(120, o.examples());
            Round.Outcome last = round.run(state, 0, 3);
            assertEquals(4, state.updates);
            assertEquals(40, last.examples());
        }
    }
}
