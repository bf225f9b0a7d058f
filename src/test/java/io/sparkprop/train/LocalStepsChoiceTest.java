package io.sparkprop.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkprop.linalg.Precision;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.NetworkSpec;
import org.junit.jupiter.api.Test;

/** The rule of {@code localSteps = auto} ({@link LocalStepsChoice}), on the shapes the README names. */
class LocalStepsChoiceTest {
    /** Adam's two moments, the default rule's state a round of local steps ships with the parameters. */
    static final int ADAM_STATE = 2;
    private static final NetworkSpec DIGITS = NetworkSpec.builder().input(64).dense(64, Activation.RELU)
            .dense(10, Activation.SOFTMAX).build();
    private static final NetworkSpec FASHION = NetworkSpec.builder().input(784).dense(256, Activation.RELU)
            .dense(128, Activation.RELU).dense(10, Activation.SOFTMAX).build();
    private static final NetworkSpec WIDE = NetworkSpec.builder().input(784).dense(4096, Activation.RELU)
            .dense(4096, Activation.RELU).dense(10, Activation.SOFTMAX).build();

    /** The notebook-sized fit: 22 updates an epoch of a tiny network, 60 epochs: one round an epoch. */
    @Test
    void aSmallNetworkOnSmallDataTakesOneRoundAnEpoch() {
        LocalStepsChoice.Choice c = LocalStepsChoice.choose(DIGITS, Precision.FLOAT64, 2, 64, 22, 60, ADAM_STATE);
        assertEquals(22, c.localSteps(), c.describe(22));
        assertTrue(c.describe(22).startsWith("localSteps auto = 22 (1 round an epoch of 22 updates)"), c.describe(22));
    }

    /**
     * Fashion-MNIST's 784-256-128-10 at batch 512 on two shards (118 updates): the fixed cost asks for more than
     * the cap of 64, and two equal rounds of 59 replace rounds of 64 and 54.
     */
    @Test
    void fashionMnistOnTwoShardsTakesTwoEqualRoundsAnEpoch() {
        LocalStepsChoice.Choice c = LocalStepsChoice.choose(FASHION, Precision.FLOAT64, 2, 512, 118, 15, ADAM_STATE);
        assertEquals(59, c.localSteps(), c.describe(118));
        assertEquals(64, c.cap());
        // the fixed cost a round and an update's compute are those of the scaling model and the network's FLOPs
        double flops = 6.0 * (784 * 256 + 256 * 128 + 128 * 10) - 2.0 * 784 * 256;
        assertEquals(256 * flops / LocalStepsChoice.FLOPS_PER_SECOND_FLOAT64, c.updateSeconds(), 1e-12);
        assertEquals(flops, LocalStepsChoice.trainingFlopsPerExample(FASHION), 0.0);
    }

    /** The drift of many shards' models caps k: max(4, 128/S). */
    @Test
    void manyShardsCapTheLocalSteps() {
        assertEquals(64, LocalStepsChoice.maxForShards(2));
        assertEquals(8, LocalStepsChoice.maxForShards(16));
        assertEquals(4, LocalStepsChoice.maxForShards(64));
        assertEquals(128, LocalStepsChoice.maxForShards(1));
        for (int shards : new int[] {1, 2, 3, 4, 8, 16, 32, 64, 512}) {
            LocalStepsChoice.Choice c = LocalStepsChoice.choose(DIGITS, Precision.FLOAT64, shards, 4096, 10_000, 100,
                    ADAM_STATE);
            assertTrue(c.localSteps() <= LocalStepsChoice.maxForShards(shards), shards + " shards: " + c);
            assertTrue(c.localSteps() > 1, shards + " shards: " + c);
        }
    }

    /** When an update's compute dwarfs the round's fixed cost, synchronous SGD loses nothing: k = 1. */
    @Test
    void computeThatDwarfsTheRoundStaysSynchronous() {
        LocalStepsChoice.Choice c = LocalStepsChoice.choose(WIDE, Precision.FLOAT64, 2, 65_536, 100, 50, ADAM_STATE);
        assertEquals(1, c.localSteps(), c.describe(100));
    }

    /** A run whose synchronous rounds cost seconds in all keeps the exact arithmetic: k = 1. */
    @Test
    void aShortRunStaysSynchronous() {
        LocalStepsChoice.Choice c = LocalStepsChoice.choose(DIGITS, Precision.FLOAT64, 2, 40, 10, 3, ADAM_STATE);
        assertEquals(1, c.localSteps());
        assertTrue(c.describe(10).startsWith("localSteps auto = 1 (synchronous): the synchronous run's rounds cost"),
                c.describe(10));
        // the same data for many epochs is worth rounds of local steps
        assertEquals(10, LocalStepsChoice.choose(DIGITS, Precision.FLOAT64, 2, 40, 10, 1000, ADAM_STATE).localSteps());
    }

    /**
     * Two or three updates an epoch stay synchronous however long the run: such rounds save at most two thirds of
     * the fixed cost.
     */
    @Test
    void fewUpdatesAnEpochStaySynchronous() {
        for (int updates = 2; updates < LocalStepsChoice.MIN_LOCAL_STEPS; updates++) {
            LocalStepsChoice.Choice c = LocalStepsChoice.choose(DIGITS, Precision.FLOAT64, 2, 256, updates, 10_000,
                    ADAM_STATE);
            assertEquals(1, c.localSteps(), c.describe(updates));
            assertTrue(c.describe(updates).contains("rounds of fewer than 4 steps"), c.describe(updates));
        }
        assertEquals(4, LocalStepsChoice.choose(DIGITS, Precision.FLOAT64, 2, 256, 4, 10_000, ADAM_STATE).localSteps());
    }

    /** float32's faster GEMMs make an update cheaper, so its k is never smaller than float64's. */
    @Test
    void float32NeverTakesFewerStepsThanFloat64() {
        for (int batch : new int[] {64, 512, 4096, 65_536}) {
            for (int shards : new int[] {1, 2, 8}) {
                int k64 = LocalStepsChoice.choose(FASHION, Precision.FLOAT64, shards, batch, 1000, 20, ADAM_STATE)
                        .localSteps();
                int k32 = LocalStepsChoice.choose(FASHION, Precision.FLOAT32, shards, batch, 1000, 20, ADAM_STATE)
                        .localSteps();
                assertTrue(k32 >= k64, "batch " + batch + ", " + shards + " shards: " + k32 + " < " + k64);
            }
        }
    }

    /** The epoch's rounds are equal to within one step, and k never exceeds the updates of an epoch. */
    @Test
    void roundsAreBalancedOverTheEpoch() {
        for (int updates = 1; updates <= 300; updates++) {
            int k = LocalStepsChoice.choose(DIGITS, Precision.FLOAT64, 2, 64, updates, 1000, ADAM_STATE).localSteps();
            assertTrue(k >= 1 && k <= Math.max(1, updates), updates + " updates: " + k);
            assertTrue(k == 1 || k >= LocalStepsChoice.MIN_LOCAL_STEPS, updates + " updates: " + k);
            if (updates < LocalStepsChoice.MIN_LOCAL_STEPS) {
                assertEquals(1, k, updates + " updates");
            } else if (updates <= 64) {
                assertEquals(updates, k, updates + " updates: one round an epoch");
            }
            if (k > 1) {
                int rounds = LocalStepsRound.roundsPerEpoch(updates, k);
                int last = updates - (rounds - 1) * k;
                assertTrue(last > k - rounds, updates + " updates, k " + k + ": last round of " + last);
            }
        }
    }

    /** The setting's name: auto or an integer >= 1, anything else refused naming the setting. */
    @Test
    void localStepsByName() {
        assertEquals(MlpSettings.LOCAL_STEPS_AUTO, MlpSettings.parseLocalSteps("auto"));
        assertEquals(MlpSettings.LOCAL_STEPS_AUTO, MlpSettings.parseLocalSteps(" AUTO "));
        assertEquals(8, MlpSettings.parseLocalSteps(" 8"));
        assertEquals(1, MlpSettings.parseLocalSteps("1"));
        for (String bad : new String[] {"0", "-2", "eight", "", "2.5"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> MlpSettings.parseLocalSteps(bad));
            assertEquals("localSteps must be auto or an integer >= 1 (1 = synchronous), found '" + bad + "'",
                    e.getMessage());
        }
        assertEquals("auto", MlpSettings.localStepsName(MlpSettings.defaults().localSteps()));
        assertEquals("12", MlpSettings.localStepsName(MlpSettings.builder().localSteps("12").build().localSteps()));
        // an integer means exactly that many: 0 is no spelling of auto
        assertThrows(IllegalArgumentException.class, () -> MlpSettings.builder().localSteps(0));
        assertEquals("auto", MlpSettings.localStepsName(MlpSettings.builder().localSteps(3).localSteps("auto").build()
                .toBuilder().build().localSteps()));
    }
}
