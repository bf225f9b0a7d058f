package io.sparkprop.optim;

import java.io.Serializable;

import io.sparkprop.nn.GradientSum;
import io.sparkprop.nn.Parameters;
import io.sparkprop.util.Internal;

/**
 * One gradient step on the objective {@code J(θ) = (1/W) Σ_i w_i C_i(θ) + (λ/2) Σ_l ‖W_l‖_F²} of a batch, from
 * the batch's sums {@code Σ_i w_i C_i}, {@code Σ_i w_i ∇C_i} and {@code W = Σ_i w_i} taken at {@code θ}:
 *
 * <pre>  g = (1/W) Σ_i w_i ∇C_i + λW     (biases not penalised)
 *   g ← clip(g, c)                  (global norm, {@link Clipping}; after the ridge term, so the norm is the objective's)
 *   θ ← rule(θ, g, η)               (an {@link Optimizer.Updater})</pre>
 *
 * The one step of the run: the driver's synchronous round takes it on the merged sums of all shards, and every
 * shard's local steps take it on their own. Each check comes before the work that would spread a non-finite
 * value: a non-finite loss or gradient stops before {@code θ} is touched; a non-finite result is reported (and
 * {@code θ}, updated in place, is then to be thrown away). Immutable.
 */
@Internal
public final class GradientStep implements Serializable {
    private static final long serialVersionUID = 1L;

    /** How a step ended. */
    public enum Status {
        /** {@code θ} was updated to finite values. */
        UPDATED("updated"),
        /** The batch's weights sum to 0 (or it held no example): nothing to learn from, {@code θ} untouched. */
        EMPTY("no example of positive weight"),
        /** The mean loss is not finite; {@code θ} untouched. */
        LOSS_NOT_FINITE("the loss is not finite"),
        /** The loss is finite but the gradient is not; {@code θ} untouched. */
        GRADIENT_NOT_FINITE("the gradient is not finite"),
        /** The update made {@code θ} non-finite. */
        PARAMETERS_NOT_FINITE("the update made the parameters non-finite");

        private final String description;

        Status(String description) {
            this.description = description;
        }

        /** What happened, as messages say it (e.g. {@code the loss is not finite}). */
        public String description() {
            return description;
        }
    }

    /**
     * What a step did.
     *
     * @param status       how it ended
     * @param meanLoss     {@code (1/W) Σ_i w_i C_i} (NaN when {@link Status#EMPTY})
     * @param objective    {@code J(θ)} at the parameters the step started from: the mean loss plus the penalty
     *                     (NaN unless the loss and gradient were finite)
     * @param gradientNorm {@code ‖g‖} before clipping, NaN without clipping or when not computed
     * @param clipped      whether {@code g} was clipped
     */
    public record Result(Status status, double meanLoss, double objective, double gradientNorm, boolean clipped) {
        /** Whether the step failed for a non-finite value (not {@link Status#UPDATED} nor {@link Status#EMPTY}). */
        public boolean diverged() {
            return status != Status.UPDATED && status != Status.EMPTY;
        }
    }

    private final double regParam;
    private final double clipNorm;

    /**
     * @param regParam {@code λ ≥ 0}, the ridge term's weight
     * @param clipNorm {@code c ≥ 0}, the largest norm of a step's gradient (0: no clipping)
     */
    public GradientStep(double regParam, double clipNorm) {
        this.regParam = regParam;
        this.clipNorm = clipNorm;
    }

    /**
     * Takes the step from {@code sum} (whose gradient becomes {@code g}: modified) at {@code theta} (updated in
     * place) with step size {@code eta}, for an {@code updater} that has taken {@code age} updates before.
     */
    public Result apply(GradientSum sum, Parameters theta, Optimizer.Updater updater, double eta, long age) {
        double w = sum.weightSum();
        if (w == 0) {
            return new Result(Status.EMPTY, Double.NaN, Double.NaN, Double.NaN, false);
        }
        double meanLoss = sum.lossSum() / w;
        Parameters g = sum.gradient();
        if (!Double.isFinite(meanLoss)) {
            return new Result(Status.LOSS_NOT_FINITE, meanLoss, Double.NaN, Double.NaN, false);
        }
        if (!g.isFinite()) {
            return new Result(Status.GRADIENT_NOT_FINITE, meanLoss, Double.NaN, Double.NaN, false);
        }
        g.scaleInPlace(1.0 / w);
        double objective = objective(meanLoss, theta);
        if (regParam > 0) {
            g.axpyWeightsInPlace(regParam, theta); // ∇(λ/2 ‖W‖²) = λW
        }
        double norm = Clipping.clip(g.values(), clipNorm);
        boolean clipped = norm > clipNorm; // false for NaN, i.e. without clipping
        updater.update(theta.values(), g.values(), eta, age);
        return new Result(theta.isFinite() ? Status.UPDATED : Status.PARAMETERS_NOT_FINITE, meanLoss, objective, norm,
                clipped);
    }

    /**
     * The step for parameters whose first layer is kept as rows ({@link LazyFirstLayer}): {@code rest} holds every
     * other value ({@link Parameters#withoutFirstLayerWeights(NetworkSpec)}; updated in place by {@code updater},
     * the rule's state of those values) and {@code sum} keeps the first layer's gradient as the touched rows
     * ({@link GradientSum#withFirstLayerRows}). The same checks and formulas as
     * {@link #apply(GradientSum, Parameters, Optimizer.Updater, double, long)}, with {@code g}'s first-layer part
     * made of the touched rows alone: the ridge term {@code λW_f} of a row joins its gradient when the row is
     * touched, the rows it is not are left for later (the class comment of {@link LazyFirstLayer}); the clipping
     * norm is over the touched rows and the other values; the objective's penalty is over every row as it stands at
     * this step. The new rows are published only when every updated value is finite.
     */
    public Result apply(GradientSum sum, Parameters rest, Optimizer.Updater updater, LazyFirstLayer firstLayer,
                        double eta, long age) {
        double w = sum.weightSum();
        if (w == 0) {
            return new Result(Status.EMPTY, Double.NaN, Double.NaN, Double.NaN, false);
        }
        double meanLoss = sum.lossSum() / w;
        if (!Double.isFinite(meanLoss)) {
            return new Result(Status.LOSS_NOT_FINITE, meanLoss, Double.NaN, Double.NaN, false);
        }
        Parameters g = sum.gradientWithoutFirstLayer();
        int[] touched = sum.touchedFeatures();
        double[] rowGradients = sum.touchedRows();
        if (!g.isFinite() || !isFinite(rowGradients)) {
            return new Result(Status.GRADIENT_NOT_FINITE, meanLoss, Double.NaN, Double.NaN, false);
        }
        double scale = 1.0 / w;
        g.scaleInPlace(scale);
        for (int i = 0; i < rowGradients.length; i++) {
            rowGradients[i] *= scale;
        }
        double objective = meanLoss;
        if (clipNorm == 0) {
            // no global norm to wait for: each row caught up, penalised and updated in one pass (the same bits)
            double[] squares = regParam > 0 ? new double[touched.length] : null;
            double[][] next = firstLayer.catchUpAndUpdate(touched, rowGradients, eta, age, squares);
            if (regParam > 0) {
                g.axpyWeightsInPlace(regParam, rest); // ∇(λ/2 ‖W‖²) = λW of the layers after the first
                objective += 0.5 * regParam * (firstLayer.normSquared(squares, touched, age, eta)
                        + rest.weightNormSquared());
            }
            updater.update(rest.values(), g.values(), eta, age);
            boolean finite = next != null && rest.isFinite();
            if (finite) {
                firstLayer.publish(next, touched);
            }
            return new Result(finite ? Status.UPDATED : Status.PARAMETERS_NOT_FINITE, meanLoss, objective, Double.NaN,
                    false);
        }
        double[][] next = firstLayer.catchUp(touched, age, eta);
        if (regParam > 0) {
            firstLayer.addRidge(next, touched, rowGradients);
            g.axpyWeightsInPlace(regParam, rest); // ∇(λ/2 ‖W‖²) = λW of the layers after the first
            objective += 0.5 * regParam * (firstLayer.normSquared(next, touched, age, eta) + rest.weightNormSquared());
        }
        double norm = Clipping.clip(new double[][] {rowGradients, g.values()}, clipNorm);
        boolean clipped = norm > clipNorm; // false for NaN, i.e. without clipping
        boolean finite = firstLayer.update(next, touched, rowGradients, eta, age);
        updater.update(rest.values(), g.values(), eta, age);
        finite &= rest.isFinite();
        if (finite) {
            firstLayer.publish(next, touched);
        }
        return new Result(finite ? Status.UPDATED : Status.PARAMETERS_NOT_FINITE, meanLoss, objective, norm, clipped);
    }

    /**
     * {@link #apply(GradientSum, Parameters, Optimizer.Updater, double, long)} on one slice {@code [from, to)} of the
     * flat layout, for an exchange that merges and updates each slice where it lives: the same formulas value for
     * value, so the slices together take the bits of the whole step. What concerns the whole batch is the caller's:
     * {@link Status#EMPTY} and {@link Status#LOSS_NOT_FINITE} (from {@code W} and the loss sum, the same in every
     * slice), the objective's penalty, and combining the slices' statuses (a step is taken only when every slice is
     * {@link Status#UPDATED}). Clipping needs the global norm before any slice moves, so it has no slice form.
     *
     * @param g            the slice of {@code Σ_i w_i ∇C_i}; modified (becomes the slice of {@code g})
     * @param weightSum    {@code W > 0}
     * @param theta        the slice of {@code θ}; modified
     * @param first        the slice of the rule's first state array ({@code null} for sgd); modified
     * @param second       the slice of Adam's second moments ({@code null} for others); modified
     * @param weightRanges {@code [start, end)} pairs, relative to the slice, of the values that are weights (the
     *                     ridge term's), ascending
     * @return {@link Status#GRADIENT_NOT_FINITE} (nothing modified but {@code g}), {@link Status#UPDATED} or
     *         {@link Status#PARAMETERS_NOT_FINITE}
     * @throws IllegalStateException if this step clips
     */
    public Status applySlice(double[] g, double weightSum, double[] theta, double[] first, double[] second,
                             int[] weightRanges, Optimizer rule, double eta, long age) {
        if (clipNorm > 0) {
            throw new IllegalStateException("a clipped step needs the global norm: it has no slice form");
        }
        if (!isFinite(g)) {
            return Status.GRADIENT_NOT_FINITE;
        }
        double scale = 1.0 / weightSum; // as Parameters.scaleInPlace(1 / W)
        for (int i = 0; i < g.length; i++) {
            g[i] *= scale;
        }
        if (regParam > 0) {
            for (int r = 0; r < weightRanges.length; r += 2) {
                for (int i = weightRanges[r]; i < weightRanges[r + 1]; i++) {
                    g[i] += regParam * theta[i]; // ∇(λ/2 ‖W‖²) = λW
                }
            }
        }
        rule.updateRow(theta, g, first, second, eta, rule.biasCorrections(age));
        return isFinite(theta) ? Status.UPDATED : Status.PARAMETERS_NOT_FINITE;
    }

    /** {@code J(θ)} of a batch of mean loss {@code meanLoss} at {@code theta}: the loss plus {@code (λ/2) Σ_l ‖W_l‖²}. */
    public double objective(double meanLoss, Parameters theta) {
        return regParam > 0 ? meanLoss + 0.5 * regParam * theta.weightNormSquared() : meanLoss;
    }

    /** Whether this step clips its gradient (then it has no {@link #applySlice slice form}). */
    public boolean clips() {
        return clipNorm > 0;
    }

    /** {@code λ}, the ridge term's weight. */
    public double regParam() {
        return regParam;
    }

    private static boolean isFinite(double[] values) {
        for (double v : values) {
            if (!Double.isFinite(v)) {
                return false;
            }
        }
        return true;
    }
}
