package io.sparkprop.optim;

import java.io.Serializable;
import java.util.Locale;

import io.sparkprop.util.Checks;

/**
 * How the driver turns the mean gradient {@code g_t} of iteration {@code t} (ridge term included:
 * {@code g_t = ∇(1/N Σ C_i) + λW}) into a parameter update. Immutable settings; the per-run state
 * lives in an {@link Updater}.
 * On its own every rule takes the step {@code η_t = η / (1 + d·t)} at iteration {@code t} ({@link #stepSizeAt}):
 * constant with the default decay {@code d = 0}, inverse-time decay with {@link #withDecay(double)}. The trainer
 * takes the step of the run's {@link StepSchedule} instead, whose default, the {@code inverse} shape without
 * warm-up, is this very formula.
 * <ul>
 *   <li>{@link #sgd(double) sgd}: {@code θ ← θ − η_t g};</li>
 *   <li>{@link #momentum momentum} (classic): {@code v ← μv − ηg}, {@code θ ← θ + v};</li>
 *   <li>{@link #nesterov nesterov}: {@code v ← μv − ηg}, {@code θ ← θ + μv − ηg} (Nesterov's look-ahead in
 *       the form that needs the gradient at {@code θ} only, as in Sutskever et al. 2013);</li>
 *   <li>{@link #adam adam}: {@code m ← β₁m + (1−β₁)g}, {@code v ← β₂v + (1−β₂)g²},
 *       {@code θ ← θ − η m̂ / (√v̂ + ε)} with the bias corrections {@code m̂ = m/(1−β₁^{t+1})},
 *       {@code v̂ = v/(1−β₂^{t+1})} (Kingma and Ba 2015).</li>
 * </ul>
 */
public final class Optimizer implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The update rules. */
    public enum Kind {
        SGD, MOMENTUM, NESTEROV, ADAM;

        /** Lower-case name, as used in settings. */
        public String lowerName() {
            return name().toLowerCase(Locale.ROOT);
        }

        /**
         * The rule named {@code name}, case-insensitive.
         *
         * @throws IllegalArgumentException naming the valid names
         */
        public static Kind parse(String name) {
            return io.sparkprop.util.Names.parse(Kind.class, "optimizer", name);
        }

        /** The rules' names as settings spell them: {@code sgd}, {@code momentum}, {@code nesterov}, {@code adam}. */
        public static String[] names() {
            return io.sparkprop.util.Names.names(Kind.class);
        }
    }

    private final Kind kind;
    private final double stepSize;
    private final double decay;
    private final double momentum;
    private final double beta1;
    private final double beta2;
    private final double epsilon;

    private Optimizer(Kind kind, double stepSize, double decay, double momentum, double beta1, double beta2,
                      double epsilon) {
        this.kind = kind;
        this.stepSize = Checks.finitePositive("stepSize", stepSize);
        this.decay = Checks.finiteNonNegative("step decay", decay);
        this.momentum = Checks.unitInterval("momentum", momentum);
        this.beta1 = Checks.unitInterval("beta1", beta1);
        this.beta2 = Checks.unitInterval("beta2", beta2);
        this.epsilon = Checks.finitePositive("epsilon", epsilon);
    }

    /**
     * The rule named {@code name} ({@code sgd}, {@code momentum}, {@code nesterov} or {@code adam},
     * case-insensitive) with step size {@code stepSize}, momentum {@code momentum} (momentum and
     * Nesterov; ignored otherwise) and inverse-time decay {@code decay}; Adam with its usual
     * {@code β₁ = 0.9}, {@code β₂ = 0.999}, {@code ε = 1e-8}.
     *
     * @throws IllegalArgumentException for another name, naming the valid ones
     */
    public static Optimizer named(String name, double stepSize, double momentum, double decay) {
        Optimizer rule;
        switch (Kind.parse(name)) {
            case SGD:
                rule = sgd(stepSize);
                break;
            case MOMENTUM:
                rule = momentum(stepSize, momentum);
                break;
            case NESTEROV:
                rule = nesterov(stepSize, momentum);
                break;
            default:
                rule = adam(stepSize);
        }
        return decay == 0 ? rule : rule.withDecay(decay);
    }

    /** Plain SGD with a constant step. */
    public static Optimizer sgd(double stepSize) {
        return sgd(stepSize, 0.0);
    }

    /** Plain SGD with the inverse-time decay {@code η_t = η / (1 + decay·t)}. */
    public static Optimizer sgd(double stepSize, double decay) {
        return new Optimizer(Kind.SGD, stepSize, decay, 0.0, 0.9, 0.999, 1e-8);
    }

    /** Classic momentum. */
    public static Optimizer momentum(double stepSize, double momentum) {
        return new Optimizer(Kind.MOMENTUM, stepSize, 0.0, momentum, 0.9, 0.999, 1e-8);
    }

    /** Nesterov momentum. */
    public static Optimizer nesterov(double stepSize, double momentum) {
        return new Optimizer(Kind.NESTEROV, stepSize, 0.0, momentum, 0.9, 0.999, 1e-8);
    }

    /** Adam with {@code β₁ = 0.9}, {@code β₂ = 0.999}, {@code ε = 1e-8}. */
    public static Optimizer adam(double stepSize) {
        return adam(stepSize, 0.9, 0.999, 1e-8);
    }

    /** Adam. */
    public static Optimizer adam(double stepSize, double beta1, double beta2, double epsilon) {
        return new Optimizer(Kind.ADAM, stepSize, 0.0, 0.0, beta1, beta2, epsilon);
    }

    /** The rule. */
    public Kind kind() {
        return kind;
    }

    /** The base step size {@code η}. */
    public double stepSize() {
        return stepSize;
    }

    /** Adam's {@code β₁}. */
    public double beta1() {
        return beta1;
    }

    /** Adam's {@code β₂}. */
    public double beta2() {
        return beta2;
    }

    /** Adam's {@code ε}. */
    public double epsilon() {
        return epsilon;
    }

    /** The momentum {@code μ} (momentum and Nesterov). */
    public double momentum() {
        return momentum;
    }

    /** The step used at iteration {@code t} (0-based): {@code η / (1 + d·t)}. */
    public double stepSizeAt(long iteration) {
        return StepSchedule.inverseTime(stepSize, decay, iteration);
    }

    /** The inverse-time decay {@code d} of the step size. */
    public double decay() {
        return decay;
    }

    /** This rule with the step-size decay {@code η_t = η / (1 + decay·t)}. */
    public Optimizer withDecay(double decay) {
        return new Optimizer(kind, stepSize, decay, momentum, beta1, beta2, epsilon);
    }

    /** Fresh state for parameters of {@code size} values. */
    public Updater newUpdater(int size) {
        return new Updater(this, size);
    }

    @Override
    public String toString() {
        String decayed = decay == 0 ? "" : ", decay=" + decay;
        switch (kind) {
            case SGD:
                return "sgd(stepSize=" + stepSize + decayed + ")";
            case MOMENTUM:
            case NESTEROV:
                return kind.lowerName() + "(stepSize=" + stepSize + ", momentum=" + momentum + decayed + ")";
            default:
                return "adam(stepSize=" + stepSize + ", beta1=" + beta1 + ", beta2=" + beta2 + ", epsilon=" + epsilon
                        + decayed + ")";
        }
    }

    /**
     * The rule on one row of a first layer kept as rows ({@link LazyFirstLayer}), or on one slice: {@code theta}
     * (modified), the row's gradient {@code g} and its state {@code first}, {@code second} (modified; {@code null}
     * where the rule keeps none), each of {@code theta.length} values from index 0 (every array read at the same
     * index is the one loop form C2 vectorises: with an offset into {@code g} it cannot rule out that the arrays
     * overlap and runs the division and square root of Adam scalar), Adam's {@link #biasCorrections} of the step.
     * The arithmetic of {@link Updater#update(double[], double[], double, long)}, value for value: a row updated at
     * every step takes the bits the dense rule gives it.
     */
    void updateRow(double[] theta, double[] g, double[] first, double[] second, double eta, double[] corrections) {
        int n = theta.length;
        switch (kind) {
            case SGD:
                for (int i = 0; i < n; i++) {
                    theta[i] -= eta * g[i];
                }
                break;
            case MOMENTUM:
                for (int i = 0; i < n; i++) {
                    first[i] = momentum * first[i] - eta * g[i];
                    theta[i] += first[i];
                }
                break;
            case NESTEROV:
                for (int i = 0; i < n; i++) {
                    first[i] = momentum * first[i] - eta * g[i];
                    theta[i] += momentum * first[i] - eta * g[i];
                }
                break;
            case ADAM:
                double c1 = corrections[0];
                double c2 = corrections[1];
                for (int i = 0; i < n; i++) {
                    double gi = g[i];
                    first[i] = beta1 * first[i] + (1 - beta1) * gi;
                    second[i] = beta2 * second[i] + (1 - beta2) * gi * gi;
                    theta[i] -= eta * (first[i] / c1) / (Math.sqrt(second[i] / c2) + epsilon);
                }
                break;
            default:
                throw new IllegalStateException("unhandled optimizer " + kind);
        }
    }

    /**
     * Adam's bias corrections {@code 1 − β₁^(age+1)} and {@code 1 − β₂^(age+1)} of a state that has taken {@code age}
     * updates, computed as {@link Updater#update(double[], double[], double, long)} computes them (for
     * {@link #updateRow}, once a step).
     */
    double[] biasCorrections(long age) {
        return new double[] {1.0 - Math.pow(beta1, age + 1), 1.0 - Math.pow(beta2, age + 1)};
    }

    /** The state arrays the rule keeps per parameter: 0 (sgd), 1 (momentum, Nesterov) or 2 (Adam). */
    public int stateArrays() {
        return kind == Kind.SGD ? 0 : kind == Kind.ADAM ? 2 : 1;
    }

    /**
     * The factor a state array {@code a} ({@link #stateArrays()} order) decays by over {@code k} steps without
     * gradient: {@code μ^k} for the velocity, {@code β₁^k} and {@code β₂^k} for Adam's moments.
     */
    double stateDecay(int a, long k) {
        double base = kind == Kind.ADAM ? (a == 0 ? beta1 : beta2) : momentum;
        return Math.pow(base, k);
    }

    /** The optimiser's state over one training run: velocities or moment estimates, on flat parameters. */
    public static final class Updater implements Serializable {
        private static final long serialVersionUID = 1L;

        private final Optimizer o;
        private final double[] first;
        private final double[] second;

        private Updater(Optimizer o, int size) {
            this.o = o;
            this.first = o.kind == Kind.SGD ? null : new double[size];
            this.second = o.kind == Kind.ADAM ? new double[size] : null;
        }

        /** The state arrays (velocity; or first and second moments), live; empty for plain SGD. */
        public double[][] state() {
            if (first == null) {
                return new double[0][];
            }
            return second == null ? new double[][] {first} : new double[][] {first, second};
        }

        /**
         * Overwrites the state with {@code state} (arrays as {@link #state()} gives them, copied), so that this
         * updater continues from another's: a checkpoint's, or the round's shipped state on a shard.
         *
         * @throws IllegalArgumentException if the arrays' number or lengths differ from this state's
         */
        public void copyStateFrom(double[][] state) {
            double[][] own = state();
            if (state.length != own.length) {
                throw new IllegalArgumentException("optimizer state of " + state.length + " arrays given, "
                        + o.kind.lowerName() + " keeps " + own.length);
            }
            for (int i = 0; i < own.length; i++) {
                if (state[i].length != own[i].length) {
                    throw new IllegalArgumentException("optimizer state array " + i + " has " + state[i].length
                            + " values, the parameters " + own[i].length);
                }
                System.arraycopy(state[i], 0, own[i], 0, own[i].length);
            }
        }

        /**
         * Applies iteration {@code t}'s update to {@code theta} (modified) from the mean gradient
         * {@code g} (ridge term included).
         */
        public void update(double[] theta, double[] g, long t) {
            update(theta, g, o.stepSizeAt(t), t);
        }

        /**
         * Applies an update of step {@code eta} to {@code theta} (modified) from the mean gradient {@code g},
         * for a state that has taken {@code age} updates before this one (Adam's bias correction
         * {@code 1 − β^(age+1)}). {@link #update(double[], double[], long)} is this with {@code η_t} and
         * {@code age = t}; a shard's local steps continue the run's state and its age (the updates the
         * run applied before the step), as synchronous updates do.
         */
        public void update(double[] theta, double[] g, double eta, long age) {
            int n = theta.length;
            switch (o.kind) {
                case SGD:
                    for (int i = 0; i < n; i++) {
                        theta[i] -= eta * g[i];
                    }
                    break;
                case MOMENTUM:
                    for (int i = 0; i < n; i++) {
                        first[i] = o.momentum * first[i] - eta * g[i];
                        theta[i] += first[i];
                    }
                    break;
                case NESTEROV:
                    for (int i = 0; i < n; i++) {
                        first[i] = o.momentum * first[i] - eta * g[i];
                        theta[i] += o.momentum * first[i] - eta * g[i];
                    }
                    break;
                case ADAM:
                    double c1 = 1.0 - Math.pow(o.beta1, age + 1);
                    double c2 = 1.0 - Math.pow(o.beta2, age + 1);
                    for (int i = 0; i < n; i++) {
                        first[i] = o.beta1 * first[i] + (1 - o.beta1) * g[i];
                        second[i] = o.beta2 * second[i] + (1 - o.beta2) * g[i] * g[i];
                        theta[i] -= eta * (first[i] / c1) / (Math.sqrt(second[i] / c2) + o.epsilon);
                    }
                    break;
                default:
                    throw new IllegalStateException("unhandled optimizer " + o.kind);
            }
        }
    }
}
