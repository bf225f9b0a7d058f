package io.sparkprop.train;

import io.sparkprop.exec.LocalSteps;
import io.sparkprop.exec.OrderedTreeAggregate;
import io.sparkprop.exec.PackedData;
import io.sparkprop.linalg.GemmChoice;
import io.sparkprop.nn.Parameters;
import io.sparkprop.optim.Optimizer;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * A round of {@code k} local steps (local SGD; Stich 2019, Lin et al. 2020): broadcast {@code θ}, every
 * shard {@code p} takes {@code k} mini-batch steps of the configured rule on its own share of the epoch's
 * next {@code k} global batches ({@link LocalSteps}), the ordered merge sums the example-weighted deltas,
 * and the driver takes one outer step from their mean
 *
 * <pre>  Δ̄ = Σ_p W_p (θ_p − θ) / Σ_p W_p,   G = −Δ̄   (the outer "pseudo-gradient")
 *   v ← μ_o v − η_o G,   θ ← θ + μ_o v − η_o G      (Nesterov; with μ_o = 0: θ ← θ + η_o Δ̄)</pre>
 *
 * as in SlowMo (Wang et al. 2020) and DiLoCo (Douillard et al. 2023). With {@code η_o = 1}, {@code μ_o = 0}
 * the new parameters are the weighted mean of the shards'. The inner rule's state (velocity, Adam's moments)
 * is the run's, in {@link ModelState#updater}: shipped with {@code θ}, continued by every shard, and replaced
 * by the shards' weighted mean {@code Σ_p W_p s_p / Σ_p W_p}: "Local Adam", which synchronises the optimiser's
 * states with the parameters at the price of three times the bytes a round (Iacob et al. 2025, DES-LOC,
 * arXiv:2505.22549, section 1), where DiLoCo keeps a state per worker. A mean keeps the round's result a function
 * of the driver's state alone, so a checkpoint holds it and a resumed run is the same bits; and on one shard a
 * round is {@code k} synchronous updates, whatever the rule. One Spark job covers {@code k} updates, so an
 * epoch of {@code T} mini-batches takes {@code ⌈T/k⌉} jobs instead of {@code T}. The ridge term is part of
 * every inner step; the outer velocity is part of the {@link ModelState} (checkpointed). {@code k = 1}
 * is {@link SynchronousRound}, which the trainer uses then: its update is the exact global gradient step.
 */
final class LocalStepsRound extends ShardRound {
    private final Optimizer outerRule;
    private final boolean plainAveraging;
    private final int localSteps;
    private final int stepsPerEpoch;

    /**
     * @param stepsPerEpoch mini-batch steps an epoch ({@code T}): the shards' blocks are split into this many
     *                      slices, and the epoch has {@code ⌈T/k⌉} rounds
     */
    LocalStepsRound(JavaSparkContext sc, PackedData data, OrderedTreeAggregate.Plan plan, GemmChoice gemm,
                    MlpSettings settings, int stepsPerEpoch) {
        super(sc, data, plan, gemm, settings, stepsPerEpoch);
        if (settings.localSteps() < 2) {
            throw new IllegalArgumentException("a round of local steps needs localSteps >= 2, found "
                    + settings.localSteps() + " (1 is the synchronous round)");
        }
        this.outerRule = outerRule(settings);
        this.plainAveraging = settings.outerStepSize() == 1.0 && settings.outerMomentum() == 0.0;
        this.localSteps = settings.localSteps();
        this.stepsPerEpoch = stepsPerEpoch;
    }

    /** The outer rule: Nesterov momentum on {@code G = −Δ̄}, or, without momentum, {@code θ − η_o G}. */
    static Optimizer outerRule(MlpSettings settings) {
        return settings.outerMomentum() > 0 ? Optimizer.nesterov(settings.outerStepSize(), settings.outerMomentum())
                : Optimizer.sgd(settings.outerStepSize());
    }

    /** Rounds in an epoch of {@code stepsPerEpoch} mini-batch steps: {@code ⌈T/k⌉}. */
    static int roundsPerEpoch(int stepsPerEpoch, int localSteps) {
        return (stepsPerEpoch + localSteps - 1) / localSteps;
    }

    @Override
    public ModelState newState(Parameters initial) {
        return new ModelState(initial, rule, outerRule);
    }

    @Override
    public int stepsIn(int t) {
        return Math.min(stepsPerEpoch, (t + 1) * localSteps) - t * localSteps;
    }

    @Override
    public Outcome run(ModelState state, int epoch, int t) {
        Parameters current = state.current;
        int first = t * localSteps;
        int last = Math.min(stepsPerEpoch, first + localSteps);
        double eta = schedule.at(state.updates);
        long blocksBefore = blocksRead.value();
        LocalSteps.Sum sum = onShards(current, state.updater.state(), shipped -> new LocalSteps(shipped, gemm,
                fingerprints, rule, schedule, step, terms, seed, epoch, first, last, stepsPerEpoch, state.updates,
                blocksRead), LocalSteps.Sum::mergeInPlace);
        long blocks = blocksRead.value() - blocksBefore;
        if (sum != null && sum.divergence() != null) {
            return new Outcome(Double.NaN, sum.weightSum(), sum.count(), blocks, eta, sum.largestNorm(), sum.clipped(),
                    sum.divergence());
        }
        if (sum == null || sum.weightSum() == 0) {
            return new Outcome(Double.NaN, 0, sum == null ? 0 : sum.count(), blocks, eta, Double.NaN, 0, null);
        }
        double objective = sum.objectiveSum() / sum.weightSum();
        // G = −Δ̄ = −Σ W_p Δ_p / Σ W_p, in place of the summed deltas
        double[] g = sum.weightedDelta();
        double scale = -1.0 / sum.weightSum();
        for (int i = 0; i < g.length; i++) {
            g[i] *= scale;
        }
        // the inner rule's state continues from the shards' weighted mean, Σ W_p s_p / Σ W_p
        double[][] merged = sum.weightedState();
        double perWeight = 1.0 / sum.weightSum();
        for (double[] a : merged) {
            for (int i = 0; i < a.length; i++) {
                a[i] *= perWeight;
            }
        }
        state.updater.copyStateFrom(merged);
        Parameters next = current.copy();
        // the outer rules have neither decay nor bias correction: the update index does not matter. An outer update
        // that is an optimiser of its own (outer momentum, or η_o ≠ 1) takes the warm-up of the round's first update,
        // η_o · min(1, (u + 1)/W), as the inner steps do: its velocity is not built from the first rounds' large
        // deltas at full step. Plain averaging (η_o = 1, μ_o = 0) is the shards' mean and is never scaled: its
        // inner steps are warmed up already
        double outerStep = outerRule.stepSize() * (plainAveraging ? 1.0 : schedule.warmupFactor(state.updates));
        state.outer.update(next.values(), g, outerStep, 0);
        if (!next.isFinite()) {
            return new Outcome(objective, sum.weightSum(), sum.count(), blocks, eta, sum.largestNorm(), sum.clipped(),
                    "the outer update made the parameters non-finite");
        }
        state.current = next;
        state.updates += last - first;
        return new Outcome(objective, sum.weightSum(), sum.count(), blocks, eta, sum.largestNorm(), sum.clipped(), null);
    }
}
