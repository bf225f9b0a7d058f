package io.sparkprop.optim;

import java.util.Arrays;

import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.util.Internal;

/**
 * The first layer's weights {@code W_0} of a wide sparse input, kept as rows per feature ({@code W_0ᵀ}: row
 * {@code f} holds the {@code n_1} weights of feature {@code f}, {@code W_0[:, f]}) with the update rule's state per
 * row, and updated lazily: a step costs in proportion to the rows its examples touched, not to {@code n_0·n_1}.
 *
 * <p>Semantics. A step touches row {@code f} when one of its examples has {@code x_f ≠ 0} (its gradient then has
 * the row, {@link io.sparkprop.nn.GradientSum#touchedFeatures()}). Let {@code k} be the steps row {@code f} missed
 * since it was last brought up to date. At step {@code t} (step size {@code η_t}):
 * <ul>
 *   <li>a row the step does not touch is left as it is: weights and state;</li>
 *   <li>a touched row is first brought up to date: its state decays as {@code k} steps of zero gradient would
 *       decay it ({@code v ← μ^k v} for momentum and Nesterov; {@code m ← β₁^k m}, {@code v ← β₂^k v} for
 *       Adam), and with a ridge term its weights shrink by {@code (1 − η_t λ)^k}, the plain-SGD step of the
 *       penalty alone over the missed steps; then it takes the rule's update with
 *       {@code g_f = (1/W) Σ_i w_i ∇_f C_i + λ W_f}, exactly as the dense rule would (Adam's bias correction at
 *       the run's step count {@code t});</li>
 *   <li>at the end of every epoch every row is brought up to date ({@link #catchUpAll}), so that the model,
 *       checkpoints and the next epoch start from rows that missed nothing.</li>
 * </ul>
 * So a row that every step touches is updated with the dense rule's arithmetic, bit for bit, and a row that is
 * never touched keeps its initial weights (as in TensorFlow's {@code LazyAdam} and PyTorch's {@code SparseAdam},
 * which update the rows of the gradient alone; here the moments also decay for the steps a row missed, and the
 * penalty shrinks it, so the state a row resumes from is what the dense rule would have left it with zero data
 * gradient). Plain SGD without ridge term is the dense rule exactly: an untouched row's gradient is zero.
 *
 * <p>Versions. Published rows are never written: a step makes new arrays for the rows it changes and a new outer
 * array ({@link #rows()}), so every version can be shipped and read while the next step is computed. The
 * rule's state is the driver's alone and is updated in place.
 *
 * <p>Memory. The state is one flat array per state array, feature after feature ({@code n_0·n_1} values, as the
 * dense rule's): a step reads the rows of its touched features in ascending order, so its reads run forward
 * through memory as the prefetcher expects, where rows made one at a time lay scattered over the heap and each
 * cost a cache miss; and a state that lives as long as the fit is not copied by every young collection. The
 * decay factors {@code β^k}, {@code μ^k} and the shrink {@code (1 − ηλ)^k} are each computed once per missed-step
 * count {@code k} (the shrink once per step size) by {@code Math.pow}, so each is the value computing it at every
 * use would give.
 */
@Internal
public final class LazyFirstLayer {
    private final Optimizer rule;
    private final double regParam;
    private final int features;
    private final int units;
    private double[][] rows;
    /** The rule's state: {@code state[a]} of state array {@code a}, feature {@code f}'s values from {@code f·n_1}. */
    private final double[][] state;
    /**
     * {@code decays[a][k]}: the factor state array {@code a} decays by over {@code k} missed steps; 0 if not yet made
     * (a factor that is 0 is made again each time).
     */
    private final double[][] decays;
    /** {@code shrinks[k] = (1 − η λ)^k} for {@link #shrinkEta}; 0 if not yet made (as {@link #decays}). */
    private final double[] shrinks = new double[MEMO_STEPS];
    private double shrinkEta = Double.NaN;
    /** A row's gradient and state while the rule updates it: arrays from index 0, the form C2 vectorises. */
    private final double[] gradientRow;
    private final double[] firstRow;
    private final double[] secondRow;
    /** Updates row {@code f} is current through: the step count at which it was last brought up to date. */
    private final long[] seen;
    /** {@code ‖W_f‖²} of the published rows, kept with a ridge term for the penalty; {@code null} without. */
    private final double[] squares;

    /** Missed-step counts whose factors are kept; a larger count computes its factor each time. */
    private static final int MEMO_STEPS = 4096;

    private LazyFirstLayer(Optimizer rule, double regParam, double[][] rows, double[][] state, long updates) {
        this.rule = rule;
        this.regParam = regParam;
        this.rows = rows;
        this.features = rows.length;
        this.units = rows.length == 0 ? 0 : rows[0].length;
        this.state = state;
        this.decays = new double[state.length][MEMO_STEPS];
        this.gradientRow = new double[units];
        this.firstRow = new double[units];
        this.secondRow = new double[units];
        this.seen = new long[features];
        Arrays.fill(seen, updates);
        if (regParam > 0) {
            squares = new double[features];
            for (int f = 0; f < features; f++) {
                squares[f] = squares(rows[f]);
            }
        } else {
            squares = null;
        }
    }

    /**
     * The first layer of {@code flat} (parameters in the flat layout of {@code spec}) as rows, with the state of
     * {@code rule} read from {@code flatState} (arrays in the flat layout, as {@link Optimizer.Updater#state()}
     * gives them; only their {@code W_0} blocks are read), after {@code updates} updates: every row up to date.
     */
    public static LazyFirstLayer fromFlat(Optimizer rule, double regParam, NetworkSpec spec, double[] flat,
                                          double[][] flatState, long updates) {
        int n = spec.inputSize();
        int h = spec.width(0);
        if (flatState.length != rule.stateArrays()) {
            throw new IllegalArgumentException("optimizer state of " + flatState.length + " arrays given, "
                    + rule.kind().lowerName() + " keeps " + rule.stateArrays());
        }
        double[][] rows = transpose(flat, n, h);
        double[][] state = new double[flatState.length][];
        for (int a = 0; a < flatState.length; a++) {
            state[a] = transposeFlat(flatState[a], n, h);
        }
        return new LazyFirstLayer(rule, regParam, rows, state, updates);
    }

    /** The first layer of {@code flat} (parameters in the flat layout of {@code spec}) as rows, with a fresh state. */
    public static LazyFirstLayer initial(Optimizer rule, double regParam, NetworkSpec spec, double[] flat) {
        double[][] state = new double[rule.stateArrays()][spec.inputSize() * spec.width(0)];
        return new LazyFirstLayer(rule, regParam, transpose(flat, spec.inputSize(), spec.width(0)), state, 0);
    }

    /** The published rows, {@code n_0} arrays of {@code n_1}: read them, never write them. */
    public double[][] rows() {
        return rows;
    }

    /**
     * Starts a step at step count {@code age} with step size {@code eta} on the rows of {@code touched}
     * (ascending): a new version whose touched rows are new arrays brought up to date (the state decayed and the
     * weights shrunk for the steps they missed; see the class comment). Nothing is published.
     */
    double[][] catchUp(int[] touched, long age, double eta) {
        double[][] next = rows.clone();
        for (int f : touched) {
            next[f] = caughtUp(f, age, eta);
        }
        return next;
    }

    /** Row {@code f} brought up to date at step count {@code age} (a new array), its state decayed in place. */
    private double[] caughtUp(int f, long age, double eta) {
        long k = age - seen[f];
        double[] row = rows[f].clone();
        if (k > 0) {
            caughtUpState(f, age);
            if (regParam > 0) {
                double shrink = shrink(eta, k);
                for (int i = 0; i < row.length; i++) {
                    row[i] *= shrink;
                }
            }
        }
        seen[f] = age;
        return row;
    }

    /**
     * {@link #catchUp}, {@link #addRidge} (with a ridge term) and {@link #update} in one pass over the touched rows,
     * for a step that does not clip (clipping needs every gradient before any row moves): each row's weights and
     * state are read once instead of twice, the same arithmetic in the same order row by row, so the same bits.
     * With a ridge term, {@code squares[k]} receives {@code ‖W_f‖²} of touched row {@code k} as caught up, before the
     * update (what {@link #normSquared} reads from {@code next}); {@code squares} is not read without one.
     * Returns the new version, or {@code null} if an updated weight is not finite; nothing is published.
     */
    double[][] catchUpAndUpdate(int[] touched, double[] g, double eta, long age, double[] squares) {
        double[][] next = rows.clone();
        boolean finite = true;
        double[] corrections = rule.biasCorrections(age);
        for (int k = 0; k < touched.length; k++) {
            int f = touched[k];
            double[] row = caughtUp(f, age, eta);
            next[f] = row;
            if (regParam > 0) {
                int at = k * units;
                for (int i = 0; i < units; i++) {
                    g[at + i] += regParam * row[i];
                }
                squares[k] = squares(row);
            }
            finite &= updateRow(f, row, g, k, eta, age, corrections);
        }
        return finite ? next : null;
    }

    /**
     * {@link #normSquared} with the touched rows' squares given ({@code squares[k]} for {@code touched[k]}, as
     * {@link #catchUpAndUpdate} leaves them): the same sum in the same order.
     */
    double normSquared(double[] squares, int[] touched, long age, double eta) {
        double sum = 0;
        int k = 0;
        for (int f = 0; f < features; f++) {
            if (k < touched.length && touched[k] == f) {
                sum += squares[k++];
            } else {
                long missed = age - seen[f];
                double shrink = missed == 0 || regParam == 0 ? 1.0 : shrink(eta, missed);
                sum += shrink * shrink * (this.squares != null ? this.squares[f] : squares(rows[f]));
            }
        }
        return sum;
    }

    /** {@code g_f += λ W_f} for the touched rows of {@code next} ({@code g}: their gradients one after another). */
    void addRidge(double[][] next, int[] touched, double[] g) {
        for (int k = 0; k < touched.length; k++) {
            double[] row = next[touched[k]];
            int at = k * units;
            for (int i = 0; i < units; i++) {
                g[at + i] += regParam * row[i];
            }
        }
    }

    /**
     * {@code ‖W_0‖_F²} at step count {@code age} with step size {@code eta}: the touched rows of {@code next} as they
     * are (brought up to date), every other row with the shrink it would take if touched now.
     */
    double normSquared(double[][] next, int[] touched, long age, double eta) {
        double[] touchedSquares = new double[touched.length];
        for (int k = 0; k < touched.length; k++) {
            touchedSquares[k] = squares(next[touched[k]]);
        }
        return normSquared(touchedSquares, touched, age, eta);
    }

    /**
     * The rule's update of step count {@code age} with step size {@code eta} on the touched rows of {@code next}
     * (modified in place: its touched rows are this step's own arrays), from their gradients {@code g} (one after
     * another); returns whether every updated weight is finite.
     */
    boolean update(double[][] next, int[] touched, double[] g, double eta, long age) {
        boolean finite = true;
        double[] corrections = rule.biasCorrections(age);
        for (int k = 0; k < touched.length; k++) {
            finite &= updateRow(touched[k], next[touched[k]], g, k, eta, age, corrections);
        }
        return finite;
    }

    /**
     * The rule's update of row {@code f} ({@code row}, its own array; its gradient the {@code k}-th in {@code g}),
     * through the index-0 scratch rows; returns whether its weights are finite.
     */
    private boolean updateRow(int f, double[] row, double[] g, int k, double eta, long age, double[] corrections) {
        int at = f * units;
        double[] first = state.length > 0 ? firstRow : null;
        double[] second = state.length > 1 ? secondRow : null;
        System.arraycopy(g, k * units, gradientRow, 0, units);
        if (first != null) {
            System.arraycopy(state[0], at, first, 0, units);
        }
        if (second != null) {
            System.arraycopy(state[1], at, second, 0, units);
        }
        rule.updateRow(row, gradientRow, first, second, eta, corrections);
        if (first != null) {
            System.arraycopy(first, 0, state[0], at, units);
        }
        if (second != null) {
            System.arraycopy(second, 0, state[1], at, units);
        }
        seen[f] = age + 1;
        boolean finite = true;
        for (double v : row) {
            finite &= Double.isFinite(v);
        }
        return finite;
    }

    /** {@code (1 − ηλ)^k}, {@code Math.pow}'s value, made once per {@code k} while {@code η} stays. */
    private double shrink(double eta, long k) {
        if (k >= MEMO_STEPS) {
            return Math.pow(1 - eta * regParam, k);
        }
        if (Double.doubleToLongBits(eta) != Double.doubleToLongBits(shrinkEta)) {
            Arrays.fill(shrinks, 0.0);
            shrinkEta = eta;
        }
        int i = (int) k;
        if (shrinks[i] == 0) {
            shrinks[i] = Math.pow(1 - eta * regParam, k);
        }
        return shrinks[i];
    }

    /** The factor state array {@code a} decays by over {@code k} missed steps, {@link Optimizer#stateDecay}'s value. */
    private double decay(int a, long k) {
        if (k >= MEMO_STEPS) {
            return rule.stateDecay(a, k);
        }
        int i = (int) k;
        if (decays[a][i] == 0) {
            decays[a][i] = rule.stateDecay(a, k);
        }
        return decays[a][i];
    }

    /** Publishes {@code next}, whose rows of {@code touched} changed. */
    void publish(double[][] next, int[] touched) {
        rows = next;
        if (squares != null) {
            for (int f : touched) {
                squares[f] = squares(next[f]);
            }
        }
    }

    /**
     * Brings every row up to date at step count {@code age} (the end of an epoch), with the step size
     * {@code eta} of the last update, and publishes the result; returns the features whose weights changed
     * (ascending: with a ridge term, the rows that missed steps), so that a copy elsewhere can follow.
     */
    public int[] catchUpAll(long age, double eta) {
        int[] changed = new int[features];
        int count = 0;
        double[][] next = null;
        for (int f = 0; f < features; f++) {
            if (seen[f] >= age) {
                continue;
            }
            if (regParam > 0) {
                if (next == null) {
                    next = rows.clone();
                }
                next[f] = caughtUp(f, age, eta);
                changed[count++] = f;
            } else {
                caughtUpState(f, age); // weights unchanged without a ridge term: the state alone decays
            }
        }
        int[] touched = Arrays.copyOf(changed, count);
        if (next != null) {
            publish(next, touched);
        }
        return touched;
    }

    /** The state of row {@code f} brought up to date at {@code age}, the weights unchanged (no ridge term). */
    private void caughtUpState(int f, long age) {
        long k = age - seen[f];
        int at = f * units;
        for (int a = 0; a < state.length; a++) {
            double[] s = state[a];
            double decay = decay(a, k);
            for (int i = at; i < at + units; i++) {
                s[i] *= decay;
            }
        }
        seen[f] = age;
    }

    /** Writes {@code W_0} (row-major {@code n_1 × n_0}) into {@code flat} from index 0: the flat layout's first block. */
    public void writeWeights(double[] flat) {
        untranspose(rows, flat);
    }

    /** Writes state array {@code a}'s {@code W_0} block into {@code flat} from index 0 (the flat layout's first block). */
    public void writeState(int a, double[] flat) {
        double[] s = state[a];
        for (int f = 0; f < features; f++) {
            for (int i = 0; i < units; i++) {
                flat[i * features + f] = s[f * units + i];
            }
        }
    }

    /** Tiles of 32 units × 1024 features: runs of 8 KB along each row of {@code W_0}, the rows they read in cache. */
    private static final int TILE_UNITS = 32;
    private static final int TILE_FEATURES = 1024;

    /** {@code W_0ᵀ} as rows from the first {@code h·n} values of {@code flat} ({@code W_0} row-major). */
    private static double[][] transpose(double[] flat, int n, int h) {
        double[][] t = new double[n][h];
        for (int i0 = 0; i0 < h; i0 += TILE_UNITS) {
            for (int f0 = 0; f0 < n; f0 += TILE_FEATURES) {
                for (int i = i0; i < Math.min(h, i0 + TILE_UNITS); i++) {
                    int row = i * n;
                    for (int f = f0; f < Math.min(n, f0 + TILE_FEATURES); f++) {
                        t[f][i] = flat[row + f];
                    }
                }
            }
        }
        return t;
    }

    /** {@code W_0ᵀ} flat, feature after feature, from the first {@code h·n} values of {@code flat}. */
    private static double[] transposeFlat(double[] flat, int n, int h) {
        double[] t = new double[n * h];
        for (int i = 0; i < h; i++) {
            int row = i * n;
            for (int f = 0; f < n; f++) {
                t[f * h + i] = flat[row + f];
            }
        }
        return t;
    }

    private static void untranspose(double[][] t, double[] flat) {
        int n = t.length;
        int h = n == 0 ? 0 : t[0].length;
        for (int i0 = 0; i0 < h; i0 += TILE_UNITS) {
            for (int f0 = 0; f0 < n; f0 += TILE_FEATURES) {
                for (int i = i0; i < Math.min(h, i0 + TILE_UNITS); i++) {
                    int row = i * n;
                    for (int f = f0; f < Math.min(n, f0 + TILE_FEATURES); f++) {
                        flat[row + f] = t[f][i];
                    }
                }
            }
        }
    }

    private static double squares(double[] row) {
        double s = 0;
        for (double v : row) {
            s += v * v;
        }
        return s;
    }
}
