package io.sparkprop.train;

import io.sparkprop.exec.BatchGradient;
import io.sparkprop.exec.FirstLayerRows;
import io.sparkprop.exec.OrderedTreeAggregate;
import io.sparkprop.exec.PackedData;
import io.sparkprop.exec.SlicedExchange;
import io.sparkprop.linalg.GemmChoice;
import io.sparkprop.nn.GradientSum;
import io.sparkprop.nn.Parameters;
import io.sparkprop.optim.GradientStep;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * The synchronous round, one gradient step:
 *
 * <pre>  broadcast θ_t → per shard Σ_i w_i ∇C_i over its blocks of slice t ({@link BatchGradient})
 *   → ordered merge ({@link OrderedTreeAggregate}) → g = (1/Σw) Σ_i w_i ∇C_i + λW → θ_{t+1} = optimiser(θ_t, g)</pre>
 *
 * (biases are not penalised), minimising {@code J(θ) = (1/Σw) Σ_i w_i C_i + (λ/2) Σ_l ‖W_l‖_F²}; the last two
 * steps, clipping included, are the run's {@link GradientStep}, the same that every shard takes with local steps.
 *
 * <p>A wide sparse first layer (every block sparse: {@code firstLayerRows}) is kept as rows per feature on
 * the driver and the executors: the round ships the other parameters and the rows that changed since it last
 * shipped them ({@link FirstLayerRows}), the tasks return the rows their examples touched, and the update is
 * lazy, in proportion to those rows ({@link io.sparkprop.optim.LazyFirstLayer}, whose comment gives its
 * semantics).
 *
 * <p>With the sliced exchange ({@link SlicedExchange}, chosen by the trainer) the merge and the step run on the
 * executors slice by slice, the rule's state kept there, and the tasks read {@code θ_t} from the slices: the
 * same bits, the driver's link spared the {@code n} partial results and the broadcast.
 */
final class SynchronousRound extends ShardRound {
    private final int roundsPerEpoch;
    private final boolean shuffle;
    private final double regParam;
    /** The first layer's rows as the rounds ship them; {@code null} unless kept as rows. */
    private final FirstLayerRows rows;
    private FirstLayerRows.Version shipped;
    /** The merge and step as a reduce-scatter on the executors; {@code null}: merged on the driver. */
    private final SlicedExchange sliced;

    /**
     * @param roundsPerEpoch rounds an epoch: the shards' blocks are split into this many slices
     * @param shuffle        whether each epoch reads the blocks in a seeded order (mini-batches) or in order
     */
    SynchronousRound(JavaSparkContext sc, PackedData data, OrderedTreeAggregate.Plan plan, GemmChoice gemm,
                     MlpSettings settings, int roundsPerEpoch, boolean shuffle) {
        this(sc, data, plan, gemm, settings, roundsPerEpoch, shuffle, false, null);
    }

    /**
     * @param firstLayerRows whether the first layer is kept as rows per feature, updated lazily (every block of
     *                       {@code data} sparse)
     * @param sliced         the reduce-scatter that merges and steps instead of the driver ({@code null}: the
     *                       driver's merge, {@code plan}); not with {@code firstLayerRows}; the round closes it
     */
    SynchronousRound(JavaSparkContext sc, PackedData data, OrderedTreeAggregate.Plan plan, GemmChoice gemm,
                     MlpSettings settings, int roundsPerEpoch, boolean shuffle, boolean firstLayerRows,
                     SlicedExchange sliced) {
        super(sc, data, plan, gemm, settings, roundsPerEpoch);
        this.roundsPerEpoch = roundsPerEpoch;
        this.shuffle = shuffle;
        this.regParam = settings.regParam();
        this.rows = firstLayerRows ? new FirstLayerRows(sc) : null;
        if (firstLayerRows && sliced != null) {
            throw new IllegalArgumentException("a first layer kept as rows has no sliced exchange");
        }
        this.sliced = sliced;
    }

    @Override
    public Outcome run(ModelState state, int epoch, int t) {
        if (state.firstLayer != null) {
            return runWithRows(state, epoch, t);
        }
        if (sliced != null) {
            return runSliced(state, epoch, t);
        }
        double eta = schedule.at(state.updates);
        long blocksBefore = blocksRead.value();
        GradientSum sum = gradient(state.current, epoch, t, state.updates);
        long blocks = blocksRead.value() - blocksBefore;
        if (sum == null) {
            // no shard had a block in this slice
            return new Outcome(Double.NaN, 0, 0, blocks, eta, Double.NaN, 0, null);
        }
        // θ_t is left as it was (it is broadcast, and may be the best epoch's or the last finite parameters), so the
        // step updates a copy of it
        Parameters next = state.current.copy();
        GradientStep.Result r = step.apply(sum, next, state.updater, eta, state.updates);
        if (r.status() == GradientStep.Status.UPDATED) {
            state.current = next;
            state.updates++;
        }
        return outcome(r, sum.weightSum(), sum.count(), blocks, eta);
    }

    /**
     * What a step {@code r} on a batch of weight {@code weightSum} and {@code count} examples did, as the round
     * reports it.
     */
    private static Outcome outcome(GradientStep.Result r, double weightSum, long count, long blocks, double eta) {
        switch (r.status()) {
            case EMPTY:
                // only zero weights in this slice: nothing to learn from
                return new Outcome(Double.NaN, 0, count, blocks, eta, Double.NaN, 0, null);
            case LOSS_NOT_FINITE:
            case GRADIENT_NOT_FINITE:
                return new Outcome(r.meanLoss(), weightSum, count, blocks, eta, Double.NaN, 0,
                        r.status().description() + " (loss " + r.meanLoss() + ")");
            default:
                break;
        }
        long clipped = r.clipped() ? 1 : 0;
        String divergence = r.status() == GradientStep.Status.PARAMETERS_NOT_FINITE ? r.status().description() : null;
        return new Outcome(r.objective(), weightSum, count, blocks, eta, r.gradientNorm(), clipped, divergence);
    }

    /**
     * {@link #run} with the merge and step on the executors ({@link SlicedExchange}): the same formulas and bits
     * as the driver's; the objective's penalty is computed here, on {@code θ_t}, as {@link GradientStep} does.
     */
    private Outcome runSliced(ModelState state, int epoch, int t) {
        double eta = schedule.at(state.updates);
        if (!sliced.holds(state.current)) {
            sliced.seed(state.current, state.updater.state());
        }
        state.sliced = sliced;
        long blocksBefore = blocksRead.value();
        Parameters at = state.current;
        long update = state.updates;
        // the tasks read θ_t from the slices, which hold it: the driver sends no broadcast
        SlicedExchange.Step s = onShardsTo(sliced.theta(), shipped -> new BatchGradient(shipped, gemm, fingerprints,
                seed, epoch, t, roundsPerEpoch, shuffle, blocksRead, terms, update),
                partials -> sliced.step(partials, eta, update));
        long blocks = blocksRead.value() - blocksBefore;
        if (s == null) {
            return new Outcome(Double.NaN, 0, 0, blocks, eta, Double.NaN, 0, null);
        }
        double meanLoss = s.weightSum() == 0 ? Double.NaN : s.lossSum() / s.weightSum();
        double objective = Double.NaN;
        if (s.status() == GradientStep.Status.UPDATED || s.status() == GradientStep.Status.PARAMETERS_NOT_FINITE) {
            objective = step.objective(meanLoss, at);
        }
        GradientStep.Result r = new GradientStep.Result(s.status(), meanLoss, objective, Double.NaN, false);
        if (s.status() == GradientStep.Status.UPDATED) {
            sliced.commit(s);
            state.current = s.parameters();
            state.updates++;
        } else {
            sliced.discard(s);
        }
        return outcome(r, s.weightSum(), s.count(), blocks, eta);
    }

    /** {@link #run} of a first layer kept as rows. */
    private Outcome runWithRows(ModelState state, int epoch, int t) {
        double eta = schedule.at(state.updates);
        int[] changed = state.takeChangedRows();
        if (shipped == null || changed == null || changed.length > 0) {
            shipped = rows.publish(state.firstLayer.rows(), changed);
        }
        long blocksBefore = blocksRead.value();
        Parameters rest = state.rest;
        FirstLayerRows.Version version = shipped;
        long update = state.updates;
        GradientSum sum = onShards(rest, version, s -> new BatchGradient(s, gemm, fingerprints, seed,
                epoch, t, roundsPerEpoch, shuffle, blocksRead, terms, update), GradientSum::mergeInPlace);
        long blocks = blocksRead.value() - blocksBefore;
        if (sum == null) {
            return new Outcome(Double.NaN, 0, 0, blocks, eta, Double.NaN, 0, null);
        }
        Parameters next = rest.copy();
        int[] touched = sum.touchedFeatures().clone();
        GradientStep.Result r = step.apply(sum, next, state.updater, state.firstLayer, eta, state.updates);
        if (r.status() == GradientStep.Status.UPDATED) {
            state.rest = next;
            state.markChanged(touched);
            state.lastStepSize = eta;
            state.updates++;
        }
        return outcome(r, sum.weightSum(), sum.count(), blocks, eta);
    }

    /**
     * {@code Σ_i w_i C_i} and {@code Σ_i w_i ∇C_i} (with the training terms) over slice {@code t} of epoch
     * {@code epoch}, for update {@code update} (dropout's masks are keyed by it); null if empty.
     */
    GradientSum gradient(Parameters at, int epoch, int t, long update) {
        return onShards(at, new double[0][], shipped -> new BatchGradient(shipped, gemm, fingerprints, seed, epoch, t, roundsPerEpoch,
                shuffle, blocksRead, terms, update), GradientSum::mergeInPlace);
    }

    @Override
    public ModelState newState(Parameters initial) {
        return rows != null ? ModelState.withFirstLayerRows(initial, rule, regParam)
                : new ModelState(initial, rule, null);
    }

    /** Removes the shipped rows' broadcasts, or the sliced exchange's slices. */
    @Override
    public void close() {
        if (rows != null) {
            rows.close();
        }
        if (sliced != null) {
            sliced.close();
        }
    }

    @Override
    public int stepsIn(int t) {
        return 1;
    }
}
