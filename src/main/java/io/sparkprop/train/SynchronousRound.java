package io.sparkprop.train;

import io.sparkprop.linalg.GemmChoice;
import io.sparkprop.nn.GradientSum;
import io.sparkprop.nn.Parameters;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * The synchronous round, one gradient step:
 *
 * <pre>  broadcast θ_t → per shard Σ_i w_i ∇C_i over its blocks of slice t ({@link BatchGradient})
 *   → ordered merge ({@link OrderedTreeAggregate}) → g = (1/Σw) Σ_i w_i ∇C_i + λW → θ_{t+1} = optimiser(θ_t, g)</pre>
 *
 * (biases are not penalised), minimising {@code J(θ) = (1/Σw) Σ_i w_i C_i + (λ/2) Σ_l ‖W_l‖_F²}.
 */
final class SynchronousRound extends ShardRound {
    private final int roundsPerEpoch;
    private final boolean shuffle;

    /**
     * @param roundsPerEpoch rounds an epoch: the shards' blocks are split into this many slices
     * @param shuffle        whether each epoch reads the blocks in a seeded order (mini-batches) or in order
     */
    SynchronousRound(JavaSparkContext sc, PackedData data, OrderedTreeAggregate.Plan plan, GemmChoice gemm,
                     MlpSettings settings, int roundsPerEpoch, boolean shuffle) {
        super(sc, data, plan, gemm, settings, roundsPerEpoch);
        this.roundsPerEpoch = roundsPerEpoch;
        this.shuffle = shuffle;
    }

    @Override
    public Outcome run(ModelState state, int epoch, int t) {
        Parameters current = state.current;
        double step = schedule.at(state.updates);
        long blocksBefore = blocksRead.value();
        GradientSum sum = gradient(current, epoch, t, state.updates);
        long blocks = blocksRead.value() - blocksBefore;
        if (sum == null || sum.weightSum() == 0) {
            // no example (or only zero weights) in this slice: nothing to learn from
            return new Outcome(Double.NaN, 0, sum == null ? 0 : sum.count(), blocks, step, Double.NaN, 0, null);
        }
        double meanLoss = sum.lossSum() / sum.weightSum();
        Parameters g = sum.gradient();
        if (!Double.isFinite(meanLoss) || !g.isFinite()) {
            return new Outcome(meanLoss, sum.weightSum(), sum.count(), blocks, step, Double.NaN, 0,
                    (Double.isFinite(meanLoss) ? "the gradient" : "the loss") + " is not finite (loss " + meanLoss + ")");
        }
        g.scaleInPlace(1.0 / sum.weightSum());
        double objective = meanLoss;
        if (regParam > 0) {
            g.axpyWeightsInPlace(regParam, current); // ∇(λ/2 ‖W‖²) = λW
            objective += 0.5 * regParam * current.weightNormSquared();
        }
        // clipped after the ridge term is added: the norm is that of the objective's gradient
        double norm = clip(g.values(), clipNorm);
        long clipped = norm > clipNorm ? 1 : 0; // false for NaN, i.e. without clipping
        // the update works on the flat arrays themselves; θ_t is left as it was (it is broadcast, and may be the
        // best epoch's or the last finite parameters), so the update writes into one copy of it
        Parameters next = current.copy();
        state.updater.update(next.values(), g.values(), step, state.updates);
        if (!next.isFinite()) {
            return new Outcome(objective, sum.weightSum(), sum.count(), blocks, step, norm, clipped,
                    "the update made the parameters non-finite");
        }
        state.current = next;
        state.updates++;
        return new Outcome(objective, sum.weightSum(), sum.count(), blocks, step, norm, clipped, null);
    }

    /**
     * {@code Σ_i w_i C_i} and {@code Σ_i w_i ∇C_i} (with the training terms) over slice {@code t} of epoch
     * {@code epoch}, for update {@code update} (dropout's masks are keyed by it); null if empty.
     */
    GradientSum gradient(Parameters at, int epoch, int t, long update) {
        return onShards(at, shipped -> new BatchGradient(shipped, gemm, fingerprints, seed, epoch, t, roundsPerEpoch,
                shuffle, blocksRead, terms, update), GradientSum::mergeInPlace);
    }

    @Override
    public ModelState newState(Parameters initial) {
        return new ModelState(initial, rule, null);
    }

    @Override
    public int stepsIn(int t) {
        return 1;
    }
}
