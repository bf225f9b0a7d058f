package io.sparkprop.train;

import java.util.Arrays;

import io.sparkprop.exec.FirstLayerRows;
import io.sparkprop.nn.Parameters;
import io.sparkprop.optim.LazyFirstLayer;
import io.sparkprop.optim.Optimizer;

/**
 * The driver's state between rounds: the current parameters {@code θ} (replaced by each update,
 * never mutated, so a broadcast of them needs no copy), the optimiser's state on the flat layout,
 * and the number of updates applied (Adam's step counter and the decay schedule advance on these,
 * not on rounds that found no example of positive weight; a round of local steps that updates advances
 * it by its steps, each shard's schedule being fixed before it learns what the others found). With local
 * steps the rule's state is the shards' weighted mean at the end of the last round, which the next round
 * ships, and the outer update's state ({@link LocalStepsRound}: its Nesterov velocity) is kept here too,
 * after the inner rule's.
 *
 * <p>A wide sparse first layer ({@link #withFirstLayerRows}) keeps {@code W_0} as rows per feature with their
 * lazy updates ({@link LazyFirstLayer}) and every other value in {@link #rest} (replaced by each update, as
 * {@code θ} is), the rule's state of those in {@link #updater}; {@link #current} is then {@code null} and
 * {@link #parameters()} makes {@code θ} in the flat layout when it is read (at the end of an epoch). It remembers
 * which rows changed since the rounds last shipped them ({@link #takeChangedRows()}).
 */
final class ModelState {
    /** {@code θ}; {@code null} with a first layer kept as rows (read {@link #parameters()}). */
    Parameters current;
    /** The rule's state: of every value, or of {@link #rest}'s with a first layer kept as rows. */
    final Optimizer.Updater updater;
    /** The outer update's state with local steps; {@code null} for synchronous rounds. */
    final Optimizer.Updater outer;
    long updates;

    /** The first layer kept as rows with its lazy updates; {@code null} for a first layer in {@link #current}. */
    LazyFirstLayer firstLayer;
    /** {@code θ} without {@code W_0}, beside {@link #firstLayer}. */
    Parameters rest;
    /**
     * The exchange whose slices keep the rule's state on the executors ({@code null}: {@link #updater} keeps it);
     * its state is the run's while its slices hold {@link #current}, {@link #updater}'s after a restore.
     */
    io.sparkprop.exec.SlicedExchange sliced;
    /** The step size of the last update (the end of an epoch brings the rows up to date with it). */
    double lastStepSize;
    private final Optimizer rule;
    private final double regParam;
    /** Rows changed since {@link #takeChangedRows()} last ran, and whether all of them are to be counted so. */
    private boolean[] changed;
    private boolean allChanged;

    ModelState(Parameters initial, Optimizer rule, Optimizer outerRule) {
        this.current = initial;
        this.updater = rule.newUpdater(initial.size());
        this.outer = outerRule == null ? null : outerRule.newUpdater(initial.size());
        this.rule = rule;
        this.regParam = 0;
    }

    private ModelState(Parameters initial, Optimizer rule, double regParam) {
        this.rest = initial.withoutFirstLayerWeights();
        this.updater = rule.newUpdater(rest.size());
        this.outer = null;
        this.rule = rule;
        this.regParam = regParam;
        this.firstLayer = LazyFirstLayer.initial(rule, regParam, initial.spec(), initial.values());
        this.changed = new boolean[initial.spec().inputSize()];
        this.allChanged = true;
    }

    /** A state whose first layer is kept as rows, for synchronous rounds of rule {@code rule} and ridge {@code λ}. */
    static ModelState withFirstLayerRows(Parameters initial, Optimizer rule, double regParam) {
        return new ModelState(initial, rule, regParam);
    }

    /**
     * {@code θ} in the flat layout: {@link #current}, or with a first layer kept as rows a new object made from
     * them and {@link #rest} (the rows as they stand: {@link #endOfEpoch()} brings them up to date first).
     */
    Parameters parameters() {
        if (firstLayer == null) {
            return current;
        }
        double[] flat = new double[Parameters.firstLayerWeightCount(rest.spec()) + rest.size()];
        firstLayer.writeWeights(flat);
        System.arraycopy(rest.values(), 0, flat, flat.length - rest.size(), rest.size());
        return Parameters.fromFlat(rest.spec(), flat);
    }

    /** At the end of an epoch: a first layer kept as rows brings every row up to date ({@link LazyFirstLayer}). */
    void endOfEpoch() {
        if (firstLayer != null) {
            markChanged(firstLayer.catchUpAll(updates, lastStepSize));
        }
    }

    /** Records that the rows of {@code features} changed. */
    void markChanged(int[] features) {
        for (int f : features) {
            changed[f] = true;
        }
    }

    /**
     * The rows changed since the last call, ascending; {@code null} when all of them are to be shipped (the first
     * call, and after {@link #restore}).
     */
    int[] takeChangedRows() {
        if (allChanged) {
            allChanged = false;
            Arrays.fill(changed, false);
            return null;
        }
        return FirstLayerRows.marked(changed, true);
    }

    /** The optimisers' state arrays in the flat layout: the rule's, then the outer update's (live for dense rounds). */
    double[][] optimizerState() {
        if (sliced != null && sliced.holds(current)) {
            return sliced.state(updater.state().length);
        }
        double[][] inner = updater.state();
        if (firstLayer != null) {
            int w0 = Parameters.firstLayerWeightCount(rest.spec());
            double[][] flat = new double[inner.length][w0 + rest.size()];
            for (int a = 0; a < inner.length; a++) {
                firstLayer.writeState(a, flat[a]);
                System.arraycopy(inner[a], 0, flat[a], w0, inner[a].length);
            }
            return flat;
        }
        if (outer == null) {
            return inner;
        }
        double[][] o = outer.state();
        double[][] all = Arrays.copyOf(inner, inner.length + o.length);
        System.arraycopy(o, 0, all, inner.length, o.length);
        return all;
    }

    /** The number of arrays {@link #optimizerState()} gives. */
    int optimizerStateArrays() {
        return updater.state().length + (outer == null ? 0 : outer.state().length);
    }

    /** Restores parameters, optimiser state and update count from a checkpoint. */
    void restore(double[] parameters, double[][] optimizerState, long updateCount) {
        if (firstLayer != null) {
            Parameters full = Parameters.fromFlat(rest.spec(), parameters);
            int w0 = Parameters.firstLayerWeightCount(rest.spec());
            double[][] restState = new double[optimizerState.length][];
            for (int a = 0; a < optimizerState.length; a++) {
                restState[a] = Arrays.copyOfRange(optimizerState[a], w0, optimizerState[a].length);
            }
            updater.copyStateFrom(restState);
            firstLayer = LazyFirstLayer.fromFlat(rule, regParam, full.spec(), parameters, optimizerState, updateCount);
            rest = full.withoutFirstLayerWeights();
            allChanged = true;
            updates = updateCount;
            return;
        }
        current = Parameters.fromFlat(current.spec(), parameters);
        int inner = updater.state().length;
        updater.copyStateFrom(Arrays.copyOfRange(optimizerState, 0, inner));
        if (outer != null) {
            outer.copyStateFrom(Arrays.copyOfRange(optimizerState, inner, optimizerState.length));
        }
        updates = updateCount;
    }
}
