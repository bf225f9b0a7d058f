package io.sparkprop.optim;

import java.io.Serializable;
import java.util.Locale;

import io.sparkprop.util.Checks;

/**
 * The step size {@code η_t} of every update {@code t} (0-based, counting applied mini-batch updates) of a
 * run: an optional linear warm-up over the first {@code W} updates, then one of four shapes on the updates
 * after it, {@code s = t − W}:
 *
 * <pre>  warm-up     η_t = η · (t + 1) / W                           for t < W
 *   constant    η_s = η
 *   inverse     η_s = max(η / (1 + d·s), φη)                    (inverse-time decay; constant when d = 0)
 *   step        η_s = max(η · γ^⌊s / S⌋, φη)                    (S = updates in stepDropEpochs epochs)
 *   cosine      η_s = φη + (1 − φ)η · (1 + cos(π · min(s, T') / T')) / 2   (T' = T − W, T = updates in maxEpochs)</pre>
 *
 * with the floor {@code φ = stepFloor} (a fraction of {@code η}). With local steps the inner steps follow it at
 * their update indices, and an outer update other than plain averaging takes the warm-up factor too
 * ({@link #warmupFactor}, and the trainer's rounds of local steps). The warm-up's first update takes
 * {@code η/W}, not 0, and its last {@code η}: the shape starts where the warm-up ends (Goyal et al. 2017 for
 * the warm-up of large batches; Loshchilov and Hutter 2017 for the cosine). With {@code W = 0} and the
 * {@code inverse} shape the step is {@code η / (1 + d·t)} exactly as the optimiser's own decay computes it,
 * so the default schedule keeps the bits of runs from before schedules existed. Immutable; shipped to the
 * executors with a round of local steps.
 */
public final class StepSchedule implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The shapes. */
    public enum Kind {
        CONSTANT, INVERSE, STEP, COSINE;

        /** The shape named {@code name}, case-insensitive; refused naming the valid names. */
        public static Kind parse(String name) {
            return io.sparkprop.util.Names.parse(Kind.class, "stepSchedule", name);
        }

        /** The shapes' names as settings spell them. */
        public static String[] names() {
            return io.sparkprop.util.Names.names(Kind.class);
        }

        /** Lower-case name, as used in settings. */
        public String lowerName() {
            return io.sparkprop.util.Names.of(this);
        }
    }

    private final Kind kind;
    private final double stepSize;
    private final double decay;
    private final double floor;
    private final double dropFactor;
    private final long dropEvery;
    private final long warmup;
    private final long horizon;

    private StepSchedule(Kind kind, double stepSize, double decay, double floor, double dropFactor, long dropEvery,
                         long warmup, long horizon) {
        this.kind = kind;
        this.stepSize = stepSize;
        this.decay = decay;
        this.floor = floor;
        this.dropFactor = dropFactor;
        this.dropEvery = dropEvery;
        this.warmup = warmup;
        this.horizon = horizon;
    }

    /**
     * A schedule of the shape {@code kind} for a base step {@code stepSize}, as the class describes it.
     *
     * @param decay      {@code d}, the {@code inverse} shape's decay (0: constant)
     * @param floor      {@code φ}, a fraction of {@code η} in {@code [0, 1)}: where {@code cosine} ends, a lower
     *                   bound of {@code inverse} and {@code step}
     * @param dropFactor {@code γ}, the {@code step} shape's factor
     * @param dropEvery  {@code S ≥ 1}, updates between two drops of the {@code step} shape
     * @param warmup     {@code W ≥ 0}, updates of the linear warm-up
     * @param horizon    {@code T}, the updates of the whole run (the {@code cosine} shape's end)
     */
    public static StepSchedule of(Kind kind, double stepSize, double decay, double floor, double dropFactor,
                                  long dropEvery, long warmup, long horizon) {
        Checks.notNull("stepSchedule", kind);
        Checks.finitePositive("stepSize", stepSize);
        Checks.finiteNonNegative("stepDecay", decay);
        Checks.unitInterval("stepFloor", floor);
        if (dropEvery < 1 || warmup < 0) {
            throw new IllegalArgumentException("updates between drops must be >= 1 and warm-up updates >= 0, found "
                    + dropEvery + " and " + warmup);
        }
        return new StepSchedule(kind, stepSize, decay, floor, dropFactor, dropEvery, warmup, horizon);
    }

    /**
     * Inverse-time decay {@code η / (1 + d·t)}: the {@code inverse} shape, and {@link Optimizer#stepSizeAt}, which
     * takes it from here so that a rule's own decay and the default schedule give the same bits.
     */
    public static double inverseTime(double stepSize, double decay, long t) {
        return stepSize / (1.0 + decay * t);
    }

    /** The step size of update {@code t} (0-based). */
    public double at(long t) {
        if (t < warmup) {
            return stepSize * (t + 1) / warmup;
        }
        long s = t - warmup;
        switch (kind) {
            case CONSTANT:
                return stepSize;
            case INVERSE:
                return floor == 0 ? inverseTime(stepSize, decay, s) : Math.max(inverseTime(stepSize, decay, s),
                        floor * stepSize);
            case STEP:
                return Math.max(stepSize * Math.pow(dropFactor, (double) (s / dropEvery)), floor * stepSize);
            case COSINE:
                long span = Math.max(1, horizon - warmup);
                double progress = Math.min(s, span) / (double) span;
                return floor * stepSize + (1 - floor) * stepSize * 0.5 * (1 + Math.cos(Math.PI * progress));
            default:
                throw new IllegalStateException("unhandled schedule " + kind);
        }
    }

    /**
     * The warm-up's factor at update {@code t}: {@code (t + 1)/W} during the warm-up, then 1. The outer step of
     * local steps is scaled by it (unless the outer update is plain averaging).
     */
    public double warmupFactor(long t) {
        return t < warmup ? (t + 1) / (double) warmup : 1.0;
    }

    /** The shape. */
    public Kind kind() {
        return kind;
    }

    /**
     * Whether this is the schedule runs had before schedules existed: inverse-time decay (possibly 0) from the
     * first update, no floor. Such runs' checkpoints record the decay with the optimiser alone.
     */
    public boolean isLegacy() {
        return warmup == 0 && floor == 0 && (kind == Kind.INVERSE || kind == Kind.CONSTANT);
    }

    @Override
    public String toString() {
        String shape;
        switch (kind) {
            case INVERSE:
                shape = String.format(Locale.ROOT, "inverse(decay=%s)", decay);
                break;
            case STEP:
                shape = String.format(Locale.ROOT, "step(factor=%s every %d updates)", dropFactor, dropEvery);
                break;
            case COSINE:
                shape = String.format(Locale.ROOT, "cosine(over %d updates)", horizon);
                break;
            default:
                shape = "constant";
        }
        return shape + (floor > 0 ? String.format(Locale.ROOT, ", floor %s·η", floor) : "")
                + (warmup > 0 ? ", warm-up " + warmup + " updates" : "");
    }
}
